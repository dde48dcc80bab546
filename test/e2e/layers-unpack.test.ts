// The layer unpacker against the real fixture: the six layers of `layers:latest` (PAX, USTAR and
// GNU tars with whiteouts, an opaque dir, replacements, hardlinks, odd modes and names) unpacked
// one dir each, stacked with overlayfs as a container would see them, and judged by the image's
// own /check.sh (62 checks). Also the busybox layer in its zstd and plain encodings. Root only.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unpackLayer, type UnpackResult } from '../../src/engine/storage/unpack.ts';
import { repoRoot, tempDir } from '../helpers/berth.ts';

const oci = join(repoRoot, '..', 'shared', 'fixtures', 'oci');
const blob = (digest: string) => join(oci, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;

interface Descriptor {
  digest: string;
  mediaType: string;
  annotations?: Record<string, string>;
}

function image(ref: string): { layers: Descriptor[]; diffIds: string[] } {
  const index = readJson<{ manifests: Descriptor[] }>(join(oci, 'index.json'));
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  assert.ok(entry, `${ref} in the fixture layout`);
  const manifest = readJson<{ config: Descriptor; layers: Descriptor[] }>(blob(entry.digest));
  const config = readJson<{ rootfs: { diff_ids: string[] } }>(blob(manifest.config.digest));
  return { layers: manifest.layers, diffIds: config.rootfs.diff_ids };
}

/** What matters of a tree, to compare two extractions of the same layer. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const st = lstatSync(join(dir, rel));
    let line = `${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.nlink}`;
    if (rel) line += ` ${st.mtimeMs}`; // the layer dir itself is the test's
    if (st.isSymbolicLink()) line += ` -> ${readlinkSync(join(dir, rel))}`;
    out.push(line);
    if (st.isDirectory()) for (const n of readdirSync(join(dir, rel)).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

const work = tempDir('berth-layers-');
const merged = join(work, 'merged');
let mounted = false;

after(() => {
  if (mounted) execFileSync('umount', [merged]);
  rmSync(work, { recursive: true, force: true });
});

describe('the layers fixture, unpacked and stacked with overlayfs', () => {
  const { layers, diffIds } = image('layers:latest');
  const dirs: string[] = [];
  const results: UnpackResult[] = [];
  let elapsed = 0;

  before(async () => {
    const t = performance.now();
    for (const [i, layer] of layers.entries()) {
      const dir = join(work, `layer${i}`);
      mkdirSync(dir);
      dirs.push(dir);
      results.push(await unpackLayer(createReadStream(blob(layer.digest)), dir));
    }
    elapsed = performance.now() - t;
  });

  it('has six gzip layers, each unpacked to its config diff id', (t) => {
    assert.equal(layers.length, 6);
    assert.deepEqual(
      results.map((r) => r.diffId),
      diffIds,
    );
    // the busybox layer: 2090 KiB unpacked per the fixture README, busybox itself included
    assert.ok(results[0]!.size > 1_900_000 && results[0]!.size < 2_200_000, `busybox layer size ${results[0]!.size}`);
    assert.equal(results[2]!.size, 0, 'the empty layer');
    t.diagnostic(`6 layers unpacked in ${elapsed.toFixed(0)} ms`);
  });

  it('leaves no .wh. name in any layer dir (whiteouts are in overlay form)', () => {
    const names = dirs.flatMap((d) => tree(d)).filter((l) => l.includes('.wh.'));
    assert.deepEqual(names, []);
  });

  it('passes the image\'s /check.sh in the stacked filesystem', () => {
    const upper = join(work, 'upper');
    const wd = join(work, 'work');
    for (const d of [upper, wd, merged]) mkdirSync(d);
    const lower = [...dirs].reverse().join(':'); // overlayfs lists the top layer first
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${wd}`, merged]);
    mounted = true;
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
    const run = spawnSync('chroot', [merged, '/check.sh'], { env, encoding: 'utf8' });
    if (run.status !== 0 || run.stdout.trim() !== 'OK') {
      const verbose = spawnSync('chroot', [merged, '/check.sh'], { env: { ...env, CHECK_VERBOSE: '1' }, encoding: 'utf8' });
      assert.fail(`check.sh exited ${run.status}:\n${verbose.stdout}${verbose.stderr}`);
    }
    assert.equal(run.stdout, 'OK\n');
  });
});

describe('the busybox layer in every encoding', () => {
  it('unpacks gzip, zstd and plain tar to one diff id and one tree', async () => {
    const trees: string[][] = [];
    const ids: string[] = [];
    for (const ref of ['busybox-oci:latest', 'busybox-zstd:latest', 'busybox-uncompressed:latest']) {
      const { layers, diffIds } = image(ref);
      assert.equal(layers.length, 1);
      const dir = join(work, ref.replace(/[:]/g, '-'));
      mkdirSync(dir);
      const r = await unpackLayer(createReadStream(blob(layers[0]!.digest)), dir);
      assert.equal(r.diffId, diffIds[0], ref);
      ids.push(r.diffId);
      trees.push(tree(dir));
    }
    assert.equal(image('busybox-zstd:latest').layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    assert.equal(new Set(ids).size, 1);
    assert.deepEqual(trees[1], trees[0]);
    assert.deepEqual(trees[2], trees[0]);
    assert.ok(trees[0]!.some((l) => l.startsWith('bin/sh ') && l.endsWith('-> /bin/busybox')));
  });
});
