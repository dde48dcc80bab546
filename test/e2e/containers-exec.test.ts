// docker exec through the real service, with the docker CLI and docker-py: output and exit
// codes, stdin with its end, a terminal and its size, user/workdir/env/privileged, detached
// sessions, Docker's refusals and messages, events, and the session's inspect answer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startBerth, waitFor, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, dockerFor, dockerResultFor, dockerPyFor, startRegistries, removeAllContainers, shellFor } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const PORT = 5395;
const BUSYBOX = `127.0.0.1:${PORT}/library/busybox:latest`;

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let run: ReturnType<typeof dockerResultFor>;
let sh: ReturnType<typeof shellFor>;
let registries: { stop(): void };

const api = (method: string, path: string, body?: unknown) => call(b.sock, method, path, { body });

before(async () => {
  registries = startRegistries([['start', PORT]]);
  b = await startBerth();
  docker = dockerFor(b);
  run = dockerResultFor(b);
  sh = shellFor(b);
  await docker('pull', '-q', BUSYBOX);
  await docker('run', '-d', '--name', 'box', '-e', 'FROM_CTR=yes', BUSYBOX, 'sleep', '1000');
});
after(async () => {
  if (docker) await removeAllContainers(docker).catch(() => {});
  await b?.stop();
  registries?.stop();
});

describe('docker exec', () => {
  it('gives back stdout, stderr and the exit code', async () => {
    const r = await run('exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 5');
    assert.equal(r.code, 5);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal((await run('exec', 'box', 'true')).code, 0);
  });

  it('feeds stdin through and ends it when the client is done, binary and large data intact', async () => {
    assert.equal((await sh(`echo hi | "$DOCKER" exec -i box cat`)).stdout, 'hi\n');
    const file = join(b.dir, 'big');
    const data = randomBytes(3 << 20);
    data[100] = 16; // ctrl-p, ctrl-q: detach keys mean nothing without a terminal
    data[101] = 17;
    writeFileSync(file, data);
    const { stdout } = await sh(`"$DOCKER" exec -i box sh -c 'cat > /tmp/big; md5sum /tmp/big' < ${file}`);
    assert.equal(stdout.split(' ')[0], createHash('md5').update(data).digest('hex'));
  });

  it('runs as -u, in -w, with -e over the container env, and --privileged with every capability', async () => {
    const r = await docker('exec', '-u', 'nobody', '-w', '/tmp', '-e', 'FOO=bar', 'box', 'sh', '-c', 'id; pwd; echo $FOO $FROM_CTR $HOME');
    assert.equal(r.stdout, 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/tmp\nbar yes /nonexistent\n');
    assert.equal((await docker('exec', '-u', '1000:1000', 'box', 'id')).stdout, 'uid=1000 gid=1000 groups=1000\n');
    const caps = async (...flags: string[]) => BigInt('0x' + /CapEff:\s*([0-9a-f]+)/.exec((await docker('exec', ...flags, 'box', 'cat', '/proc/self/status')).stdout)![1]);
    const plain = await caps();
    const all = await caps('--privileged');
    assert.ok(all > plain && (all & plain) === plain, `${all.toString(16)} ⊋ ${plain.toString(16)}`);
    const bad = await run('exec', '-u', 'nosuchuser', 'box', 'true');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unable to find user nosuchuser/);
  });

  it("reports a missing executable in Docker's words, exit 127; a missing workdir too", async () => {
    const r = await run('exec', 'box', 'no-such-program');
    assert.equal(r.code, 127);
    assert.match(r.stdout, /OCI runtime exec failed: exec failed: .*executable file not found in \$PATH: unknown/);
    assert.equal((await run('exec', '-w', '/no/such/dir', 'box', 'pwd')).code, 127);
  });

  it('-it runs through a terminal of the client size, with TERM set', async () => {
    const { stdout } = await sh(`sleep 3 | script -qec 'stty cols 97 rows 31; "$DOCKER" exec -it box sh -c "tty; stty size; echo \\$TERM; exit 3"' /dev/null; echo "rc=$?"`);
    assert.match(stdout, /\/dev\/pts\/\d+/);
    assert.match(stdout, /31 97/);
    assert.match(stdout, /xterm/);
    assert.match(stdout, /rc=3/);
  });

  it('-d returns at once and the process runs on; inspect shows it running, then its exit', async () => {
    const t0 = Date.now();
    await docker('exec', '-d', 'box', 'sh', '-c', 'sleep 1; echo done > /tmp/detached; exit 4');
    assert.ok(Date.now() - t0 < 1000);
    const ids: string[] | null = JSON.parse((await docker('inspect', '-f', '{{json .ExecIDs}}', 'box')).stdout);
    assert.equal(ids?.length, 1);
    const running = (await api('GET', `/exec/${ids![0]}/json`)).json();
    assert.equal(running.Running, true);
    assert.equal(running.ExitCode, null);
    assert.ok(running.Pid > 0);
    await waitFor(async () => (await api('GET', `/exec/${ids![0]}/json`)).json().ExitCode === 4, 10_000, 'exit code 4');
    assert.equal((await docker('exec', 'box', 'cat', '/tmp/detached')).stdout, 'done\n');
    assert.equal((await docker('inspect', '-f', '{{json .ExecIDs}}', 'box')).stdout.trim(), 'null');
  });

  it("answers Docker's refusals: no command, unknown session, started twice, paused and stopped containers", async () => {
    const none = await api('POST', '/containers/box/exec', { Cmd: [] });
    assert.equal(none.status, 400);
    assert.equal(none.json().message, 'No exec command specified');
    const missing = await api('GET', `/exec/${'0'.repeat(64)}/json`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json().message, `No such exec instance: ${'0'.repeat(64)}`);

    const { Id } = (await api('POST', '/containers/box/exec', { Cmd: ['true'], DetachKeys: 'ctrl-a,x' })).json();
    const created = (await api('GET', `/exec/${Id}/json`)).json();
    assert.deepEqual(
      { Running: created.Running, ExitCode: created.ExitCode, ProcessConfig: created.ProcessConfig, DetachKeys: created.DetachKeys, Pid: created.Pid },
      { Running: false, ExitCode: null, ProcessConfig: { tty: false, entrypoint: 'true', arguments: [], privileged: false, user: '' }, DetachKeys: 'AXg=', Pid: 0 },
    );
    const first = await api('POST', `/exec/${Id}/start`, { Detach: true });
    assert.equal(first.status, 200);
    await waitFor(async () => (await api('GET', `/exec/${Id}/json`)).json().ExitCode === 0, 10_000, 'the session ended');
    const again = await api('POST', `/exec/${Id}/start`, { Detach: true });
    assert.equal(again.status, 409);
    assert.equal(again.json().message, `exec command ${Id} has already run`);
    assert.equal((await api('POST', '/containers/box/exec', { Cmd: ['true'], DetachKeys: 'ctrl-' })).status, 400);

    const { Id: later } = (await api('POST', '/containers/box/exec', { Cmd: ['true'] })).json();
    await docker('pause', 'box');
    try {
      const paused = await run('exec', 'box', 'true');
      assert.match(paused.stderr, /Container box is paused, unpause the container before exec/);
      const start = await api('POST', `/exec/${later}/start`, { Detach: true });
      assert.equal(start.status, 409);
      assert.match(start.json().message, /is paused, unpause the container before exec/);
    } finally {
      await docker('unpause', 'box');
    }

    const id = (await docker('run', '-d', BUSYBOX, 'sleep', '1000')).stdout.trim();
    await docker('exec', '-d', id, 'sleep', '1000');
    await docker('stop', '-t', '1', id);
    const stopped = await run('exec', id, 'true');
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, new RegExp(`container ${id} is not running`));
    await docker('rm', id);
  });

  it('records exec_create, exec_start and exec_die (with the exit code) events', async () => {
    const since = (Date.now() / 1000).toFixed(3); // not a whole second: the tests before have exec events of their own
    await run('exec', 'box', 'sh', '-c', 'exit 7');
    await new Promise((r) => setTimeout(r, 1100)); // --until in the past: the CLI does not follow
    const { stdout } = await docker('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000)), '--filter', 'container=box', '--format', '{{.Action}}|{{.Actor.Attributes.execID}}|{{.Actor.Attributes.exitCode}}');
    const lines = stdout.trim().split('\n').filter((l) => l.startsWith('exec_'));
    const execId = lines[0]?.split('|')[1];
    assert.match(execId ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(lines, [`exec_create: sh -c exit 7|${execId}|<no value>`, `exec_start: sh -c exit 7|${execId}|<no value>`, `exec_die|${execId}|7`]);
  });

  it('records the exit of a detached session when it happens, with nobody asking (berth cleanup from conmon)', async () => {
    const since = (Date.now() / 1000).toFixed(3); // not a whole second: the test before has its own exec_die
    await docker('exec', '-d', 'box', 'sh', '-c', 'sleep 0.5; exit 9');
    await new Promise((r) => setTimeout(r, 2100));
    const { stdout } = await docker('events', '--since', since, '--until', String(Math.floor(Date.now() / 1000)), '--filter', 'event=exec_die', '--format', '{{.Actor.Attributes.exitCode}}');
    assert.equal(stdout.trim(), '9');
  });
});

describe('docker-py exec', () => {
  it('exec_run: exit code and output, stream, demux; a tty session resized through the API', async () => {
    const py = dockerPyFor(b);
    const { stdout } = await py(`
c = client.containers.get('box')
r = c.exec_run(['sh', '-c', 'echo out; echo err >&2; exit 3'])
s = c.exec_run(['sh', '-c', 'echo a; sleep 0.2; echo b'], stream=True)
d = c.exec_run(['sh', '-c', 'echo out; echo err >&2'], demux=True)
api = client.api
e = api.exec_create('box', ['sh', '-c', 'sleep 1; stty size'], tty=True)
sock = api.exec_start(e['Id'], tty=True, socket=True)
api.exec_resize(e['Id'], height=40, width=120)
out = b''
raw = getattr(sock, '_sock', sock)
while True:
    chunk = raw.recv(4096)
    if not chunk:
        break
    out += chunk
print(json.dumps({
  'code': r.exit_code, 'output': r.output.decode(),
  'stream': b''.join(s.output).decode(),
  'demux': [x.decode() for x in d.output],
  'tty': out.decode(), 'tty_code': api.exec_inspect(e['Id'])['ExitCode'],
}))
`);
    const out = JSON.parse(stdout);
    assert.equal(out.code, 3);
    assert.equal(out.output, 'out\nerr\n');
    assert.equal(out.stream, 'a\nb\n');
    assert.deepEqual(out.demux, ['out\n', 'err\n']);
    assert.match(out.tty, /40 120/);
    assert.equal(out.tty_code, 0);
  });
});
