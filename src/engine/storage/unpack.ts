// Unpacks one image layer (a tar, plain, gzip or zstd) into an empty directory in overlayfs form,
// as Docker and containerd do when run as root, in one streaming pass that also hashes the tar
// into the layer's diff id.
//
// - The tar is read here, not by tar-stream: PAX values are bytes (a `SCHILY.xattr.security.capability`
//   value is binary and would not survive a UTF-8 decoding), names are bytes (latin1 strings
//   inside, Buffers at the syscalls, so a non-UTF-8 name lands as it was), PAX global headers
//   are ignored as Go's reader does, and no stream object is made per member.
// - Syscalls are synchronous: a layer is mostly small files, and a sync call costs a few
//   microseconds where an async one costs a thread-pool round trip. Each chunk of the
//   decompressed stream (≤ 128 KiB; gunzip works ahead on the thread pool, zstd in its process)
//   is applied at once, so the event loop is held for about a millisecond at a time.
// - What this extraction created is known in memory (dest starts empty and nobody else writes
//   there), so no path is ever lstat'ed: a member's parent is checked with one map lookup, a
//   symlink is never written through, and a hardlink only reaches a non-directory this layer made.
// - Directories get their mode and times at the end, deepest first, after all their children.
import { T_BLK, T_CHR, T_CONT, T_DIR, T_FIFO, T_LINK, T_PAX, T_REG, T_SYMLINK } from './tar-types.ts';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { EngineError, InvalidArgument, SystemError } from '../errors.ts';
import { lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../../sys/libc.ts';
import { decompress, type DecompressOptions } from './decompress.ts';

export interface UnpackResult {
  /** 'sha256:<hex>' of the uncompressed tar stream */
  diffId: string;
  /** unpacked size: sum of st_size of regular files (a hardlinked inode counted once) */
  size: number;
}

/**
 * Extracts one image layer (gzip, zstd or plain tar — detected from the magic bytes, not trusted
 * from a media type) into `dest` (an existing empty directory), converting whiteouts to overlayfs
 * form. Rejects hostile archives with InvalidArgument with a clear message naming the entry;
 * never writes outside dest. `opts.consumed` is told of input chunks it is done with.
 */
export async function unpackLayer(input: AsyncIterable<Buffer>, dest: string, opts: DecompressOptions = {}): Promise<UnpackResult> {
  const extractor = new Extractor(dest);
  const reader = new TarReader(extractor);
  const hash = createHash('sha256');
  try {
    // the whole stream is hashed, end-of-archive blocks and any padding after them included
    for await (const chunk of decompress(input, opts)) {
      hash.update(chunk);
      reader.write(chunk);
    }
    reader.end();
    extractor.finish();
  } finally {
    extractor.close();
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size: extractor.size() };
}

// ---------------------------------------------------------------------------------------------
// The tar reader: Go's archive/tar semantics (what Docker and containerd extract with), fed
// chunk by chunk.

/** One member, after PAX and GNU extension headers. Names are byte strings (latin1). */
export interface TarEntry {
  /** of its header in the tar stream */
  offset: number;
  /** the typeflag byte; every regular-file flavour ('\0', '7', 'S') is '0' */
  type: number;
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  /** the file's size (a sparse file's apparent size) */
  size: number;
  /** seconds, fractional from PAX */
  mtime: number;
  atime: number;
  devmajor: number;
  devminor: number;
  xattrs: Array<[name: string, value: Buffer]> | undefined;
  /** a sparse file: offset, length pairs of the data regions, in the order their bytes come */
  sparse: number[] | undefined;
}

export interface TarHandler {
  /** A member; true when it wants its data (then `data`… and `end` follow, even for 0 bytes). */
  entry(e: TarEntry): boolean;
  data(buf: Buffer, off: number, len: number): void;
  end(): void;
}

export { T_REG, T_LINK, T_SYMLINK, T_CHR, T_BLK, T_DIR, T_FIFO } from './tar-types.ts';
const T_PAX_GLOBAL = 0x67; // g
const T_GNU_LONGNAME = 0x4c; // L
const T_GNU_LONGLINK = 0x4b; // K
const T_GNU_SPARSE = 0x53; // S

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** Go's limit for PAX and GNU long-name data. */
const MAX_META = 1 << 20;
const MAX_SPARSE_ENTRIES = 1 << 16;

const enum St {
  Header,
  Meta,
  Data,
  Pad,
  SparseExt,
  SparseMap,
  End,
}

const padOf = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

export class TarReader {
  private st = St.Header;
  /** bytes of the tar stream consumed so far */
  private pos = 0;
  private readonly blk = Buffer.alloc(BLOCK);
  private blkLen = 0;
  private zeroSeen = false;
  private meta: Buffer = ZERO_BLOCK;
  private metaLen = 0;
  private metaType = 0;
  private metaAt = 0;
  private remaining = 0;
  private pad = 0;
  private sink = false;
  private pax: Map<string, Buffer> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** a sparse member waiting for its extension blocks or its in-data map */
  private pending: TarEntry | undefined;
  private pendingData = 0;

  constructor(private readonly h: TarHandler) {}

  write(chunk: Buffer): void {
    const len = chunk.length;
    let off = 0;
    while (off < len) {
      switch (this.st) {
        case St.Header:
        case St.SparseExt: {
          let block: Buffer;
          if (this.blkLen === 0 && len - off >= BLOCK) {
            block = chunk.subarray(off, off + BLOCK);
            off += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.blkLen, len - off);
            chunk.copy(this.blk, this.blkLen, off, off + n);
            this.blkLen += n;
            off += n;
            if (this.blkLen < BLOCK) return;
            this.blkLen = 0;
            block = this.blk;
          }
          const at = this.pos;
          this.pos += BLOCK;
          if (this.st === St.Header) this.header(block, at);
          else this.sparseExt(block, at);
          break;
        }
        case St.Meta:
        case St.SparseMap: {
          const n = Math.min(this.meta.length - this.metaLen, len - off);
          chunk.copy(this.meta, this.metaLen, off, off + n);
          this.metaLen += n;
          off += n;
          this.pos += n;
          if (this.metaLen === this.meta.length) {
            if (this.st === St.Meta) this.metaDone();
            else this.sparseMapBlock();
          }
          break;
        }
        case St.Data: {
          const n = Math.min(this.remaining, len - off);
          if (this.sink) this.h.data(chunk, off, n);
          this.remaining -= n;
          off += n;
          this.pos += n;
          if (this.remaining === 0) {
            if (this.sink) this.h.end();
            this.st = this.pad > 0 ? St.Pad : St.Header;
          }
          break;
        }
        case St.Pad: {
          const n = Math.min(this.pad, len - off);
          this.pad -= n;
          off += n;
          this.pos += n;
          if (this.pad === 0) this.st = St.Header;
          break;
        }
        case St.End:
          this.pos += len - off;
          return;
      }
    }
  }

  /** The stream ended: fine at a member boundary (with or without the end-of-archive blocks). */
  end(): void {
    // Go's reader takes an end within a member's padding as the end too
    const clean = (this.st === St.Header && this.blkLen === 0) || this.st === St.End || this.st === St.Pad;
    if (!clean) throw bad(this.pos, 'the archive ends in the middle of a member');
  }

  private header(b: Buffer, at: number): void {
    if (b.equals(ZERO_BLOCK)) {
      if (this.zeroSeen) this.st = St.End;
      this.zeroSeen = true;
      return;
    }
    if (this.zeroSeen) throw bad(at, 'a header follows an end-of-archive block');
    checkSum(b, at);
    const flag = b[156]!;
    const size = field(b, 124, 12, at, 'size');
    if (size < 0) throw bad(at, `negative size ${size}`);
    switch (flag) {
      case T_PAX:
      case T_GNU_LONGNAME:
      case T_GNU_LONGLINK:
        if (size > MAX_META) throw bad(at, `an extension header of ${size} bytes (the limit is ${MAX_META})`);
        this.metaType = flag;
        this.metaAt = at;
        this.meta = Buffer.allocUnsafe(size);
        this.metaLen = 0;
        if (size === 0) this.metaDone();
        else this.st = St.Meta;
        return;
      case T_PAX_GLOBAL: // ignored, as Go's reader and Docker do
        this.startData(size, size, false);
        return;
    }
    this.member(b, flag, size, at);
  }

  private metaDone(): void {
    const m = this.meta;
    switch (this.metaType) {
      case T_PAX:
        this.pax = parsePax(m, this.metaAt);
        break;
      case T_GNU_LONGNAME:
        this.longName = cString(m, 0, m.length);
        break;
      case T_GNU_LONGLINK:
        this.longLink = cString(m, 0, m.length);
        break;
    }
    this.meta = ZERO_BLOCK;
    this.pad = padOf(this.metaLen);
    this.st = this.pad > 0 ? St.Pad : St.Header;
  }

  private member(b: Buffer, flag: number, headerSize: number, at: number): void {
    const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72; // "ustar"
    const posix = ustar && b[262] === 0 && b[263] === 0x30 && b[264] === 0x30; // "ustar\0" "00"
    const gnu = ustar && b[262] === 0x20 && b[263] === 0x20 && b[264] === 0; // "ustar " " \0"
    let name = cString(b, 0, 100);
    if (posix) {
      const star = b[508] === 0x74 && b[509] === 0x61 && b[510] === 0x72 && b[511] === 0; // "tar\0"
      const prefix = cString(b, 345, star ? 131 : 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    let linkname = cString(b, 157, 100);
    let uid = field(b, 108, 8, at, 'uid');
    let gid = field(b, 116, 8, at, 'gid');
    let mtime = field(b, 136, 12, at, 'mtime');
    let atime: number | undefined;
    let size = headerSize;
    const mode = field(b, 100, 8, at, 'mode');
    const dev = posix || gnu;
    const devmajor = dev ? field(b, 329, 8, at, 'devmajor') : 0;
    const devminor = dev ? field(b, 337, 8, at, 'devminor') : 0;
    let xattrs: TarEntry['xattrs'];
    let sparse: number[] | undefined;
    let sparseInData = false;

    const pax = this.pax;
    this.pax = undefined;
    if (pax) {
      const text = (k: string) => pax.get(k)?.toString('latin1');
      const int = (k: string, was: number) => {
        const v = text(k);
        if (v === undefined) return was;
        if (!/^\d+$/.test(v) || Number(v) > Number.MAX_SAFE_INTEGER) throw bad(at, `PAX ${k}=${v}`);
        return Number(v);
      };
      const time = (k: string) => {
        const v = text(k);
        if (v === undefined) return undefined;
        if (!/^-?\d+(\.\d*)?$/.test(v)) throw bad(at, `PAX ${k}=${v}`);
        return Number(v);
      };
      name = text('path') ?? name;
      linkname = text('linkpath') ?? linkname;
      uid = int('uid', uid);
      gid = int('gid', gid);
      size = int('size', size);
      mtime = time('mtime') ?? mtime;
      atime = time('atime');
      for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.') && k.length > 13) (xattrs ??= []).push([k.slice(13), v]);
      // GNU sparse files in PAX form (versions 0.0, 0.1 and 1.0), for regular files only
      if (flag === T_REG || flag === 0 || flag === T_CONT) {
        const major = text('GNU.sparse.major');
        const minor = text('GNU.sparse.minor');
        let version: '0' | '1' | undefined;
        if (major === '0' && (minor === '0' || minor === '1')) version = '0';
        else if (major === '1' && minor === '0') version = '1';
        else if (major === undefined && minor === undefined && text('GNU.sparse.map')) version = '0';
        if (version) {
          sparse = version === '0' ? parseSparseList(text('GNU.sparse.map') ?? '', at) : [];
          sparseInData = version === '1';
          name = text('GNU.sparse.name') ?? name;
          // data size stays `size`; the file's own size is the sparse real size
        }
      }
      if (sparse) {
        const real = pax.has('GNU.sparse.size') ? int('GNU.sparse.size', 0) : int('GNU.sparse.realsize', size);
        this.pendingData = size;
        size = real;
      }
    }
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    this.longName = this.longLink = undefined;

    let type = flag;
    if (flag === 0) type = name.endsWith('/') ? T_DIR : T_REG;
    else if (flag === T_CONT) type = T_REG;
    if (!(uid >= 0 && uid < 0xffffffff && gid >= 0 && gid < 0xffffffff)) throw bad(at, `owner ${uid}:${gid} out of range`);
    if (!(devmajor >= 0 && devminor >= 0)) throw bad(at, 'negative device numbers');

    const e: TarEntry = { offset: at, type, name, linkname, mode, uid, gid, size, mtime, atime: atime === undefined || atime < mtime ? mtime : atime, devmajor, devminor, xattrs, sparse };
    if (flag === T_GNU_SPARSE) {
      // old GNU sparse: up to 4 regions in the header, more in extension blocks after it
      e.type = T_REG;
      e.sparse = [];
      this.pendingData = size; // the data stored: the regions one after the other
      e.size = field(b, 483, 12, at, 'realsize');
      this.pending = e;
      this.oldSparseEntries(b, 386, 4, at);
      if (b[482] !== 0) this.st = St.SparseExt; // "isextended"
      else this.deliverSparse(e, this.pendingData, this.pendingData);
      return;
    }
    if (sparse) {
      if (sparseInData) {
        if (this.pendingData < BLOCK) throw bad(at, 'a sparse file without its map');
        this.pending = e;
        this.meta = Buffer.allocUnsafe(BLOCK);
        this.metaLen = 0;
        this.st = St.SparseMap;
      } else {
        this.deliverSparse(e, this.pendingData, this.pendingData);
      }
      return;
    }
    // header-only types have no data whatever their size field says (as in Go's reader)
    const headerOnly = type === T_LINK || type === T_SYMLINK || type === T_CHR || type === T_BLK || type === T_DIR || type === T_FIFO;
    const dataLen = headerOnly ? 0 : size;
    this.startData(dataLen, dataLen, this.h.entry(e));
  }

  /** Reads up to `n` old-GNU sparse entries at `off` (an empty one ends them). */
  private oldSparseEntries(b: Buffer, off: number, n: number, at: number): void {
    const list = this.pending!.sparse!;
    for (let i = 0; i < n; i++, off += 24) {
      if (b[off] === 0) return;
      list.push(field(b, off, 12, at, 'sparse offset'), field(b, off + 12, 12, at, 'sparse length'));
      if (list.length > 2 * MAX_SPARSE_ENTRIES) throw bad(at, 'too many sparse regions');
    }
  }

  private sparseExt(b: Buffer, at: number): void {
    this.oldSparseEntries(b, 0, 21, at);
    if (b[504] !== 0) return; // another extension block follows
    this.deliverSparse(this.pending!, this.pendingData, this.pendingData);
  }

  /** A PAX 1.0 sparse map at the start of the data: decimal lines (count, then offset/length pairs), whole blocks. */
  private sparseMapBlock(): void {
    const e = this.pending!;
    const m = this.meta;
    const lines = m.toString('latin1').split('\n');
    const count = lines.length > 1 ? Number(lines[0]) : NaN;
    if (lines.length > 1 && (!/^\d+$/.test(lines[0]!) || count > MAX_SPARSE_ENTRIES)) throw bad(e.offset, 'a bad sparse map');
    if (lines.length - 1 >= 1 + 2 * count) {
      e.sparse = parseSparseList(lines.slice(1, 1 + 2 * count).join(','), e.offset);
      this.meta = ZERO_BLOCK;
      const left = this.pendingData - m.length;
      if (left < 0) throw bad(e.offset, 'a sparse map longer than its member');
      this.deliverSparse(e, left, this.pendingData);
      return;
    }
    if (m.length + BLOCK > Math.min(this.pendingData, MAX_META)) throw bad(e.offset, 'a bad sparse map');
    const more = Buffer.allocUnsafe(m.length + BLOCK);
    m.copy(more);
    this.meta = more;
  }

  private deliverSparse(e: TarEntry, dataLen: number, physical: number): void {
    this.pending = undefined;
    const s = e.sparse!;
    let end = 0;
    let total = 0;
    for (let i = 0; i < s.length; i += 2) {
      const o = s[i]!;
      const l = s[i + 1]!;
      if (o < end || o + l > e.size) throw bad(e.offset, 'sparse regions out of order or past the end of the file');
      end = o + l;
      total += l;
    }
    if (total !== dataLen) throw bad(e.offset, `sparse regions of ${total} bytes for ${dataLen} bytes of data`);
    this.startData(dataLen, physical, this.h.entry(e));
  }

  private startData(len: number, physical: number, sink: boolean): void {
    this.remaining = len;
    this.pad = padOf(physical);
    this.sink = sink;
    if (len > 0) {
      this.st = St.Data;
      return;
    }
    if (sink) this.h.end();
    this.st = this.pad > 0 ? St.Pad : St.Header;
  }
}

function bad(at: number, what: string): InvalidArgument {
  return new InvalidArgument(`invalid layer tar at byte ${at}: ${what}`);
}

function checkSum(b: Buffer, at: number): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += (c << 24) >> 24;
  }
  const stored = parseNumber(b, 148, 8);
  if (stored !== unsigned && stored !== signed) throw bad(at, 'bad header checksum (not a tar archive, or a corrupt one)');
}

/** A NUL-terminated byte string (latin1) from a field. */
function cString(b: Buffer, off: number, len: number): string {
  let end = b.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  return b.toString('latin1', off, end);
}

function field(b: Buffer, off: number, len: number, at: number, what: string): number {
  const n = parseNumber(b, off, len);
  if (Number.isNaN(n)) throw bad(at, `bad ${what} field`);
  return n;
}

/** Go's parseNumeric: base-256 when the high bit is set, else octal padded with spaces/NULs. NaN when invalid. */
function parseNumber(b: Buffer, off: number, len: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    const neg = (first & 0x40) !== 0;
    let x = 0;
    for (let i = 0; i < len; i++) {
      let c = b[off + i]!;
      if (neg) c ^= 0xff;
      if (i === 0) c &= 0x7f;
      x = x * 256 + c;
      if (x > Number.MAX_SAFE_INTEGER) return NaN;
    }
    return neg ? -x - 1 : x;
  }
  let i = off;
  let end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  while (end > i && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  let x = 0;
  for (; i < end; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 7) return NaN;
    x = x * 8 + d;
  }
  return x;
}

/** PAX records "<len> <key>=<value>\n"; keys as latin1 strings, values as bytes. */
function parsePax(buf: Buffer, at: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const sparse: string[] = []; // GNU sparse 0.0: repeated offset/numbytes records, in order
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // NUL padding after the last record
    const sp = buf.indexOf(0x20, i);
    const lenText = sp < 0 ? '' : buf.toString('latin1', i, sp);
    const n = Number(lenText);
    if (!/^\d+$/.test(lenText) || n < 5 || i + n > buf.length || buf[i + n - 1] !== 0x0a) throw bad(at, 'a malformed PAX record');
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= i + n - 1 || eq === sp + 1) throw bad(at, 'a malformed PAX record');
    const key = buf.toString('latin1', sp + 1, eq);
    const value = buf.subarray(eq + 1, i + n - 1);
    if (key.includes('\0') || ((key === 'path' || key === 'linkpath') && value.includes(0))) throw bad(at, `a NUL in the PAX record ${key}`);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') sparse.push(value.toString('latin1'));
    else out.set(key, value);
    i += n;
  }
  if (sparse.length > 0) out.set('GNU.sparse.map', Buffer.from(sparse.join(','), 'latin1'));
  return out;
}

function parseSparseList(text: string, at: number): number[] {
  if (text === '') return [];
  const parts = text.split(',');
  if (parts.length % 2 !== 0 || parts.length > 2 * MAX_SPARSE_ENTRIES) throw bad(at, 'a bad sparse map');
  return parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) > Number.MAX_SAFE_INTEGER) throw bad(at, 'a bad sparse map');
    return Number(p);
  });
}

// ---------------------------------------------------------------------------------------------
// The extractor: applies members to the directory.

const DIR = 1;
const FILE = 2;
const SYMLINK = 3;
const OTHER = 4;

interface FileRec {
  size: number;
  counted: boolean;
}

interface Node {
  kind: number;
  /** regular files: shared by hardlinks */
  rec?: FileRec;
  /** directories: the names of their children (to remove a tree without reading it back) */
  children?: Set<string>;
}

interface DirMeta {
  depth: number;
  mode: number;
  atime?: number;
  mtime?: number;
}

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const WH = '.wh.';
const WH_META = '.wh..wh.';
const WH_OPAQUE = '.wh..wh..opq';
const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

const show = (name: string) => JSON.stringify(Buffer.from(name, 'latin1').toString());

/** The name inside the layer root ('' is the root), or undefined when `..` climbs out of it. */
function clean(name: string): string | undefined {
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
  return out.join('/');
}

class Extractor implements TarHandler {
  private readonly root: string;
  private readonly nodes = new Map<string, Node>();
  private readonly dirMeta = new Map<string, DirMeta>();
  private fd = -1;
  private cur: TarEntry | undefined;
  private curPath: Buffer = Buffer.alloc(0);
  private sparseIdx = 0;
  private sparseDone = 0;
  /** The owner a new inode gets by itself, when that is known: no chown is needed for it. */
  private readonly ownUid: number;
  private readonly ownGid: number;

  constructor(dest: string) {
    const abs = resolve(dest);
    let names: string[];
    let setgid: boolean;
    try {
      names = readdirSync(abs);
      setgid = (statSync(abs).mode & 0o2000) !== 0;
    } catch (err) {
      throw new SystemError(`unpacking a layer into ${abs}: ${(err as Error).message}`, { cause: err });
    }
    if (names.length > 0) throw new SystemError(`unpacking a layer into ${abs}: the directory is not empty`);
    // new inodes belong to our fsuid:fsgid (= euid:egid), unless dest is setgid (then to its
    // group); the directories made here stay without setgid until the end (modes come last)
    this.ownUid = process.geteuid?.() ?? -1;
    this.ownGid = setgid ? -1 : (process.getegid?.() ?? -1);
    this.root = Buffer.from(abs).toString('latin1');
    this.nodes.set('', { kind: DIR, children: new Set() });
  }

  private p(rel: string): Buffer {
    return Buffer.from(rel === '' ? this.root : `${this.root}/${rel}`, 'latin1');
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
      const s = this.cur!.sparse;
      if (!s) {
        while (len > 0) {
          const n = writeSync(this.fd, buf, off, len);
          off += n;
          len -= n;
        }
        return;
      }
      // sparse: the bytes fill the regions in turn; the holes stay holes
      while (len > 0) {
        while (this.sparseDone === s[this.sparseIdx + 1]) {
          this.sparseIdx += 2;
          this.sparseDone = 0;
        }
        const n = Math.min(len, s[this.sparseIdx + 1]! - this.sparseDone);
        const w = writeSync(this.fd, buf, off, n, s[this.sparseIdx]! + this.sparseDone);
        this.sparseDone += w;
        off += w;
        len -= w;
      }
    } catch (err) {
      throw this.wrap(err, this.cur!);
    }
  }

  end(): void {
    const e = this.cur!;
    try {
      const fd = this.fd;
      if (e.sparse) ftruncateSync(fd, e.size);
      // Docker's order: owner, xattrs, then the mode (a chown clears setuid), then the times
      if (e.uid !== this.ownUid || e.gid !== this.ownGid) fchownSync(fd, e.uid, e.gid);
      if (e.xattrs) this.xattrs(this.curPath, e);
      fchmodSync(fd, e.mode & 0o7777);
      futimesSync(fd, e.atime, e.mtime);
      this.fd = -1;
      closeSync(fd);
    } catch (err) {
      throw this.wrap(err, e);
    }
    this.cur = undefined;
  }

  /** After the last member: directory modes and times, deepest first. */
  finish(): void {
    const dirs = [...this.dirMeta].sort((a, b) => b[1].depth - a[1].depth);
    for (const [rel, m] of dirs) {
      const path = this.p(rel);
      try {
        chmodSync(path, m.mode);
        if (m.mtime !== undefined) lutimesSync(path, m.atime ?? m.mtime, m.mtime);
      } catch (err) {
        throw new SystemError(`unpacking layer directory ${show(rel || '.')}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Closes a file left open by a failure. */
  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // already failing
      }
      this.fd = -1;
    }
  }

  size(): number {
    let total = 0;
    for (const n of this.nodes.values()) {
      if (n.rec && !n.rec.counted) {
        n.rec.counted = true;
        total += n.rec.size;
      }
    }
    return total;
  }

  private wrap(err: unknown, e: TarEntry): Error {
    if (err instanceof EngineError) return err;
    return new SystemError(`unpacking layer entry ${show(e.name)}: ${(err as Error).message}`, { cause: err });
  }

  private apply(e: TarEntry): boolean {
    if (e.name.includes('\0')) throw new InvalidArgument(`layer entry ${show(e.name)}: a NUL in the name`);
    const rel = clean(e.name);
    if (rel === undefined) throw new InvalidArgument(`layer entry ${show(e.name)} is outside the layer root (its path climbs out with ..)`);
    if (rel.includes(WH) && this.whiteout(rel, e)) return false;
    if (rel === '') {
      if (e.type !== T_DIR) throw new InvalidArgument(`layer entry ${show(e.name)} would replace the layer's root directory`);
      this.dir(rel, e);
      return false;
    }
    switch (e.type) {
      case T_REG:
        return this.file(rel, e);
      case T_DIR:
        this.dir(rel, e);
        return false;
      case T_SYMLINK:
        this.symlink(rel, e);
        return false;
      case T_LINK:
        this.hardlink(rel, e);
        return false;
      case T_CHR:
        this.node(rel, e, S_IFCHR);
        return false;
      case T_BLK:
        this.node(rel, e, S_IFBLK);
        return false;
      case T_FIFO:
        this.node(rel, e, S_IFIFO);
        return false;
      default:
        return false; // a type this layer format has no use for: skipped
    }
  }

  /** Whiteouts to overlay form, aufs metadata ignored. True when the member was handled so. */
  private whiteout(rel: string, e: TarEntry): boolean {
    const parts = rel.split('/');
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) {
      if (parts[i]!.startsWith(WH_META)) return true; // below aufs metadata (.wh..wh.plnk/…): ignored
      if (parts[i]!.startsWith(WH)) throw new InvalidArgument(`layer entry ${show(e.name)}: a whiteout (${show(parts[i]!)}) cannot have entries below it`);
    }
    const base = parts[last]!;
    if (!base.startsWith(WH)) return false;
    const dirRel = parts.slice(0, last).join('/');
    if (base === WH_OPAQUE) {
      // the directory hides what lower layers have in it; created if this layer did not make it
      this.parentDir(rel, e);
      lsetxattr(this.p(dirRel), OPAQUE_XATTR, 'y');
      return true;
    }
    if (base.startsWith(WH_META)) return true; // other aufs metadata: ignored
    const name = base.slice(WH.length);
    if (name === '' || name === '.' || name === '..') throw new InvalidArgument(`layer entry ${show(e.name)}: a whiteout of nothing`);
    const target = dirRel ? `${dirRel}/${name}` : name;
    const parent = this.parentDir(target, e);
    this.clear(target, parent, name, false);
    const path = this.p(target);
    mknod(path, S_IFCHR, 0, 0); // overlayfs: a 0:0 character device hides the lower entry
    this.add(target, parent, name, { kind: OTHER });
    this.chown(path, e, true);
    return true;
  }

  /** The directory a member goes in: made (0755) where the layer did not list it; never through a symlink. */
  private parentDir(rel: string, e: TarEntry): Node {
    const slash = rel.lastIndexOf('/');
    const parentRel = slash < 0 ? '' : rel.slice(0, slash);
    const known = this.nodes.get(parentRel);
    if (known?.kind === DIR) return known; // every ancestor of a known node is a directory
    let cur = '';
    let node = this.nodes.get('')!;
    for (const c of parentRel.split('/')) {
      const next = cur ? `${cur}/${c}` : c;
      let n = this.nodes.get(next);
      if (!n) {
        mkdirSync(this.p(next), 0o700);
        n = { kind: DIR, children: new Set() };
        this.add(next, node, c, n);
        this.dirMeta.set(next, { depth: depth(next), mode: 0o755 });
      } else if (n.kind === SYMLINK) {
        throw new InvalidArgument(`layer entry ${show(e.name)}: its parent ${show(next)} is a symlink (a layer may not write through a symlink)`);
      } else if (n.kind !== DIR) {
        throw new InvalidArgument(`layer entry ${show(e.name)}: its parent ${show(next)} is not a directory`);
      }
      cur = next;
      node = n;
    }
    return node;
  }

  /** Makes way for a member: whatever is at `rel` goes, except a directory when a directory comes. */
  private clear(rel: string, parent: Node, base: string, keepDir: boolean): Node | undefined {
    const existing = this.nodes.get(rel);
    if (!existing) return undefined;
    if (keepDir && existing.kind === DIR) return existing;
    this.remove(rel, existing);
    parent.children!.delete(base);
    return undefined;
  }

  private remove(rel: string, n: Node): void {
    if (n.kind === DIR) {
      for (const c of n.children!) this.remove(`${rel}/${c}`, this.nodes.get(`${rel}/${c}`)!);
      rmdirSync(this.p(rel));
      this.dirMeta.delete(rel);
    } else {
      unlinkSync(this.p(rel));
    }
    this.nodes.delete(rel);
  }

  private add(rel: string, parent: Node, base: string, n: Node): void {
    this.nodes.set(rel, n);
    parent.children!.add(base);
  }

  private file(rel: string, e: TarEntry): boolean {
    const parent = this.parentDir(rel, e);
    const base = baseName(rel);
    this.clear(rel, parent, base, false);
    const path = this.p(rel);
    this.fd = openSync(path, CREATE, 0o600);
    this.add(rel, parent, base, { kind: FILE, rec: { size: e.size, counted: false } });
    this.cur = e;
    this.curPath = path;
    this.sparseIdx = 0;
    this.sparseDone = 0;
    return true;
  }

  private dir(rel: string, e: TarEntry): void {
    const path = this.p(rel);
    let fresh = false;
    if (rel !== '') {
      const parent = this.parentDir(rel, e);
      const base = baseName(rel);
      if (!this.clear(rel, parent, base, true)) {
        mkdirSync(path, 0o700); // its mode comes at the end, with its times
        this.add(rel, parent, base, { kind: DIR, children: new Set() });
        fresh = true;
      }
    }
    this.chown(path, e, fresh);
    if (e.xattrs) this.xattrs(path, e);
    this.dirMeta.set(rel, { depth: depth(rel), mode: e.mode & 0o7777, atime: e.atime, mtime: e.mtime });
  }

  private symlink(rel: string, e: TarEntry): void {
    if (e.linkname === '') throw new InvalidArgument(`layer symlink ${show(e.name)} has an empty target`);
    if (e.linkname.includes('\0')) throw new InvalidArgument(`layer symlink ${show(e.name)}: a NUL in its target`);
    const parent = this.parentDir(rel, e);
    const base = baseName(rel);
    this.clear(rel, parent, base, false);
    const path = this.p(rel);
    symlinkSync(Buffer.from(e.linkname, 'latin1'), path); // the target is only data: never resolved here
    this.add(rel, parent, base, { kind: SYMLINK });
    this.chown(path, e, true);
    if (e.xattrs) this.xattrs(path, e);
    lutimesSync(path, e.atime, e.mtime);
  }

  private hardlink(rel: string, e: TarEntry): void {
    const target = e.linkname.includes('\0') ? undefined : clean(e.linkname);
    const what = `layer hardlink ${show(e.name)} -> ${show(e.linkname)}`;
    if (target === undefined) throw new InvalidArgument(`${what}: the target is outside the layer root`);
    let t = this.nodes.get(target);
    if (!t) throw new InvalidArgument(`${what}: the target is not an earlier entry of this layer`);
    if (t.kind === DIR) throw new InvalidArgument(`${what}: the target is a directory`);
    const path = this.p(rel);
    if (target !== rel) {
      const parent = this.parentDir(rel, e);
      const base = baseName(rel);
      this.clear(rel, parent, base, false);
      t = this.nodes.get(target);
      if (!t) throw new InvalidArgument(`${what}: replacing the entry removed the target`);
      linkSync(this.p(target), path); // link(2) does not follow a symlink target: it links the symlink
      this.add(rel, parent, base, { kind: t.kind, ...(t.rec ? { rec: t.rec } : {}) });
    }
    // as Docker: the link's header applies to the inode it shares
    lchownSync(path, e.uid, e.gid);
    if (e.xattrs) this.xattrs(path, e);
    if (t.kind !== SYMLINK) {
      chmodSync(path, e.mode & 0o7777);
      lutimesSync(path, e.atime, e.mtime);
    }
  }

  /** Character and block devices, FIFOs. */
  private node(rel: string, e: TarEntry, type: number): void {
    const parent = this.parentDir(rel, e);
    const base = baseName(rel);
    this.clear(rel, parent, base, false);
    const path = this.p(rel);
    try {
      mknod(path, type | (e.mode & 0o777), e.devmajor, e.devminor);
    } catch (err) {
      // without CAP_MKNOD (a user namespace) devices are skipped, as Docker does there
      if (type !== S_IFIFO && (err as NodeJS.ErrnoException).code === 'EPERM') return;
      throw err;
    }
    this.add(rel, parent, base, { kind: OTHER });
    this.chown(path, e, true);
    if (e.xattrs) this.xattrs(path, e);
    chmodSync(path, e.mode & 0o7777);
    lutimesSync(path, e.atime, e.mtime);
  }

  /** lchown, unless the inode is new and already has that owner. */
  private chown(path: Buffer, e: TarEntry, fresh: boolean): void {
    if (!fresh || e.uid !== this.ownUid || e.gid !== this.ownGid) lchownSync(path, e.uid, e.gid);
  }

  private xattrs(path: Buffer, e: TarEntry): void {
    for (const [name, value] of e.xattrs!) {
      try {
        lsetxattr(path, Buffer.from(name, 'latin1'), value);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // a filesystem without that namespace, or user.* on a symlink: as Docker, go on without it
        if (!name.startsWith('trusted.') && (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM')) continue;
        throw new SystemError(`unpacking layer entry ${show(e.name)}: setting its extended attribute ${show(name)}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}

function baseName(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

function depth(rel: string): number {
  if (rel === '') return 0;
  let d = 1;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) d++;
  return d;
}
