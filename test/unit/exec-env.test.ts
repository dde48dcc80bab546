// The exec process's environment and the exit code of a process that could not start.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execEnv, startFailureExitCode } from '../../src/engine/containers/exec.ts';

describe('execEnv', () => {
  it("starts from Docker's base and the container's Env, the exec's replacing by key", () => {
    const env = execEnv(['A=1', 'B=2', 'PATH=/bin'], ['B=3', 'C=4'], 'host1', false, '/root');
    assert.deepEqual(env, ['PATH=/bin', 'HOSTNAME=host1', 'A=1', 'B=3', 'C=4', 'HOME=/root']);
  });

  it('adds TERM with a tty, removes a key named bare, keeps a HOME that was set', () => {
    const env = execEnv(['A=1', 'HOME=/data'], ['A', 'TERM=dumb'], 'h', true, '/nonexistent');
    assert.deepEqual(env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'TERM=dumb', 'HOME=/data']);
  });

  it("takes HOME from the exec user's passwd entry when nothing set it", () => {
    assert.ok(execEnv([], [], 'h', false, '/home/u').includes('HOME=/home/u'));
  });
});

describe('startFailureExitCode', () => {
  it('is 127 for a missing command or working dir, 126 when it cannot be run', () => {
    assert.equal(startFailureExitCode('exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH'), 127);
    assert.equal(startFailureExitCode('exec failed: unable to start container process: chdir to cwd ("/nope") set in config.json failed: no such file or directory'), 127);
    assert.equal(startFailureExitCode('exec failed: unable to start container process: exec: "/etc": permission denied'), 126);
    assert.equal(startFailureExitCode('something else'), 126);
  });
});
