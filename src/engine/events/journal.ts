// The event journal: `<root>/events.jsonl`, one JSON line per event in Docker's message shape,
// appended by every berth process (the API service, and `berth cleanup` that conmon runs when a
// container exits) and read by GET /events, which replays it and then tails it.
//
// Appends never interleave: each event is one write(2) of one whole line on an O_APPEND file
// (the kernel appends it in one piece), lines kept under 4 KiB. Readers take only lines that end
// in a newline, so a line seen while it is being written is read on the next pass. Past 16 MiB
// the file is renamed to `events.jsonl.1` (one old file kept) under a lock; readers of history
// read both, and a follower keeps draining the renamed file for a moment, for writers that
// opened it just before the rename.
import { constants, promises as fs, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { EngineContext } from '../context.ts';
import type { Filters } from '../filters.ts';
import { withLock, lockPath } from '../../store/lock.ts';
import { eventMatcher } from './filter.ts';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon' | 'builder' | 'plugin' | 'node' | 'service' | 'secret' | 'config';

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

/** Docker's events.Message, with the legacy fields it still sends to API < 1.52. */
export interface EventMessage {
  /** legacy, container and image events: the action */
  status?: string;
  /** legacy, container and image events: the actor's id */
  id?: string;
  /** legacy, container events: the image attribute */
  from?: string;
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: string;
  time: number;
  /** Nanoseconds since the epoch. A bigint: as a JS number its last digits would be lost. */
  timeNano: bigint;
}

export interface NewEvent {
  type: EventType;
  action: string;
  id: string;
  attributes?: Record<string, string>;
}

/** Tunables (tests shrink them). */
export const journalLimits = {
  /** Rotate the journal once it is past this size. */
  rotateBytes: 16 << 20,
  /** Longest line written: longer attribute values are cut to fit. */
  maxLineBytes: 4000,
  /** How often a follower looks at the file when no change notification came. */
  pollMs: 500,
  /** How long a follower still reads a journal that was rotated away. */
  drainMs: 2000,
};

const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;

// Event times with nanosecond digits: the wall clock at a moment, plus the monotonic clock since.
let anchor = BigInt(Date.now()) * NS_PER_MS - process.hrtime.bigint();
let lastStamp = 0n;

/** Now, in nanoseconds since the epoch; strictly increasing within a process. */
export function nowNanos(): bigint {
  let t = anchor + process.hrtime.bigint();
  const wall = BigInt(Date.now()) * NS_PER_MS;
  // the wall clock was set or slewed since the anchor: follow it
  if (t - wall > 2n * NS_PER_MS || wall - t > 2n * NS_PER_MS) {
    anchor = wall - process.hrtime.bigint();
    t = wall;
  }
  if (t <= lastStamp) t = lastStamp + 1n;
  lastStamp = t;
  return t;
}

/**
 * Appends an event to the journal. Never throws: an event that cannot be written is reported
 * on stderr and dropped, and the operation it tells of goes on. Events of one process are
 * written in the order of the calls, awaited or not.
 */
export async function recordEvent(ctx: EngineContext, ev: NewEvent): Promise<void> {
  try {
    const line = `${eventLine(fitLine(newMessage(ev, nowNanos())))}\n`;
    await enqueue(ctx.paths.events, () => appendLine(ctx.paths.events, ctx.paths.locks, line));
  } catch (err) {
    process.stderr.write(`berth: event ${ev.type} ${ev.action} ${ev.id} not recorded: ${(err as Error).message}\n`);
  }
}

/** The message as Docker builds it: legacy fields for container and image events, attributes sorted. */
export function newMessage(ev: NewEvent, timeNano: bigint): EventMessage {
  const attributes: Record<string, string> = {};
  for (const key of Object.keys(ev.attributes ?? {}).sort()) {
    const v = ev.attributes![key];
    if (v !== undefined && v !== null) attributes[key] = String(v);
  }
  const legacy: Pick<EventMessage, 'status' | 'id' | 'from'> = {};
  if (ev.type === 'container' || ev.type === 'image') {
    legacy.status = ev.action;
    legacy.id = ev.id;
    if (ev.type === 'container' && attributes['image']) legacy.from = attributes['image'];
  }
  return { ...legacy, Type: ev.type, Action: ev.action, Actor: { ID: ev.id, Attributes: attributes }, scope: 'local', time: Number(timeNano / NS_PER_S), timeNano };
}

/** One JSON line (no newline), `timeNano` with all its digits; `legacy: false` drops status/id/from. */
export function eventLine(ev: EventMessage, opts: { legacy?: boolean } = {}): string {
  const { timeNano, status, id, from, ...rest } = ev;
  const head = opts.legacy === false ? {} : { status, id, from };
  const json = JSON.stringify({ ...head, ...rest });
  return `${json.slice(0, -1)},"timeNano":${timeNano}}`;
}

/** A journal line back to a message; undefined for a line that is not one (a torn write). */
export function parseEventLine(line: string): EventMessage | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || typeof v['Type'] !== 'string' || typeof v['Action'] !== 'string') return undefined;
  const actor = v['Actor'] as Partial<EventActor> | undefined;
  if (!actor || typeof actor !== 'object') return undefined;
  actor.ID ??= '';
  actor.Attributes ??= {};
  const exact = /"timeNano":(-?\d+)\}\s*$/.exec(line);
  v['timeNano'] = exact ? BigInt(exact[1]!) : BigInt(Math.trunc(Number(v['time']) || 0)) * NS_PER_S;
  return v as unknown as EventMessage;
}

/** Keeps a line under `maxLineBytes` by cutting the longest attribute values (a huge label, say). */
function fitLine(ev: EventMessage): EventMessage {
  const max = journalLimits.maxLineBytes;
  if (Buffer.byteLength(eventLine(ev)) <= max) return ev;
  const attrs = { ...ev.Actor.Attributes };
  const out = { ...ev, Actor: { ...ev.Actor, Attributes: attrs } };
  if (out.Action.length > 1024) out.Action = `${out.Action.slice(0, 1024)}…`;
  if (out.status !== undefined) out.status = out.Action;
  for (;;) {
    const size = Buffer.byteLength(eventLine(out));
    if (size <= max) return out;
    const longest = Object.keys(attrs).sort((a, b) => attrs[b]!.length - attrs[a]!.length)[0];
    if (longest === undefined || attrs[longest]!.length <= 64) break;
    const keep = Math.max(64, attrs[longest]!.length - (size - max) - 16, Math.floor(attrs[longest]!.length / 2));
    attrs[longest] = `${attrs[longest]!.slice(0, Math.min(keep, attrs[longest]!.length - 1))}…`;
  }
  // still too long: many attributes; keep the ones clients read
  for (const key of Object.keys(attrs)) if (!['name', 'image', 'exitCode', 'signal', 'execID', 'container', 'type', 'driver'].includes(key)) delete attrs[key];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

const queues = new Map<string, Promise<unknown>>();

/** Runs the writes of one journal one after another, in call order. */
function enqueue(path: string, write: () => Promise<void>): Promise<void> {
  const next = (queues.get(path) ?? Promise.resolve()).then(write);
  const settled = next.catch(() => undefined);
  queues.set(path, settled);
  void settled.then(() => {
    if (queues.get(path) === settled) queues.delete(path);
  });
  return next;
}

async function appendLine(path: string, locksDir: string, line: string): Promise<void> {
  const buf = Buffer.from(line);
  const fh = await fs.open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  let size: number;
  try {
    const { bytesWritten } = await fh.write(buf);
    if (bytesWritten !== buf.length) {
      // end the torn line, so the next writer's line stays whole
      await fh.write('\n').catch(() => undefined);
      throw new Error(`short write to ${path} (${bytesWritten} of ${buf.length} bytes)`);
    }
    size = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  if (size > journalLimits.rotateBytes) await rotate(path, locksDir);
}

async function rotate(path: string, locksDir: string): Promise<void> {
  await withLock(
    lockPath(locksDir, 'events', 'journal'),
    async () => {
      // another process may have rotated it while we waited
      const st = await fs.stat(path).catch(() => undefined);
      if (st && st.size > journalLimits.rotateBytes) await fs.rename(path, `${path}.1`);
    },
    { timeoutMs: 5_000 },
  );
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadOptions {
  /** Nanoseconds since the epoch: events at or after it. */
  since?: bigint;
  /** Nanoseconds since the epoch: events at or before it. */
  until?: bigint;
  filters?: Filters;
}

export interface FollowOptions extends ReadOptions {
  signal?: AbortSignal;
}

/** Complete lines of a file from an offset on; an unfinished last line waits for its newline. */
class LineReader {
  private partial: Buffer[] = [];
  constructor(
    readonly fh: FileHandle,
    readonly ino: number,
    private offset: number,
  ) {}

  async *lines(): AsyncGenerator<string[]> {
    const buf = Buffer.allocUnsafe(256 << 10);
    for (;;) {
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      const out: string[] = [];
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        out.push(this.partial.length ? Buffer.concat([...this.partial, piece]).toString('utf8') : piece.toString('utf8'));
        this.partial = [];
        start = nl + 1;
      }
      if (start < chunk.length) this.partial.push(Buffer.from(chunk.subarray(start)));
      if (out.length) yield out;
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

async function openReader(path: string, fromStart: boolean): Promise<LineReader | undefined> {
  let fh: FileHandle;
  try {
    fh = await fs.open(path, constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const st = await fh.stat();
  return new LineReader(fh, st.ino, fromStart ? 0 : st.size);
}

/** Every event in the journal (the rotated file, then the current one) that matches. */
export async function* readEvents(ctx: EngineContext, opts: ReadOptions = {}): AsyncGenerator<EventMessage> {
  const tail = new JournalTail(ctx.paths.events);
  try {
    yield* replay(tail, opts);
  } finally {
    await tail.close();
  }
}

/**
 * Events as they are written: first those of the journal from `since` (when `since` or `until`
 * is given: with `until` alone, all of it, as Docker replays its whole buffer), then new ones
 * as they come, until `until` passes or `signal` aborts.
 */
export async function* followEvents(ctx: EngineContext, opts: FollowOptions): AsyncGenerator<EventMessage> {
  const path = ctx.paths.events;
  const { until, signal } = opts;
  const match = eventMatcher(opts.filters);
  const tail = new JournalTail(path);
  const waiter = new ChangeWaiter(path, signal);
  try {
    if (opts.since !== undefined || until !== undefined) yield* replay(tail, opts);
    else await tail.openAtEnd();
    for (;;) {
      if (signal?.aborted) return;
      for await (const lines of tail.newLines()) {
        for (const line of lines) {
          const ev = parseEventLine(line);
          if (!ev || (until !== undefined && ev.timeNano > until) || !match(ev)) continue;
          yield ev;
        }
      }
      if (signal?.aborted) return;
      const now = nowNanos();
      if (until !== undefined && now >= until) return;
      const left = until === undefined ? Infinity : Number((until - now) / NS_PER_MS) + 1;
      await waiter.wait(Math.min(journalLimits.pollMs, left));
    }
  } finally {
    waiter.close();
    await tail.close();
  }
}

/** The history part: the rotated file, then the current one up to its end, filtered. */
async function* replay(tail: JournalTail, opts: ReadOptions): AsyncGenerator<EventMessage> {
  const match = eventMatcher(opts.filters);
  const { since, until } = opts;
  const wanted = (line: string) => {
    const ev = parseEventLine(line);
    if (!ev || (since !== undefined && ev.timeNano < since) || (until !== undefined && ev.timeNano > until)) return undefined;
    return match(ev) ? ev : undefined;
  };
  const old = await tail.openWithRotated(since);
  if (old) {
    try {
      for await (const lines of old.lines()) for (const line of lines) {
        const ev = wanted(line);
        if (ev) yield ev;
      }
    } finally {
      await old.close();
    }
  }
  for await (const lines of tail.newLines()) for (const line of lines) {
    const ev = wanted(line);
    if (ev) yield ev;
  }
}

/** The current journal file, followed across rotations. */
class JournalTail {
  private current: LineReader | undefined;
  private draining: Array<{ reader: LineReader; until: number }> = [];

  constructor(private readonly path: string) {}

  async openAtEnd(): Promise<void> {
    this.current = await openReader(this.path, false);
  }

  /**
   * Opens the current file from its start, and the rotated one when it may hold events from
   * `since` on. The current file is opened first: a rotation in between would make the two the
   * same file, and is then retried.
   */
  async openWithRotated(since: bigint | undefined): Promise<LineReader | undefined> {
    for (let attempt = 0; ; attempt++) {
      this.current = await openReader(this.path, true);
      const old = await openReader(`${this.path}.1`, true);
      if (!old) return undefined;
      if (this.current && old.ino === this.current.ino && attempt < 3) {
        await old.close();
        await this.current.close();
        continue;
      }
      // a rotated file last written before `since` has nothing to give
      const mtimeNs = BigInt(Math.floor((await old.fh.stat()).mtimeMs)) * NS_PER_MS;
      if (since !== undefined && mtimeNs + NS_PER_S < since) {
        await old.close();
        return undefined;
      }
      return old;
    }
  }

  /** Lines added since the last call, following a rotation to the new file. */
  async *newLines(): AsyncGenerator<string[]> {
    const now = Date.now();
    for (const d of [...this.draining]) {
      yield* d.reader.lines();
      if (now > d.until) {
        this.draining.splice(this.draining.indexOf(d), 1);
        await d.reader.close();
      }
    }
    if (!this.current) {
      this.current = await openReader(this.path, true);
      if (!this.current) return;
    }
    yield* this.current.lines();
    const st = await fs.stat(this.path).catch(() => undefined);
    if (st && st.ino === this.current.ino) return;
    // rotated (or removed): read what is left of the old file, keep draining it a moment, and
    // go on with the new file from its start
    yield* this.current.lines();
    this.draining.push({ reader: this.current, until: now + journalLimits.drainMs });
    const left = this.current.ino;
    // Two rotations since the last look: the rotated file is one this reader never saw (the one
    // it read is gone from the directory, still open here). It is read whole, before the current
    // one; it is opened first, so a rotation in between only makes the current file newer.
    const missed = await openReader(`${this.path}.1`, true);
    this.current = await openReader(this.path, true);
    if (missed && missed.ino !== left && missed.ino !== this.current?.ino) {
      yield* missed.lines();
      this.draining.push({ reader: missed, until: now + journalLimits.drainMs });
    } else await missed?.close();
    if (this.current) yield* this.current.lines();
  }

  async close(): Promise<void> {
    await this.current?.close();
    this.current = undefined;
    for (const d of this.draining) await d.reader.close();
    this.draining = [];
  }
}

/** Wakes a follower when the journal's directory reports a change to it, else after a timeout. */
class ChangeWaiter {
  private watcher: FSWatcher | undefined;
  private pending = false;
  private wake: (() => void) | undefined;
  private readonly onAbort = () => this.poke();

  constructor(
    path: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    const name = basename(path);
    try {
      // the directory, not the file: a rotation replaces the file
      this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file === null || String(file).startsWith(name)) this.poke();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // no inotify: polling alone
    }
    signal?.addEventListener('abort', this.onAbort);
  }

  private poke(): void {
    this.pending = true;
    this.wake?.();
  }

  wait(ms: number): Promise<void> {
    if (this.pending || this.signal?.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }
}
