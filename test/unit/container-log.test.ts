// conmon's k8s-file logs read back as Docker's `logs` shows them: real files in conmon's format,
// partial lines, tail across block boundaries, since/until, backups of a rotated log, and
// following through appends and conmon's replacement of the file.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  conmonCanRotate,
  conmonLogArgs,
  followLog,
  parseHumanSize,
  parseLogTime,
  readLog,
  validateLogConfig,
  type FollowLogOptions,
  type LogEntry,
  type ReadLogOptions,
} from '../../src/engine/runtime/container-log.ts';
import { formatRecord, parseRecord, TimeConverter, type LogStream } from '../../src/engine/runtime/k8s-log-format.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newPath = () => join(dir, `ctr-${n++}.log`);

/** conmon's time for unix second `s` (+ nanos) shown at a +02:00 offset, as conmon writes local time. */
function conmonTime(s: number, nanos = 0): string {
  const local = new Date((s + 2 * 3600) * 1000).toISOString().slice(0, 19);
  return `${local}.${String(nanos).padStart(9, '0')}+02:00`;
}
const utc = (s: number, nanos = 0) => `${new Date(s * 1000).toISOString().slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;

type Rec = [seconds: number, stream: LogStream, partial: boolean, text: string];
const T0 = 1_700_000_000;
const records = (recs: Rec[]) => Buffer.concat(recs.map(([s, stream, p, text]) => formatRecord(conmonTime(s), stream, p, text)));
const writeLog = (recs: Rec[], path = newPath()) => {
  writeFileSync(path, records(recs));
  return path;
};
const both: ReadLogOptions = { stdout: true, stderr: true };

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}
const text = (entries: LogEntry[]) => entries.map((e) => e.line.toString()).join('');
const lines = (entries: LogEntry[]) => entries.map((e) => `${e.stream}:${e.line.toString()}`);

describe('k8s-file records', () => {
  it('parses what conmon writes, and refuses what it does not', () => {
    const buf = formatRecord('2024-01-02T03:04:05.000000001+01:00', 'stderr', true, 'a b');
    const rec = parseRecord(buf, 0, buf.length - 1)!;
    assert.deepEqual({ ...rec }, { stream: 'stderr', partial: true, rawTime: '2024-01-02T03:04:05.000000001+01:00', textStart: 45, textEnd: buf.length - 1 });
    assert.equal(buf.toString('utf8', rec.textStart, rec.textEnd), 'a b');
    const empty = formatRecord('2024-01-02T03:04:05.000000001Z', 'stdout', false, '');
    assert.equal(parseRecord(empty, 0, empty.length - 1)!.textStart, empty.length - 1);
    for (const bad of ['garbage', '2024 stdin F x', '2024 stdout X x', '2024 stdoutF x']) assert.equal(parseRecord(Buffer.from(bad), 0, bad.length), undefined, bad);
  });

  it('converts local times with offsets to UTC with nine digits', () => {
    const c = new TimeConverter();
    assert.deepEqual(c.convert('2024-01-02T03:04:05.123456789+02:00'), { utc: '2024-01-02T01:04:05.123456789Z', seconds: Date.UTC(2024, 0, 2, 1, 4, 5) / 1000, nanos: 123456789 });
    assert.equal(c.convert('2024-01-02T03:04:05.5+02:00')!.utc, '2024-01-02T01:04:05.500000000Z');
    assert.equal(c.convert('2024-01-01T23:30:00.000000000-01:00')!.utc, '2024-01-02T00:30:00.000000000Z');
    assert.equal(c.convert('2024-01-02T03:04:05.000000000Z')!.utc, '2024-01-02T03:04:05.000000000Z');
    assert.equal(c.convert('yesterday'), undefined);
  });
});

describe('readLog', () => {
  it("gives Docker's lines: text and newline, per stream", async () => {
    const path = writeLog([
      [T0, 'stdout', false, 'one'],
      [T0, 'stderr', false, 'oops'],
      [T0 + 1, 'stdout', false, ''],
      [T0 + 1, 'stdout', false, 'two'],
    ]);
    assert.deepEqual(lines(await collect(readLog(path, both))), ['stdout:one\n', 'stderr:oops\n', 'stdout:\n', 'stdout:two\n']);
    assert.deepEqual(lines(await collect(readLog(path, { stdout: true, stderr: false }))), ['stdout:one\n', 'stdout:\n', 'stdout:two\n']);
    assert.deepEqual(lines(await collect(readLog(path, { stdout: false, stderr: true }))), ['stderr:oops\n']);
    assert.deepEqual((await collect(readLog(newPath(), both))).length, 0, 'no log file yet: nothing');
  });

  it('joins partial records per stream, and ends an unfinished line without a newline', async () => {
    const path = writeLog([
      [T0, 'stdout', true, 'hel'],
      [T0 + 1, 'stderr', false, 'between'],
      [T0 + 2, 'stdout', true, 'lo '],
      [T0 + 3, 'stdout', false, 'world'],
      [T0 + 4, 'stderr', true, 'no newline'],
    ]);
    const got = await collect(readLog(path, { ...both, timestamps: true }));
    assert.deepEqual(lines(got), [`stderr:${utc(T0 + 1)} between\n`, `stdout:${utc(T0)} hello world\n`, `stderr:${utc(T0 + 4)} no newline`]);
    assert.equal(got[1]!.time, utc(T0), 'a joined line has the time it began');
  });

  it('adds the details space as Docker does (no attributes, then a space)', async () => {
    const path = writeLog([[T0, 'stdout', false, 'x']]);
    assert.equal(text(await collect(readLog(path, { ...both, details: true }))), ' x\n');
    assert.equal(text(await collect(readLog(path, { ...both, details: true, timestamps: true }))), `${utc(T0)}  x\n`);
  });

  it('skips torn and foreign lines', async () => {
    const path = newPath();
    writeFileSync(path, Buffer.concat([records([[T0, 'stdout', false, 'a']]), Buffer.from('not a record\n'), records([[T0, 'stdout', false, 'b']]), Buffer.from(`${conmonTime(T0)} stdout F half-writ`)]));
    assert.equal(text(await collect(readLog(path, both))), 'a\nb\n');
  });

  it('since: from the first line at or after it; until: nothing after it', async () => {
    const path = writeLog(Array.from({ length: 10 }, (_, i): Rec => [T0 + i, i % 2 ? 'stderr' : 'stdout', false, `l${i}`]));
    const read = async (o: Partial<ReadLogOptions>) => text(await collect(readLog(path, { ...both, ...o })));
    assert.equal(await read({ since: T0 + 7 }), 'l7\nl8\nl9\n');
    assert.equal(await read({ since: T0 + 6.5 }), 'l7\nl8\nl9\n');
    assert.equal(await read({ until: T0 + 2 }), 'l0\nl1\nl2\n');
    assert.equal(await read({ until: T0 + 1.999 }), 'l0\nl1\n');
    assert.equal(await read({ since: T0 + 3, until: T0 + 5, stderr: false }), 'l4\n');
    // Docker takes the tail first, then the times
    assert.equal(await read({ tail: 3, since: T0 + 8 }), 'l8\nl9\n');
    assert.equal(await read({ tail: 3, until: T0 + 5 }), '');
  });

  it('since keeps everything after the first line it lets through (times need not be monotonic)', async () => {
    const path = writeLog([
      [T0 + 5, 'stdout', false, 'a'],
      [T0 + 9, 'stdout', false, 'b'],
      [T0 + 7, 'stdout', false, 'c'],
    ]);
    assert.equal(text(await collect(readLog(path, { ...both, since: T0 + 8 }))), 'b\nc\n');
  });

  it('tail counts lines from the end across block boundaries, and matches a full read', async () => {
    const recs: Rec[] = [];
    for (let i = 0; i < 6000; i++) {
      const stream: LogStream = i % 7 === 3 ? 'stderr' : 'stdout';
      if (i % 11 === 0) {
        // a long line in pieces, with the other stream between them
        recs.push([T0 + i, stream, true, `${i}-a-${'x'.repeat(500 + (i % 300))}`]);
        recs.push([T0 + i, stream === 'stdout' ? 'stderr' : 'stdout', false, `${i}-other`]);
        recs.push([T0 + i, stream, true, `-b-${'y'.repeat(i % 900)}`]);
        recs.push([T0 + i, stream, false, '-c']);
      } else {
        recs.push([T0 + i, stream, false, `${i}-${'z'.repeat(i % 200)}`]);
      }
    }
    const path = writeLog(recs);
    const all = await collect(readLog(path, both));
    assert.ok(all.length > 6000);
    for (const tail of [1, 2, 3, 10, 99, 500, 1234, all.length - 1, all.length, all.length + 5]) {
      const got = await collect(readLog(path, { ...both, tail }));
      assert.deepEqual(lines(got), lines(all.slice(Math.max(0, all.length - tail))), `tail ${tail}`);
    }
    assert.deepEqual(await collect(readLog(path, { ...both, tail: 0 })), []);
    assert.equal((await collect(readLog(path, { ...both, tail: 'all' }))).length, all.length);
    assert.equal((await collect(readLog(path, { ...both, tail: -1 }))).length, all.length);
    // tail counts both streams, then the stream filter applies (Docker's order)
    const out10 = await collect(readLog(path, { stdout: true, stderr: false, tail: 10 }));
    assert.deepEqual(lines(out10), lines(all.slice(-10).filter((e) => e.stream === 'stdout')));
  });

  it('tail keeps a line whose pieces lie in an earlier block than its end', async () => {
    const recs: Rec[] = [[T0, 'stdout', false, 'before']];
    for (let i = 0; i < 40; i++) recs.push([T0 + 1, 'stdout', true, `${i}:${'p'.repeat(8000)}`]);
    recs.push([T0 + 2, 'stderr', false, 'err']);
    recs.push([T0 + 3, 'stdout', false, 'end']);
    const path = writeLog(recs);
    const got = await collect(readLog(path, { ...both, tail: 1 }));
    assert.equal(got.length, 1);
    assert.ok(got[0]!.line.toString().startsWith('0:ppp'));
    assert.ok(got[0]!.line.toString().endsWith('pend\n'));
    assert.equal(got[0]!.line.length, 40 * 8000 + (10 * 2 + 30 * 3) + 'end\n'.length);
    assert.deepEqual(lines(await collect(readLog(path, { ...both, tail: 2 }))).map((l) => l.slice(0, 12)), ['stderr:err\n', 'stdout:0:ppp']);
  });

  it("leaves out of the tail a line that stopped before it, unfinished", async () => {
    const path = writeLog([
      [T0, 'stdout', false, 'a'],
      [T0 + 1, 'stdout', true, 'never ended'],
      [T0 + 2, 'stderr', false, 'b'],
      [T0 + 3, 'stderr', false, 'c'],
    ]);
    assert.deepEqual(lines(await collect(readLog(path, { ...both, tail: 1 }))), ['stderr:c\n']);
    assert.deepEqual(lines(await collect(readLog(path, { ...both, tail: 2 }))), ['stderr:b\n', 'stderr:c\n']);
    assert.deepEqual(lines(await collect(readLog(path, { ...both, tail: 3 }))), ['stderr:b\n', 'stderr:c\n', 'stdout:never ended']);
    assert.equal((await collect(readLog(path, both))).length, 4);
  });

  it("reads conmon's rotated backups first, oldest first", async () => {
    const path = newPath();
    writeLog([[T0, 'stdout', false, 'oldest'], [T0, 'stdout', true, 'spans ']], `${path}.2`);
    writeLog([[T0 + 1, 'stdout', false, 'files'], [T0 + 1, 'stdout', false, 'older']], `${path}.1`);
    writeLog([[T0 + 2, 'stdout', false, 'newest']], path);
    writeFileSync(`${path}.tmp`, 'ignored');
    assert.equal(text(await collect(readLog(path, both))), 'oldest\nspans files\nolder\nnewest\n');
    assert.equal(text(await collect(readLog(path, { ...both, tail: 3 }))), 'spans files\nolder\nnewest\n');
  });
});

describe('followLog', () => {
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Follows in the background, collecting lines; `stop()` makes stopWhen true. */
  function follow(path: string, o: Partial<FollowLogOptions> = {}) {
    const ac = new AbortController();
    let stopped = false;
    const got: LogEntry[] = [];
    const done = (async () => {
      for await (const e of followLog(path, { ...both, signal: ac.signal, stopWhen: async () => stopped, pollMs: 50, ...o })) got.push(e);
    })();
    return { got, done, stop: () => (stopped = true), abort: () => ac.abort() };
  }
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !cond(); i++) await wait(10);
    assert.ok(cond(), what);
  };

  it('continues with appended lines, joins pieces that arrive apart, and ends once stopped and read', async () => {
    const path = writeLog([[T0, 'stdout', false, 'first'], [T0, 'stdout', false, 'second']]);
    const f = follow(path, { tail: 1 });
    await until(() => f.got.length === 1, 'the tail');
    appendFileSync(path, records([[T0 + 1, 'stderr', true, 'par']]));
    await wait(100);
    assert.equal(f.got.length, 1, 'a piece waits for the rest of its line');
    appendFileSync(path, records([[T0 + 2, 'stderr', false, 'tial']]));
    // a record written in two writes (a torn read) is read whole
    const rec = records([[T0 + 3, 'stdout', false, 'torn']]);
    appendFileSync(path, rec.subarray(0, 20));
    await until(() => f.got.length === 2, 'the joined line');
    appendFileSync(path, rec.subarray(20));
    await until(() => f.got.length === 3, 'the torn record');
    appendFileSync(path, records([[T0 + 4, 'stdout', true, 'exit mid-line']]));
    f.stop();
    await f.done;
    assert.deepEqual(lines(f.got), ['stdout:second\n', 'stderr:partial\n', 'stdout:torn\n', 'stdout:exit mid-line']);
  });

  it("reads the old file to its end and goes on in the new one when conmon replaces it", async () => {
    const path = writeLog([[T0, 'stdout', false, 'a']]);
    const f = follow(path);
    await until(() => f.got.length === 1, 'the first line');
    // conmon: the last lines into the old file, then <path>.tmp renamed over <path>
    appendFileSync(path, records([[T0 + 1, 'stdout', false, 'b'], [T0 + 1, 'stdout', true, 'c-']]));
    writeFileSync(`${path}.tmp`, records([[T0 + 2, 'stdout', false, 'continued']]));
    renameSync(`${path}.tmp`, path);
    await until(() => f.got.length === 3, 'the new file');
    appendFileSync(path, records([[T0 + 3, 'stdout', false, 'd']]));
    await until(() => f.got.length === 4, 'appends to the new file');
    // and once more, with nothing read from the file in between
    writeFileSync(`${path}.tmp`, records([[T0 + 4, 'stdout', false, 'e']]));
    renameSync(`${path}.tmp`, path);
    await until(() => f.got.length === 5, 'the third file');
    f.stop();
    await f.done;
    assert.equal(text(f.got), 'a\nb\nc-continued\nd\ne\n');
  });

  it('waits for a log that does not exist yet, and tail 0 shows only new lines', async () => {
    const path = newPath();
    const f = follow(path, { tail: 0 });
    await wait(80);
    writeLog([[T0, 'stdout', false, 'born']], path);
    await until(() => f.got.length === 1, 'the new file');
    const g = follow(path, { tail: 0 });
    await wait(80);
    appendFileSync(path, records([[T0 + 1, 'stdout', false, 'later']]));
    await until(() => g.got.length === 1, 'the new line');
    f.abort();
    g.abort();
    await Promise.all([f.done, g.done]);
    assert.equal(text(f.got), 'born\nlater\n');
    assert.equal(text(g.got), 'later\n');
  });

  it('ends on abort while waiting, and at the first line after until', async () => {
    const path = writeLog([[T0, 'stdout', false, 'a']]);
    const f = follow(path);
    await until(() => f.got.length === 1, 'the first line');
    f.abort();
    await f.done;
    const g = follow(path, { until: T0 + 5 });
    await until(() => g.got.length === 1, 'the first line');
    appendFileSync(path, records([[T0 + 6, 'stdout', false, 'late'], [T0 + 1, 'stdout', false, 'never']]));
    await g.done;
    assert.equal(text(g.got), 'a\n');
  });
});

describe('log configuration', () => {
  it('gives conmon the size budget of max-size × max-file (conmon 2.1 keeps one file)', () => {
    const p = '/var/lib/berth/containers/x/ctr.log';
    assert.deepEqual(conmonLogArgs(undefined, p), ['-l', `k8s-file:${p}`]);
    assert.deepEqual(conmonLogArgs({ Type: 'json-file', Config: {} }, p), ['-l', `k8s-file:${p}`]);
    assert.deepEqual(conmonLogArgs({ Type: 'json-file', Config: { 'max-size': '10m' } }, p), ['-l', `k8s-file:${p}`, '--log-size-max', '10000000']);
    assert.deepEqual(conmonLogArgs({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } }, p), ['-l', `k8s-file:${p}`, '--log-size-max', '3000']);
    assert.deepEqual(conmonLogArgs({ Type: 'json-file', Config: { 'max-file': '3' } }, p), ['-l', `k8s-file:${p}`], 'max-file alone limits nothing');
    assert.deepEqual(conmonLogArgs({ Type: 'local' }, p), ['-l', `k8s-file:${p}`, '--log-size-max', String(5 * 20 * 1024 * 1024)]);
    assert.deepEqual(conmonLogArgs({ Type: 'none' }, p), ['-l', 'none']);
    assert.deepEqual(conmonLogArgs({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } }, p, { rotate: true }), [
      '-l', `k8s-file:${p}`, '--log-size-max', '1000', '--log-rotate', '--log-max-files', '2',
    ]);
    assert.equal(conmonCanRotate('2.1.6'), false);
    assert.equal(conmonCanRotate('2.2.0'), true);
    assert.equal(conmonCanRotate('3.0'), true);
  });

  it("refuses what Docker refuses, in Docker's words", () => {
    const refuse = (cfg: Parameters<typeof validateLogConfig>[0], message: string) => assert.throws(() => validateLogConfig(cfg), { name: 'InvalidArgument', message });
    refuse({ Type: 'syslogd' }, "logger: no log driver named 'syslogd' is registered");
    refuse({ Type: 'json-file', Config: { 'max-size': 'lots' } }, "invalid size: 'lots'");
    refuse({ Type: 'json-file', Config: { 'max-size': '10q' } }, "invalid suffix: 'q'");
    refuse({ Type: 'json-file', Config: { 'max-size': '0' } }, 'max-size must be a positive number');
    refuse({ Type: 'json-file', Config: { 'max-file': '0' } }, 'max-file cannot be less than 1');
    refuse({ Type: 'json-file', Config: { 'max-file': 'x' } }, 'strconv.Atoi: parsing "x": invalid syntax');
    refuse({ Type: 'json-file', Config: { colour: 'red' } }, "unknown log opt 'colour' for json-file log driver");
    refuse({ Type: 'local', Config: { tag: 'x' } }, "unknown log opt 'tag' for log driver local");
    refuse({ Type: 'json-file', Config: { mode: 'eager' } }, 'logger: logging mode not supported: eager');
    refuse({ Type: 'json-file', Config: { 'max-buffer-size': '4m' } }, "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    assert.deepEqual(validateLogConfig({ Type: 'json-file', Config: { mode: 'non-blocking', 'max-buffer-size': '4m', tag: '{{.Name}}', labels: 'a' } }), { maxFiles: 1 });
    assert.deepEqual(validateLogConfig({ Type: 'none', Config: { anything: 'x' } }), { maxFiles: 1 });
  });

  it("reads sizes as Docker's go-units does (decimal units)", () => {
    assert.equal(parseHumanSize('10'), 10);
    assert.equal(parseHumanSize('10k'), 10_000);
    assert.equal(parseHumanSize('10m'), 10_000_000);
    assert.equal(parseHumanSize('10MB'), 10_000_000);
    assert.equal(parseHumanSize('10MiB'), 10_000_000);
    assert.equal(parseHumanSize('1.5g'), 1_500_000_000);
    assert.equal(parseHumanSize('7b'), 7);
  });

  it('reads since/until as unix seconds with a fraction', () => {
    assert.equal(parseLogTime('since', undefined), undefined);
    assert.equal(parseLogTime('since', '1700000000'), 1_700_000_000);
    assert.equal(parseLogTime('since', '1700000000.5'), 1_700_000_000.5);
    assert.equal(parseLogTime('until', '-1.5'), -0.5);
    assert.throws(() => parseLogTime('since', 'yesterday'), { message: 'invalid value for "since": strconv.ParseInt: parsing "yesterday": invalid syntax' });
    assert.throws(() => parseLogTime('until', '12.x'), { message: 'invalid value for "until": strconv.ParseInt: parsing "x": invalid syntax' });
  });
});
