// The few libc calls Node lacks, through koffi (an FFI whose npm package ships its binaries):
// flock; for unpacking layers mknod and the l*xattr calls; mount/umount2 for container rootfs;
// socket/connect for conmon's SOCK_SEQPACKET attach socket.
// Loaded on first use only: most requests never need it, and start-up time matters.
import { closeSync, openSync } from 'node:fs';
import { lazyRequire } from './lazy-require.ts';

type Koffi = typeof import('koffi');

const koffiModule = lazyRequire<Koffi>('koffi');

type CPath = string | Buffer;

interface Libc {
  koffi: Koffi;
  flock: (fd: number, op: number) => number;
  mknod: (path: CPath, mode: number, dev: bigint) => number;
  lsetxattr: (path: CPath, name: CPath, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: CPath, name: CPath, value: Buffer | null, size: number) => number;
  llistxattr: (path: CPath, list: Buffer | null, size: number) => number;
  mount: (source: CPath | null, target: CPath, fstype: CPath | null, flags: number, data: CPath | null) => number;
  umount2: (target: CPath, flags: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  close: (fd: number) => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const koffi = koffiModule();
  const lib = koffi.load('libc.so.6');
  libc = {
    koffi,
    flock: lib.func('int flock(int fd, int operation)') as (fd: number, op: number) => number,
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)') as Libc['mknod'],
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)') as Libc['lsetxattr'],
    lgetxattr: lib.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)') as Libc['lgetxattr'],
    llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)') as Libc['llistxattr'],
    mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)') as Libc['mount'],
    umount2: lib.func('int umount2(const char *target, int flags)') as Libc['umount2'],
    socket: lib.func('int socket(int domain, int type, int protocol)') as Libc['socket'],
    connect: lib.func('int connect(int fd, const void *addr, uint32_t len)') as Libc['connect'],
    close: lib.func('int close(int fd)') as Libc['close'],
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

// ---- files: what fs lacks for unpacking layers (device nodes, extended attributes) ----
// Paths and names are strings (passed as UTF-8) or Buffers of raw bytes (names that are not
// UTF-8, as tar archives may hold); a Buffer gets its terminating NUL here.

const util = lazyRequire<typeof import('node:util')>('node:util');

const NUL = Buffer.alloc(1);
const cstr = (s: CPath): CPath => (typeof s === 'string' ? s : Buffer.concat([s, NUL]));

/** An Error shaped like Node's fs errors: `code` ('EPERM'…), negative `errno`, `syscall`, `path`. */
export interface ErrnoError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
}

function errnoError(syscall: string, errno: number, path?: CPath): ErrnoError {
  // Node's wording: "EPERM: operation not permitted, mknod '/x'"
  const [code, description] = util().getSystemErrorMap().get(-errno) ?? [`E${errno}`, `errno ${errno}`];
  const shown = path === undefined ? '' : String(path);
  const message = `${code}: ${description}, ${syscall}${path === undefined ? '' : ` '${shown}'`}`;
  return Object.assign(new Error(message), { errno: -errno, code, syscall, ...(path === undefined ? {} : { path: shown }) });
}

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** glibc's makedev(3). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

/** mknod(2): `mode` is the file type (S_IFCHR, S_IFBLK, S_IFIFO) | permissions (the umask applies). */
export function mknod(path: CPath, mode: number, major = 0, minor = 0): void {
  const { mknod: call, koffi } = load();
  if (call(cstr(path), mode, makedev(major, minor)) !== 0) throw errnoError('mknod', koffi.errno(), path);
}

/** lsetxattr(2): sets an extended attribute on the path itself (a symlink is not followed). */
export function lsetxattr(path: CPath, name: CPath, value: Buffer | string, flags = 0): void {
  const { lsetxattr: call, koffi } = load();
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  if (call(cstr(path), cstr(name), v, v.length, flags) !== 0) throw errnoError('lsetxattr', koffi.errno(), path);
}

const ENODATA = 61;
const ERANGE = 34;

/** lgetxattr(2): the attribute's value, or undefined when the path has no such attribute. */
export function lgetxattr(path: CPath, name: CPath): Buffer | undefined {
  const { lgetxattr: call, koffi } = load();
  const p = cstr(path);
  const n = cstr(name);
  for (;;) {
    const size = call(p, n, null, 0);
    if (size < 0) {
      const errno = koffi.errno();
      if (errno === ENODATA) return undefined;
      throw errnoError('lgetxattr', errno, path);
    }
    const buf = Buffer.alloc(size);
    const got = size === 0 ? 0 : call(p, n, buf, size);
    if (got >= 0) return buf.subarray(0, got);
    const errno = koffi.errno();
    if (errno !== ERANGE) throw errnoError('lgetxattr', errno, path); // ERANGE: it grew meanwhile
  }
}

/** llistxattr(2): the names of the path's extended attributes. */
export function llistxattr(path: CPath): string[] {
  const { llistxattr: call, koffi } = load();
  const p = cstr(path);
  for (;;) {
    const size = call(p, null, 0);
    if (size < 0) throw errnoError('llistxattr', koffi.errno(), path);
    const buf = Buffer.alloc(size);
    const got = size === 0 ? 0 : call(p, buf, size);
    if (got >= 0) return buf.subarray(0, got).toString('latin1').split('\0').filter(Boolean).map((n) => Buffer.from(n, 'latin1').toString());
    const errno = koffi.errno();
    if (errno !== ERANGE) throw errnoError('llistxattr', errno, path);
  }
}

// ---- mounts ----

export const MS_RDONLY = 1;
export const MS_BIND = 4096;
export const MS_REC = 16384;
export const MS_PRIVATE = 1 << 18;
export const MNT_DETACH = 2;
const EINVAL = 22;
const ENOENT = 2;

/** mount(2). */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  const { mount: call, koffi } = load();
  if (call(source, target, fstype, flags, data) !== 0) throw errnoError('mount', koffi.errno(), target);
}

/** umount2(2); false when `target` was not mounted (or is gone). */
export function umount(target: string, flags = 0): boolean {
  const { umount2: call, koffi } = load();
  if (call(target, flags) === 0) return true;
  const errno = koffi.errno();
  if (errno === EINVAL || errno === ENOENT) return false;
  throw errnoError('umount2', errno, target);
}

// ---- unix sockets of a type Node's net module can't open ----

const AF_UNIX = 1;
export const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;

/**
 * A connected AF_UNIX socket of `type` to `path` (the caller owns the fd). A path longer than
 * sun_path's 108 bytes is reached through its directory's /proc/self/fd entry.
 */
export function connectUnix(path: string, type: number): number {
  const { socket, connect, close, koffi } = load();
  let dirFd: number | undefined;
  let target = path;
  if (Buffer.byteLength(path) >= 108) {
    const slash = path.lastIndexOf('/');
    dirFd = openSync(path.slice(0, slash) || '/', 'r');
    target = `/proc/self/fd/${dirFd}/${path.slice(slash + 1)}`;
  }
  try {
    const name = Buffer.from(target);
    if (name.length >= 108) throw errnoError('connect', 36 /* ENAMETOOLONG */, path);
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    name.copy(addr, 2);
    const fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) throw errnoError('socket', koffi.errno());
    // a blocking connect (a local one completes at once); libuv makes the fd non-blocking itself
    if (connect(fd, addr, 2 + name.length + 1) !== 0) {
      const errno = koffi.errno();
      close(fd);
      throw errnoError('connect', errno, path);
    }
    return fd;
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}
