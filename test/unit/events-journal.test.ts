// The event journal: times as clients send them, Docker's event filters, the stored line, and
// appends from several processes at once (the API service and `berth cleanup` share the file).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { storePaths } from '../../src/config/paths.ts';
import type { EngineContext } from '../../src/engine/context.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';
import { eventMatcher, parseEventTime } from '../../src/engine/events/filter.ts';
import { eventLine, followEvents, journalLimits, newMessage, parseEventLine, readEvents, recordEvent, type EventMessage, type NewEvent } from '../../src/engine/events/journal.ts';

const exec = promisify(execFile);
const journalModule = fileURLToPath(new URL('../../src/engine/events/journal.ts', import.meta.url));
const S = 1_000_000_000n;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function engine(): EngineContext {
  const dir = mkdtempSync(join(tmpdir(), 'berth-events-'));
  dirs.push(dir);
  const paths = storePaths(join(dir, 'root'), join(dir, 'run'));
  mkdirSync(paths.root, { recursive: true });
  mkdirSync(paths.locks, { recursive: true });
  return { paths, programs: { runc: 'runc', conmon: 'conmon' } };
}

const msg = (ev: NewEvent, t = 1_700_000_000n * S): EventMessage => newMessage(ev, t);

/** Another process appending `n` events tagged `who` (seq 0…n-1), without awaiting each. */
async function appender(ctx: EngineContext, who: string, n: number, opts: { rotateBytes?: number; pauseEvery?: number } = {}): Promise<void> {
  const code = `
    import { recordEvent, journalLimits } from ${JSON.stringify(journalModule)};
    const [root, runroot, events, locks, who, n, rotate, pauseEvery] = process.argv.slice(1);
    if (Number(rotate)) journalLimits.rotateBytes = Number(rotate);
    const ctx = { paths: { root, runroot, events, locks }, programs: {} };
    const pending = [];
    for (let i = 0; i < Number(n); i++) {
      pending.push(recordEvent(ctx, { type: 'container', action: 'exec_start: sh -c true', id: who.repeat(64).slice(0, 64),
        attributes: { name: who, seq: String(i), image: 'busybox', padding: 'x'.repeat(200) } }));
      if (Number(pauseEvery) && i % Number(pauseEvery) === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(pending);
  `;
  const { paths } = ctx;
  const { stderr } = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, paths.root, paths.runroot, paths.events, paths.locks, who, String(n), String(opts.rotateBytes ?? 0), String(opts.pauseEvery ?? 0)]);
  assert.equal(stderr, '', 'no event was dropped');
}

/** `p` within `ms`, else the follower is stopped and the test fails with `what()`. */
async function within(ms: number, p: Promise<void>, ac: AbortController, what: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new Error(what()));
    }, ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

function journalLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
}

describe('since and until', () => {
  const now = 1_800_000_000n * S;
  it('takes unix seconds with an optional fraction, as the docker CLI sends them', () => {
    assert.equal(parseEventTime('1795581873'), 1795581873n * S);
    assert.equal(parseEventTime('1795581873.5'), 1795581873n * S + 500_000_000n);
    assert.equal(parseEventTime('1795581873.000000001'), 1795581873n * S + 1n);
    assert.equal(parseEventTime('0'), 0n);
  });
  it('takes Go durations as that long before now', () => {
    assert.equal(parseEventTime('10m', now), now - 600n * S);
    assert.equal(parseEventTime('1h30m', now), now - 5400n * S);
    assert.equal(parseEventTime('1.5h', now), now - 5400n * S);
    assert.equal(parseEventTime('300ms', now), now - 300_000_000n);
    assert.equal(parseEventTime('0s', now), now);
  });
  it('takes RFC 3339 dates, with a zone or in local time', () => {
    assert.equal(parseEventTime('2024-01-02T03:04:05Z'), BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n);
    assert.equal(parseEventTime('2024-01-02T03:04:05.25+02:00'), BigInt(Date.UTC(2024, 0, 2, 1, 4, 5)) * 1_000_000n + 250_000_000n);
    assert.equal(parseEventTime('2024-01-02T03:04Z'), BigInt(Date.UTC(2024, 0, 2, 3, 4)) * 1_000_000n);
    assert.equal(parseEventTime('2024-01-02'), BigInt(new Date(2024, 0, 2).getTime()) * 1_000_000n);
  });
  it('refuses anything else with a 400', () => {
    for (const bad of ['abc', '10x', '2024-13-01', '1.2.3', '']) assert.throws(() => parseEventTime(bad), InvalidArgument, bad);
  });
});

describe('event filters', () => {
  const start = msg({ type: 'container', action: 'start', id: 'a1b2c3d4', attributes: { name: 'web', image: '127.0.0.1:5000/library/web:1', 'com.docker.compose.project': 'p' } });
  const exec = msg({ type: 'container', action: 'exec_start: sh -c echo hi', id: 'a1b2c3d4', attributes: { name: 'web', image: 'busybox' } });
  const health = msg({ type: 'container', action: 'health_status: healthy', id: 'ffee', attributes: { name: 'db', image: 'busybox' } });
  const pull = msg({ type: 'image', action: 'pull', id: 'busybox:latest', attributes: { name: 'busybox' } });
  const tag = msg({ type: 'image', action: 'tag', id: 'sha256:abcd', attributes: { name: 'mine:1', 'com.example': 'x' } });
  const net = msg({ type: 'network', action: 'connect', id: 'n123', attributes: { name: 'bridge', container: 'a1b2c3d4', type: 'bridge' } });
  const all = [start, exec, health, pull, tag, net];
  const pick = (filters: Record<string, string[]>) => all.filter(eventMatcher(filters));

  it('passes everything without filters, and ignores keys it does not know, as Docker does', () => {
    assert.deepEqual(pick({}), all);
    assert.deepEqual(pick({ bogus: ['x'] }), all);
  });
  it('type and event: values OR-ed, keys AND-ed; an action with a command matches by its part before the colon', () => {
    assert.deepEqual(pick({ type: ['image'] }), [pull, tag]);
    assert.deepEqual(pick({ type: ['image', 'network'] }), [pull, tag, net]);
    assert.deepEqual(pick({ event: ['start'] }), [start]);
    assert.deepEqual(pick({ event: ['exec_start'] }), [exec]);
    assert.deepEqual(pick({ event: ['exec_start: sh -c echo hi'] }), [exec]);
    assert.deepEqual(pick({ event: ['health_status'] }), [health]);
    assert.deepEqual(pick({ event: ['start', 'pull'], type: ['image'] }), [pull]);
  });
  it('container: the id or name, whole or by prefix', () => {
    assert.deepEqual(pick({ container: ['web'] }), [start, exec]);
    assert.deepEqual(pick({ container: ['a1b2'] }), [start, exec]);
    assert.deepEqual(pick({ container: ['db', 'a1b2c3d4'] }), [start, exec, health]);
    assert.deepEqual(pick({ container: ['nope'] }), []);
  });
  it('image: the image id or name, with or without its tag, and containers by their image', () => {
    assert.deepEqual(pick({ image: ['busybox'] }), [exec, health, pull]);
    assert.deepEqual(pick({ image: ['busybox:latest'] }), [pull]);
    assert.deepEqual(pick({ image: ['127.0.0.1:5000/library/web'] }), [start]);
    assert.deepEqual(pick({ image: ['sha256:abcd'] }), [tag]);
    assert.deepEqual(pick({ image: ['mine'] }), [tag]);
  });
  it('label: key or key=value on the attributes', () => {
    assert.deepEqual(pick({ label: ['com.docker.compose.project'] }), [start]);
    assert.deepEqual(pick({ label: ['com.docker.compose.project=p'] }), [start]);
    assert.deepEqual(pick({ label: ['com.docker.compose.project=q'] }), []);
    assert.deepEqual(pick({ label: ['com.example=x', 'name=mine:1'] }), [tag]);
  });
  it('network, volume and scope', () => {
    assert.deepEqual(pick({ network: ['bridge'] }), [net]);
    assert.deepEqual(pick({ network: ['n1'] }), [net]);
    assert.deepEqual(pick({ volume: ['v'] }), []);
    assert.deepEqual(pick({ scope: ['local'] }), all);
    assert.deepEqual(pick({ scope: ['swarm'] }), []);
  });
});

describe('the stored line', () => {
  it("is Docker's message, legacy fields first, attributes sorted, timeNano with every digit", () => {
    const line = eventLine(msg({ type: 'container', action: 'die', id: 'c1', attributes: { name: 'x', image: 'busybox', exitCode: '0' } }, 1795581873904983421n));
    assert.equal(
      line,
      '{"status":"die","id":"c1","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"exitCode":"0","image":"busybox","name":"x"}},"scope":"local","time":1795581873,"timeNano":1795581873904983421}',
    );
    const back = parseEventLine(line)!;
    assert.equal(back.timeNano, 1795581873904983421n);
    assert.equal(eventLine(back), line);
    assert.equal(
      eventLine(back, { legacy: false }),
      '{"Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"exitCode":"0","image":"busybox","name":"x"}},"scope":"local","time":1795581873,"timeNano":1795581873904983421}',
    );
  });
  it('has no legacy fields for other types, and no `from` for images', () => {
    assert.doesNotMatch(eventLine(msg({ type: 'network', action: 'create', id: 'n', attributes: { name: 'n' } })), /status|"id"|from/);
    assert.doesNotMatch(eventLine(msg({ type: 'image', action: 'pull', id: 'busybox:latest', attributes: { name: 'busybox' } })), /from/);
  });
  it('is not a message when torn or not JSON', () => {
    assert.equal(parseEventLine('{"status":"die","id":"c1","Type":"cont'), undefined);
    assert.equal(parseEventLine('[]'), undefined);
  });
  it('stays under the line limit: a huge label is cut, the name kept', async () => {
    const ctx = engine();
    await recordEvent(ctx, { type: 'container', action: 'create', id: 'c'.repeat(64), attributes: { name: 'dev', image: 'busybox', 'devcontainer.metadata': 'm'.repeat(20_000), other: 'o'.repeat(3000) } });
    const [line] = journalLines(ctx.paths.events);
    assert.ok(Buffer.byteLength(line!) <= journalLimits.maxLineBytes, `${Buffer.byteLength(line!)} bytes`);
    const ev = parseEventLine(line!)!;
    assert.equal(ev.Actor.Attributes['name'], 'dev');
    assert.ok(ev.Actor.Attributes['devcontainer.metadata']!.startsWith('mmmm'));
  });
});

describe('appends from several processes', () => {
  it('never interleave: 4 processes × 500 events, every line whole, each process in its order', async () => {
    const ctx = engine();
    await Promise.all(['a', 'b', 'c', 'd'].map((who) => appender(ctx, who, 500)));
    const lines = journalLines(ctx.paths.events);
    assert.equal(lines.length, 2000);
    const seen = new Map<string, number>();
    for (const line of lines) {
      const ev = parseEventLine(line);
      assert.ok(ev, `a torn line: ${line.slice(0, 80)}`);
      const who = ev.Actor.Attributes['name']!;
      const seq = Number(ev.Actor.Attributes['seq']);
      assert.equal(seq, (seen.get(who) ?? -1) + 1, `${who} out of order`);
      seen.set(who, seq);
    }
    assert.deepEqual([...seen.values()], [499, 499, 499, 499]);
  });

  it('rotate past the size limit into events.jsonl.1, one old file kept, no line lost at the switch', async () => {
    const ctx = engine();
    await Promise.all(['a', 'b', 'c'].map((who) => appender(ctx, who, 300, { rotateBytes: 150_000 })));
    const old = journalLines(`${ctx.paths.events}.1`);
    const current = journalLines(ctx.paths.events);
    assert.ok(old.length > 0, 'rotated');
    assert.ok(!existsSync(`${ctx.paths.events}.2`));
    for (const line of [...old, ...current]) assert.ok(parseEventLine(line), line.slice(0, 80));
    // whatever the old file holds, from there on nothing is missing: each writer's seqs are consecutive
    const seqs = new Map<string, number[]>();
    for (const line of [...old, ...current]) {
      const ev = parseEventLine(line)!;
      const who = ev.Actor.Attributes['name']!;
      seqs.set(who, [...(seqs.get(who) ?? []), Number(ev.Actor.Attributes['seq'])]);
    }
    for (const [who, s] of seqs) {
      assert.equal(s[s.length - 1], 299, who);
      s.forEach((v, i) => i > 0 && assert.equal(v, s[i - 1]! + 1, `${who} lost an event`));
    }
  });
});

describe('reading and following', () => {
  it('reads both files between since and until, filtered', async () => {
    const ctx = engine();
    const t0 = BigInt(Date.now()) * 1_000_000n;
    await appender(ctx, 'a', 200, { rotateBytes: 40_000 });
    await recordEvent(ctx, { type: 'image', action: 'tag', id: 'sha256:1', attributes: { name: 'x:1' } });
    const t1 = BigInt(Date.now()) * 1_000_000n;
    const got: EventMessage[] = [];
    for await (const ev of readEvents(ctx, { since: t0, until: t1 })) got.push(ev);
    assert.ok(existsSync(`${ctx.paths.events}.1`));
    assert.equal(got[got.length - 1]!.Action, 'tag');
    assert.ok(got.length > 1);
    const images: EventMessage[] = [];
    for await (const ev of readEvents(ctx, { since: t0, filters: { type: ['image'] } })) images.push(ev);
    assert.deepEqual(images.map((e) => e.Actor.ID), ['sha256:1']);
    const none: EventMessage[] = [];
    for await (const ev of readEvents(ctx, { since: t1 + 1n })) none.push(ev);
    assert.deepEqual(none, []);
  });

  it('follows new events from other processes across a rotation, and stops when told', async () => {
    const ctx = engine();
    await recordEvent(ctx, { type: 'image', action: 'tag', id: 'sha256:old', attributes: { name: 'old:1' } });
    const ac = new AbortController();
    const got: EventMessage[] = [];
    const following = (async () => {
      for await (const ev of followEvents(ctx, { signal: ac.signal, filters: { container: ['a'] } })) {
        got.push(ev);
        if (got.length === 400) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    // two rotations at most: a follower that looks only at the end must still see them all
    await appender(ctx, 'a', 400, { rotateBytes: 80_000, pauseEvery: 20 });
    await within(10_000, following, ac, () => `only ${got.length} events followed`);
    assert.ok(existsSync(`${ctx.paths.events}.1`), 'the journal rotated meanwhile');
    assert.deepEqual(got.map((e) => Number(e.Actor.Attributes['seq'])), Array.from({ length: 400 }, (_, i) => i));
  });

  it('reads a whole rotated file it never saw when two rotations happen between two looks', async () => {
    const ctx = engine();
    const line = (id: string) => `${eventLine(newMessage({ type: 'volume', action: 'create', id }, BigInt(Date.now()) * 1_000_000n))}\n`;
    appendFileSync(ctx.paths.events, line('first'));
    const ac = new AbortController();
    const got: string[] = [];
    const following = (async () => {
      for await (const ev of followEvents(ctx, { signal: ac.signal })) {
        got.push(ev.Actor.ID);
        if (got.length === 4) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    // all in one turn of the event loop: the follower cannot look in between
    appendFileSync(ctx.paths.events, line('a'));
    renameSync(ctx.paths.events, `${ctx.paths.events}.1`);
    appendFileSync(ctx.paths.events, line('b1'));
    appendFileSync(ctx.paths.events, line('b2'));
    renameSync(ctx.paths.events, `${ctx.paths.events}.1`);
    appendFileSync(ctx.paths.events, line('c'));
    await within(5_000, following, ac, () => `got ${got.join(',')}`);
    assert.deepEqual(got, ['a', 'b1', 'b2', 'c']);
  });

  it('still reads a line written to the old file by a writer that opened it just before the rotation', async () => {
    const ctx = engine();
    const line = (id: string) => `${eventLine(newMessage({ type: 'volume', action: 'create', id }, BigInt(Date.now()) * 1_000_000n))}\n`;
    appendFileSync(ctx.paths.events, line('before'));
    const ac = new AbortController();
    const got: string[] = [];
    const following = (async () => {
      for await (const ev of followEvents(ctx, { signal: ac.signal })) {
        got.push(ev.Actor.ID);
        if (got.length === 3) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const late = openSync(ctx.paths.events, 'a');
    appendFileSync(ctx.paths.events, line('old'));
    renameSync(ctx.paths.events, `${ctx.paths.events}.1`);
    appendFileSync(ctx.paths.events, line('new'));
    const deadline = Date.now() + 5_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (got.length < 2) ac.abort();
    assert.deepEqual(got, ['old', 'new']);
    writeSync(late, line('late'));
    closeSync(late);
    await within(5_000, following, ac, () => `got ${got.join(',')}`);
    assert.deepEqual(got, ['old', 'new', 'late']);
  });

  it('with until: replays, follows until that time, then ends', async () => {
    const ctx = engine();
    await recordEvent(ctx, { type: 'volume', action: 'create', id: 'v1', attributes: { driver: 'local' } });
    const since = BigInt(Date.now() - 5_000) * 1_000_000n;
    const until = BigInt(Date.now() + 600) * 1_000_000n;
    const got: string[] = [];
    const started = Date.now();
    const following = (async () => {
      for await (const ev of followEvents(ctx, { since, until })) got.push(ev.Actor.ID);
    })();
    await new Promise((r) => setTimeout(r, 100));
    await recordEvent(ctx, { type: 'volume', action: 'create', id: 'v2', attributes: { driver: 'local' } });
    await following;
    const took = Date.now() - started;
    assert.deepEqual(got, ['v1', 'v2']);
    assert.ok(took >= 450 && took < 3000, `ended after ${took} ms`);
  });
});
