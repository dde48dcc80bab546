// unpackLayer on a worker thread: a pull's main thread receives, hashes and stores the blob while
// the worker decompresses, hashes the diff id and writes the files, so the two use both cores
// (and a write stalled behind another file's fsync no longer stalls the event loop). The worker is
// its own small bundle (dist/unpack-worker.cjs, src/engine/storage/unpack-worker-main.ts), started
// when a layer is first unpacked (nothing of it loads at start-up), shared by the layers being
// unpacked, and stopped when idle. The result and the safety rules are unpackLayer's; it writes
// only into `dest`, and a call settles only once the worker is done with `dest`.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EngineError, InvalidArgument, SystemError, type ErrorKind } from '../errors.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';
import type { UnpackResult } from './unpack.ts';

const workerThreads = lazyRequire<typeof import('node:worker_threads')>('node:worker_threads');

export type ToWorker =
  | { t: 'start'; id: number; dest: string; file?: string }
  | { t: 'data'; id: number; buf: ArrayBuffer; len: number }
  | { t: 'end'; id: number }
  | { t: 'fail'; id: number };
export type FromWorker =
  | { t: 'ack'; id: number; len: number }
  | { t: 'free'; buf: ArrayBuffer }
  | { t: 'done'; id: number; result: UnpackResult }
  | { t: 'error'; id: number; error: WorkerError };
export interface WorkerError {
  message: string;
  kind?: ErrorKind;
  code?: string;
}

/** Bytes in one message: the buffers a pull fills, and the size an input is copied in (its chunks may be shared, so copied, not moved). */
const BATCH = 1 << 20;
/** How far an input may run ahead of its unpacker. */
const IN_FLIGHT = 4 << 20;
/** Input buffers the worker gave back, kept for the next batches: fresh memory costs a page fault per 4 KiB. */
const POOL = 16;
/** A worker with nothing to do stops after this long (it never keeps berth from exiting). */
const IDLE_MS = 5_000;

/**
 * The worker's script: beside the bundle when bundled; under tsx (tests, development) the
 * TypeScript source through tsx's require hook (Node 20 gives a worker no loader hooks of its own).
 */
function workerEntry(): { script: string; eval: boolean } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { script: fileURLToPath(new URL('./unpack-worker.cjs', here)), eval: false };
  const tsx = createRequire(here).resolve('tsx/cjs');
  const main = fileURLToPath(new URL('./unpack-worker-main.ts', here));
  return { script: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(main)});`, eval: true };
}

interface Job {
  ack(len: number): void;
  settle(outcome: { result: UnpackResult } | { error: unknown }): void;
}

/** One worker for every layer being unpacked (a thread costs tens of ms of CPU to start). */
interface Shared {
  worker: import('node:worker_threads').Worker;
  jobs: Map<number, Job>;
  idle: NodeJS.Timeout | undefined;
}

/** Input buffers the worker gave back, for the next batches. */
const pool: ArrayBuffer[] = [];

let shared: Shared | undefined;
let nextId = 1;

function sharedWorker(): Shared {
  if (shared) {
    clearTimeout(shared.idle);
    shared.idle = undefined;
    shared.worker.ref();
    return shared;
  }
  const entry = workerEntry();
  const s: Shared = { worker: new (workerThreads().Worker)(entry.script, { eval: entry.eval }), jobs: new Map(), idle: undefined };
  s.worker.on('message', (m: FromWorker) => {
    if (m.t === 'free') {
      if (pool.length < POOL && m.buf.byteLength === BATCH) pool.push(m.buf);
      return;
    }
    const job = s.jobs.get(m.id);
    if (!job) return;
    if (m.t === 'ack') job.ack(m.len);
    else if (m.t === 'done') job.settle({ result: m.result });
    else job.settle({ error: rebuild(m.error) });
  });
  const lost = (why: string, cause?: unknown) => {
    if (shared === s) shared = undefined;
    clearTimeout(s.idle);
    for (const job of s.jobs.values()) job.settle({ error: new SystemError(`unpacking a layer: the unpack worker ${why}`, cause === undefined ? undefined : { cause }) });
  };
  s.worker.on('error', (err) => lost(`failed: ${err.message}`, err));
  s.worker.on('exit', (code) => lost(`exited with code ${code}`));
  shared = s;
  return s;
}

function jobDone(s: Shared, id: number): void {
  s.jobs.delete(id);
  if (s.jobs.size > 0 || shared !== s) return;
  s.worker.unref();
  s.idle = setTimeout(() => {
    if (shared === s && s.jobs.size === 0) {
      shared = undefined;
      pool.length = 0;
      void s.worker.terminate();
    }
  }, IDLE_MS);
  s.idle.unref();
}

/** A 1 MiB buffer to fill for the worker: one it gave back when there is one. */
function batchBuffer(): Uint8Array {
  return new Uint8Array(pool.pop() ?? new ArrayBuffer(BATCH));
}

/**
 * Bytes for the unpack worker, pushed by their producer rather than pulled: a pull hands over
 * each 1 MiB buffer the content store has written (no second copy). Pushed buffers belong to the
 * worker from then on. Bytes pushed before the unpack starts wait here; after drop() (the layer
 * was made by someone else, so it is never unpacked here) they are thrown away.
 */
export class UnpackFeed {
  private queued: Array<{ buf: ArrayBuffer; len: number }> = [];
  private queuedBytes = 0;
  private ended = false;
  private failed: { error: unknown } | undefined;
  private dropped = false;
  private sink: ((m: ToWorker, transfer?: ArrayBuffer) => void) | undefined;
  private sent = 0;
  private acked = 0;
  private settled = false;
  private drained: (() => void) | undefined;

  /** A buffer to fill and push. */
  buffer(): Uint8Array {
    return batchBuffer();
  }

  /** Hands over the first `len` bytes of `buf` (from buffer()); resolves when more may follow. */
  async push(buf: Uint8Array, len: number): Promise<void> {
    if (this.dropped || this.settled || this.ended || this.failed) return;
    if (this.sink) this.send(buf.buffer as ArrayBuffer, len);
    else {
      this.queued.push({ buf: buf.buffer as ArrayBuffer, len });
      this.queuedBytes += len;
    }
    while (!this.dropped && !this.settled && this.queuedBytes + this.sent - this.acked >= IN_FLIGHT) await new Promise<void>((r) => (this.drained = r));
  }

  end(): void {
    if (this.ended || this.failed) return;
    this.ended = true;
    if (this.sink && !this.settled) this.sink({ t: 'end', id: 0 });
  }

  /** The input failed: the unpack stops, and rejects with `error`. */
  fail(error: unknown): void {
    if (this.ended || this.failed) return;
    this.failed = { error };
    if (this.sink && !this.settled) this.sink({ t: 'fail', id: 0 });
  }

  drop(): void {
    this.dropped = true;
    this.queued = [];
    this.queuedBytes = 0;
    this.wake();
  }

  /** @internal the input's own error, if it failed */
  get inputError(): { error: unknown } | undefined {
    return this.failed;
  }

  /** @internal connects the feed to its job: what waited goes out */
  attach(sink: (m: ToWorker, transfer?: ArrayBuffer) => void): void {
    this.sink = sink;
    for (const q of this.queued) this.send(q.buf, q.len);
    this.queued = [];
    this.queuedBytes = 0;
    if (this.failed) sink({ t: 'fail', id: 0 });
    else if (this.ended) sink({ t: 'end', id: 0 });
  }

  /** @internal */
  ack(len: number): void {
    this.acked += len;
    if (this.sent - this.acked < IN_FLIGHT) this.wake();
  }

  /** @internal the job is over: nothing more is sent */
  settle(): void {
    this.settled = true;
    this.wake();
  }

  private send(buf: ArrayBuffer, len: number): void {
    this.sent += len;
    this.sink!({ t: 'data', id: 0, buf, len }, buf);
  }

  private wake(): void {
    const d = this.drained;
    this.drained = undefined;
    d?.();
  }
}

/** Copies an input into a feed, 1 MiB a message (the input's chunks may be shared: copied, not moved). */
async function copyInto(source: AsyncIterable<Buffer>, feed: UnpackFeed, stopped: () => boolean): Promise<void> {
  let batch = feed.buffer();
  let n = 0;
  try {
    for await (const chunk of source) {
      let off = 0;
      while (off < chunk.length) {
        const k = Math.min(BATCH - n, chunk.length - off);
        batch.set(chunk.subarray(off, off + k), n);
        n += k;
        off += k;
        if (n === BATCH) {
          await feed.push(batch, n);
          batch = feed.buffer();
          n = 0;
        }
      }
      if (stopped()) return; // the worker finished (or failed) early
    }
    if (n > 0) await feed.push(batch, n);
    feed.end();
  } catch (err) {
    feed.fail(err);
  }
}

/**
 * unpackLayer(input, dest) on the unpack worker; `input` may be a stored blob's path or a feed
 * its producer pushes into. Settles once the worker is done with `dest` (the file it wrote is
 * closed), so the caller may remove it; when the input failed, with the input's error.
 */
export function unpackLayerInWorker(input: AsyncIterable<Buffer> | { file: string } | UnpackFeed, dest: string): Promise<UnpackResult> {
  const s = sharedWorker();
  const { worker } = s;
  const id = nextId++;
  const feed = input instanceof UnpackFeed ? input : 'file' in input ? undefined : new UnpackFeed();
  let settled = false;
  const done = new Promise<UnpackResult>((resolve, reject) => {
    s.jobs.set(id, {
      ack(len) {
        feed?.ack(len);
      },
      settle(outcome) {
        if (settled) return;
        settled = true;
        jobDone(s, id);
        feed?.settle();
        // the input's own error first: the worker's is only its consequence
        const inputError = feed?.inputError;
        if (inputError) reject(inputError.error);
        else if ('result' in outcome) resolve(outcome.result);
        else reject(outcome.error);
      },
    });
  });
  worker.postMessage({ t: 'start', id, dest, ...(!(input instanceof UnpackFeed) && 'file' in input ? { file: input.file } : {}) } satisfies ToWorker);
  if (feed) {
    feed.attach((m, transfer) => worker.postMessage({ ...m, id }, transfer ? [transfer] : []));
    // not awaited: after a worker's early failure the copying ends when the caller stops the input
    if (feed !== input) void copyInto(input as AsyncIterable<Buffer>, feed, () => settled);
  }
  return done;
}

/** The worker's error as the engine's typed error of the same kind and message. */
function rebuild(e: WorkerError): Error {
  if (e.kind === 'invalid-argument') return new InvalidArgument(e.message);
  if (e.kind === 'system') return new SystemError(e.message);
  if (e.kind) return new EngineError(e.kind, e.message);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}
