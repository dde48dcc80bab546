// Copy-up: a new, empty volume mounted over a directory that has content in the container's
// root filesystem gets that content first (Docker's behaviour), with owners, modes, times,
// extended attributes, symlinks, device nodes and hard links kept, and the directory's own
// owner and mode given to the volume's root.
//
// The source is inside the container's rootfs, which the container may have shaped: the path is
// resolved as the kernel would with the rootfs as `/` (storage/container-fs.ts) and everything
// is opened through directory fds with O_NOFOLLOW, so no symlink can lead the copy out to the
// host. The destination is written the same way, through fds of the dirs this copy made.
import {
  closeSync,
  constants as fsc,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  chmodSync,
  symlinkSync,
  type BigIntStats,
} from 'node:fs';
import { at, dirNames, lstatAt, O_DIR, openDirAt, resolveParts, toBytes } from '../storage/container-fs.ts';
import { lgetxattr, llistxattr, lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../../sys/libc.ts';

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** True when the directory has no entries (Docker copies into empty volumes only). */
export function isEmptyDir(path: string): boolean {
  return readdirSync(path).length === 0;
}

/**
 * Copies the directory at container path `dest` of `rootfs` into `volumeDir` when the volume is
 * empty and the path is a directory in the rootfs; returns whether it copied.
 */
export function copyUp(rootfs: string, dest: string, volumeDir: string): boolean {
  if (!isEmptyDir(volumeDir)) return false;
  let srcFd: number;
  try {
    srcFd = openDirAt(rootfs, resolveParts(rootfs, toBytes(dest), true));
  } catch (err) {
    // missing, or not a directory (Docker copies directories only)
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(code(err) ?? '')) return false;
    throw err;
  }
  let dstFd: number | undefined;
  try {
    dstFd = openSync(volumeDir, O_DIR);
    const links = new Map<string, string>();
    copyEntries(srcFd, dstFd, '', links, dstFd);
    const st = fstatSync(srcFd, { bigint: true });
    fchownSync(dstFd, Number(st.uid), Number(st.gid));
    fchmodSync(dstFd, Number(st.mode & 0o7777n));
    copyXattrs(at(srcFd), Buffer.from(volumeDir), false);
    futimesSync(dstFd, seconds(st.atimeNs), seconds(st.mtimeNs));
    return true;
  } finally {
    closeSync(srcFd);
    if (dstFd !== undefined) closeSync(dstFd);
  }
}

const seconds = (ns: bigint) => Number(ns) / 1e9;

/** Copies every entry of the open directory `src` into the open directory `dst`. */
function copyEntries(src: number, dst: number, rel: string, links: Map<string, string>, rootDst: number): void {
  for (const name of dirNames(src)) {
    const st = lstatAt(src, name);
    if (!st) continue; // gone meanwhile
    const relPath = rel ? `${rel}/${name}` : name;
    const to = at(dst, name);
    if (st.isDirectory()) {
      mkdirSync(to, 0o700);
      const s = openSync(at(src, name), O_DIR);
      try {
        const d = openSync(to, O_DIR);
        try {
          copyEntries(s, d, relPath, links, rootDst);
        } finally {
          closeSync(d);
        }
      } finally {
        closeSync(s);
      }
      applyMetadata(at(src, name), to, st);
      continue;
    }
    // a second name of a file already copied becomes a link to the copy
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1n && !st.isDirectory()) {
      const first = links.get(key);
      if (first !== undefined) {
        linkSync(at(rootDst, first), to);
        continue;
      }
      links.set(key, relPath);
    }
    if (st.isFile()) {
      const fd = openSync(at(src, name), fsc.O_RDONLY | fsc.O_NOFOLLOW);
      try {
        copyFileSync(`/proc/self/fd/${fd}`, to, fsc.COPYFILE_EXCL);
      } finally {
        closeSync(fd);
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(at(src, name), { encoding: 'buffer' }), to);
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isCharacterDevice() ? S_IFCHR : st.isBlockDevice() ? S_IFBLK : S_IFIFO;
      const { major, minor } = majorMinor(st.rdev);
      mknod(to, type | Number(st.mode & 0o777n), major, minor);
    } else {
      continue; // sockets are not copied
    }
    applyMetadata(at(src, name), to, st);
  }
}

function applyMetadata(from: Buffer, to: Buffer, st: BigIntStats): void {
  const link = st.isSymbolicLink();
  lchownSync(to, Number(st.uid), Number(st.gid));
  // after chown, which clears setuid/setgid
  if (!link) chmodSync(to, Number(st.mode & 0o7777n));
  copyXattrs(from, to, link);
  lutimesSync(to, seconds(st.atimeNs), seconds(st.mtimeNs));
}

/** Extended attributes a filesystem won't take (or that need privileges) are skipped, as Docker does. */
function copyXattrs(from: Buffer, to: Buffer, link: boolean): void {
  let names: string[];
  try {
    names = llistxattr(from);
  } catch {
    return;
  }
  for (const n of names) {
    // overlay's own bookkeeping stays with the layer it describes
    if (n.startsWith('trusted.overlay.')) continue;
    if (link && !n.startsWith('trusted.') && !n.startsWith('security.')) continue;
    try {
      const v = lgetxattr(from, n);
      if (v !== undefined) lsetxattr(to, n, v);
    } catch {
      // ENOTSUP, EPERM: not kept
    }
  }
}

function majorMinor(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}
