// The unpack worker's entry (a thread started by src/engine/storage/unpack-worker.ts, built as its
// own small bundle, dist/unpack-worker.cjs): it runs unpackLayer for the layers a pull sends it,
// several at once, so decompressing, hashing diff ids and writing files use a core of their own
// while the main thread downloads and stores the blobs. Bytes come as messages (or from a stored
// blob it reads itself); each message is acknowledged when the unpacker takes it, which is the
// host's flow control.
import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { EngineError } from '../errors.ts';
import { unpackLayer } from './unpack.ts';
import type { FromWorker, ToWorker, WorkerError } from './unpack-worker.ts';

const READ_SIZE = 1 << 20;

interface Feed {
  queue: Buffer[];
  ended: boolean;
  failed: boolean;
  wake: (() => void) | undefined;
}

function serve(port: NonNullable<typeof parentPort>): void {
  const feeds = new Map<number, Feed>();
  const post = (m: FromWorker, transfer?: ArrayBuffer) => port.postMessage(m, transfer ? [transfer] : undefined);
  port.on('message', (m: ToWorker) => {
    if (m.t === 'start') {
      start(m.id, m.dest, m.file);
      return;
    }
    const f = feeds.get(m.id);
    if (!f) return; // a job that has finished already: what comes late is dropped
    if (m.t === 'data') f.queue.push(Buffer.from(m.buf, 0, m.len));
    else if (m.t === 'end') f.ended = true;
    else f.failed = true;
    const w = f.wake;
    f.wake = undefined;
    w?.();
  });

  function start(id: number, dest: string, file: string | undefined): void {
    let input: AsyncIterable<Buffer>;
    if (file !== undefined) {
      input = createReadStream(file, { highWaterMark: READ_SIZE });
    } else {
      const f: Feed = { queue: [], ended: false, failed: false, wake: undefined };
      feeds.set(id, f);
      input = {
        [Symbol.asyncIterator]: () => ({
          async next(): Promise<IteratorResult<Buffer>> {
            for (;;) {
              // the host's input failed: its error is the one reported, this one only stops us
              if (f.failed) throw new Error('the layer download failed');
              const b = f.queue.shift();
              if (b) {
                post({ t: 'ack', id, len: b.length });
                return { value: b, done: false };
              }
              if (f.ended) return { value: undefined, done: true };
              await new Promise<void>((r) => (f.wake = r));
            }
          },
          async return(): Promise<IteratorResult<Buffer>> {
            f.queue.length = 0;
            return { value: undefined, done: true };
          },
        }),
      };
    }
    // input buffers zlib has read go back to the host, which fills them again
    const consumed = (b: Buffer) => {
      if (b.byteOffset === 0 && b.byteLength > 0) post({ t: 'free', buf: b.buffer as ArrayBuffer }, b.buffer as ArrayBuffer);
    };
    unpackLayer(input, dest, file === undefined ? { consumed } : {})
      .then(
        (result) => post({ t: 'done', id, result }),
        (err: unknown) => post({ t: 'error', id, error: describe(err) }),
      )
      .finally(() => feeds.delete(id));
  }
}

function describe(err: unknown): WorkerError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  return {
    message: e.message,
    ...(err instanceof EngineError ? { kind: err.kind } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

if (parentPort) serve(parentPort);
