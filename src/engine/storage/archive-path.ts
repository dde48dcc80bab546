// Tar archives out of and into a container's root filesystem: `docker cp` both ways (GET and
// PUT /containers/{id}/archive) and `docker export`. Everything goes through container-fs.ts:
// paths resolved in the rootfs's scope, each syscall on one name of an open directory, never a
// symlink followed that was not resolved on purpose.
//
// What comes out is what Docker's archive package writes: names rebased onto the basename of
// the path asked for (`dir/`, `dir/a`; `./`, `./a` for `dir/.`), owners, modes, whole-second
// mtimes, symlinks as they are, a hardlinked file once then links to its first name,
// `security.capability` as the one extended attribute, sockets left out.
// What goes in follows Docker's Unpack: existing directories merge, anything else is replaced,
// missing parents are made (0755), owners are the archive's unless the caller imposes one,
// directory times come last.
import {
  chmodSync,
  closeSync,
  constants as fsc,
  existsSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { Readable } from 'node:stream';
import type { EngineContext } from '../context.ts';
import { containerEvent } from '../containers/events.ts';
import type { ContainerRecord } from '../containers/types.ts';
import { resolveUser } from '../containers/user.ts';
import { Conflict, EngineError, InvalidArgument, NotFound, SystemError } from '../errors.ts';
import { lgetxattr, lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../../sys/libc.ts';
import { at, containerAbsPath, ContainerPathNotFound, dirNames, fromBytes, goBase, locate, lstatAt, lstatEntry, makeDirAt, mountAround, mountAt, mountKey, O_DIR, openDirAt, openSubdir, resolveParts, statOf, statPath, toBytes, type FsRoot, type MountedRoot, type PathStat, type RootMount } from './container-fs.ts';
import { decompress } from './decompress.ts';
import { devParts, tarHeader, tarPadding, TAR_END, type TarHeader } from './layer-tar.ts';
import { T_BLK, T_CHR, T_DIR, T_FIFO, T_LINK, T_REG, T_SYMLINK } from './tar-types.ts';
import { TarReader, type TarEntry, type TarHandler } from './unpack.ts';

const CHUNK = 128 << 10;
const S_IFMT = 0o170000;
const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

// ---------------------------------------------------------------------------------------------
// Out: a tar of a path, or of the whole rootfs.

export interface PathArchive {
  stat: PathStat;
  tar: Readable;
}

/**
 * The tar Docker answers GET /containers/{id}/archive?path= with, and the path's stat. A
 * directory comes with its contents under its basename (`/etc` → `etc/…`; `/etc/.` → `./…`;
 * `/` → `/…`), anything else as one entry named by its basename; a symlink as the path's last
 * component is archived as the symlink (a trailing `/` follows it). ContainerPathNotFound when
 * the path does not exist. The stream reads the rootfs while it is consumed.
 */
export async function archiveOf(root: FsRoot, path: string): Promise<PathArchive> {
  const bytes = toBytes(path);
  const abs = containerAbsPath(bytes);
  const loc = locate(root, bytes, path);
  let stat: PathStat;
  try {
    stat = statOf(root, bytes, loc);
  } catch (err) {
    closeSync(loc.parentFd);
    throw err;
  }
  const rebase = goBase(abs);
  const mounted = typeof root === 'string' ? undefined : { root, parts: loc.parts };
  return { stat, tar: Readable.from(tarOf(loc.parentFd, loc.base, rebase === '/' ? '' : rebase, rebase === '/', mounted)) };
}

/** `docker export`: every entry of the rootfs, named relative to it (`bin/`, `bin/sh`), the root itself left out. */
export function exportRootfs(root: string): Readable {
  return Readable.from(tarOf(openDirAt(root, []), '', '', false));
}

/**
 * The tar of the entry `base` of the directory open as `parentFd` ('' for that directory
 * itself), named `name`; `rootEntry` names a directory's own entry `/` when name is ''.
 * With `mounted`, the walk crosses into the root's mounts (`parts`: where the entry is).
 * Takes over parentFd.
 */
async function* tarOf(parentFd: number, base: string, name: string, rootEntry: boolean, mounted?: { root: FsRoot; parts: string[] }): AsyncGenerator<Buffer, void, undefined> {
  const w = new TreeWriter(mounted?.root ?? '');
  const parts = mounted?.parts;
  try {
    if (base === '') {
      if (rootEntry || name !== '') {
        const st = fstatSync(parentFd, { bigint: true });
        yield tarHeader({ ...owner(st), name: name === '' ? '/' : `${name}/`, type: T_DIR });
      }
      yield* w.children(parentFd, name === '' && !rootEntry ? '' : `${name}/`, parts);
    } else {
      yield* w.entry(parentFd, base, name, parts);
    }
    yield TAR_END;
  } finally {
    closeSync(parentFd);
  }
}

function owner(st: BigIntStats): Pick<TarHeader, 'mode' | 'uid' | 'gid' | 'mtime'> {
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: Number(st.mtimeMs / 1000n) };
}

class TreeWriter {
  /** dev:ino of hardlinked files → the name written first */
  private readonly links = new Map<string, string>();

  /** `root`'s mounts are crossed into where the walk knows its place (`parts`, the entries' container components). */
  constructor(private readonly root: FsRoot) {}

  /** The entries of the directory open as `fd` (at `parts`), each named `prefix` + its name. */
  async *children(fd: number, prefix: string, parts?: string[]): AsyncGenerator<Buffer, void, undefined> {
    for (const child of dirNames(fd)) yield* this.entry(fd, child, prefix + child, parts && [...parts, child]);
  }

  async *entry(dirFd: number, base: string, name: string, parts?: string[]): AsyncGenerator<Buffer, void, undefined> {
    const st = parts ? lstatEntry(this.root, dirFd, base, parts) : lstatAt(dirFd, base);
    if (!st) return; // gone meanwhile: a running container changes its files
    const h = owner(st);
    switch (Number(st.mode) & S_IFMT) {
      case 0o040000: {
        let fd: number;
        try {
          fd = parts ? openSubdir(this.root, dirFd, base, parts) : openSync(at(dirFd, base), O_DIR);
        } catch (err) {
          if (code(err) === 'ENOENT' || code(err) === 'ELOOP' || code(err) === 'ENOTDIR') return; // replaced meanwhile
          throw err;
        }
        try {
          yield tarHeader({ ...h, name: `${name}/`, type: T_DIR });
          yield* this.children(fd, `${name}/`, parts);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 0o100000: {
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          const first = this.links.get(key);
          if (first !== undefined) {
            yield tarHeader({ ...h, name, type: T_LINK, linkname: first });
            return;
          }
          this.links.set(key, name);
        }
        yield* this.file(dirFd, base, name, h, st, parts && mountAt(this.root, parts)?.source);
        return;
      }
      case 0o120000: {
        let target: string;
        try {
          target = readlinkSync(at(dirFd, base), { encoding: 'buffer' }).toString('latin1');
        } catch {
          return; // replaced meanwhile
        }
        yield tarHeader({ ...h, name, type: T_SYMLINK, linkname: target });
        return;
      }
      case 0o020000:
      case 0o060000: {
        const [devmajor, devminor] = devParts(st.rdev);
        yield tarHeader({ ...h, name, type: (Number(st.mode) & S_IFMT) === 0o020000 ? T_CHR : T_BLK, devmajor, devminor });
        return;
      }
      case 0o010000:
        yield tarHeader({ ...h, name, type: T_FIFO });
        return;
      default:
        return; // sockets: tar has no form for them (Docker skips them too)
    }
  }

  /** A regular file's entry; `mounted`: the host file mounted there instead (followed: berth made it). */
  private async *file(dirFd: number, base: string, name: string, h: ReturnType<typeof owner>, st: BigIntStats, mounted?: string): AsyncGenerator<Buffer, void, undefined> {
    let fd: number;
    try {
      // O_NONBLOCK: if a FIFO took the file's place, the open must not wait for a writer
      fd = mounted ? openSync(mounted, fsc.O_RDONLY | fsc.O_NONBLOCK) : openSync(at(dirFd, base), fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ELOOP') return;
      throw err;
    }
    try {
      const now = fstatSync(fd, { bigint: true });
      if ((Number(now.mode) & S_IFMT) !== 0o100000) return;
      const size = Number(st.size);
      const xattrs = mounted ? undefined : capability(dirFd, base);
      yield tarHeader({ ...h, name, type: T_REG, size, ...(xattrs ? { xattrs } : {}) });
      let done = 0;
      while (done < size) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
        const n = readSync(fd, buf, 0, buf.length, done);
        if (n === 0) {
          // it shrank while being read: zeros keep the archive whole (its header is out already)
          buf.fill(0);
          done += buf.length;
          yield buf;
          continue;
        }
        done += n;
        yield n === buf.length ? buf : buf.subarray(0, n);
      }
      const pad = tarPadding(size);
      if (pad.length) yield pad;
    } finally {
      closeSync(fd);
    }
  }
}

/** The one extended attribute Docker archives: file capabilities. */
function capability(dirFd: number, base: string): Array<[string, Buffer]> | undefined {
  try {
    const v = lgetxattr(at(dirFd, base), 'security.capability');
    return v ? [['security.capability', v]] : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// In: a tar extracted into a directory of the rootfs.

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (the docker CLI's default). */
  noOverwriteDirNonDir?: boolean;
  /** The owner of every entry (copyUIDGID with a container user); otherwise the archive's. */
  owner?: { uid: number; gid: number };
  /** The rootfs is read-only: only a directory in a writable mount takes the archive (Docker's order: after the directory check). */
  readOnlyRootfs?: boolean;
}

/**
 * Extracts a tar (plain, gzip or zstd) into the directory `dir` of the rootfs (symlinks on the
 * way followed in the rootfs's scope, the last one too), as PUT /containers/{id}/archive does.
 * ContainerPathNotFound when `dir` is missing, InvalidArgument when it is not a directory or an
 * entry climbs out of it; Docker's "cannot overwrite …" errors with noOverwriteDirNonDir.
 */
export async function extractInto(root: FsRoot, dir: string, tar: AsyncIterable<Buffer>, opts: ExtractOptions = {}): Promise<void> {
  const bytes = toBytes(dir);
  const loc = locate(root, bytes, dir, true);
  let destFd: number;
  try {
    if (!loc.st.isDirectory()) throw new InvalidArgument('extraction point is not a directory');
    const mount = mountAround(root, loc.parts);
    if (mount ? mount.readOnly : opts.readOnlyRootfs) throw new InvalidArgument(mount ? READONLY_MOUNT : 'container rootfs is marked read-only');
    destFd = loc.base ? openSubdir(root, loc.parentFd, loc.base, loc.parts) : openDirAt(root, []);
  } finally {
    closeSync(loc.parentFd);
  }
  const x = new Extractor(root, loc.parts, destFd, opts);
  const reader = new TarReader(x);
  try {
    for await (const chunk of decompress(tar)) reader.write(chunk);
    reader.end();
    x.finish();
  } finally {
    x.close();
  }
}

const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
/** Docker's words for a copy into a volume or bind mounted read-only. */
const READONLY_MOUNT = 'mounted volume is marked read-only';
/** Bounded: fds for recently used parent directories. */
const MAX_OPEN_DIRS = 64;

interface OpenDir {
  fd: number;
  /** where it is below the rootfs (no symlinks) */
  parts: string[];
}

class Extractor implements TarHandler {
  private readonly dest: OpenDir;
  private readonly destShown: string;
  /** parent directories by their name in the archive ('' is dest) */
  private readonly dirs = new Map<string, OpenDir>();
  /** directories the archive listed: their times are set at the end */
  private readonly dirTimes: Array<{ parts: string[]; atime: number; mtime: number }> = [];
  private fd = -1;
  private cur: TarEntry | undefined;
  private curAt: { dir: OpenDir; base: string } | undefined;

  constructor(
    private readonly root: FsRoot,
    destParts: string[],
    destFd: number,
    private readonly opts: ExtractOptions,
  ) {
    this.dest = { fd: destFd, parts: destParts };
    this.destShown = fromBytes('/' + destParts.join('/'));
  }

  entry(e: TarEntry): boolean {
    try {
      return this.apply(e);
    } catch (err) {
      throw this.wrap(err, e);
    }
  }

  data(buf: Buffer, off: number, len: number): void {
    try {
      while (len > 0) {
        const n = writeSync(this.fd, buf, off, len);
        off += n;
        len -= n;
      }
    } catch (err) {
      throw this.wrap(err, this.cur!);
    }
  }

  end(): void {
    const e = this.cur!;
    try {
      const fd = this.fd;
      const o = this.ownerOf(e);
      fchownSync(fd, o.uid, o.gid);
      if (e.xattrs) this.xattrs(this.curAt!.dir.fd, this.curAt!.base, e);
      fchmodSync(fd, e.mode & 0o7777); // after the chown, which clears setuid
      futimesSync(fd, e.atime, e.mtime);
      this.fd = -1;
      closeSync(fd);
    } catch (err) {
      throw this.wrap(err, e);
    }
    this.cur = undefined;
  }

  finish(): void {
    // directory times last, deepest first, so that nothing made in them changes them again
    for (const d of this.dirTimes.sort((a, b) => b.parts.length - a.parts.length)) {
      let fd: number;
      try {
        fd = openDirAt(this.root, d.parts);
      } catch {
        continue; // replaced by a later entry, or by the running container
      }
      try {
        futimesSync(fd, d.atime, d.mtime);
      } finally {
        closeSync(fd);
      }
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    for (const d of this.dirs.values()) closeSync(d.fd);
    this.dirs.clear();
    closeSync(this.dest.fd);
  }

  private wrap(err: unknown, e: TarEntry): Error {
    if (err instanceof EngineError) return err;
    return new SystemError(`extracting ${show(e.name)} to ${this.destShown}: ${(err as Error).message}`, { cause: err });
  }

  private ownerOf(e: TarEntry): { uid: number; gid: number } {
    return this.opts.owner ?? { uid: e.uid, gid: e.gid };
  }

  private apply(e: TarEntry): boolean {
    if (e.name.includes('\0')) throw new InvalidArgument(`invalid entry name ${show(e.name)}`);
    const parts = cleanLocal(e.name);
    if (parts === undefined) throw new InvalidArgument(`invalid entry name ${show(e.name)}: it climbs out of ${this.destShown}`);
    if (parts.length === 0) return false; // the destination itself: left as it is, as Docker does
    const rel = parts.join('/');
    const base = parts[parts.length - 1]!;
    const dir = this.parentDir(parts.slice(0, -1), e);
    const isDir = e.type === T_DIR;
    const existing = lstatAt(dir.fd, base);
    if (existing) {
      const wasDir = existing.isDirectory();
      if (this.opts.noOverwriteDirNonDir && wasDir && !isDir) throw new SystemError(`cannot overwrite directory ${show(rel)} with non-directory ${JSON.stringify(this.destShown)}`);
      if (this.opts.noOverwriteDirNonDir && !wasDir && isDir) throw new SystemError(`cannot overwrite non-directory ${show(rel)} with directory ${JSON.stringify(this.destShown)}`);
      if (!(wasDir && isDir)) {
        this.forget(rel);
        removeTree(dir.fd, base);
      }
    }
    const path = at(dir.fd, base);
    const o = this.ownerOf(e);
    switch (e.type) {
      case T_REG:
        this.fd = openSync(path, CREATE, e.mode & 0o777);
        this.cur = e;
        this.curAt = { dir, base };
        return true;
      case T_DIR: {
        if (!existing?.isDirectory()) mkdirSync(path, e.mode & 0o777);
        const fd = openSync(path, O_DIR);
        try {
          fchownSync(fd, o.uid, o.gid);
          if (e.xattrs) this.xattrs(dir.fd, base, e);
          fchmodSync(fd, e.mode & 0o7777);
        } finally {
          closeSync(fd);
        }
        this.dirTimes.push({ parts: [...dir.parts, base], atime: e.atime, mtime: e.mtime });
        return false;
      }
      case T_SYMLINK:
        // the target is only data here: it is resolved (in the rootfs's scope) when used
        symlinkSync(Buffer.from(e.linkname, 'latin1'), path);
        lchownSync(path, o.uid, o.gid);
        if (e.xattrs) this.xattrs(dir.fd, base, e);
        lutimesSync(path, e.atime, e.mtime);
        return false;
      case T_LINK:
        this.hardlink(e, dir, base, o);
        return false;
      case T_CHR:
      case T_BLK:
      case T_FIFO: {
        const kind = e.type === T_CHR ? S_IFCHR : e.type === T_BLK ? S_IFBLK : S_IFIFO;
        mknod(path, kind | (e.mode & 0o777), e.devmajor, e.devminor);
        lchownSync(path, o.uid, o.gid);
        if (e.xattrs) this.xattrs(dir.fd, base, e);
        chmodSync(path, e.mode & 0o7777);
        lutimesSync(path, e.atime, e.mtime);
        return false;
      }
      default:
        return false; // nothing else has a place in a filesystem
    }
  }

  private hardlink(e: TarEntry, dir: OpenDir, base: string, o: { uid: number; gid: number }): void {
    // the target is an entry of the destination (an absolute one too, as Docker reads it)
    const target = e.linkname.includes('\0') ? undefined : cleanLocal(e.linkname);
    if (!target?.length) throw new InvalidArgument(`invalid hardlink target ${show(e.linkname)} of ${show(e.name)}`);
    const tdir = this.parentDir(target.slice(0, -1), e, false);
    const tbase = target[target.length - 1]!;
    const tst = lstatAt(tdir.fd, tbase);
    if (!tst) throw new InvalidArgument(`hardlink ${show(e.name)}: its target ${show(e.linkname)} does not exist`);
    if (tst.isDirectory()) throw new InvalidArgument(`hardlink ${show(e.name)}: its target ${show(e.linkname)} is a directory`);
    const path = at(dir.fd, base);
    linkSync(at(tdir.fd, tbase), path); // link(2) links a symlink itself, never what it points to
    lchownSync(path, o.uid, o.gid);
    if (!tst.isSymbolicLink()) {
      chmodSync(path, e.mode & 0o7777);
      utimesSync(path, e.atime, e.mtime);
    }
  }

  /**
   * The directory an entry goes in, by its components in the archive: made (0755) where
   * missing (unless `make` is false); a symlink on the way is followed in the rootfs's scope.
   */
  private parentDir(parts: string[], e: TarEntry, make = true): OpenDir {
    if (parts.length === 0) return this.dest;
    const key = parts.join('/');
    const known = this.dirs.get(key);
    if (known) return known;
    const parent = this.parentDir(parts.slice(0, -1), e, make);
    const c = parts[parts.length - 1]!;
    const mount = mountAt(this.root, [...parent.parts, c]);
    const st = lstatAt(parent.fd, c);
    let found: OpenDir;
    if (mount) {
      if (mount.readOnly) throw new InvalidArgument(READONLY_MOUNT);
      found = { fd: openSubdir(this.root, parent.fd, c, [...parent.parts, c]), parts: [...parent.parts, c] };
    } else if (!st) {
      if (!make) throw new InvalidArgument(`${show(e.name)}: ${show(key)} does not exist`);
      mkdirSync(at(parent.fd, c), 0o755);
      found = { fd: openSync(at(parent.fd, c), O_DIR), parts: [...parent.parts, c] };
    } else if (st.isDirectory()) {
      found = { fd: openSync(at(parent.fd, c), O_DIR), parts: [...parent.parts, c] };
    } else if (st.isSymbolicLink()) {
      // followed in the rootfs's scope; what it leads to is made if missing, as Docker does
      const resolved = resolveParts(this.root, '/' + [...parent.parts, c].join('/'), true);
      if (mountAround(this.root, resolved)?.readOnly) throw new InvalidArgument(READONLY_MOUNT);
      let fd: number;
      try {
        fd = make ? makeDirAt(this.root, resolved) : openDirAt(this.root, resolved);
      } catch (err) {
        if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw new InvalidArgument(`${show(e.name)}: ${show(key)} is a symlink to ${show('/' + resolved.join('/'))}, which is not a directory`);
        throw err;
      }
      found = { fd, parts: resolved };
    } else {
      throw new InvalidArgument(`${show(e.name)}: ${show(key)} is not a directory`);
    }
    if (this.dirs.size >= MAX_OPEN_DIRS) {
      for (const d of this.dirs.values()) closeSync(d.fd);
      this.dirs.clear();
    }
    this.dirs.set(key, found);
    return found;
  }

  /** Drops open directories at or below `rel`: it is being replaced. */
  private forget(rel: string): void {
    for (const [k, d] of this.dirs) {
      if (k === rel || k.startsWith(`${rel}/`)) {
        closeSync(d.fd);
        this.dirs.delete(k);
      }
    }
  }

  private xattrs(dirFd: number, base: string, e: TarEntry): void {
    for (const [name, value] of e.xattrs!) {
      try {
        lsetxattr(at(dirFd, base), Buffer.from(name, 'latin1'), value);
      } catch (err) {
        // as Docker: a filesystem without that namespace, or not allowed: go on without it
        if (code(err) === 'ENOTSUP' || code(err) === 'EOPNOTSUPP' || code(err) === 'EPERM') continue;
        throw err;
      }
    }
  }
}

/** An archive name's components below the destination (a leading `/` dropped); undefined when `..` climbs out. */
function cleanLocal(name: string): string[] | undefined {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(c);
    }
  }
  return out;
}

/** Removes the entry `base` of the directory open as `dirFd`, a directory with all it holds, never through a symlink. */
export function removeTree(dirFd: number, base: string): void {
  const st = lstatAt(dirFd, base);
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkSync(at(dirFd, base));
    return;
  }
  const fd = openSync(at(dirFd, base), O_DIR);
  try {
    for (const c of dirNames(fd)) removeTree(fd, c);
  } finally {
    closeSync(fd);
  }
  rmdirSync(at(dirFd, base));
}

const show = (name: string) => JSON.stringify(fromBytes(name));


// ---------------------------------------------------------------------------------------------
// The container operations behind the routes: the rootfs mounted (and kept so while a tar
// streams), Docker's checks and messages, and its `archive-path`, `extract-to-dir` and `export`
// events.

/** The container rootfs mounter, loaded when a container operation runs (the tar code above stands alone). */
async function withContainerRootfs<T>(ctx: EngineContext, idOrName: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
  const rootfs = await import('../containers/rootfs.ts');
  return rootfs.withContainerRootfs(ctx, idOrName, fn);
}

/** The rootfs with the container's volumes and binds on it, as `docker cp` sees the container. */
async function withContainerRoot<T>(ctx: EngineContext, idOrName: string, fn: (root: MountedRoot, rec: ContainerRecord) => Promise<T>): Promise<T> {
  const { cpMounts } = await import('../volumes/container-volumes.ts');
  const { containerPaths } = await import('../containers/store.ts');
  const { etcFileMounts } = await import('../containers/etc-files.ts');
  return withContainerRootfs(ctx, idOrName, async (rootfs, rec) => {
    const mounts = new Map<string, RootMount>();
    for (const m of await cpMounts(ctx, rec)) mounts.set(mountKey(m.destination), { source: m.source, readOnly: m.readOnly });
    // the generated etc files, where the user mounts nothing (as the runtime spec mounts them)
    for (const [dest, source] of etcFileMounts(containerPaths(ctx, rec.Id))) {
      if (!mounts.has(mountKey(dest)) && existsSync(source)) mounts.set(mountKey(dest), { source, readOnly: !!rec.HostConfig.ReadonlyRootfs, file: true });
    }
    return fn({ path: rootfs, mounts }, rec);
  });
}

/** Docker's message for a path a container lacks, naming the container as the client did. */
function renameNotFound(err: unknown, path: string, idOrName: string): never {
  if (err instanceof ContainerPathNotFound) throw new NotFound(`Could not find the file ${path} in container ${idOrName}`);
  throw err;
}

/** HEAD /containers/{id}/archive: the stat of a path (a symlink itself, not its target). */
export async function containerStatPath(ctx: EngineContext, idOrName: string, path: string): Promise<PathStat> {
  return withContainerRoot(ctx, idOrName, (root) => statPath(root, path)).catch((err: unknown) => renameNotFound(err, path, idOrName));
}

/**
 * Runs `open` with the container's rootfs mounted, answers its stream, and keeps the rootfs
 * mounted until that stream ended or was dropped; `done` runs once it was read to its end.
 */
function streamFromRootfs<T extends { tar: Readable }, R extends FsRoot>(
  withRoot: (ctx: EngineContext, idOrName: string, fn: (root: R, rec: ContainerRecord) => Promise<void>) => Promise<void>,
  ctx: EngineContext,
  idOrName: string,
  open: (root: R, rec: ContainerRecord) => Promise<T>,
  done: (rec: ContainerRecord) => Promise<void>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    withRoot(ctx, idOrName, async (rootfs, rec) => {
      const out = await open(rootfs, rec);
      resolve(out);
      const complete = await new Promise<boolean>((res) => {
        out.tar.once('end', () => res(true));
        out.tar.once('close', () => res(false));
        out.tar.once('error', () => res(false));
      });
      if (complete) await done(rec);
    }).catch(reject);
  });
}

/** GET /containers/{id}/archive: the path's stat and its tar (see archiveOf). */
export async function containerArchive(ctx: EngineContext, idOrName: string, path: string): Promise<PathArchive> {
  return streamFromRootfs(
    withContainerRoot,
    ctx,
    idOrName,
    async (root, rec) => {
      const out = await archiveOf(root, path);
      void containerEvent(ctx, rec, 'archive-path'); // Docker records it when the tar starts
      return out;
    },
    async () => {},
  ).catch((err: unknown) => renameNotFound(err, path, idOrName));
}

export interface CopyToOptions {
  noOverwriteDirNonDir?: boolean;
  /** Entries owned by the container's user (Config.User) instead of the archive's owners. */
  copyUIDGID?: boolean;
}

/** PUT /containers/{id}/archive: a tar extracted into a directory of the container. */
export async function copyToContainer(ctx: EngineContext, idOrName: string, path: string, tar: AsyncIterable<Buffer>, opts: CopyToOptions = {}): Promise<void> {
  await withContainerRoot(ctx, idOrName, async (root, rec) => {
    let owner: ExtractOptions['owner'];
    if (opts.copyUIDGID && rec.Config.User) {
      const u = await resolveUser(root.path, rec.Config.User);
      owner = { uid: u.uid, gid: u.gid };
    }
    await extractInto(root, path, tar, { noOverwriteDirNonDir: opts.noOverwriteDirNonDir, owner, readOnlyRootfs: !!rec.HostConfig.ReadonlyRootfs });
    await containerEvent(ctx, rec, 'extract-to-dir');
  }).catch((err: unknown) => renameNotFound(err, path, idOrName));
}

/** GET /containers/{id}/export: the tar of the container's whole filesystem. */
export async function exportContainer(ctx: EngineContext, idOrName: string): Promise<Readable> {
  // the container's own files only: Docker's export leaves volumes out
  const out = await streamFromRootfs<{ tar: Readable }, string>(
    withContainerRootfs,
    ctx,
    idOrName,
    async (rootfs, rec) => {
      if (rec.State.Status === 'dead') throw new Conflict(`You cannot export container ${rec.Id} which is Dead`);
      if (rec.State.Status === 'removing') throw new Conflict(`You cannot export container ${rec.Id} which is being removed`);
      return { tar: exportRootfs(rootfs) };
    },
    (rec) => containerEvent(ctx, rec, 'export'),
  );
  return out.tar;
}
