// Paths inside a container's root filesystem, resolved from the host without ever leaving it:
// the ground `docker cp` stands on (the CVE-2018-15664 class: a container that swaps a directory
// for a symlink to `/` must not make the engine read or write the host).
//
// - A container path is resolved one component at a time, as the kernel would with the rootfs
//   as `/`: symlinks are read and followed, absolute targets start again at the rootfs, `..`
//   stops at it. Nothing is handed to the kernel to resolve but a single name.
// - Every syscall goes through an open directory: `/proc/self/fd/<fd>/<name>` names the entry
//   `name` of the directory open as `fd` (the magic link jumps to that directory, only `name`
//   is looked up), which is openat(2) for the calls Node only has in path form. Directories are
//   opened with O_NOFOLLOW, so a path checked once cannot later lead through a symlink: a
//   container that swaps it meanwhile makes the operation fail, never escape.
// - Names are byte strings (latin1 inside, Buffers at the syscalls), as in the layer code, so a
//   file whose name is not UTF-8 is still copied as it is.
// - A root may come with mounts (a container's volumes and binds, by destination): a walk that
//   reaches a destination goes on in the mount's source, as Docker's cp sees the container with
//   its volumes mounted. `..` at a mount's top goes back to the rootfs dir it sits on.
import { closeSync, constants as fsc, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, statSync, type BigIntStats } from 'node:fs';
import { InvalidArgument, NotFound, SystemError } from '../errors.ts';

/** What `X-Docker-Container-Path-Stat` carries (base64 JSON), in Docker's field names. */
export interface PathStat {
  name: string;
  size: number;
  /** A Go os.FileMode: permission bits, then type and special bits high up. */
  mode: number;
  /** RFC 3339 with nanoseconds. */
  mtime: string;
  /** For a symlink: the container path it finally leads to (as far as it exists). */
  linkTarget: string;
}

/** A path the container does not have; the caller names the container in the message. */
export class ContainerPathNotFound extends NotFound {
  constructor(readonly path: string) {
    super(`Could not find the file ${path} in container`);
  }
}

/** A mount a container path may cross into: its host directory (or file), and whether the container may write there. */
export interface RootMount {
  source: string;
  readOnly: boolean;
  /** a file bind-mounted on a file (the generated /etc/hosts and the like) */
  file?: boolean;
}

/** A rootfs and the mounts on it, by destination (byte-string components joined by `/`, no leading `/`). */
export interface MountedRoot {
  path: string;
  mounts: ReadonlyMap<string, RootMount>;
}

/** What the resolver works in: a plain rootfs path, or one with mounts. */
export type FsRoot = string | MountedRoot;

/** The mount table key of a destination (a UTF-8 container path). */
export function mountKey(destination: string): string {
  return components(toBytes(destination)).join('/');
}

/** The mount whose destination is exactly `parts`, if any. */
export function mountAt(root: FsRoot, parts: readonly string[]): RootMount | undefined {
  return typeof root === 'string' || parts.length === 0 ? undefined : root.mounts.get(parts.join('/'));
}

/** The innermost mount `parts` lies in (itself included), if any. */
export function mountAround(root: FsRoot, parts: readonly string[]): RootMount | undefined {
  for (let n = parts.length; n > 0; n--) {
    const m = mountAt(root, parts.slice(0, n));
    if (m) return m;
  }
  return undefined;
}

/** A mount's source, opened as a directory (a host path berth or the user chose: links in it are followed). */
function openMount(m: RootMount): number {
  return openSync(m.source, fsc.O_RDONLY | fsc.O_DIRECTORY);
}

/** Opens the subdirectory `parts` (its last component `name`, an entry of the directory open as `dirFd`): a mount's source when one is there. */
export function openSubdir(root: FsRoot, dirFd: number, name: string, parts: readonly string[]): number {
  const m = mountAt(root, parts);
  return m ? openMount(m) : openSync(at(dirFd, name), O_DIR);
}

/** The stat of the entry `name` of `dirFd` at `parts`: a mount's top when one is there. */
export function lstatEntry(root: FsRoot, dirFd: number, name: string, parts: readonly string[]): BigIntStats | undefined {
  const m = mountAt(root, parts);
  if (!m) return lstatAt(dirFd, name);
  if (m.file) {
    try {
      return statSync(m.source, { bigint: true });
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
  }
  const fd = openMount(m);
  try {
    return fstatSync(fd, { bigint: true });
  } finally {
    closeSync(fd);
  }
}

/** Docker's limit on symlinks followed while resolving one path. */
const MAX_LINKS = 255;
export const O_DIR = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;

/** The entry `name` of the directory open as `fd` (the directory itself without a name). */
export function at(fd: number, name?: string): Buffer {
  return Buffer.from(name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`, 'latin1');
}

/** A UTF-8 string (an API path) as a byte string. */
export const toBytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
/** A byte string back to text, for messages. */
export const fromBytes = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The names of a directory open as `fd`, as byte strings in byte order (Go's walk order). */
export function dirNames(fd: number): string[] {
  return readdirSync(at(fd), { encoding: 'buffer' })
    .sort(Buffer.compare)
    .map((b) => b.toString('latin1'));
}

export function lstatAt(fd: number, name: string): BigIntStats | undefined {
  try {
    return lstatSync(at(fd, name), { bigint: true });
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function closeAll(fds: number[]): void {
  for (const fd of fds) closeSync(fd);
  fds.length = 0;
}

/** The components of a container path (a byte string), without empty and `.` ones. */
function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** A path that ends in `/` or `/.` names what its last symlink leads to, as for the kernel. */
function wantsFollow(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.') || path === '.';
}

/**
 * Resolves a container path (a byte string) to its components below the rootfs, with every
 * symlink on the way followed in the rootfs's scope (the last one only when `followLast`).
 * Components from the first that does not exist on are kept as given (`..` still pops), as
 * Docker's FollowSymlinkInScope does, so a path to be created resolves too.
 */
export function resolveParts(root: FsRoot, path: string, followLast = false): string[] {
  const rootFd = openRoot(root);
  // fds[i] is the open directory of parts[0..i): shorter than parts + 1 below a missing entry
  const fds = [rootFd];
  const parts: string[] = [];
  const queue = components(path).reverse();
  let links = 0;
  try {
    while (queue.length > 0) {
      const c = queue.pop()!;
      if (c === '..') {
        if (parts.length === 0) continue;
        parts.pop();
        if (fds.length > parts.length + 1) closeSync(fds.pop()!);
        continue;
      }
      if (fds.length < parts.length + 1) {
        parts.push(c); // below something missing: nothing to look up
        continue;
      }
      const dir = fds[fds.length - 1]!;
      const mount = mountAt(root, [...parts, c]);
      if (mount) {
        // a mount's top is what is mounted there, whatever the rootfs has under it
        if (!mount.file) fds.push(openMount(mount));
        parts.push(c);
        continue;
      }
      const st = lstatAt(dir, c);
      if (st?.isSymbolicLink() && (queue.length > 0 || followLast)) {
        if (++links > MAX_LINKS) throw new InvalidArgument(`too many symlinks while resolving ${fromBytes(path)}`);
        const target = readlinkSync(at(dir, c), { encoding: 'buffer' }).toString('latin1');
        if (target.startsWith('/')) {
          closeAll(fds.splice(1));
          parts.length = 0;
        }
        queue.push(...components(target).reverse());
        continue;
      }
      if (st?.isDirectory()) fds.push(openSync(at(dir, c), O_DIR));
      parts.push(c);
    }
    return parts;
  } finally {
    closeAll(fds);
  }
}

function openRoot(root: FsRoot): number {
  const path = typeof root === 'string' ? root : root.path;
  try {
    return openSync(path, O_DIR);
  } catch (err) {
    throw new SystemError(`opening the container's root filesystem ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Opens the directory at `parts` below the rootfs, refusing to follow a symlink anywhere on the
 * way (the parts come from resolveParts, so one there means the tree changed meanwhile).
 * Throws the fs error (ENOENT, ENOTDIR, ELOOP) as it comes; with `create`, missing directories
 * are made (0755) instead of ENOENT.
 */
export function openDirAt(root: FsRoot, parts: readonly string[], create = false): number {
  let fd = openRoot(root);
  try {
    for (const [i, c] of parts.entries()) {
      let next: number;
      try {
        next = openSubdir(root, fd, c, parts.slice(0, i + 1));
      } catch (err) {
        if (!create || code(err) !== 'ENOENT') throw err;
        mkdirSync(at(fd, c), 0o755);
        next = openSync(at(fd, c), O_DIR);
      }
      closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** openDirAt, making the directories that are missing. ENOTDIR when a non-directory is in the way. */
export function makeDirAt(root: FsRoot, parts: readonly string[]): number {
  return openDirAt(root, parts, true);
}

/**
 * A container path resolved to the host path it names, confined to `root`: symlinks are
 * followed one component at a time as if `root` were `/` (the last one only with `followLast`,
 * or when the path ends in `/` or `/.`). The path need not exist.
 */
export async function resolveInRoot(root: string, path: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const bytes = toBytes(path);
  const parts = resolveParts(root, bytes, opts.followLast || wantsFollow(bytes));
  const rel = Buffer.from(parts.join('/'), 'latin1').toString('utf8');
  return rel ? `${root.replace(/\/+$/, '')}/${rel}` : root;
}

/** Go's path.Clean of an absolute path, with the trailing `/` or `/.` of `path` kept (Docker's PreserveTrailingDotOrSeparator). */
export function containerAbsPath(path: string): string {
  const clean = '/' + components(path).reduce<string[]>((out, c) => (c === '..' ? (out.pop(), out) : (out.push(c), out)), []).join('/');
  if (clean === '/') return path.endsWith('/.') || path === '.' ? '/.' : '/';
  if (path.endsWith('/.') || path === '.') return `${clean}/.`;
  if (path.endsWith('/')) return `${clean}/`;
  return clean;
}

/** Go's filepath.Base: the last element, trailing slashes dropped; `/` for the root. */
export function goBase(path: string): string {
  const p = path.replace(/\/+$/, '');
  if (p === '') return path === '' ? '.' : '/';
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Where a container path is: its parent directory (open, the caller closes it) and its name there. */
export interface Located {
  /** The resolved components (the last one is the entry itself, unfollowed unless asked). */
  parts: string[];
  parentFd: number;
  /** '' for the rootfs itself (then parentFd is the rootfs). */
  base: string;
  st: BigIntStats;
}

/** Finds an existing entry; ContainerPathNotFound when it is not there. */
export function locate(root: FsRoot, path: string, shown: string, followLast = false): Located {
  const parts = resolveParts(root, path, followLast || wantsFollow(path));
  let parentFd: number;
  try {
    parentFd = openDirAt(root, parts.slice(0, -1));
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw new ContainerPathNotFound(shown);
    throw new SystemError(`resolving ${shown} in the container: ${(err as Error).message}`, { cause: err });
  }
  const base = parts.length ? parts[parts.length - 1]! : '';
  const st = base ? lstatEntry(root, parentFd, base, parts) : fstatSync(parentFd, { bigint: true });
  if (!st) {
    closeSync(parentFd);
    throw new ContainerPathNotFound(shown);
  }
  return { parts, parentFd, base, st };
}

// Go's os.FileMode bits (io/fs): what Docker's stat header and tar headers' FileInfo use.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_NAMED_PIPE = 2 ** 25;
const MODE_SOCKET = 2 ** 24;
const MODE_SETUID = 2 ** 23;
const MODE_SETGID = 2 ** 22;
const MODE_CHAR_DEVICE = 2 ** 21;
const MODE_STICKY = 2 ** 20;

/** A unix st_mode as Go's os.FileMode. */
export function goFileMode(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & 0o170000) {
    case 0o040000:
      m += MODE_DIR;
      break;
    case 0o120000:
      m += MODE_SYMLINK;
      break;
    case 0o060000:
      m += MODE_DEVICE;
      break;
    case 0o020000:
      m += MODE_DEVICE + MODE_CHAR_DEVICE;
      break;
    case 0o010000:
      m += MODE_NAMED_PIPE;
      break;
    case 0o140000:
      m += MODE_SOCKET;
      break;
  }
  if (stMode & 0o4000) m += MODE_SETUID;
  if (stMode & 0o2000) m += MODE_SETGID;
  if (stMode & 0o1000) m += MODE_STICKY;
  return m;
}

/** Nanoseconds since the epoch as Go marshals a UTC time: RFC 3339, trailing zeros of the fraction dropped. */
export function rfc3339Nano(ns: bigint): string {
  const secs = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  const frac = ns - secs * 1_000_000_000n;
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${f}Z`;
}

/** Stats a container path for `X-Docker-Container-Path-Stat` (the entry itself: a symlink is not followed). */
export async function statPath(root: FsRoot, path: string): Promise<PathStat> {
  const bytes = toBytes(path);
  const loc = locate(root, bytes, path);
  try {
    return statOf(root, bytes, loc);
  } finally {
    closeSync(loc.parentFd);
  }
}

export function statOf(root: FsRoot, bytes: string, loc: Located): PathStat {
  const { st } = loc;
  const abs = containerAbsPath(bytes);
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = fromBytes('/' + resolveParts(root, abs, true).join('/'));
  return {
    name: fromBytes(goBase(abs)),
    size: Number(st.size),
    mode: goFileMode(Number(st.mode)),
    mtime: rfc3339Nano(st.mtimeNs),
    linkTarget,
  };
}
