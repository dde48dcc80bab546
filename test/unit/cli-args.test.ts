import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInvocation, UsageError } from '../../src/cli/args.ts';
import { parseListenAddress, takeActivatedSockets } from '../../src/server/listen.ts';

describe('command line', () => {
  it('takes flags over BERTH_* variables over defaults', () => {
    const env = { BERTH_TIME: '9', BERTH_ROOT: '/env/root', BERTH_LISTEN: 'unix:///a.sock unix:///b.sock', BERTH_LOG_LEVEL: 'debug' };
    const inv = parseInvocation(['serve', '--time', '0', '--runroot', '/flag/run'], env);
    assert.equal(inv.command, 'serve');
    assert.equal(inv.serve.timeSeconds, 0);
    assert.equal(inv.serve.root, '/env/root');
    assert.equal(inv.serve.runroot, '/flag/run');
    assert.deepEqual(inv.serve.listen, ['unix:///a.sock', 'unix:///b.sock']);
    assert.equal(inv.serve.logLevel, 'debug');
  });

  it('repeats --listen and accepts flags before the command', () => {
    const inv = parseInvocation(['--root', '/r', 'serve', '--listen', 'unix:///x', '--listen', 'unix:///y'], {});
    assert.deepEqual(inv.serve.listen, ['unix:///x', 'unix:///y']);
    assert.equal(inv.serve.root, '/r');
  });

  it('has root defaults', { skip: process.getuid?.() !== 0 }, () => {
    const inv = parseInvocation(['serve'], {});
    assert.equal(inv.serve.root, '/var/lib/berth');
    assert.equal(inv.serve.runroot, '/run/berth');
    assert.deepEqual(inv.serve.listen, ['unix:///run/berth/berth.sock']);
    assert.equal(inv.serve.timeSeconds, 5);
  });

  it('refuses bad values', () => {
    assert.throws(() => parseInvocation(['serve', '--time', 'soon'], {}), UsageError);
    assert.throws(() => parseInvocation(['serve', '--log-level', 'loud'], {}), UsageError);
    assert.throws(() => parseInvocation(['serve', '--bogus'], {}), UsageError);
  });

  it('parses listen addresses', () => {
    assert.equal(parseListenAddress('unix:///run/berth/berth.sock'), '/run/berth/berth.sock');
    assert.equal(parseListenAddress('/tmp/x.sock'), '/tmp/x.sock');
    assert.throws(() => parseListenAddress('tcp://0.0.0.0:2375'), /only unix/);
    assert.throws(() => parseListenAddress('unix://relative.sock'), /absolute/);
  });
});

describe('socket activation environment', () => {
  it('takes the fds meant for this pid, with their names, and clears the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'berth.socket:docker.socket', KEEP: '1' };
    assert.deepEqual(takeActivatedSockets(env, 42), [{ fd: 3, name: 'berth.socket' }, { fd: 4, name: 'docker.socket' }]);
    assert.deepEqual(env, { KEEP: '1' });
  });

  it('ignores fds meant for another process, and still clears the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '1', LISTEN_PID: '41' };
    assert.deepEqual(takeActivatedSockets(env, 42), []);
    assert.deepEqual(env, {});
  });

  it('names unnamed fds by number', () => {
    assert.deepEqual(takeActivatedSockets({ LISTEN_FDS: '1', LISTEN_PID: '7' }, 7), [{ fd: 3, name: 'fd3' }]);
  });
});
