// Cross-process locks, one per object: an flock(2) on `<runroot>/locks/<name>.lock`. The
// kernel drops a lock when its holder dies, so kill -9 never leaves one stuck. Lock files may
// be removed while held (when their object goes away): a taker checks that the file it locked
// is still the one at the path, and tries again if not.
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Unavailable } from '../engine/errors.ts';
import { LOCK_EX, LOCK_SH, tryFlock, unflock } from '../sys/libc.ts';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  shared?: boolean;
  /** Give up after this long (default 60 s) with a 503-kind error. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function lockPath(locksDir: string, kind: string, id: string): string {
  if (!/^[\w.-]+$/.test(kind) || !/^[\w.-]+$/.test(id)) throw new Error(`bad lock name ${kind}/${id}`);
  return join(locksDir, `${kind}-${id}.lock`);
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let wait = 1;
  for (;;) {
    const fh = await fs.open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    let held = false;
    try {
      if (tryFlock(fh.fd, opts.shared ? LOCK_SH : LOCK_EX)) {
        held = true;
        const [mine, now] = await Promise.all([fh.stat(), fs.stat(path).catch(() => undefined)]);
        if (now && now.ino === mine.ino && now.dev === mine.dev) {
          let released = false;
          return {
            path,
            async release() {
              if (released) return;
              released = true;
              unflock(fh.fd);
              await fh.close();
            },
          };
        }
        // the file was removed or replaced while we waited: lock the new one
        wait = 1;
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    if (held) unflock(fh.fd);
    await fh.close();
    if (Date.now() >= deadline) throw new Unavailable(`timed out waiting for lock ${path}`);
    await sleep(wait);
    wait = Math.min(wait * 2, 25);
  }
}

export async function withLock<T>(path: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
