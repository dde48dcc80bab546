// GET /containers/{id}/logs through the real service: Docker's framing, content types, errors,
// tail/since/timestamps and follow, first on containers whose record and conmon log are put on
// disk here (so the endpoint is tested on its own), then with the docker CLI and with
// containers that `docker run -d` started for real.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { storePaths } from '../../src/config/paths.ts';
import type { EngineContext } from '../../src/engine/context.ts';
import { ContainerStore, newContainerId } from '../../src/engine/containers/store.ts';
import { ZERO_TIME, type ContainerRecord, type ContainerStatus } from '../../src/engine/containers/types.ts';
import { formatRecord, type LogStream } from '../../src/engine/runtime/k8s-log-format.ts';
import { Demuxer } from '../../src/server/stdcopy.ts';
import { startBerth, tempDir, waitFor, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, dockerFor, fixturesDir } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let store: ContainerStore;
let engine: EngineContext;

before(async () => {
  b = await startBerth();
  docker = dockerFor(b);
  engine = { paths: storePaths(b.root, b.runroot), programs: { runc: 'runc', conmon: 'conmon' }, registriesConf: [] };
  store = new ContainerStore(engine);
});
after(async () => {
  await b?.stop();
});

const T0 = 1_700_000_000;
const utc = (s: number) => `${new Date(s * 1000).toISOString().slice(0, 19)}.000000000Z`;
/** conmon writes local time; +01:00 here, to see it come back in UTC. */
const conmonTime = (s: number) => `${new Date((s + 3600) * 1000).toISOString().slice(0, 19)}.000000000+01:00`;
type Rec = [seconds: number, stream: LogStream, partial: boolean, text: string];
const records = (recs: Rec[]) => Buffer.concat(recs.map(([s, st, p, t]) => formatRecord(conmonTime(s), st, p, t)));

/**
 * A container as the lifecycle leaves it on disk: its record and its conmon log (and, for a
 * running one, the pid of a process that stands for its conmon).
 */
async function plant(
  name: string,
  opts: { tty?: boolean; status?: ContainerStatus; logType?: string; log?: Rec[]; conmonPid?: number } = {},
): Promise<{ id: string; log: string; exitFile: string }> {
  const id = newContainerId();
  await store.reserveName(name, id);
  const rec: ContainerRecord = {
    Id: id,
    Name: name,
    Created: new Date().toISOString(),
    Image: 'sha256:' + '0'.repeat(64),
    ImageName: 'busybox',
    Config: { Tty: opts.tty ?? false, Cmd: ['sh'] },
    HostConfig: { LogConfig: { Type: opts.logType ?? 'json-file', Config: {} } },
    State: { Status: opts.status ?? 'exited', Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME, OOMKilled: false, ConmonPid: opts.conmonPid ?? 0 },
    RestartCount: 0,
    Layers: [],
  };
  const paths = store.paths(id);
  mkdirSync(paths.dir, { recursive: true });
  mkdirSync(paths.exitDir, { recursive: true });
  await store.write(rec);
  if (opts.log) writeFileSync(paths.log, records(opts.log));
  return { id, log: paths.log, exitFile: paths.exitFile };
}

const frames = (body: Buffer) => new Demuxer().push(body).map((f) => `${f.stream}:${f.payload.toString()}`);

/** A GET whose body is kept as bytes. */
function get(path: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: b.sock, path, headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sample: Rec[] = [
  [T0, 'stdout', false, 'out one'],
  [T0 + 1, 'stderr', false, 'err one'],
  [T0 + 2, 'stdout', true, 'joined '],
  [T0 + 3, 'stdout', false, 'line'],
  [T0 + 4, 'stdout', true, 'no newline'],
];

describe('GET /containers/{id}/logs', () => {
  it("multiplexes stdout and stderr, a frame per line, with Docker's content type per API version", async () => {
    await plant('plain', { log: sample });
    const r = await get('/v1.51/containers/plain/logs?stdout=1&stderr=1');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/vnd.docker.multiplexed-stream');
    assert.deepEqual(frames(r.body), ['1:out one\n', '2:err one\n', '1:joined line\n', '1:no newline']);
    const old = await get('/v1.41/containers/plain/logs?stdout=1&stderr=1');
    assert.equal(old.type, 'application/vnd.docker.raw-stream', 'before 1.42 Docker calls even the multiplexed stream raw');
    assert.deepEqual(frames(old.body), frames(r.body));
    assert.deepEqual(frames((await get('/containers/plain/logs?stderr=1')).body), ['2:err one\n']);
  });

  it('gives a TTY container its output raw', async () => {
    await plant('tty', { tty: true, log: [[T0, 'stdout', false, 'a\r'], [T0, 'stdout', true, 'prompt$ ']] });
    const r = await get('/containers/tty/logs?stdout=1&stderr=1');
    assert.equal(r.type, 'application/vnd.docker.raw-stream');
    assert.equal(r.body.toString(), 'a\r\nprompt$ ');
  });

  it('takes tail, since, until and timestamps', async () => {
    const q = (s: string) => get(`/containers/plain/logs?stdout=1&stderr=1&${s}`).then((r) => frames(r.body));
    assert.deepEqual(await q('tail=2'), ['1:joined line\n', '1:no newline']);
    assert.deepEqual(await q('tail=all&since=1700000001'), ['2:err one\n', '1:joined line\n', '1:no newline']);
    assert.deepEqual(await q('since=1700000000.5&until=1700000002'), ['2:err one\n', '1:joined line\n']);
    assert.deepEqual(await q('until=0&tail=1'), ['1:no newline']);
    assert.deepEqual(await q('timestamps=1&tail=3'), [`2:${utc(T0 + 1)} err one\n`, `1:${utc(T0 + 2)} joined line\n`, `1:${utc(T0 + 4)} no newline`]);
    assert.deepEqual(await q('tail=0'), []);
    assert.deepEqual(await q('tail=nonsense'), await q('tail=all'), 'Docker reads a tail it cannot parse as all');
  });

  it("answers Docker's errors before the stream starts", async () => {
    await plant('quiet', { logType: 'none' });
    await plant('going', { status: 'removing' });
    const cases: Array<[string, number, string]> = [
      ['/containers/plain/logs', 400, 'Bad parameters: you must choose at least one stream'],
      ['/containers/nosuch/logs?stdout=1', 404, 'No such container: nosuch'],
      ['/containers/plain/logs?stdout=1&since=yesterday', 400, 'invalid value for "since": strconv.ParseInt: parsing "yesterday": invalid syntax'],
      ['/containers/quiet/logs?stdout=1', 501, 'configured logging driver does not support reading'],
      ['/containers/going/logs?stdout=1', 409, 'can not get logs from container which is dead or marked for removal'],
    ];
    for (const [path, status, message] of cases) {
      const r = await call(b.sock, 'GET', path);
      assert.equal(r.status, status, path);
      assert.equal(r.json().message, message, path);
    }
  });

  it('follows a running container: headers at once, new lines as they come, the end when conmon reports the exit', async () => {
    const conmon = spawn('sleep', ['60'], { stdio: 'ignore' });
    const { log, exitFile } = await plant('runner', { status: 'running', conmonPid: conmon.pid, log: [[T0, 'stdout', false, 'before']] });
    const got: string[] = [];
    const demux = new Demuxer();
    let ended = false;
    let headers = false;
    const req = request({ socketPath: b.sock, path: '/containers/runner/logs?stdout=1&stderr=1&follow=1&tail=0', headers: { Host: 'docker' } }, (res) => {
      headers = true;
      res.on('data', (c: Buffer) => got.push(...demux.push(c).map((f) => f.payload.toString())));
      res.on('end', () => (ended = true));
    });
    req.end();
    await waitFor(() => headers, 5000, 'the headers of a stream with nothing to send yet');
    appendFileSync(log, records([[T0 + 1, 'stdout', false, 'after']]));
    await waitFor(() => got.length === 1, 5000, 'the appended line');
    appendFileSync(log, records([[T0 + 2, 'stderr', true, 'last words']]));
    // what conmon does when the container exits; no `berth cleanup` runs here
    writeFileSync(exitFile, '3');
    conmon.kill();
    await waitFor(() => ended, 5000, 'the end of the stream once the container stopped');
    assert.deepEqual(got, ['after\n', 'last words']);
    const state = (await call(b.sock, 'GET', '/containers/runner/json')).json().State;
    assert.equal(state.Status, 'exited');
    assert.equal(state.ExitCode, 3);
  });

  it('answers a stopped container at once even with follow', async () => {
    const r = await get('/containers/plain/logs?stdout=1&follow=1&tail=1');
    assert.deepEqual(frames(r.body), ['1:no newline']);
  });

  it('does not follow a container recorded as running whose conmon is gone (it exited while no berth ran)', async () => {
    await plant('ghost', { status: 'running', conmonPid: 0, log: [[T0, 'stdout', false, 'was here']] });
    const r = await get('/containers/ghost/logs?stdout=1&follow=1');
    assert.deepEqual(frames(r.body), ['1:was here\n']);
    assert.equal((await call(b.sock, 'GET', '/containers/ghost/json')).json().State.Status, 'exited');
  });
});

/** The docker CLI needs inspect (for Tty) before logs; these run once it is served. */
async function served(method: string, path: string): Promise<boolean> {
  const r = await call(b.sock, method, path);
  return !(r.status === 404 && r.text.includes('page not found'));
}

describe('docker logs', { skip: !dockerCli }, () => {
  it('shows stdout and stderr apart, with --tail, -t and --since', async (t) => {
    if (!(await served('GET', '/containers/plain/json'))) return t.skip('container inspect is not served yet');
    const all = await docker('logs', 'plain');
    assert.equal(all.stdout, 'out one\njoined line\nno newline');
    assert.equal(all.stderr, 'err one\n');
    assert.equal((await docker('logs', '--tail', '1', 'plain')).stdout, 'no newline');
    assert.equal((await docker('logs', '-t', '--tail', '2', 'plain')).stdout, `${utc(T0 + 2)} joined line\n${utc(T0 + 4)} no newline`);
    assert.equal((await docker('logs', '--since', utc(T0 + 2), 'plain')).stdout, 'joined line\nno newline');
    assert.equal((await docker('logs', 'tty')).stdout, 'a\r\nprompt$ ');
    await assert.rejects(docker('logs', 'quiet'), /configured logging driver does not support reading/);
  });
});

describe('docker run -d, then docker logs', { skip: !dockerCli }, () => {
  let work: string | undefined;
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('reads what a real container wrote, and -f ends when it exits', async (t) => {
    if (!(await served('POST', '/containers/create'))) return t.skip('containers are not served yet');
    const skopeo = ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].find((p) => existsSync(p));
    if (!skopeo) return t.skip('no skopeo to make a busybox archive');
    work = tempDir('berth-logs-');
    await exec(skopeo, ['copy', `oci:${join(fixturesDir, 'oci')}:busybox-oci:latest`, `docker-archive:${join(work, 'busybox.tar')}:busybox:latest`]);
    await docker('load', '-i', join(work, 'busybox.tar'));

    // conmon reads stdout and stderr apart: the pause keeps `partial` the log's last line
    const id = (await docker('run', '-d', 'busybox', 'sh', '-c', 'echo out; echo err >&2; sleep 0.2; printf partial')).stdout.trim();
    await waitFor(async () => JSON.parse((await docker('inspect', id)).stdout)[0].State.Status === 'exited', 10_000, 'the container to exit');
    const logs = await docker('logs', id);
    assert.equal(logs.stdout, 'out\npartial');
    assert.equal(logs.stderr, 'err\n');
    const stamped = (await docker('logs', '-t', '--tail', '1', id)).stdout;
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z partial$/);

    const ticker = (await docker('run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.3; done')).stdout.trim();
    const started = Date.now();
    const followed = await docker('logs', '-f', ticker);
    assert.equal(followed.stdout, 'tick 1\ntick 2\ntick 3\n');
    assert.ok(Date.now() - started < 5000, 'follow ends soon after the exit');
  });

  it('keeps the log within max-size × max-file', async (t) => {
    if (!(await served('POST', '/containers/create'))) return t.skip('containers are not served yet');
    if (!work) return t.skip('no busybox');
    const id = (await docker('run', '-d', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done')).stdout.trim();
    await waitFor(async () => JSON.parse((await docker('inspect', id)).stdout)[0].State.Status === 'exited', 10_000, 'the container to exit');
    const out = (await docker('logs', id)).stdout;
    assert.ok(out.length > 0 && out.length < 20_000, `the log holds ${out.length} bytes`);
    assert.ok(out.endsWith('line 1999\n'));
    await assert.rejects(docker('run', '-d', '--log-driver', 'gelf-ish', 'busybox', 'true'), /no log driver named 'gelf-ish' is registered/);
  });

  it('refuses a log driver it does not have at create, as Docker, leaving no container', async (t) => {
    if (!work) return t.skip('no busybox');
    await assert.rejects(docker('create', '--name', 'bad-log', '--log-driver', 'gelf-ish', 'busybox', 'true'), /no log driver named 'gelf-ish' is registered/);
    await assert.rejects(docker('create', '--name', 'bad-opt', '--log-opt', 'max-file=two', 'busybox', 'true'), /strconv.Atoi: parsing "two": invalid syntax/);
    assert.equal((await docker('ps', '-a', '--filter', 'name=bad-', '--format', '{{.Names}}')).stdout, '');
  });
});
