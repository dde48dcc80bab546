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

/** Bytes copied into one message (the input's chunks are shared with the blob's writer: copied, not moved). */
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
  pool: ArrayBuffer[];
}

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
  const s: Shared = { worker: new (workerThreads().Worker)(entry.script, { eval: entry.eval }), jobs: new Map(), idle: undefined, pool: [] };
  s.worker.on('message', (m: FromWorker) => {
    if (m.t === 'free') {
      if (s.pool.length < POOL && m.buf.byteLength === BATCH) s.pool.push(m.buf);
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
      void s.worker.terminate();
    }
  }, IDLE_MS);
  s.idle.unref();
}

/**
 * unpackLayer(input, dest) on the unpack worker; `input` may be a stored blob's path. Settles once
 * the worker is done with `dest` (the file it wrote is closed), so the caller may remove it.
 */
export function unpackLayerInWorker(input: AsyncIterable<Buffer> | { file: string }, dest: string): Promise<UnpackResult> {
  const s = sharedWorker();
  const { worker } = s;
  const id = nextId++;
  let settled = false;
  let inputError: { error: unknown } | undefined;
  let sent = 0;
  let acked = 0;
  let drained: (() => void) | undefined;
  const wakeFeeder = () => {
    const d = drained;
    drained = undefined;
    d?.();
  };
  const done = new Promise<UnpackResult>((resolve, reject) => {
    s.jobs.set(id, {
      ack(len) {
        acked += len;
        if (sent - acked < IN_FLIGHT) wakeFeeder();
      },
      settle(outcome) {
        if (settled) return;
        settled = true;
        jobDone(s, id);
        wakeFeeder();
        // the input's own error first: the worker's is only its consequence
        if (inputError) reject(inputError.error);
        else if ('result' in outcome) resolve(outcome.result);
        else reject(outcome.error);
      },
    });
  });
  worker.postMessage({ t: 'start', id, dest, ...('file' in input ? { file: input.file } : {}) } satisfies ToWorker);

  const feed = async (source: AsyncIterable<Buffer>) => {
    const send = (buf: ArrayBuffer, len: number) => {
      sent += len;
      worker.postMessage({ t: 'data', id, buf, len } satisfies ToWorker, [buf]);
    };
    const fresh = () => new Uint8Array(s.pool.pop() ?? new ArrayBuffer(BATCH));
    let batch = fresh();
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
            send(batch.buffer, n);
            batch = fresh();
            n = 0;
          }
        }
        while (!settled && sent - acked >= IN_FLIGHT) await new Promise<void>((r) => (drained = r));
        if (settled) return; // the worker finished (or failed) early
      }
      if (n > 0) send(batch.buffer, n);
      worker.postMessage({ t: 'end', id } satisfies ToWorker);
    } catch (err) {
      inputError = { error: err };
      if (!settled) worker.postMessage({ t: 'fail', id } satisfies ToWorker);
    }
  };
  // not awaited: after a worker's early failure the feeder ends when the caller stops the input
  if (!('file' in input)) void feed(input);
  return done;
}

/** The worker's error as the engine's typed error of the same kind and message. */
function rebuild(e: WorkerError): Error {
  if (e.kind === 'invalid-argument') return new InvalidArgument(e.message);
  if (e.kind === 'system') return new SystemError(e.message);
  if (e.kind) return new EngineError(e.kind, e.message);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}
