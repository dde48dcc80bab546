// Socket activation through ../shared/tools/socket-activate, which behaves as a systemd .socket
// unit (Accept=no): the service starts on the first connection, exits when idle, and the next
// connection starts it again. No request may be refused or lost across those exits.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { berthBin, socketActivate, tempDir, waitFor } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});

interface Activated {
  sock: string;
  log: string;
  starts(): number;
  exits(): string[];
}

async function activate(idleSeconds: number): Promise<Activated> {
  const dir = tempDir();
  const sock = join(dir, 'berth.sock');
  const log = join(dir, 'activations.log');
  const proc: ChildProcess = spawn('python3', [socketActivate, '--log', log, sock, '--', process.execPath, berthBin, 'serve',
    '--time', String(idleSeconds), '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanups.push(async () => {
    proc.kill('SIGTERM');
    await once(proc, 'exit');
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => existsSync(sock), 10_000, 'socket-activate to listen');
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return {
    sock,
    log,
    starts: () => lines().filter((l) => / start pid=/.test(l)).length,
    exits: () => lines().filter((l) => / exit pid=/.test(l)).map((l) => l.replace(/^\S+ exit pid=\d+ /, '')),
  };
}

describe('socket activation', () => {
  it('answers requests spread over several idle exits, each idle period ending the process', async () => {
    const a = await activate(0.5);
    for (let round = 1; round <= 3; round++) {
      const r = await call(a.sock, 'GET', '/v1.41/version');
      assert.equal(r.status, 200);
      assert.equal(r.json().ApiVersion, '1.51');
      assert.equal(a.starts(), round, 'one activation per round');
      await waitFor(() => a.exits().length === round, 10_000, `idle exit ${round}`);
    }
    assert.deepEqual(a.exits(), ['status=0', 'status=0', 'status=0']);
  });

  it('answers every one of many concurrent requests that arrive before the service is up', async () => {
    const a = await activate(0.5);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(a.sock, 'GET', i % 2 ? '/_ping' : '/info')));
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal(a.starts(), 1);
  });

  it('refuses nothing when requests keep arriving around the moment of the idle exit', async () => {
    const a = await activate(0.3);
    let ok = 0;
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      // a new connection per request, as each docker CLI command makes
      await call(a.sock, 'GET', '/_ping', { agent: false }).then(
        (r) => (r.status === 200 && r.text === 'OK' ? ok++ : failures.push(`status ${r.status}`)),
        (e: Error) => failures.push(e.message),
      );
      await sleep(250 + (i % 5) * 25); // 250–350 ms: just before, at and after the 300 ms idle exit
    }
    assert.deepEqual(failures, []);
    assert.equal(ok, 20);
    assert.ok(a.starts() > 1, `expected some idle exits in between, saw ${a.starts()} activation(s)`);
    assert.ok(a.exits().every((e) => e === 'status=0'), a.exits().join(','));
  });

  it('tells keep-alive clients to retire idle connections before the idle exit closes them', async () => {
    const a = await activate(3);
    const agent = new Agent({ keepAlive: true });
    const failures: string[] = [];
    // gaps within the reuse window (< 2 s), past it but before the exit (3 s), and past the exit
    for (const [i, gap] of [1000, 2600, 3400, 1500, 0].entries()) {
      const r = await call(a.sock, 'GET', '/_ping', { agent }).catch((e: Error) => (failures.push(`request ${i}: ${e.message}`), undefined));
      if (r) assert.equal(r.headers['keep-alive'], 'timeout=3');
      await sleep(gap);
    }
    agent.destroy();
    assert.deepEqual(failures, []);
  });

  it('serves every socket passed (LISTEN_FDS=2) and keeps LISTEN_* out of the environment', async () => {
    const dir = tempDir();
    const s1 = join(dir, 'berth.sock');
    const s2 = join(dir, 'docker.sock');
    // what systemd does for a unit with two ListenStream= lines: bind both, pass them as fds 3 and 4
    const py = `
import os, socket, sys
fds = []
for path in sys.argv[1:3]:
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(64); fds.append(s)
for i, s in enumerate(fds):
    os.dup2(s.fileno(), 3 + i); os.set_inheritable(3 + i, True)
env = dict(os.environ, LISTEN_FDS='2', LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES='berth.socket:docker.socket')
os.execvpe(sys.argv[3], sys.argv[3:], env)
`;
    const proc = spawn('python3', ['-c', py, s1, s2, process.execPath, berthBin, 'serve', '--time', '0', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    cleanups.push(async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await once(proc, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    });
    await waitFor(() => call(s2, 'GET', '/_ping').then(() => true, () => false), 10_000, 'the service');
    assert.equal((await call(s1, 'GET', '/_ping')).text, 'OK');
    assert.equal((await call(s2, 'GET', '/_ping')).text, 'OK');
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0);
    // the sockets belong to whoever passed them: berth leaves the files alone
    assert.ok(existsSync(s1) && existsSync(s2));
  });
});
