// layerTar: an unpacked layer back to a layer tar. Every layer of the `layers` fixture (whiteouts,
// an opaque dir, hardlinks, long and odd names, modes, owners, times) is unpacked, tarred,
// unpacked again, and the two trees must be the same; the tar must be readable by GNU tar and
// give whiteouts and opaque markers in their tar form. Root only (mknod, trusted.* xattrs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { layerTar, tarHeader, tarPadding, TAR_END, T_REG } from '../../src/engine/storage/layer-tar.ts';
import { unpackLayer } from '../../src/engine/storage/unpack.ts';
import { lgetxattr, llistxattr } from '../../src/sys/libc.ts';
import { repoRoot, tempDir } from '../helpers/berth.ts';

const oci = join(repoRoot, '..', 'shared', 'fixtures', 'oci');
const blob = (digest: string) => join(oci, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const isRoot = process.getuid?.() === 0;

const work = tempDir('berth-layer-tar-');
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function fresh(): string {
  const d = join(work, String(n++));
  mkdirSync(d);
  return d;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    let what = `${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    // a whiteout (a 0:0 char device) is made at unpack time: its mtime says nothing about the layer
    const whiteout = st.isCharacterDevice() && st.rdev === 0;
    if (rel && !whiteout) what += ` ${Math.floor(st.mtimeMs / 1000)}`;
    if (st.isFile()) what += ` ${st.size} ${sha(readFileSync(abs))} nlink=${st.nlink}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(abs)}`;
    if (st.isCharacterDevice() || st.isBlockDevice()) what += ` dev=${st.rdev}`;
    what += ` ${llistxattr(abs).sort().map((x) => `${x}=${lgetxattr(abs, x)!.toString('hex')}`).join(',')}`;
    out.push(what);
    if (st.isDirectory()) for (const c of readdirSync(abs).sort()) walk(rel ? `${rel}/${c}` : c);
  };
  walk('');
  return out;
}

describe('tarHeader', () => {
  it('writes headers GNU tar reads: long names (prefix and PAX), non-ASCII names, long link targets', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const veryLong = 'x'.repeat(300);
    const utf = Buffer.from('data/héllo wörld ✓.txt').toString('latin1');
    const parts: Buffer[] = [];
    for (const name of [long, veryLong, utf]) {
      const data = Buffer.from(`content of ${name.length}`);
      parts.push(tarHeader({ name, type: T_REG, mode: 0o640, uid: 1000, gid: 2000000, size: data.length, mtime: 1_000_000_000 }), data, tarPadding(data.length));
    }
    parts.push(tarHeader({ name: 'link', type: 0x32, mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: `/${'t'.repeat(150)}` }));
    parts.push(TAR_END);
    const file = join(work, 'names.tar');
    execFileSync('sh', ['-c', `cat > ${file}`], { input: Buffer.concat(parts) });
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(listing.length, 4);
    assert.match(listing[0]!, new RegExp(`-rw-r----- 1000/2000000 .* ${long}$`));
    assert.match(listing[1]!, new RegExp(`${veryLong}$`));
    assert.match(listing[2]!, /data\/héllo wörld ✓\.txt$/);
    assert.match(listing[3]!, new RegExp(`link -> /${'t'.repeat(150)}$`));
  });
});

describe('layerTar', { skip: isRoot ? false : 'needs root (mknod, trusted.* xattrs)' }, () => {
  const index = readJson<{ manifests: Array<{ digest: string; annotations?: Record<string, string> }> }>(join(oci, 'index.json'));
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'layers:latest')!;
  const manifest = readJson<{ layers: Array<{ digest: string }> }>(blob(entry.digest));

  for (const [i, layer] of manifest.layers.entries()) {
    it(`layer ${i + 1} of the layers fixture: unpack, tar, unpack gives the same tree`, async () => {
      const a = fresh();
      await unpackLayer(createReadStream(blob(layer.digest)), a);
      const tarA = await collect(layerTar(a));
      const b = fresh();
      const r = await unpackLayer(once(tarA), b);
      assert.equal(r.diffId, sha(tarA));
      assert.deepEqual(tree(b), tree(a));
      // a tar of the same tree is the same bytes
      const tarB = await collect(layerTar(b));
      assert.equal(sha(tarB), sha(tarA));
    });
  }

  it('writes whiteouts and opaque dirs in their tar form', async () => {
    const a = fresh();
    await unpackLayer(createReadStream(blob(manifest.layers[3]!.digest)), a);
    const file = join(work, 'l4.tar');
    execFileSync('sh', ['-c', `cat > ${file}`], { input: await collect(layerTar(a)) });
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(names.includes('data/.wh.deleted.txt'), names.join('\n'));
    assert.ok(names.includes('data/.wh..hidden'));
    assert.ok(names.includes('data/opaque/.wh..wh..opq'));
    assert.ok(names.includes('bin/.wh.vi'));
    // the opaque marker comes right after its directory, as Docker writes it
    assert.equal(names[names.indexOf('data/opaque/') + 1], 'data/opaque/.wh..wh..opq');
    assert.ok(!names.some((x) => x.endsWith('/.wh.') || x === ''));
  });

  it('tars an empty dir as an empty archive', async () => {
    const tar = await collect(layerTar(fresh()));
    assert.deepEqual(tar, TAR_END);
  });
});
