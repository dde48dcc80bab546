// `docker diff` (GET /containers/{id}/changes): what a container changed, read from its overlay
// upper dir as Docker's overlay driver does, without mounting anything.
//
// The upper dir is walked in Go's order (names in byte order, a directory before what it holds):
// - a 0:0 character device is a whiteout: the path was deleted (Kind 2);
// - an opaque directory (`trusted.overlay.opaque=y`) replaced what was there: deleted too, as
//   Docker reports it, and what it holds is then added;
// - anything else was modified (Kind 0) when the lower layers have the path, added (Kind 1) when
//   not; a directory the lower layers have with the same type, mode, owner and mtime is not a
//   change by itself;
// - the parent directory of an addition or deletion is reported modified (once, before it),
//   whatever its metadata says, as Docker does (moby#13590).
// The walk goes through open directories (container-fs.ts): a running container may put
// symlinks in its upper dir at any time, and none is ever followed.
import { closeSync, lstatSync, openSync, type BigIntStats } from 'node:fs';
import type { EngineContext } from '../context.ts';
import { ContainerStore } from '../containers/store.ts';
import { lgetxattr } from '../../sys/libc.ts';
import { at, dirNames, fromBytes, lstatAt, O_DIR } from './container-fs.ts';

export const CHANGE_MODIFIED = 0;
export const CHANGE_ADDED = 1;
export const CHANGE_DELETED = 2;

export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface ChangesOptions {
  /**
   * Container paths the runtime makes for itself (mount points such as /etc/hosts): not
   * reported, and a directory that holds one may have a new mtime without being a change.
   */
  skip?: ReadonlySet<string>;
}

const S_IFMT = 0o170000n;
const S_IFDIR = 0o040000n;
const S_IFCHR = 0o020000n;

const isWhiteout = (st: BigIntStats) => (st.mode & S_IFMT) === S_IFCHR && st.rdev === 0n;
const isDir = (st: BigIntStats) => (st.mode & S_IFMT) === S_IFDIR;

function isOpaque(path: Buffer): boolean {
  try {
    return lgetxattr(path, 'trusted.overlay.opaque')?.toString() === 'y';
  } catch {
    return false; // no trusted.* (not root): no opaque dirs either
  }
}

/**
 * The changes of an overlay upper dir over its lower dirs (`lowerDirs` top first, as in
 * overlay's lowerdir= option), in Docker's order and shape.
 */
export async function changes(upperDir: string, lowerDirs: string[], opts: ChangesOptions = {}): Promise<Change[]> {
  const skip = opts.skip ?? new Set<string>();
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  const lowers = new LowerView(lowerDirs);

  const visit = (dirFd: number, rel: string[], hidden: boolean): void => {
    const names = dirNames(dirFd);
    const skipped = new Set(names.filter((n) => skip.has(fromBytes('/' + [...rel, n].join('/')))));
    for (const name of names) {
      if (skipped.has(name)) continue;
      const parts = [...rel, name];
      const path = '/' + parts.join('/');
      const st = lstatAt(dirFd, name);
      if (!st) continue;
      let kind: Change['Kind'] = CHANGE_MODIFIED;
      let unchanged = false;
      const dir = isDir(st);
      let opaque = false;
      if (isWhiteout(st)) {
        kind = CHANGE_DELETED;
      } else if (dir && (opaque = isOpaque(at(dirFd, name)))) {
        kind = CHANGE_DELETED;
      } else {
        const lower = hidden ? undefined : lowers.lookup(parts);
        if (!lower) kind = CHANGE_ADDED;
        else unchanged = dir && isDir(lower) && sameDir(st, lower, !holdsSkipped(parts));
      }
      if (!unchanged) {
        if (dir) changedDirs.add(path);
        if (kind === CHANGE_ADDED || kind === CHANGE_DELETED) {
          const parent = '/' + rel.join('/');
          if (parent !== '/' && !changedDirs.has(parent)) {
            out.push({ Path: fromBytes(parent), Kind: CHANGE_MODIFIED });
            changedDirs.add(parent);
          }
        }
        out.push({ Path: fromBytes(path), Kind: kind });
      }
      if (dir) {
        let fd: number;
        try {
          fd = openSync(at(dirFd, name), O_DIR);
        } catch {
          continue; // replaced meanwhile
        }
        try {
          // below an opaque or new directory, nothing of the lower layers shows
          visit(fd, parts, hidden || opaque || kind === CHANGE_ADDED);
        } finally {
          closeSync(fd);
        }
      }
    }
  };
  /** A directory the runtime put a mount point in: its mtime says nothing. */
  const holdsSkipped = (parts: string[]) => {
    const prefix = fromBytes('/' + parts.join('/')) + '/';
    for (const s of skip) if (s.startsWith(prefix) && !s.slice(prefix.length).includes('/')) return true;
    return false;
  };

  const rootFd = openSync(upperDir, O_DIR);
  try {
    visit(rootFd, [], false);
  } finally {
    closeSync(rootFd);
  }
  return out;
}

/** Docker's test for an unchanged directory (plus its owner); mtimes equal to the second when either lacks nanoseconds. */
function sameDir(a: BigIntStats, b: BigIntStats, mtimeMatters: boolean): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (!mtimeMatters) return true;
  if (a.mtimeMs / 1000n !== b.mtimeMs / 1000n) return false;
  const an = a.mtimeNs % 1_000_000_000n;
  const bn = b.mtimeNs % 1_000_000_000n;
  return an === bn || an === 0n || bn === 0n;
}

/** The lower layers seen as overlay merges them, for lookups of whole paths. */
class LowerView {
  constructor(private readonly dirs: string[]) {}

  /** The entry at `parts` in the merged lower layers, or undefined. */
  lookup(parts: string[]): BigIntStats | undefined {
    for (const dir of this.dirs) {
      const r = this.inLayer(dir, parts);
      if (r === 'absent') continue;
      if (r === 'hidden') return undefined;
      return r;
    }
    return undefined;
  }

  /**
   * One layer's say: the entry; 'hidden' when the layer ends the lookup (a whiteout, a
   * non-directory on the way, or an opaque directory without the rest); 'absent' to ask the
   * layer below.
   */
  private inLayer(dir: string, parts: string[]): BigIntStats | 'absent' | 'hidden' {
    let fd: number;
    try {
      fd = openSync(dir, O_DIR);
    } catch {
      return 'absent';
    }
    try {
      for (let i = 0; i < parts.length; i++) {
        const st = lstatAt(fd, parts[i]!);
        if (!st) return 'absent';
        if (isWhiteout(st)) return 'hidden';
        if (i === parts.length - 1) return st;
        if (!isDir(st)) return 'hidden';
        const opaque = isOpaque(at(fd, parts[i]!));
        const next = openSync(at(fd, parts[i]!), O_DIR);
        closeSync(fd);
        fd = next;
        if (opaque) {
          // the rest must be in this layer: nothing below shows through an opaque directory
          for (let j = i + 1; j < parts.length; j++) {
            const s = lstatAt(fd, parts[j]!);
            if (!s || isWhiteout(s)) return 'hidden';
            if (j === parts.length - 1) return s;
            if (!isDir(s)) return 'hidden';
            const n = openSync(at(fd, parts[j]!), O_DIR);
            closeSync(fd);
            fd = n;
          }
        }
      }
      return lstatSync(at(fd), { bigint: true });
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * What the runtime makes in a rootfs for its own mounts (spec-defaults.ts, oci-spec.ts): Docker
 * keeps these in an init layer below the container's, so `docker diff` never shows them.
 */
export const RUNTIME_PATHS: ReadonlySet<string> = new Set(['/proc', '/sys', '/dev', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run/podman-init']);

/** GET /containers/{id}/changes: null when nothing changed, as Docker answers. */
export async function containerChanges(ctx: EngineContext, idOrName: string): Promise<Change[] | null> {
  const rootfs = await import('../containers/rootfs.ts');
  const rec = await new ContainerStore(ctx).find(idOrName);
  const { upper, lowers } = rootfs.containerLayerDirs(ctx, rec);
  const out = await changes(upper, [...lowers].reverse(), { skip: RUNTIME_PATHS }); // top layer first
  return out.length ? out : null;
}
