// GET /events through real clients: the docker CLI replaying a window of past image events and
// following new ones, docker-py reading a window, and a follow stream keeping an idle-timing
// service alive.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startBerth, waitFor, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, dockerFor, dockerPyFor, fixture, startRegistries } from '../helpers/fixtures.ts';

const PLAIN = 5350;
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
