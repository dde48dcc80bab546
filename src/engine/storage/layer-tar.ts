// Writing tar archives: the header encoder berth's own archives use (docker save, and the tar of a
// layer made from its unpacked dir), and `layerTar`, which turns an unpacked layer (overlay form)
// back into an image layer tar: a 0:0 character device becomes a `.wh.<name>` whiteout and a
// directory with `trusted.overlay.opaque=y` gets a `.wh..wh..opq` entry, as Docker's overlay
// driver writes them.
//
// Headers are USTAR, with a PAX extended header only for what USTAR cannot hold (long or
// non-ASCII names and link targets, big sizes or ids, extended attributes). Names are byte
// strings (latin1 inside, as src/engine/storage/unpack.ts reads them), so a name that is not
// UTF-8 goes out as it was on disk. Times are whole seconds (Docker truncates them too).
//
// A tar made from a directory is never byte for byte the tar the layer was unpacked from, so its
// digest is a new diff id unless the layer was made that way: callers compare.
import { constants as fsc, lstatSync, promises as fs, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { resolve } from 'node:path';
import { SystemError } from '../errors.ts';
import { lgetxattr, llistxattr } from '../../sys/libc.ts';
import { T_BLK, T_CHR, T_DIR, T_FIFO, T_LINK, T_PAX, T_REG, T_SYMLINK } from './tar-types.ts';

export { T_REG, T_LINK, T_SYMLINK, T_CHR, T_BLK, T_DIR, T_FIFO } from './tar-types.ts';

const BLOCK = 512;
/** Two zero blocks: the end of an archive. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK);

export interface TarHeader {
  /** A byte string (latin1): `bin/busybox`, `etc/` (directories may end in `/`). */
  name: string;
  type: number;
  /** Permission bits with setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (regular files only). */
  size?: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink target or hardlink source, a byte string. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (names latin1, values raw bytes): PAX `SCHILY.xattr.` records. */
  xattrs?: Array<[name: string, value: Buffer]>;
}

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;
const isAscii = (s: string) => /^[\x01-\x7f]*$/.test(s);

/** The header block(s) of one member: a PAX header first when needed. */
export function tarHeader(h: TarHeader): Buffer {
  const size = h.type === T_REG ? (h.size ?? 0) : 0;
  const mtime = Math.floor(h.mtime);
  const pax: Array<[string, Buffer]> = [];
  let name = h.name;
  let prefix = '';
  if (!isAscii(name)) {
    pax.push(['path', Buffer.from(name, 'latin1')]);
    name = asciiTail(name, 100);
  } else if (name.length > 100) {
    const split = splitUstar(name);
    if (split) [prefix, name] = split;
    else {
      pax.push(['path', Buffer.from(name, 'latin1')]);
      name = name.slice(0, 100);
    }
  }
  let linkname = h.linkname ?? '';
  if (linkname.length > 100 || !isAscii(linkname)) {
    pax.push(['linkpath', Buffer.from(linkname, 'latin1')]);
    linkname = asciiTail(linkname, 100);
  }
  if (size > MAX_OCTAL_12) pax.push(['size', Buffer.from(String(size))]);
  if (h.uid > MAX_OCTAL_8) pax.push(['uid', Buffer.from(String(h.uid))]);
  if (h.gid > MAX_OCTAL_8) pax.push(['gid', Buffer.from(String(h.gid))]);
  if (mtime < 0 || mtime > MAX_OCTAL_12) pax.push(['mtime', Buffer.from(String(mtime))]);
  for (const [k, v] of h.xattrs ?? []) pax.push([`SCHILY.xattr.${k}`, v]);

  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'latin1');
  octal(block, 100, 8, h.mode & 0o7777);
  octal(block, 108, 8, h.uid > MAX_OCTAL_8 ? 0 : h.uid);
  octal(block, 116, 8, h.gid > MAX_OCTAL_8 ? 0 : h.gid);
  octal(block, 124, 12, size > MAX_OCTAL_12 ? 0 : size);
  octal(block, 136, 12, mtime < 0 || mtime > MAX_OCTAL_12 ? 0 : mtime);
  block[156] = h.type;
  block.write(linkname, 157, 100, 'latin1');
  block.write('ustar\0' + '00', 257, 8, 'latin1');
  octal(block, 329, 8, h.devmajor ?? 0);
  octal(block, 337, 8, h.devminor ?? 0);
  block.write(prefix, 345, 155, 'latin1');
  checksum(block);
  if (pax.length === 0) return block;

  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const base = h.name.replace(/\/+$/, '');
  const paxName = asciiTail(`PaxHeaders.0/${base.slice(base.lastIndexOf('/') + 1)}`, 100);
  const head = tarHeader({ name: paxName, type: T_PAX, mode: 0o644, uid: 0, gid: 0, mtime: 0 });
  head[156] = T_PAX;
  octal(head, 124, 12, records.length);
  checksum(head);
  return Buffer.concat([head, records, tarPadding(records.length), block]);
}

/** Zero bytes that complete `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  const n = (BLOCK - (size % BLOCK)) % BLOCK;
  return n === 0 ? EMPTY : Buffer.alloc(n);
}

const EMPTY = Buffer.alloc(0);

function octal(b: Buffer, off: number, len: number, n: number): void {
  b.write(n.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
  b[off + len - 1] = 0;
}

function checksum(b: Buffer): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  b[154] = 0;
  b[155] = 0x20;
}

/** USTAR's prefix/name split: prefix ≤ 155 bytes, name ≤ 100, cut at a slash. */
function splitUstar(name: string): [string, string] | undefined {
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    if (i > 155) return undefined;
    const rest = name.slice(i + 1);
    if (i > 0 && rest.length > 0 && rest.length <= 100) return [name.slice(0, i), rest];
  }
  return undefined;
}

/** What goes in a fixed field when the real value is in a PAX record. */
function asciiTail(s: string, max: number): string {
  const a = s.replace(/[^\x01-\x7f]/g, '_');
  return a.length > max ? a.slice(0, max) : a;
}

/** `<len> <key>=<value>\n`, where len counts the whole record, itself included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key, 'latin1') + value.length + 3; // ' ', '=', '\n'
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'latin1'), value, Buffer.from('\n')]);
}

// ---------------------------------------------------------------------------------------------
// A layer's tar from its unpacked dir.

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const WH = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const CHUNK = 128 << 10;

const S_IFMT = 0o170000n;
const S_IFREG = 0o100000n;
const S_IFDIR = 0o040000n;
const S_IFLNK = 0o120000n;
const S_IFCHR = 0o020000n;
const S_IFBLK = 0o060000n;
const S_IFIFO = 0o010000n;

/** Linux's major/minor of a dev_t (glibc's gnu_dev_major/minor). */
export function devParts(rdev: bigint): [number, number] {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn & 0xffffffffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xffffffffn));
  return [major, minor];
}

/** Extended attributes a layer carries: not overlay's own, nor the host's SELinux label. */
function layerXattrs(path: Buffer): Array<[string, Buffer]> | undefined {
  let names: string[];
  try {
    names = llistxattr(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw err;
  }
  let out: Array<[string, Buffer]> | undefined;
  for (const n of names.sort()) {
    if (n.startsWith('trusted.overlay.') || n === 'security.selinux') continue;
    const v = lgetxattr(path, n);
    if (v !== undefined) (out ??= []).push([n, v]);
  }
  return out;
}

function isOpaque(path: Buffer): boolean {
  try {
    return lgetxattr(path, OPAQUE_XATTR)?.toString() === 'y';
  } catch {
    return false; // no trusted.* support (not root): no opaque dirs either
  }
}

const seconds = (st: BigIntStats) => Number(st.mtimeMs / 1000n);

/**
 * The layer tar of an unpacked layer dir: members in byte order of their names, each directory
 * before its contents, the root itself left out (as Docker's diffs do). Hardlinked files are
 * written once and linked after; sockets are skipped.
 */
export async function* layerTar(dir: string): AsyncGenerator<Buffer, void, undefined> {
  const root = Buffer.from(resolve(dir)).toString('latin1');
  const links = new Map<string, string>(); // dev:ino → the name first written
  // an explicit stack of names to visit (latin1), popped in order
  const stack: string[] = childNames(Buffer.from(root, 'latin1')).reverse();
  while (stack.length) {
    const rel = stack.pop()!;
    const path = Buffer.from(`${root}/${rel}`, 'latin1');
    const st = lstatSync(path, { bigint: true });
    const kind = st.mode & S_IFMT;
    const base = {
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtime: seconds(st),
    };
    try {
      switch (kind) {
        case S_IFDIR: {
          yield tarHeader({ ...base, name: `${rel}/`, type: T_DIR, ...xattrsOf(path) });
          if (isOpaque(path)) yield tarHeader({ ...base, name: `${rel}/${WH_OPAQUE}`, type: T_REG, mode: base.mode & 0o777, size: 0 });
          const children = childNames(path).map((c) => `${rel}/${c}`);
          for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
          break;
        }
        case S_IFREG: {
          const key = `${st.dev}:${st.ino}`;
          if (st.nlink > 1n) {
            const first = links.get(key);
            if (first !== undefined) {
              yield tarHeader({ ...base, name: rel, type: T_LINK, linkname: first, ...xattrsOf(path) });
              break;
            }
            links.set(key, rel);
          }
          const size = Number(st.size);
          yield tarHeader({ ...base, name: rel, type: T_REG, size, ...xattrsOf(path) });
          yield* fileData(path, size, rel);
          const pad = tarPadding(size);
          if (pad.length) yield pad;
          break;
        }
        case S_IFLNK:
          yield tarHeader({ ...base, name: rel, type: T_SYMLINK, linkname: readlinkSync(path, { encoding: 'buffer' }).toString('latin1'), ...xattrsOf(path) });
          break;
        case S_IFCHR:
        case S_IFBLK: {
          const [major, minor] = devParts(st.rdev);
          if (kind === S_IFCHR && major === 0 && minor === 0) {
            // an overlay whiteout: back to the `.wh.` file it came from
            const slash = rel.lastIndexOf('/');
            const name = slash < 0 ? `${WH}${rel}` : `${rel.slice(0, slash + 1)}${WH}${rel.slice(slash + 1)}`;
            yield tarHeader({ ...base, name, type: T_REG, mode: 0o600, size: 0 });
            break;
          }
          yield tarHeader({ ...base, name: rel, type: kind === S_IFCHR ? T_CHR : T_BLK, devmajor: major, devminor: minor, ...xattrsOf(path) });
          break;
        }
        case S_IFIFO:
          yield tarHeader({ ...base, name: rel, type: T_FIFO, ...xattrsOf(path) });
          break;
        default:
          break; // sockets and anything else have no place in a layer
      }
    } catch (err) {
      if (err instanceof SystemError) throw err;
      throw new SystemError(`making a tar of layer entry ${JSON.stringify(Buffer.from(rel, 'latin1').toString())}: ${(err as Error).message}`, { cause: err });
    }
  }
  yield TAR_END;
}

function xattrsOf(path: Buffer): { xattrs?: Array<[string, Buffer]> } {
  const x = layerXattrs(path);
  return x ? { xattrs: x } : {};
}

/** The names in a directory as byte strings, in byte order. */
function childNames(path: Buffer): string[] {
  return readdirSync(path, { encoding: 'buffer' })
    .sort(Buffer.compare)
    .map((b) => b.toString('latin1'));
}

async function* fileData(path: Buffer, size: number, rel: string): AsyncGenerator<Buffer, void, undefined> {
  const fh = await fs.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    let done = 0;
    while (done < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, done);
      if (bytesRead === 0) throw new SystemError(`layer file ${JSON.stringify(Buffer.from(rel, 'latin1').toString())} shrank while being read`);
      done += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
