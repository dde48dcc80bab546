// One byte stream read by two consumers (a pull hashes a layer into the content store and unpacks
// it at once). The chunks are shared, never copied or joined (a PassThrough's reader joins its
// buffered chunks into new buffers); the source pauses while either reader is `limit` bytes behind.
import type { Readable } from 'node:stream';

export interface TeeBranch extends AsyncIterable<Buffer> {
  /** Stops reading this branch: what arrives for it from now on is dropped. */
  drop(): void;
}

export function tee(source: Readable, limit = 4 << 20): [TeeBranch, TeeBranch] {
  const branches = [0, 1].map(() => ({ queue: [] as Buffer[], bytes: 0, dropped: false, wake: undefined as (() => void) | undefined }));
  let ended = false;
  let error: unknown;
  const wakeAll = () => {
    for (const b of branches) {
      const w = b.wake;
      b.wake = undefined;
      w?.();
    }
  };
  const maybeResume = () => {
    if (branches.every((b) => b.dropped || b.bytes < limit)) source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    for (const b of branches) {
      if (b.dropped) continue;
      b.queue.push(chunk);
      b.bytes += chunk.length;
    }
    if (branches.some((b) => !b.dropped && b.bytes >= limit)) source.pause();
    wakeAll();
  });
  source.once('end', () => {
    ended = true;
    wakeAll();
  });
  source.once('error', (err) => {
    error = err;
    wakeAll();
  });
  const branch = (b: (typeof branches)[number]): TeeBranch => ({
    drop() {
      b.dropped = true;
      b.queue = [];
      b.bytes = 0;
      maybeResume();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (error !== undefined) throw error;
        const chunk = b.queue.shift();
        if (chunk) {
          b.bytes -= chunk.length;
          maybeResume();
          yield chunk;
          continue;
        }
        if (ended) return;
        await new Promise<void>((r) => (b.wake = r));
      }
    },
  });
  return [branch(branches[0]!), branch(branches[1]!)];
}
