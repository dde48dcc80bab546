// The few libc calls Node lacks, through koffi (an FFI whose npm package ships its binaries).
// Loaded on first use only: most requests never need it, and start-up time matters.
import { lazyRequire } from './lazy-require.ts';

type Koffi = typeof import('koffi');

const koffiModule = lazyRequire<Koffi>('koffi');

interface Libc {
  koffi: Koffi;
  flock: (fd: number, op: number) => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const koffi = koffiModule();
  const lib = koffi.load('libc.so.6');
  libc = {
    koffi,
    flock: lib.func('int flock(int fd, int operation)') as (fd: number, op: number) => number,
  };
  return libc;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const EINTR = 4;
const EWOULDBLOCK = 11;

/** flock(2) without blocking: true when taken, false when another holder has it. */
export function tryFlock(fd: number, op: number): boolean {
  const { flock, koffi } = load();
  for (;;) {
    if (flock(fd, op | LOCK_NB) === 0) return true;
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    if (errno === EWOULDBLOCK) return false;
    throw Object.assign(new Error(`flock: errno ${errno}`), { errno });
  }
}

export function unflock(fd: number): void {
  load().flock(fd, LOCK_UN);
}
