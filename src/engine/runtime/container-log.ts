// Container logs: reading conmon's k8s-file log (with Docker's tail, since and until), following
// it while conmon appends and replaces it, and the LogConfig → conmon flags mapping.
//
// conmon (2.1.x) writes `<path>` with O_APPEND. Past --log-size-max it writes `<path>.tmp` and
// renames it over `<path>`: the old file's content is gone for new readers, but a reader that
// holds it open still reads it to its end. conmon ≥ 2.2 with --log-rotate renames `<path>` to
// `<path>.1` (shifting older ones to .2 … .N) before putting the new file in place: readers
// read those backups first, oldest first, as one log.
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { EngineContext } from '../context.ts';
import { Conflict, InvalidArgument, NotImplemented } from '../errors.ts';
import { containerPaths } from '../containers/store.ts';
import type { HostConfig } from '../containers/types.ts';
import { parseRecord, TimeConverter, timeAfter, timeBefore, type LogStream, type LogTime } from './k8s-log-format.ts';

export type { LogStream } from './k8s-log-format.ts';

export interface LogEntry {
  stream: LogStream;
  /** When the line began, Docker's form: UTC, 9 fraction digits (`…T15:04:05.000000000Z`). */
  time: string;
  /**
   * What Docker writes for this message: the text with its newline (none for a line the
   * container has not ended), after `<time> ` when `timestamps` is asked for.
   */
  line: Buffer;
}

export interface ReadLogOptions {
  stdout: boolean;
  stderr: boolean;
  /** Unix seconds (fractional): lines from the first one at or after it. */
  since?: number;
  /** Unix seconds (fractional): nothing after it. */
  until?: number;
  /** The last N lines of the log (counted before since/until and the stream choice, as Docker does). */
  tail?: number | 'all';
  /** Prefix every line with its time and a space. */
  timestamps?: boolean;
  /** Docker's `details`: the line's attributes (berth records none) and a space before the text. */
  details?: boolean;
}

export interface FollowLogOptions extends ReadLogOptions {
  signal: AbortSignal;
  /** True once the container is no longer running: the log is then read to its end, and the stream ends. */
  stopWhen: () => Promise<boolean>;
  /** How often to look for new lines when no change was notified (and to ask `stopWhen`). */
  pollMs?: number;
  /** A file whose appearance (conmon's exit file) means `stopWhen` is worth asking at once. */
  exitFile?: string;
}

const CHUNK = 256 << 10;
const BACK_BLOCK = 64 << 10;
/** How far back to look for more pieces of a counted line before giving up (see scanBack). */
const MAX_GAP = 1 << 20;
const DEFAULT_POLL_MS = 200;
const NL = 0x0a;
const SPACE = 0x20;

/** The log's lines as they are now. */
export async function* readLog(path: string, opts: ReadLogOptions): AsyncIterable<LogEntry> {
  for await (const batch of readLogBatches(path, opts)) yield* batch;
}

/** The log's lines, then new ones as they come, until `stopWhen` or the signal. */
export async function* followLog(path: string, opts: FollowLogOptions): AsyncIterable<LogEntry> {
  for await (const batch of followLogBatches(path, opts)) yield* batch;
}

/** readLog in batches (one per read of the file): what a stream writer wants, without a promise per line. */
export async function* readLogBatches(path: string, opts: ReadLogOptions): AsyncIterable<LogEntry[]> {
  if (opts.tail === 0 || (!opts.stdout && !opts.stderr)) return;
  const cursor = await LogCursor.open(path, opts, false);
  try {
    for (;;) {
      const batch = await cursor.read();
      if (batch === null) break;
      if (batch.length) yield batch;
      if (cursor.done) return;
    }
    const rest = cursor.flush();
    if (rest.length) yield rest;
  } finally {
    await cursor.close();
  }
}

/** followLog in batches. */
export async function* followLogBatches(path: string, opts: FollowLogOptions): AsyncIterable<LogEntry[]> {
  const { signal } = opts;
  if (signal.aborted) return;
  const cursor = await LogCursor.open(path, opts, true);
  const waker = new Waker(path, opts.pollMs ?? DEFAULT_POLL_MS, signal, opts.exitFile);
  let stopping = false;
  try {
    for (;;) {
      let got = false;
      for (;;) {
        const batch = await cursor.read();
        if (batch === null) break;
        got ||= batch.length > 0;
        if (batch.length) yield batch;
        if (cursor.done || signal.aborted) return;
      }
      if (await cursor.followReplacement()) continue;
      const pastUntil = opts.until !== undefined && Date.now() / 1000 > opts.until;
      if (stopping || pastUntil) {
        const rest = cursor.flush();
        if (rest.length) yield rest;
        return;
      }
      // Only when there was nothing new: a container writing fast is running anyway.
      if (!got && (await opts.stopWhen())) {
        // conmon has written everything before the container counts as stopped: one more pass.
        stopping = true;
        continue;
      }
      await waker.wait();
      if (signal.aborted) return;
    }
  } finally {
    waker.close();
    await cursor.close();
  }
}

interface OpenFile {
  fh: FileHandle;
  ino: number;
  /** Size when opened: where a read without follow stops. */
  size: number;
  /** Virtual offset of the file's first byte (files read as one log). */
  base: number;
}

interface Pending {
  parts: Buffer[];
  time: LogTime;
  /** Virtual offset of the last piece: where the line ends if it never gets an `F`. */
  lastAt: number;
}

/** A position in the log files and what has been read of partial lines. */
class LogCursor {
  private idx = 0;
  private pos = 0;
  private carry: Buffer | undefined;
  private readonly pending: Partial<Record<LogStream, Pending>> = {};
  private readonly times = new TimeConverter();
  private since: number | undefined;
  /** Entries whose last record starts before this virtual offset were before the tail. */
  private cut = 0;
  done = false;

  private constructor(
    private readonly path: string,
    private readonly files: OpenFile[],
    private readonly opts: ReadLogOptions,
    private readonly follow: boolean,
  ) {
    this.since = opts.since;
  }

  static async open(path: string, opts: ReadLogOptions, follow: boolean): Promise<LogCursor> {
    const files = await openLogFiles(path);
    const cursor = new LogCursor(path, files, opts, follow);
    const tail = opts.tail === undefined || opts.tail === 'all' || opts.tail < 0 ? -1 : opts.tail;
    if (tail >= 0 && files.length) {
      const start = await scanBack(files, tail);
      cursor.idx = start.idx;
      cursor.pos = start.pos;
      cursor.cut = start.cut;
    }
    return cursor;
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.fh.close().catch(() => undefined)));
  }

  /**
   * The entries of the next chunk; `null` at the end of what can be read now. Moves on to the
   * next file at the end of one that is no longer the last.
   */
  async read(): Promise<LogEntry[] | null> {
    for (;;) {
      const file = this.files[this.idx];
      if (!file) return null;
      const last = this.idx === this.files.length - 1;
      const limit = last && !this.follow ? file.size : Infinity;
      const want = Math.min(CHUNK, limit - this.pos);
      let n = 0;
      let buf: Buffer | undefined;
      if (want > 0) {
        buf = Buffer.allocUnsafe(want);
        ({ bytesRead: n } = await file.fh.read(buf, 0, want, this.pos));
      }
      if (n === 0) {
        if (last) return null;
        // a file that was replaced or rotated is complete: a torn record at its end is dropped
        this.carry = undefined;
        this.idx++;
        this.pos = 0;
        continue;
      }
      const chunkStart = this.pos - (this.carry?.length ?? 0);
      this.pos += n;
      let data = buf!.subarray(0, n);
      if (this.carry) {
        data = Buffer.concat([this.carry, data]);
        this.carry = undefined;
      }
      const end = data.lastIndexOf(NL) + 1;
      if (end < data.length) this.carry = Buffer.from(data.subarray(end));
      return this.parse(data, end, file.base + chunkStart);
    }
  }

  /** Complete records of `data[0, end)`, whose first byte is at virtual offset `at`. */
  private parse(data: Buffer, end: number, at: number): LogEntry[] {
    const out: LogEntry[] = [];
    let start = 0;
    while (start < end && !this.done) {
      const nl = data.indexOf(NL, start);
      const rec = parseRecord(data, start, nl);
      if (rec) {
        const stream = rec.stream;
        const pending = this.pending[stream];
        if (rec.partial) {
          const piece = Buffer.from(data.subarray(rec.textStart, rec.textEnd));
          if (pending) {
            pending.parts.push(piece);
            pending.lastAt = at + start;
          } else {
            const time = this.times.convert(rec.rawTime);
            if (time) this.pending[stream] = { parts: [piece], time, lastAt: at + start };
          }
        } else if (at + start >= this.cut || pending) {
          // the text and its newline, straight from the chunk
          const text = data.subarray(rec.textStart, nl + 1);
          let time: LogTime | undefined;
          let body: Buffer;
          if (pending) {
            this.pending[stream] = undefined;
            time = pending.time;
            pending.parts.push(text);
            body = Buffer.concat(pending.parts);
          } else {
            time = this.times.convert(rec.rawTime);
            body = text;
          }
          if (time && at + start >= this.cut) this.emit(out, stream, time, body);
        }
      }
      start = nl + 1;
    }
    return out;
  }

  private emit(out: LogEntry[], stream: LogStream, time: LogTime, body: Buffer): void {
    const opts = this.opts;
    if (this.since !== undefined) {
      if (timeBefore(time, this.since)) return;
      // Docker stops checking at the first line at or after `since` (times need not be monotonic)
      this.since = undefined;
    }
    if (opts.until !== undefined && timeAfter(time, opts.until)) {
      this.done = true;
      return;
    }
    if (stream === 'stdout' ? !opts.stdout : !opts.stderr) return;
    let line = body;
    if (opts.timestamps || opts.details) {
      const prefix = `${opts.timestamps ? `${time.utc} ` : ''}${opts.details ? ' ' : ''}`;
      line = Buffer.concat([Buffer.from(prefix), body]);
    }
    out.push({ stream, time: time.utc, line });
  }

  /** Lines the container did not end (it exited mid-line, or stopped being followed): as they are, without a newline. */
  flush(): LogEntry[] {
    const out: LogEntry[] = [];
    const open = (['stdout', 'stderr'] as const).flatMap((s) => (this.pending[s] ? [[s, this.pending[s]!] as const] : []));
    // in the order they began
    open.sort((a, b) => a[1].time.seconds - b[1].time.seconds || a[1].time.nanos - b[1].time.nanos);
    for (const [stream, p] of open) {
      this.pending[stream] = undefined;
      // one that ended before the tail's first line is not part of the tail
      if (!this.done && p.lastAt >= this.cut) this.emit(out, stream, p.time, Buffer.concat(p.parts));
    }
    return out;
  }

  /**
   * At the end of the last file: has conmon put a new file in its place (size limit, rotation,
   * or the file appearing at last)? Then the new one is read next. True when there is more to read.
   */
  async followReplacement(): Promise<boolean> {
    const st = await fsp.stat(this.path).catch(() => undefined);
    if (!st) return false;
    const cur = this.files[this.files.length - 1];
    if (cur && cur.ino === st.ino) {
      if (st.size < this.pos && this.idx === this.files.length - 1) {
        // truncated in place (by hand): start over
        this.pos = 0;
        this.carry = undefined;
        return true;
      }
      return false;
    }
    const fh = await fsp.open(this.path, 'r').catch(() => undefined);
    if (!fh) return false;
    const fst = await fh.stat();
    const base = cur ? cur.base + Math.max(cur.size, this.idx === this.files.length - 1 ? this.pos : 0) : 0;
    this.files.push({ fh, ino: fst.ino, size: fst.size, base: base + 1 });
    if (!cur) {
      this.idx = 0;
      this.pos = 0;
    }
    return true;
  }
}

/** The backups conmon's rotation left (`<path>.N` … `<path>.1`) and `<path>`, opened oldest first. */
async function openLogFiles(path: string): Promise<OpenFile[]> {
  const dir = dirname(path);
  const name = basename(path);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const backups = names
    .map((n) => (n.startsWith(`${name}.`) ? /^\d+$/.exec(n.slice(name.length + 1))?.[0] : undefined))
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  const paths = [...backups.map((n) => `${path}.${n}`), path];
  const files: OpenFile[] = [];
  let base = 0;
  for (const p of paths) {
    const fh = await fsp.open(p, 'r').catch(() => undefined);
    if (!fh) continue;
    const st = await fh.stat();
    files.push({ fh, ino: st.ino, size: st.size, base });
    base += st.size;
  }
  return files;
}

/**
 * Where reading must start for the last `n` lines, found by reading backwards in blocks.
 * A line counts where its last record is (an `F`, or a stream's final `P` that nothing ended
 * yet), and lines that end before `cut` are dropped. The `P` records of a counted line come
 * before its last one, perhaps with the other stream's records between, so the start moves
 * back over them until each stream's previous line end is found (or nothing of that line has
 * turned up for MAX_GAP bytes: a stream silent for long has no pieces to find).
 */
async function scanBack(files: OpenFile[], n: number): Promise<{ idx: number; pos: number; cut: number }> {
  const seen = { stdout: false, stderr: false };
  const open = { stdout: false, stderr: false };
  let count = 0;
  let reached = n === 0;
  const lastIdx = files.length - 1;
  // with nothing complete in the last file, reading starts at its beginning
  let start = { idx: lastIdx, pos: 0 };
  let cut = files[lastIdx]!.base;
  let progress = cut;
  let first = true;
  for (let i = lastIdx; i >= 0; i--) {
    const file = files[i]!;
    for await (const { off, end, stream, partial } of recordsBackward(file.fh, file.size)) {
      const at = file.base + off;
      if (first && i === lastIdx) {
        // reading forward starts after the last complete record (one being written is read later)
        start = { idx: i, pos: end };
        cut = file.base + end;
      }
      first = false;
      if (!reached) {
        start = { idx: i, pos: off };
        if (!partial || !seen[stream]) {
          count++;
          if (count === n) {
            reached = true;
            cut = at;
            progress = at;
          }
        }
        open[stream] = true;
      } else if (open[stream]) {
        if (partial) {
          start = { idx: i, pos: off };
          progress = at;
        } else open[stream] = false;
      } else if (!seen[stream] && partial) {
        // a line still being written: its pieces are needed if it ends while following
        open[stream] = true;
        start = { idx: i, pos: off };
        progress = at;
      }
      seen[stream] = true;
      if (reached && ((!open.stdout && !open.stderr) || progress - at > MAX_GAP)) return { ...start, cut };
    }
  }
  return reached ? { ...start, cut } : { idx: 0, pos: 0, cut: 0 };
}

interface BackRecord {
  off: number;
  /** Just after its newline. */
  end: number;
  stream: LogStream;
  partial: boolean;
}

/** Complete records of `fh[0, size)`, last first, with their offsets. */
async function* recordsBackward(fh: FileHandle, size: number): AsyncIterable<BackRecord> {
  let blockStart = size;
  // bytes from blockStart up to the last record boundary not yet handed out
  let rest: Buffer = Buffer.alloc(0);
  let trimmed = false;
  while (blockStart > 0) {
    const len = Math.min(BACK_BLOCK, blockStart);
    blockStart -= len;
    const block = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(block, 0, len, blockStart);
    let buf = rest.length ? Buffer.concat([block.subarray(0, bytesRead), rest]) : block.subarray(0, bytesRead);
    if (!trimmed) {
      // a record still being written (no newline yet) is not complete
      const lastNl = buf.lastIndexOf(NL);
      if (lastNl < 0) {
        rest = buf;
        continue;
      }
      buf = buf.subarray(0, lastNl + 1);
      trimmed = true;
    }
    // buf ends with a newline; hand out every record whose start is known
    let end = buf.length - 1;
    const out: BackRecord[] = [];
    while (end >= 0) {
      const prevNl = end > 0 ? buf.lastIndexOf(NL, end - 1) : -1;
      if (prevNl < 0 && blockStart > 0) break;
      const start = prevNl + 1;
      const rec = recordKind(buf, start, end);
      if (rec) out.push({ off: blockStart + start, end: blockStart + end + 1, ...rec });
      end = prevNl;
    }
    rest = Buffer.from(buf.subarray(0, end + 1));
    yield* out;
  }
}

/** Stream and F/P of the record in `buf[start, end)`, without the rest of the parse. */
function recordKind(buf: Buffer, start: number, end: number): { stream: LogStream; partial: boolean } | undefined {
  const sp = buf.indexOf(SPACE, start);
  if (sp < 0 || sp + 9 > end) return undefined;
  const s = buf[sp + 4];
  const stream: LogStream | undefined = s === 0x6f /* o */ ? 'stdout' : s === 0x65 /* e */ ? 'stderr' : undefined;
  const tag = buf[sp + 8];
  if (!stream || (tag !== 0x46 && tag !== 0x50)) return undefined;
  return { stream, partial: tag === 0x50 };
}

/** Wakes the follower when the log's directory (or the exit file's) changes, or after `pollMs` anyway. */
class Waker {
  private readonly watchers: FSWatcher[] = [];
  private wake: (() => void) | undefined;
  private changed = false;

  constructor(path: string, private readonly pollMs: number, private readonly signal: AbortSignal, exitFile?: string) {
    const name = basename(path);
    this.watch(dirname(path), (file) => file === name || file.startsWith(`${name}.`));
    if (exitFile) {
      const exitName = basename(exitFile);
      this.watch(dirname(exitFile), (file) => file === exitName);
    }
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private watch(dir: string, wanted: (file: string) => boolean): void {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || wanted(file)) this.notify();
      });
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    } catch {
      // no directory yet, or no inotify: polling alone
    }
  }

  private readonly onAbort = () => this.notify();

  private notify(): void {
    this.changed = true;
    this.wake?.();
  }

  wait(): Promise<void> {
    if (this.changed || this.signal.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        self.changed = false;
        resolve();
      }
      this.wake = done;
    });
  }

  close(): void {
    for (const w of this.watchers.splice(0)) w.close();
    this.signal.removeEventListener('abort', this.onAbort);
  }
}

// ---- the container's logs, as the API asks for them ----

export interface ContainerLogsOptions extends ReadLogOptions {
  follow?: boolean;
  signal: AbortSignal;
}

export interface ContainerLogs {
  /** Raw stream with a TTY (everything is stdout), multiplexed without. */
  tty: boolean;
  batches: AsyncIterable<LogEntry[]>;
}

/**
 * What `GET /containers/{id}/logs` streams. Everything that can fail with a status code fails
 * here, before the answer starts; the batches only end.
 */
export async function containerLogs(ctx: EngineContext, idOrName: string, opts: ContainerLogsOptions): Promise<ContainerLogs> {
  if (!opts.stdout && !opts.stderr) throw new InvalidArgument('Bad parameters: you must choose at least one stream');
  // the lifecycle's view: a container that exited while no service ran is seen as stopped
  const { findFresh, isRunning } = await import('../containers/lifecycle.ts');
  const rec = await findFresh(ctx, idOrName);
  if (rec.State.Status === 'removing' || rec.State.Status === 'dead') {
    throw new Conflict('can not get logs from container which is dead or marked for removal');
  }
  if (rec.HostConfig.LogConfig?.Type === 'none') throw new NotImplemented('configured logging driver does not support reading');
  const paths = containerPaths(ctx, rec.Id);
  const tty = rec.Config.Tty === true;
  // Docker follows only a running container; a stopped one answers what its log holds
  const follow = opts.follow === true && isRunning(rec);
  const batches = follow
    ? followLogBatches(paths.log, { ...opts, stopWhen: async () => !(await isContainerRunning(ctx, rec.Id)), exitFile: paths.exitFile })
    : readLogBatches(paths.log, opts);
  return { tty, batches };
}

/**
 * A `since`/`until` query value as Docker reads it: unix seconds with an optional fraction
 * (`1700000000.123456789`); undefined when absent.
 */
export function parseLogTime(name: 'since' | 'until', value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^([+-]?\d+)(?:\.(\d+))?$/.exec(value);
  if (!m) {
    const whole = value.split('.')[0]!;
    const bad = /^[+-]?\d+$/.test(whole) ? value.slice(whole.length + 1) : whole;
    throw new InvalidArgument(`invalid value for "${name}": strconv.ParseInt: parsing "${bad}": invalid syntax`);
  }
  const seconds = Number(m[1]);
  // as Go's time.Unix(seconds, fraction): the fraction adds, whatever the sign ("-1.5" is -0.5)
  return m[2] ? seconds + Number(`0.${m[2]}`) : seconds;
}

/**
 * Whether the container still runs, for following its log: the lifecycle's answer (the exit
 * file and conmon's pid, not only the record), so a follow ends even when no `berth cleanup`
 * ran. A container removed meanwhile has stopped.
 */
export async function isContainerRunning(ctx: EngineContext, id: string): Promise<boolean> {
  const { findFresh, isRunning } = await import('../containers/lifecycle.ts');
  const rec = await findFresh(ctx, id).catch(() => undefined);
  return rec !== undefined && isRunning(rec);
}

// ---- LogConfig: Docker's log drivers on conmon ----

export type LogConfig = NonNullable<HostConfig['LogConfig']>;

/**
 * Drivers berth serves. json-file, local and k8s-file all become conmon's k8s-file log (what
 * Docker's clients read back through the API is the same); none writes nothing.
 */
const DRIVERS = new Set(['json-file', 'local', 'k8s-file', 'none']);
/** Options every driver takes (Docker's built-ins and its log cache's). */
const COMMON_OPTS = new Set(['mode', 'max-buffer-size', 'cache-disabled', 'cache-max-size', 'cache-max-file', 'cache-compress']);
/** Options each driver takes; the ones berth cannot honour (labels, tag, compress…) are accepted and have no effect. */
const DRIVER_OPTS: Record<string, Set<string>> = {
  'json-file': new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']),
  local: new Set(['max-file', 'max-size', 'compress']),
  'k8s-file': new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag', 'path']),
};
/** Docker's `local` driver keeps 5 files of 20 MiB unless told otherwise. */
const LOCAL_DEFAULTS = { maxSize: 20 * 1024 * 1024, maxFiles: 5 };

export interface LogLimits {
  /** Bytes per file; undefined = unlimited. */
  maxSize?: number;
  maxFiles: number;
}

/** Checks a LogConfig as Docker does at create, with Docker's messages; returns the size limits. */
export function validateLogConfig(cfg: LogConfig | undefined): LogLimits {
  const type = cfg?.Type || 'json-file';
  const opts = cfg?.Config ?? {};
  if (!DRIVERS.has(type)) throw new InvalidArgument(`logger: no log driver named '${type}' is registered`);
  if (type === 'none') return { maxFiles: 1 };
  const mode = opts['mode'] ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw new InvalidArgument(`logger: logging mode not supported: ${mode}`);
  if (opts['max-buffer-size'] !== undefined && mode !== 'non-blocking') {
    throw new InvalidArgument("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  }
  const allowed = DRIVER_OPTS[type]!;
  for (const key of Object.keys(opts)) {
    if (COMMON_OPTS.has(key) || allowed.has(key)) continue;
    throw new InvalidArgument(type === 'local' ? `unknown log opt '${key}' for log driver local` : `unknown log opt '${key}' for ${type} log driver`);
  }
  const limits: LogLimits = type === 'local' ? { ...LOCAL_DEFAULTS } : { maxFiles: 1 };
  if (opts['max-size'] !== undefined) {
    const size = parseHumanSize(opts['max-size']);
    if (size <= 0) throw new InvalidArgument('max-size must be a positive number');
    limits.maxSize = size;
  }
  if (opts['max-file'] !== undefined) {
    const text = opts['max-file'];
    if (!/^[+-]?\d+$/.test(text)) throw new InvalidArgument(`strconv.Atoi: parsing "${text}": invalid syntax`);
    const files = Number(text);
    if (files < 1) throw new InvalidArgument('max-file cannot be less than 1');
    limits.maxFiles = files;
  }
  if (limits.maxSize === undefined) limits.maxFiles = 1;
  return limits;
}

/**
 * Docker's sizes (go-units FromHumanSize): a number, then an optional decimal unit
 * (k, m, g, t, p = powers of 1000), optionally followed by `b` or `ib`, in any case.
 */
export function parseHumanSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s?([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m || (m[3] && !m[2] && m[3].toLowerCase() !== 'b')) {
    if (!/\d/.test(text)) throw new InvalidArgument(`invalid size: '${text}'`);
    const suffix = text.replace(/^[\d. ]*/, '');
    throw new InvalidArgument(`invalid suffix: '${suffix.toLowerCase()}'`);
  }
  const unit = m[2]!.toLowerCase();
  const mul = unit ? 1000 ** ('kmgtp'.indexOf(unit) + 1) : 1;
  return Math.floor(Number(m[1]) * mul);
}

export interface ConmonLogOptions {
  /** conmon ≥ 2.2 (`--log-rotate`, `--log-max-files`): older files can be kept. */
  rotate?: boolean;
}

/** conmon's `--version` number is at least 2.2.0, which has --log-rotate. */
export function conmonCanRotate(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return major > 2 || (major === 2 && minor >= 2);
}

/**
 * conmon's log flags for a container's LogConfig: `-l k8s-file:<logPath>` (or `-l none`) and
 * the size limit.
 *
 * Docker's `max-size` × `max-file` is a budget of files, each rotated when it is full. conmon
 * 2.1 cannot keep a previous file: when the log passes --log-size-max it starts a new, empty
 * one. So the limit given to it is the whole budget (max-size × max-file): the disk use Docker
 * would allow, with all of it readable until the budget is spent, and then the history starts
 * over. With a conmon that rotates, the files are kept as Docker keeps them: `<log>.1` …
 * `<log>.<max-file − 1>` (readLog reads them).
 */
export function conmonLogArgs(cfg: LogConfig | undefined, logPath: string, opts: ConmonLogOptions = {}): string[] {
  const limits = validateLogConfig(cfg);
  if ((cfg?.Type || 'json-file') === 'none') return ['-l', 'none'];
  const args = ['-l', `k8s-file:${logPath}`];
  if (limits.maxSize === undefined) return args;
  if (opts.rotate && limits.maxFiles > 1) {
    args.push('--log-size-max', String(limits.maxSize), '--log-rotate', '--log-max-files', String(limits.maxFiles - 1));
  } else {
    args.push('--log-size-max', String(limits.maxSize * limits.maxFiles));
  }
  return args;
}
