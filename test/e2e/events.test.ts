// GET /events through real clients: the docker CLI replaying a window of past image events and
// following new ones, docker-py reading a window, a follow stream keeping an idle-timing
// service alive; and container events as the lifecycle records them: create/start/kill/die/
// stop/destroy in Docker's order with Docker's attributes, the `die` that `berth cleanup` (run by
// conmon, another process) writes reaching a follower, and the events of top, update and cp.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerth, waitFor, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, dockerFor, dockerPyFor, fixture, startRegistries } from '../helpers/fixtures.ts';

const PLAIN = 5363;
const R = `127.0.0.1:${PLAIN}`;
const busybox = fixture('busybox:latest');
const web = fixture('web:latest');

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let registries: { stop(): void };
const children: ChildProcess[] = [];

before(async () => {
  registries = startRegistries([['start', PLAIN]]);
  b = await startBerth();
  docker = dockerFor(b);
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (docker) await docker('rm', '-f', 'ev-stop', 'ev-follow', 'ev-ops').catch(() => undefined);
  await b?.stop();
  registries?.stop();
});

const unixNow = () => (Date.now() / 1000).toFixed(3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `docker events …` left running; its output so far, and a way to stop it. */
function follow(target: Berth, ...args: string[]) {
  const proc = spawn(dockerCli!, ['events', ...args], { env: { ...process.env, DOCKER_HOST: `unix://${target.sock}`, DOCKER_CONFIG: target.dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { output: () => out, errors: () => err, stop: () => proc.kill('SIGKILL') };
}

describe('docker events', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it('replays the image events of a past window: pull, tag, untag and delete, as Docker words them', async () => {
    const since = unixNow();
    await docker('pull', `${R}/library/busybox`);
    await docker('pull', `${R}/library/web`);
    await docker('tag', `${R}/library/busybox`, 'mine:1');
    await docker('rmi', 'mine:1');
    await docker('rmi', `${R}/library/web`);
    await sleep(10);
    const until = unixNow();
    const out = (await docker('events', '--since', since, '--until', until)).stdout;
    // the CLI's line: time, type, action, actor id, then the attributes
    const lines = out.trim().split('\n').map((l) => l.replace(/^\S+ /, ''));
    assert.deepEqual(lines, [
      `image pull ${R}/library/busybox:latest (name=${R}/library/busybox)`,
      `image pull ${R}/library/web:latest (com.example.fixture=web, name=${R}/library/web)`,
      `image tag ${busybox.imageId} (name=mine:1)`,
      `image untag ${busybox.imageId} (name=${busybox.imageId})`,
      // web had its tag and the digest the pull recorded: two untags, then the image goes
      `image untag ${web.imageId} (com.example.fixture=web, name=${web.imageId})`,
      `image untag ${web.imageId} (com.example.fixture=web, name=${web.imageId})`,
      `image delete ${web.imageId} (name=${web.imageId})`,
    ]);
    const tags = (await docker('events', '--since', since, '--until', until, '--filter', 'event=tag', '--filter', 'image=mine')).stdout.trim().split('\n');
    assert.equal(tags.length, 1);
    assert.match(tags[0]!, /image tag .* \(name=mine:1\)$/);
    const none = (await docker('events', '--since', since, '--until', until, '--filter', 'type=container')).stdout;
    assert.equal(none, '');
  });

  it('follows: an event that happens after it started is streamed', async () => {
    const events = follow(b, '--filter', 'type=image', '--format', '{{json .}}');
    // the CLI has subscribed once it has the answer's headers; tag until one shows
    for (let i = 0; i < 40 && events.output() === ''; i++) {
      await docker('tag', `${R}/library/busybox`, `followed:${i}`);
      await sleep(250);
    }
    events.stop();
    const first = JSON.parse(events.output().split('\n')[0]!);
    assert.equal(first.Type, 'image');
    assert.equal(first.Action, 'tag');
    assert.equal(first.Actor.ID, busybox.imageId);
    assert.match(first.Actor.Attributes.name, /^followed:\d+$/);
    assert.equal(first.status, 'tag');
    assert.equal(typeof first.timeNano, 'number');
    assert.equal(first.time, Math.floor(first.timeNano / 1e9));
  });

  it('answers bad times with a 400 in Docker words', async () => {
    const bad = await call(b.sock, 'GET', '/v1.41/events?since=20&until=10');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().message, '`since` time (20) cannot be after `until` time (10)');
    const junk = await call(b.sock, 'GET', '/v1.41/events?since=soon');
    assert.equal(junk.status, 400);
  });

  it('keeps an idle-timing service alive while a client follows, and the stream goes on', async () => {
    const idle = await startBerth({ time: 1 });
    try {
      const events = follow(idle, '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}');
      await sleep(2500);
      assert.equal(idle.proc.exitCode, null, 'the service exited while a client was following');
      await dockerFor(idle)('pull', `${R}/library/busybox`);
      await waitFor(() => events.output().includes('\n'), 10_000, 'the pull event');
      assert.equal(events.output().trim(), `image pull ${R}/library/busybox:latest`);
      events.stop();
      // with the stream gone, the service idles out again
      await waitFor(() => idle.proc.exitCode !== null, 10_000, 'the idle exit');
    } finally {
      await idle.stop();
    }
  });
});

describe('docker-py events', () => {
  it('reads a window of events, decoded, with filters', async () => {
    const py = dockerPyFor(b);
    const since = unixNow();
    await docker('tag', `${R}/library/busybox`, 'py:1');
    await docker('rmi', 'py:1');
    await sleep(10);
    const until = unixNow();
    const { stdout } = await py(`
evs = list(client.events(decode=True, since=${since}, until=${until}))
untags = list(client.events(decode=True, since=${since}, until=${until}, filters={'type': 'image', 'event': 'untag'}))
print(json.dumps({'all': evs, 'untag': untags}))
`);
    const { all, untag } = JSON.parse(stdout) as { all: any[]; untag: any[] };
    assert.deepEqual(all.map((e) => `${e.Type} ${e.Action} ${e.Actor.Attributes.name}`), ['image tag py:1', `image untag ${busybox.imageId}`]);
    assert.equal(all[0].id, busybox.imageId);
    assert.equal(all[0].scope, 'local');
    assert.deepEqual(untag.map((e) => e.Action), ['untag']);
  });
});

interface Shown {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

/** What `docker events` printed between two times for one container (its container events only). */
async function eventsOf(name: string, since: string, until = unixNow()): Promise<Shown[]> {
  const { stdout } = await docker('events', '--since', since, '--until', until, '--filter', 'type=container', '--filter', `container=${name}`, '--format', '{{json .}}');
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Shown);
}

/** "action" or "action key=value" for the attributes an action adds. */
function brief(ev: Shown): string {
  const a = ev.Actor.Attributes;
  const extra = a['exitCode'] !== undefined ? ` exitCode=${a['exitCode']}` : a['signal'] !== undefined ? ` signal=${a['signal']}` : '';
  return `${ev.Action}${extra}`;
}

const BUSYBOX = `${R}/library/busybox`;

describe('container events', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  before(async () => {
    await docker('pull', BUSYBOX);
  });

  it('docker events replays a container life in order, with the image as given, the name and the labels', async () => {
    const since = unixNow();
    const id = (await docker('run', '-d', '--name', 'ev-life', '--label', 'team=berth', BUSYBOX, 'sh', '-c', 'exit 3')).stdout.trim();
    assert.equal((await docker('wait', 'ev-life')).stdout.trim(), '3');
    await docker('rm', 'ev-life');
    const events = await eventsOf('ev-life', since);
    assert.deepEqual(events.map(brief), ['create', 'start', 'die exitCode=3', 'destroy']);
    for (const ev of events) {
      assert.equal(ev.Type, 'container');
      assert.equal(ev.Actor.ID, id);
      assert.equal(ev.Actor.Attributes['image'], BUSYBOX);
      assert.equal(ev.Actor.Attributes['name'], 'ev-life');
      assert.equal(ev.Actor.Attributes['team'], 'berth');
    }
  });

  it('docker stop: the signal, then SIGKILL after the timeout, the exit and the stop', async () => {
    // sleep as PID 1 has no handler for SIGTERM: the stop has to kill it
    await docker('run', '-d', '--name', 'ev-stop', BUSYBOX, 'sleep', '600');
    const since = unixNow();
    await docker('stop', '-t', '1', 'ev-stop');
    assert.deepEqual((await eventsOf('ev-stop', since)).map(brief), ['kill signal=15', 'kill signal=9', 'die exitCode=137', 'stop']);
  });

  it('a follower sees the start, and the die that berth cleanup records when the container exits on its own', async () => {
    const since = unixNow();
    const events = follow(b, '--since', since, '--filter', 'container=ev-follow', '--filter', 'type=container', '--format', '{{.Action}}{{with .Actor.Attributes.exitCode}} {{.}}{{end}}');
    try {
      await docker('run', '-d', '--name', 'ev-follow', BUSYBOX, 'sh', '-c', 'sleep 0.5; exit 7');
      // no request reaches the service meanwhile: only conmon's `berth cleanup` can record the exit
      await waitFor(() => events.output().includes('die 7'), 15_000, `the die event in ${JSON.stringify(events.output())}`);
      assert.deepEqual(events.output().trim().split('\n'), ['create', 'start', 'die 7']);
    } finally {
      events.stop();
    }
  });

  it('top, update and cp are recorded as Docker records them', async () => {
    await docker('run', '-d', '--name', 'ev-ops', BUSYBOX, 'sleep', '600');
    const since = unixNow();
    await docker('top', 'ev-ops');
    await docker('update', '--memory', '64m', 'ev-ops');
    const file = join(b.dir, 'note.txt');
    writeFileSync(file, 'note\n');
    await docker('cp', file, 'ev-ops:/tmp/note.txt');
    await docker('cp', 'ev-ops:/tmp/note.txt', join(b.dir, 'back.txt'));
    const events = await eventsOf('ev-ops', since);
    assert.deepEqual(events.map(brief), ['top', 'update', 'extract-to-dir', 'archive-path']);
    for (const ev of events) assert.equal(ev.Actor.Attributes['image'], BUSYBOX);
  });

  it('docker-py reads them with the legacy status, id and from fields', async () => {
    const py = dockerPyFor(b);
    const since = Math.floor(Date.now() / 1000) - 1;
    await docker('run', '-d', '--name', 'ev-py', BUSYBOX, 'true');
    await docker('wait', 'ev-py');
    await docker('rm', 'ev-py');
    const { stdout } = await py(`
import time
evs = client.api.events(since=${since}, until=int(time.time()) + 1, filters={'container': 'ev-py', 'type': 'container'}, decode=True)
print(json.dumps([[e['status'], e['id'] == e['Actor']['ID'], e['from'], e['Actor']['Attributes']['name']] for e in evs]))`);
    const rows = JSON.parse(stdout) as Array<[string, boolean, string, string]>;
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['create', 'start', 'die', 'destroy'],
    );
    for (const [, sameId, from, name] of rows) {
      assert.ok(sameId);
      assert.equal(from, BUSYBOX);
      assert.equal(name, 'ev-py');
    }
  });
});
