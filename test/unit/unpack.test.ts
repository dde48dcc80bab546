// The layer unpacker against crafted tars (tar-stream's pack, raw headers where pack cannot say
// it, GNU tar for sparse files): hostile paths, whiteouts, replacements, metadata, encodings.
// Runs as root (owners, devices, trusted.* xattrs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { InvalidArgument, SystemError } from '../../src/engine/errors.ts';
import { compressGzip, decompress, detectCompression } from '../../src/engine/storage/decompress.ts';
import { unpackLayer } from '../../src/engine/storage/unpack.ts';
import { lgetxattr, llistxattr } from '../../src/sys/libc.ts';
import { tempDir, waitFor } from '../helpers/berth.ts';

const T0 = new Date(1_700_000_000_000);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Entry = tar.Headers & { content?: string | Buffer; pax?: Record<string, string> };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  for (const { content, ...h } of entries) {
    const header = { mtime: T0, uid: 0, gid: 0, ...h } as tar.Headers;
    if (h.type === 'directory') header.mode ??= 0o755;
    await new Promise<void>((resolve, reject) => pack.entry(header, content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

/** Feeds `data` in chunks of `chunk` bytes (odd sizes cross every block boundary). */
async function* chunks(data: Buffer, chunk = 4096): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A layer dir and, next to it, a sentinel dir that must stay empty. */
function place(): { dest: string; outside: string; base: string } {
  const base = tempDir('berth-unpack-');
  dirs.push(base);
  const dest = join(base, 'layer');
  const outside = join(base, 'outside');
  mkdirSync(dest);
  mkdirSync(outside);
  return { dest, outside, base };
}

async function unpack(data: Buffer, chunk?: number) {
  const p = place();
  const r = await unpackLayer(chunks(data, chunk), p.dest);
  return { ...p, ...r };
}

async function rejects(entries: Entry[] | Buffer, pattern: RegExp): Promise<{ dest: string; outside: string }> {
  const p = place();
  const data = Buffer.isBuffer(entries) ? entries : await tarOf(entries);
  await assert.rejects(unpackLayer(chunks(data), p.dest), (err: Error) => {
    assert.ok(err instanceof InvalidArgument, `expected InvalidArgument, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual(readdirSync(p.outside), [], 'nothing written outside the layer dir');
  assert.deepEqual(readdirSync(p.base).sort(), ['layer', 'outside']);
  return p;
}

/** Every path below `dir` with what matters about it, for comparing two extractions. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    let what = `${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`;
    if (st.isFile()) what += ` ${st.size} ${sha(readFileSync(abs))} nlink=${st.nlink}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(abs)}`;
    if (st.isCharacterDevice() || st.isBlockDevice()) what += ` dev=${st.rdev}`;
    what += ` ${llistxattr(abs).sort().map((n) => `${n}=${lgetxattr(abs, n)!.toString('hex')}`).join(',')}`;
    out.push(what);
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

// ---- raw tar blocks, for what tar-stream's pack cannot write ----

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function rawHeader(h: { name: string | Buffer; type: string; size?: number; mode?: number; linkname?: string; uid?: number; gid?: number; mtime?: number; magic?: 'ustar' | 'gnu'; extra?: (b: Buffer) => void }): Buffer {
  const b = Buffer.alloc(512);
  (Buffer.isBuffer(h.name) ? h.name : Buffer.from(h.name)).copy(b, 0, 0, 100);
  b.write(octal(h.mode ?? 0o644, 8), 100, 'latin1');
  b.write(octal(h.uid ?? 0, 8), 108, 'latin1');
  b.write(octal(h.gid ?? 0, 8), 116, 'latin1');
  b.write(octal(h.size ?? 0, 12), 124, 'latin1');
  b.write(octal(h.mtime ?? 1_700_000_000, 12), 136, 'latin1');
  b.write(h.type, 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 'latin1');
  if (h.magic === 'gnu') b.write('ustar  \0', 257, 'latin1');
  else b.write('ustar\x0000', 257, 'latin1');
  h.extra?.(b);
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(octal(sum, 7) + ' ', 148, 'latin1');
  return b;
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
const member = (h: Parameters<typeof rawHeader>[0], data: Buffer = Buffer.alloc(0)) => Buffer.concat([rawHeader({ ...h, size: h.size ?? data.length }), padded(data)]);
const END = Buffer.alloc(1024);

function paxRecords(records: Array<[string, Buffer | string]>): Buffer {
  return Buffer.concat(
    records.map(([k, v]) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`, 'latin1'), Buffer.isBuffer(v) ? v : Buffer.from(v), Buffer.from('\n')]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      return Buffer.concat([Buffer.from(String(len)), body]);
    }),
  );
}

describe('unpackLayer: paths', () => {
  it('keeps absolute and dotted names inside the layer', async () => {
    const { dest, outside, diffId } = await unpack(
      await tarOf([
        { name: '/etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
        { name: './a/b', content: 'b' },
        { name: 'c//d/./e', content: 'e' },
        { name: 'f/../g', content: 'g' }, // cleaned lexically, as Go's filepath.Clean: no "f" is made
      ]),
      7,
    );
    assert.equal(readFileSync(join(dest, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(readFileSync(join(dest, 'a/b'), 'utf8'), 'b');
    assert.equal(readFileSync(join(dest, 'c/d/e'), 'utf8'), 'e');
    assert.equal(readFileSync(join(dest, 'g'), 'utf8'), 'g');
    assert.ok(!existsSync(join(dest, 'f')));
    // parents the layer did not list are made 0755
    assert.equal(statSync(join(dest, 'etc')).mode & 0o7777, 0o755);
    assert.deepEqual(readdirSync(outside), []);
    assert.match(diffId, /^sha256:[0-9a-f]{64}$/);
  });

  it('rejects a path that climbs out with ..', async () => {
    await rejects([{ name: '../../x', content: 'x' }], /"\.\.\/\.\.\/x" is outside the layer root/);
    await rejects([{ name: 'a/../../outside/x', content: 'x' }], /outside the layer root/);
    await rejects([{ name: '/../outside/x', content: 'x' }], /outside the layer root/);
  });

  it('never writes through a symlink made by the layer', async () => {
    await rejects(
      [
        { name: 'evil', type: 'symlink', linkname: '/' },
        { name: 'evil/pwned', content: 'x' },
      ],
      /"evil\/pwned": its parent "evil" is a symlink/,
    );
    await rejects(
      [
        { name: 'evil', type: 'symlink', linkname: '../outside' },
        { name: 'evil/pwned', content: 'x' },
      ],
      /its parent "evil" is a symlink/,
    );
    await rejects(
      [
        { name: 'evil', type: 'symlink', linkname: '../..' },
        { name: 'evil/deeper/pwned', type: 'directory' },
      ],
      /its parent "evil" is a symlink/,
    );
    // a directory the layer made, later replaced by a symlink: the replacement is seen
    await rejects(
      [
        { name: 'd', type: 'directory' },
        { name: 'd/a', content: 'a' },
        { name: 'd', type: 'symlink', linkname: '../outside' },
        { name: 'd/b', content: 'b' },
      ],
      /"d\/b": its parent "d" is a symlink/,
    );
  });

  it('rejects a parent that is a file', async () => {
    await rejects(
      [
        { name: 'f', content: 'f' },
        { name: 'f/x', content: 'x' },
      ],
      /"f\/x": its parent "f" is not a directory/,
    );
  });

  it('replaces a symlink by the entry of its name instead of following it', async () => {
    const { dest, outside } = await unpack(
      await tarOf([
        { name: 'l', type: 'symlink', linkname: '../outside/file' },
        { name: 'l', content: 'mine' },
        { name: 'm', type: 'symlink', linkname: '../outside' },
        { name: 'm', type: 'directory' },
        { name: 'm/inside', content: 'x' },
      ]),
    );
    assert.ok(lstatSync(join(dest, 'l')).isFile());
    assert.equal(readFileSync(join(dest, 'l'), 'utf8'), 'mine');
    assert.ok(lstatSync(join(dest, 'm')).isDirectory());
    assert.deepEqual(readdirSync(outside), []);
  });

  it('keeps a non-UTF-8 name byte for byte', async () => {
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1
    const { dest } = await unpack(Buffer.concat([member({ name, type: '0' }, Buffer.from('x')), END]));
    assert.deepEqual(readdirSync(dest, { encoding: 'buffer' }), [name]);
  });

  it('applies a root entry (".", "./", "/") to the layer dir itself, and refuses to replace it', async () => {
    const { dest } = await unpack(await tarOf([{ name: './', type: 'directory', mode: 0o751, uid: 7, gid: 8, mtime: new Date(1_111_111_111_000) }, { name: 'x', content: '' }]));
    const st = statSync(dest);
    assert.equal(st.mode & 0o7777, 0o751);
    assert.equal(`${st.uid}:${st.gid}`, '7:8');
    assert.equal(st.mtimeMs, 1_111_111_111_000);
    await rejects([{ name: '.', type: 'symlink', linkname: '/' }], /would replace the layer's root directory/);
  });
});

describe('unpackLayer: hardlinks', () => {
  it('links to an earlier file of the layer, the inode counted once in the size', async () => {
    const { dest, size } = await unpack(
      await tarOf([
        { name: 'a', content: 'x'.repeat(100) },
        { name: 'd/b', type: 'link', linkname: 'a' },
        { name: 'c', type: 'link', linkname: './d/../a' },
        { name: 'e', content: 'y'.repeat(10) },
      ]),
    );
    const a = lstatSync(join(dest, 'a'));
    assert.equal(a.nlink, 3);
    assert.equal(lstatSync(join(dest, 'd/b')).ino, a.ino);
    assert.equal(lstatSync(join(dest, 'c')).ino, a.ino);
    assert.equal(size, 110);
  });

  it('links a symlink itself, not what it points to', async () => {
    const { dest } = await unpack(
      await tarOf([
        { name: 's', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'h', type: 'link', linkname: 's' },
      ]),
    );
    const h = lstatSync(join(dest, 'h'));
    assert.ok(h.isSymbolicLink());
    assert.equal(h.ino, lstatSync(join(dest, 's')).ino);
    assert.equal(readlinkSync(join(dest, 'h')), '/etc/passwd');
  });

  it('rejects targets outside the layer, missing, directories, or reached through a symlink', async () => {
    await rejects([{ name: 'h', type: 'link', linkname: '../outside' }], /hardlink "h" -> "\.\.\/outside": the target is outside the layer root/);
    await rejects([{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /the target is not an earlier entry of this layer/);
    await rejects(
      [
        { name: 'd', type: 'directory' },
        { name: 'h', type: 'link', linkname: 'd' },
      ],
      /the target is a directory/,
    );
    await rejects(
      [
        { name: 'real', type: 'directory' },
        { name: 'real/f', content: 'f' },
        { name: 's', type: 'symlink', linkname: 'real' },
        { name: 'h', type: 'link', linkname: 's/f' },
      ],
      /hardlink "h" -> "s\/f": the target is not an earlier entry of this layer/,
    );
    await rejects(
      [
        { name: 's', type: 'symlink', linkname: '../outside' },
        { name: 'h', type: 'link', linkname: 's/x' },
      ],
      /not an earlier entry/,
    );
  });
});

describe('unpackLayer: whiteouts', () => {
  it('turns .wh.<name> into a 0:0 character device and .wh..wh..opq into the opaque xattr', async () => {
    const { dest } = await unpack(
      await tarOf([
        { name: 'd', type: 'directory' },
        { name: 'd/.wh.gone', content: '' },
        { name: '.wh.top', content: '' },
        { name: 'x', content: 'replaced by a whiteout in the same layer' },
        { name: '.wh.x', content: '' },
        { name: 'o/.wh..wh..opq', content: '' },
        { name: 'o/keep', content: 'k' },
        { name: 'n/e/.wh..wh..opq', content: '' },
        { name: '.wh..wh.plnk', type: 'directory' },
        { name: '.wh..wh.plnk/123.456', content: 'aufs' },
        { name: 'd/.wh..wh.aufs', content: '' },
      ]),
    );
    for (const p of ['d/gone', 'top', 'x']) {
      const st = lstatSync(join(dest, p));
      assert.ok(st.isCharacterDevice(), p);
      assert.equal(st.rdev, 0, p);
      assert.equal(st.mode & 0o7777, 0, p);
    }
    assert.equal(lgetxattr(join(dest, 'o'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(lgetxattr(join(dest, 'n/e'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(lgetxattr(join(dest, 'n'), 'trusted.overlay.opaque'), undefined);
    assert.equal(lgetxattr(join(dest, 'd'), 'trusted.overlay.opaque'), undefined);
    assert.equal(readFileSync(join(dest, 'o/keep'), 'utf8'), 'k');
    assert.ok(!tree(dest).some((l) => l.includes('.wh.')), 'no .wh.* name left');
  });

  it('removes a whole directory the whiteout replaces, and rejects entries below a whiteout', async () => {
    const { dest, size } = await unpack(
      await tarOf([
        { name: 'd/sub/f', content: '12345' },
        { name: '.wh.d', content: '' },
      ]),
    );
    assert.ok(lstatSync(join(dest, 'd')).isCharacterDevice());
    assert.equal(size, 0);
    await rejects([{ name: 'a/.wh.b/c', content: '' }], /a whiteout \("\.wh\.b"\) cannot have entries below it/);
  });
});

describe('unpackLayer: replacements', () => {
  it('replaces a file by a directory and a directory (with children) by a file', async () => {
    const { dest, size } = await unpack(
      await tarOf([
        { name: 'f2d', content: 'file' },
        { name: 'f2d', type: 'directory' },
        { name: 'f2d/inside', content: 'in' },
        { name: 'd2f', type: 'directory' },
        { name: 'd2f/sub/deep', content: 'deep' },
        { name: 'd2f', content: 'now a file' },
        { name: 'same', content: 'v1' },
        { name: 'same', content: 'version 2' },
      ]),
    );
    assert.equal(readFileSync(join(dest, 'f2d/inside'), 'utf8'), 'in');
    assert.equal(readFileSync(join(dest, 'd2f'), 'utf8'), 'now a file');
    assert.equal(readFileSync(join(dest, 'same'), 'utf8'), 'version 2');
    assert.equal(size, 2 + 10 + 9, 'replaced files no longer count');
  });

  it('merges a directory listed twice, taking the later metadata', async () => {
    const { dest } = await unpack(
      await tarOf([
        { name: 'd', type: 'directory', mode: 0o700 },
        { name: 'd/a', content: 'a' },
        { name: 'd', type: 'directory', mode: 0o750, uid: 5, gid: 6 },
      ]),
    );
    const st = statSync(join(dest, 'd'));
    assert.equal(st.mode & 0o7777, 0o750);
    assert.equal(`${st.uid}:${st.gid}`, '5:6');
    assert.equal(readFileSync(join(dest, 'd/a'), 'utf8'), 'a');
  });
});

describe('unpackLayer: metadata', () => {
  it('sets modes exactly (setuid, setgid, sticky, 0000), owners and times', async () => {
    const packed = await tarOf([
        { name: 'suid', content: '#!', mode: 0o4755, uid: 1000, gid: 1000 },
        { name: 'sgid', content: '#!', mode: 0o2755, uid: 0, gid: 50 },
        { name: 'tmp', type: 'directory', mode: 0o1777 },
        { name: 'all', content: 'x', mode: 0o777 },
        { name: 'alld', type: 'directory', mode: 0o777 },
        { name: 'nobody', type: 'directory', mode: 0o750, uid: 65534, gid: 65534 },
        { name: 'link', type: 'symlink', linkname: 'none', uid: 123, gid: 456, mtime: new Date(1_000_000_000_000) },
        { name: 'old', content: 'o', mtime: new Date(1_000_000_000_000) },
    ]);
    // tar-stream's pack writes mode 0 as 0644: that one is a raw header
    const { dest } = await unpack(Buffer.concat([packed.subarray(0, packed.length - 1024), member({ name: 'none', type: '0', mode: 0 }, Buffer.from('x')), END]));
    const mode = (p: string) => lstatSync(join(dest, p)).mode & 0o7777;
    assert.equal(mode('suid'), 0o4755);
    assert.equal(mode('sgid'), 0o2755);
    assert.equal(mode('tmp'), 0o1777);
    assert.equal(mode('none'), 0);
    assert.equal(mode('all'), 0o777);
    assert.equal(mode('alld'), 0o777);
    const owner = (p: string) => `${lstatSync(join(dest, p)).uid}:${lstatSync(join(dest, p)).gid}`;
    assert.equal(owner('suid'), '1000:1000');
    assert.equal(owner('sgid'), '0:50');
    assert.equal(owner('nobody'), '65534:65534');
    assert.equal(owner('link'), '123:456');
    assert.equal(lstatSync(join(dest, 'link')).mtimeMs, 1_000_000_000_000);
    assert.equal(lstatSync(join(dest, 'old')).mtimeMs, 1_000_000_000_000);
    assert.equal(lstatSync(join(dest, 'suid')).mtimeMs, T0.getTime());
  });

  it('sets directory times after their children are written, deepest first', async () => {
    const { dest } = await unpack(
      await tarOf([
        { name: 'm', type: 'directory', mtime: new Date(1_234_567_890_000) },
        { name: 'm/n', type: 'directory', mtime: new Date(1_111_111_111_000) },
        { name: 'm/n/child', content: 'c', mtime: new Date(1_000_000_000_000) },
        { name: 'm/later', content: 'l' },
        { name: 'm/n/.wh.gone', content: '' },
      ]),
    );
    assert.equal(statSync(join(dest, 'm')).mtimeMs, 1_234_567_890_000);
    assert.equal(statSync(join(dest, 'm/n')).mtimeMs, 1_111_111_111_000);
    assert.equal(statSync(join(dest, 'm/n/child')).mtimeMs, 1_000_000_000_000);
  });

  it('makes devices and FIFOs', async () => {
    const { dest } = await unpack(
      await tarOf([
        { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
        { name: 'fifo', type: 'fifo', mode: 0o644 },
      ]),
    );
    const n = lstatSync(join(dest, 'dev/null'));
    assert.ok(n.isCharacterDevice());
    assert.equal(n.rdev, (1 << 8) | 3);
    assert.equal(n.mode & 0o7777, 0o666);
    const l = lstatSync(join(dest, 'dev/loop0'));
    assert.ok(l.isBlockDevice());
    assert.equal(l.rdev, 7 << 8);
    assert.equal(l.gid, 6);
    assert.ok(lstatSync(join(dest, 'fifo')).isFIFO());
    assert.equal(lstatSync(join(dest, 'fifo')).mode & 0o7777, 0o644);
  });

  it('reads PAX long names and link targets, PAX xattrs with binary values, and mtimes with fractions', async () => {
    const long = `${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(150)}.txt`;
    const target = `/${'t'.repeat(200)}`;
    const fromPack = await tarOf([
      { name: long, content: 'long' },
      { name: 'ln', type: 'symlink', linkname: target },
    ]);
    const { dest: d1 } = await unpack(fromPack.subarray(0, fromPack.length - 1024)); // no end marker: fine at a boundary
    assert.equal(readFileSync(join(d1, long), 'utf8'), 'long');
    assert.equal(readlinkSync(join(d1, 'ln')), target);

    const binary = Buffer.from([0x01, 0x00, 0x80, 0xff, 0xfe, 0x0a, 0x3d]);
    const pax = paxRecords([
      ['path', 'x/with-xattrs'],
      ['mtime', '1700000000.25'],
      ['SCHILY.xattr.user.text', 'hello'],
      ['SCHILY.xattr.trusted.bin', binary],
      ['SCHILY.xattr.user.empty', ''],
    ]);
    const dirPax = paxRecords([['SCHILY.xattr.trusted.dir', 'on a dir']]);
    const data = Buffer.concat([
      member({ name: 'PaxHeader', type: 'x' }, pax),
      member({ name: 'ignored-name', type: '0' }, Buffer.from('data')),
      member({ name: 'PaxHeader', type: 'x' }, dirPax),
      member({ name: 'x/', type: '5', mode: 0o755 }),
      END,
    ]);
    const { dest } = await unpack(data, 100);
    const f = join(dest, 'x/with-xattrs');
    assert.equal(readFileSync(f, 'utf8'), 'data');
    assert.equal(lgetxattr(f, 'user.text')?.toString(), 'hello');
    assert.deepEqual(lgetxattr(f, 'trusted.bin'), binary);
    assert.deepEqual(lgetxattr(f, 'user.empty'), Buffer.alloc(0));
    assert.equal(lstatSync(f).mtimeMs, 1_700_000_000_250);
    assert.equal(lgetxattr(join(dest, 'x'), 'trusted.dir')?.toString(), 'on a dir');
    assert.ok(!existsSync(join(dest, 'ignored-name')));
  });

  it('reads GNU long names and link targets, and ignores PAX global headers', async () => {
    const long = `gnu/${'n'.repeat(200)}/${'m'.repeat(200)}`;
    const link = `${'l'.repeat(250)}`;
    const data = Buffer.concat([
      member({ name: 'pax_global_header', type: 'g' }, paxRecords([['path', 'not-this']])),
      member({ name: '././@LongLink', type: 'L', magic: 'gnu' }, Buffer.from(`${long}\0`)),
      member({ name: long.slice(0, 99), type: '0', magic: 'gnu' }, Buffer.from('gnu long')),
      member({ name: '././@LongLink', type: 'K', magic: 'gnu' }, Buffer.from(`${link}\0`)),
      member({ name: 'gnu/sym', type: '2', linkname: link.slice(0, 99), magic: 'gnu' }),
      member({ name: 'after-global', type: '0' }, Buffer.from('g')),
      END,
    ]);
    const { dest } = await unpack(data, 333);
    assert.equal(readFileSync(join(dest, long), 'utf8'), 'gnu long');
    assert.equal(readlinkSync(join(dest, 'gnu/sym')), link);
    assert.equal(readFileSync(join(dest, 'after-global'), 'utf8'), 'g');
    assert.ok(!existsSync(join(dest, 'not-this')));
  });

  it('skips members of unknown types, and ignores a size on header-only types (as Go does)', async () => {
    const data = Buffer.concat([
      member({ name: 'dumpdir', type: 'D' }, Buffer.from('listing\0')),
      rawHeader({ name: 'dir-with-size/', type: '5', size: 1000 }),
      member({ name: 'dir-with-size/after', type: '0' }, Buffer.from('a')),
      END,
    ]);
    const { dest } = await unpack(data);
    assert.deepEqual(readdirSync(dest), ['dir-with-size']);
    assert.equal(readFileSync(join(dest, 'dir-with-size/after'), 'utf8'), 'a');
  });
});

describe('unpackLayer: streams and encodings', () => {
  const entries: Entry[] = [
    { name: './', type: 'directory', mode: 0o755 },
    { name: 'bin', type: 'directory', mode: 0o755 },
    { name: 'etc', type: 'directory', mode: 0o755 },
    { name: 'etc/hostname', content: 'box\n' },
    { name: 'bin/busybox', content: Buffer.alloc(300_000, 7), mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
    { name: 'bin/ls', type: 'link', linkname: 'bin/busybox' },
    { name: 'tmp', type: 'directory', mode: 0o1777 },
  ];

  it('hashes the whole tar into the diff id, end blocks and trailing padding included', async () => {
    const data = await tarOf(entries);
    const r = await unpack(data);
    assert.equal(r.diffId, sha(data));
    assert.equal(r.size, 300_004);
    const padded = Buffer.concat([data, Buffer.alloc(8192)]);
    assert.equal((await unpack(padded)).diffId, sha(padded));
  });

  it('gives the same diff id and tree from plain, gzip and zstd input', async () => {
    const data = await tarOf(entries);
    const base = tempDir('berth-unpack-');
    dirs.push(base);
    writeFileSync(join(base, 'l.tar'), data);
    execFileSync('zstd', ['-q', '-19', join(base, 'l.tar'), '-o', join(base, 'l.tar.zst')]);
    const zstd = readFileSync(join(base, 'l.tar.zst'));
    assert.equal(detectCompression(zstd), 'zstd');
    const plain = await unpack(data);
    const gz = await unpack(gzipSync(data), 1000);
    const zs = await unpack(zstd, 1000);
    assert.equal(gz.diffId, sha(data));
    assert.equal(zs.diffId, sha(data));
    assert.deepEqual(tree(gz.dest), tree(plain.dest));
    assert.deepEqual(tree(zs.dest), tree(plain.dest));
    // the first bytes decide, even when they come one at a time
    assert.equal((await unpack(gzipSync(data), 1)).diffId, sha(data));
  });

  it('recognises the empty layer (only the end-of-archive blocks) and an empty stream', async () => {
    const r = await unpack(gzipSync(Buffer.alloc(1024)));
    assert.equal(r.diffId, 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
    assert.equal(r.size, 0);
    assert.deepEqual(readdirSync(r.dest), []);
    assert.equal((await unpack(Buffer.alloc(0))).diffId, sha(Buffer.alloc(0)));
  });

  it('round-trips compressGzip through decompress', async () => {
    const data = await tarOf(entries);
    const gz: Buffer[] = [];
    for await (const c of compressGzip(chunks(data, 5000))) gz.push(c);
    assert.equal(detectCompression(gz[0]!), 'gzip');
    const back: Buffer[] = [];
    for await (const c of decompress(chunks(Buffer.concat(gz), 77))) back.push(c);
    assert.deepEqual(Buffer.concat(back), data);
  });

  it('rejects what is not a tar, truncated tars and corrupt compressed data', async () => {
    const data = await tarOf(entries);
    await rejects(Buffer.from('this is not a tar archive at all, just text. '.repeat(40)), /bad header checksum/);
    await rejects(data.subarray(0, 5000), /ends in the middle of a member/);
    const gz = gzipSync(data);
    await rejects(gz.subarray(0, gz.length - 10), /invalid gzip data: unexpected end of file/);
    const corrupt = gzipSync(data);
    corrupt[corrupt.length - 6]! ^= 0xff; // the CRC
    await rejects(corrupt, /invalid gzip data/);
    const zst = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100, 0x55)]);
    await rejects(zst, /invalid zstd data/);
    await rejects(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]), /unsupported layer compression xz/);
  });

  it('passes an error of the input through unchanged, whatever the compression', async () => {
    const data = await tarOf(entries);
    const boom = new Error('connection reset');
    for (const input of [data, gzipSync(data)]) {
      const p = place();
      async function* failing() {
        yield input.subarray(0, 2000);
        throw boom;
      }
      await assert.rejects(unpackLayer(failing(), p.dest), (err) => err === boom);
    }
    const base = tempDir('berth-unpack-');
    dirs.push(base);
    writeFileSync(join(base, 'l.tar'), data);
    execFileSync('zstd', ['-q', join(base, 'l.tar'), '-o', join(base, 'l.tar.zst')]);
    const zst = readFileSync(join(base, 'l.tar.zst'));
    const p = place();
    async function* failing() {
      yield zst.subarray(0, 100);
      throw boom;
    }
    await assert.rejects(unpackLayer(failing(), p.dest), (err) => err === boom);
  });

  it('stops reading the input when it gives up early', async () => {
    for (const compress of [false, true]) {
      let returned = false;
      async function* endless() {
        try {
          for (;;) {
            await new Promise((r) => setImmediate(r));
            yield Buffer.from('definitely not a tar header, a download that never ends. '.repeat(100));
          }
        } finally {
          returned = true;
        }
      }
      const p = place();
      await assert.rejects(unpackLayer(compress ? compressGzip(endless()) : endless(), p.dest), /bad header checksum/);
      // a generator busy in next() takes its return() after that: soon, not at once
      await waitFor(() => returned, 2000, `the input to be returned (${compress ? 'gzip' : 'plain'})`);
    }
  });

  it('wants an empty directory', async () => {
    const p = place();
    writeFileSync(join(p.dest, 'x'), '');
    await assert.rejects(unpackLayer(chunks(END), p.dest), SystemError);
  });
});

describe('unpackLayer: sparse files (GNU tar)', () => {
  const cases: Array<[string, string[]]> = [
    ['old GNU', ['--format=gnu']],
    ['PAX 0.0', ['--format=posix', '--sparse-version=0.0']],
    ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']],
    ['PAX 1.0', ['--format=posix', '--sparse-version=1.0']],
  ];
  for (const [what, flags] of cases) {
    it(`writes ${what} sparse files with their holes`, async () => {
      const base = tempDir('berth-unpack-');
      dirs.push(base);
      const src = join(base, 'src');
      mkdirSync(src);
      const file = join(src, 'sparse.img');
      // many regions: more than the 4 an old GNU header holds, so extension blocks are used
      writeFileSync(file, '');
      const fd = openSync(file, 'r+');
      for (let i = 0; i < 30; i++) writeSync(fd, Buffer.alloc(5000, i + 1), 0, 5000, i * 1_000_000);
      ftruncateSync(fd, 40_000_000);
      closeSync(fd);
      writeFileSync(join(src, 'after'), 'after');
      const tarFile = join(base, 'l.tar');
      execFileSync('tar', ['-C', src, '--sparse', ...flags, '-cf', tarFile, 'sparse.img', 'after']);
      const data = readFileSync(tarFile);
      assert.ok(data.length < 1_000_000, 'the tar stores the file sparsely');
      const { dest, size } = await unpack(data, 10_000);
      assert.equal(sha(readFileSync(join(dest, 'sparse.img'))), sha(readFileSync(file)));
      const st = statSync(join(dest, 'sparse.img'));
      assert.equal(st.size, 40_000_000);
      assert.ok(st.blocks * 512 < 4_000_000, `holes kept (${st.blocks} blocks)`);
      assert.equal(readFileSync(join(dest, 'after'), 'utf8'), 'after');
      assert.deepEqual(readdirSync(dest).sort(), ['after', 'sparse.img']);
      assert.equal(size, 40_000_005);
    });
  }
});
