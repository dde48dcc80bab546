import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContentStore, DigestMismatch } from '../../src/engine/images/content-store.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';
import { tempDir } from '../helpers/berth.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function source(data: Buffer, chunk = 7, counter = { opens: 0 }) {
  return {
    counter,
    async open() {
      counter.opens++;
      return (async function* () {
        for (let i = 0; i < data.length; i += chunk) {
          await new Promise((r) => setImmediate(r));
          yield data.subarray(i, i + chunk);
        }
      })();
    },
  };
}

async function store() {
  const dir = tempDir();
  const s = new ContentStore(join(dir, 'images'), join(dir, 'locks'));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'locks'));
  await s.init();
  return { dir, s };
}

describe('content store', () => {
  it('lays out an OCI image layout', async () => {
    const { dir, s } = await store();
    assert.deepEqual(JSON.parse(readFileSync(join(s.dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    assert.deepEqual(JSON.parse(readFileSync(join(s.dir, 'index.json'), 'utf8')), { schemaVersion: 2, manifests: [] });
    rmSync(dir, { recursive: true });
  });

  it('stores a verified blob under its digest, once', async () => {
    const { dir, s } = await store();
    const data = Buffer.from('layer bytes '.repeat(100));
    const d = sha(data);
    const progress: number[] = [];
    assert.equal(await s.ingest(d, data.length, { ...source(data), onProgress: (n) => progress.push(n) }), true);
    assert.ok((await s.read(d)).equals(data));
    assert.equal(progress.at(-1), data.length);
    assert.equal(await s.ingest(d, data.length, source(data)), false, 'already there');
    rmSync(dir, { recursive: true });
  });

  it('fetches a blob once when two ingests want it at the same time', async () => {
    const { dir, s } = await store();
    const data = Buffer.alloc(5000, 3);
    const counter = { opens: 0 };
    const results = await Promise.all([s.ingest(sha(data), 5000, source(data, 100, counter)), s.ingest(sha(data), 5000, source(data, 100, counter))]);
    assert.equal(counter.opens, 1);
    assert.deepEqual(results.sort(), [false, true]);
    rmSync(dir, { recursive: true });
  });

  it('refuses content that does not match its digest or size, and leaves nothing behind', async () => {
    const { dir, s } = await store();
    const data = Buffer.from('the real thing');
    const evil = Buffer.from('something else');
    await assert.rejects(s.ingest(sha(data), data.length, source(evil)), (e: unknown) => e instanceof DigestMismatch && /hashes to sha256:/.test(e.message));
    await assert.rejects(s.ingest(sha(data), data.length - 1, source(data)), DigestMismatch);
    await assert.rejects(s.ingest(sha(data), data.length + 5, source(data)), /announced/);
    assert.equal(await s.has(sha(data)), false);
    assert.deepEqual(readdirSync(s.blobsDir), []);
    rmSync(dir, { recursive: true });
  });

  it('refuses digests that are not sha256 hex, so none can name a path', async () => {
    const { dir, s } = await store();
    for (const d of ['sha256:../../etc/passwd', 'sha512:' + 'a'.repeat(128), 'sha256:' + 'A'.repeat(64), 'x']) {
      assert.throws(() => s.blobPath(d), InvalidArgument);
    }
    rmSync(dir, { recursive: true });
  });
});
