// The registry client against real registries (../shared/fixtures/registry.sh): plain, basic
// auth, and Bearer tokens from a token server as Docker Hub does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContentStore } from '../../src/engine/images/content-store.ts';
import { parseChallenge, RegistryClient } from '../../src/engine/images/registry-client.ts';
import { NotFound, Unauthorized } from '../../src/engine/errors.ts';
import { repoRoot, tempDir } from '../helpers/berth.ts';

const registrySh = join(repoRoot, '../shared/fixtures/registry.sh');
const state = tempDir('berth-registry-');
const env = { ...process.env, BERTH_FIXTURE_STATE: state };
// ports of this suite's own, away from the fixture defaults other suites use
const PLAIN = 5310;
const AUTH = 5311;
const TOKEN = 5312;
const BUSYBOX = 'sha256:b190a2affb458722d53aa1d137f58efc19013f912940ee8c7bd4ad5a784f7378';
const BUSYBOX_CONFIG = 'sha256:65add6a21ba830342fb88958fd5f8fa80a1d8f64c14e8671396652171cbd761c';
const creds = { username: 'berth', password: 'berth-secret' };
const clients: RegistryClient[] = [];
const client = (port: number, credentials?: typeof creds) => {
  const c = new RegistryClient(`127.0.0.1:${port}`, { insecure: true, credentials });
  clients.push(c);
  return c;
};

before(() => {
  execFileSync(registrySh, ['start', String(PLAIN)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(registrySh, ['start-auth', String(AUTH)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(registrySh, ['start-token', String(TOKEN)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
});

after(async () => {
  for (const c of clients) await c.close();
  execFileSync(registrySh, ['stop'], { env, stdio: 'ignore' });
  rmSync(state, { recursive: true, force: true });
});

async function contentStore(): Promise<{ store: ContentStore; dir: string }> {
  const dir = tempDir();
  mkdirSync(join(dir, 'locks'));
  const store = new ContentStore(join(dir, 'images'), join(dir, 'locks'));
  await store.init();
  return { store, dir };
}

async function busyboxLayer(): Promise<{ digest: string; size: number }> {
  const m = await client(PLAIN).getManifest('library/busybox', 'latest');
  return (JSON.parse(m.body.toString()) as { layers: Array<{ digest: string; size: number }> }).layers[0]!;
}

/**
 * A proxy in front of a registry that cuts the first blob response half-way (the connection
 * dies); later requests pass, their Range headers noted. `honourRanges: false` plays a registry
 * that answers a ranged GET with the whole blob.
 */
async function cuttingProxy(port: number, opts: { honourRanges: boolean }) {
  const seen = { cuts: 0, cutAt: 0, ranges: [] as string[] };
  const server: Server = createServer((req, res) => {
    const isBlob = /\/blobs\/sha256:/.test(req.url ?? '');
    const headers = { ...req.headers };
    if (isBlob && headers.range) {
      seen.ranges.push(String(headers.range));
      if (!opts.honourRanges) delete headers.range;
    }
    const up = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (!isBlob || seen.cuts > 0 || req.method !== 'GET') {
        upRes.pipe(res);
        return;
      }
      seen.cuts++;
      const half = Math.floor(Number(upRes.headers['content-length']) / 2);
      let sent = 0;
      upRes.on('data', (chunk: Buffer) => {
        if (sent >= half) return;
        const part = chunk.subarray(0, half - sent);
        sent += part.length;
        res.write(part);
        if (sent >= half) {
          seen.cutAt = sent;
          upRes.destroy();
          setTimeout(() => res.socket?.destroy(), 50);
        }
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(seen, { server, port: (server.address() as AddressInfo).port });
}

describe('registry client', () => {
  it('parses auth challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull"'), {
      scheme: 'bearer',
      params: { realm: 'http://127.0.0.1:1/token', service: 'reg', scope: 'repository:a/b:pull' },
    });
    assert.deepEqual(parseChallenge('Basic realm="berth-fixture-registry"'), { scheme: 'basic', params: { realm: 'berth-fixture-registry' } });
  });

  it('fetches manifests by tag and by digest over plain http', async () => {
    const c = client(PLAIN);
    const m = await c.getManifest('library/busybox', 'latest');
    assert.equal(m.digest, BUSYBOX);
    assert.equal(m.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(JSON.parse(m.body.toString()).config.digest, BUSYBOX_CONFIG);
    const byDigest = await c.getManifest('library/busybox', BUSYBOX);
    assert.ok(byDigest.body.equals(m.body));
    const index = await c.getManifest('library/multiarch', 'latest');
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.ok(JSON.parse(index.body.toString()).manifests.length >= 2);
  });

  it('says what Docker says for a missing manifest', async () => {
    await assert.rejects(client(PLAIN).getManifest('library/nothere', 'latest'), (e: unknown) =>
      e instanceof NotFound && e.message === `manifest for 127.0.0.1:${PLAIN}/library/nothere:latest not found: manifest unknown: manifest unknown`);
  });

  it('streams a blob into the content store, verified', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'locks'));
    const store = new ContentStore(join(dir, 'images'), join(dir, 'locks'));
    await store.init();
    const c = client(PLAIN);
    const fetched = await store.ingest(BUSYBOX_CONFIG, undefined, { open: async () => (await c.openBlob('library/busybox', BUSYBOX_CONFIG)).body });
    assert.equal(fetched, true);
    assert.equal(JSON.parse(readFileSync(store.blobPath(BUSYBOX_CONFIG), 'utf8')).architecture, 'amd64');
    rmSync(dir, { recursive: true });
  });

  it('resumes a blob download cut part-way with a ranged request, and stores it verified', async () => {
    const proxy = await cuttingProxy(PLAIN, { honourRanges: true });
    try {
      const layer = await busyboxLayer();
      const { store, dir } = await contentStore();
      const c = client(proxy.port);
      assert.equal(await store.ingest(layer.digest, layer.size, { open: async () => (await c.openBlob('library/busybox', layer.digest)).body }), true);
      assert.equal(proxy.cuts, 1, 'the first response was cut');
      assert.deepEqual(proxy.ranges, [`bytes=${proxy.cutAt}-`], 'the rest came from where it broke');
      rmSync(dir, { recursive: true });
    } finally {
      proxy.server.close();
    }
  });

  it('fails a cut download (storing nothing) when the registry answers a range with the whole blob', async () => {
    const proxy = await cuttingProxy(PLAIN, { honourRanges: false });
    try {
      const layer = await busyboxLayer();
      const { store, dir } = await contentStore();
      const c = client(proxy.port);
      await assert.rejects(store.ingest(layer.digest, layer.size, { open: async () => (await c.openBlob('library/busybox', layer.digest)).body }));
      assert.equal(await store.has(layer.digest), false);
      rmSync(dir, { recursive: true });
    } finally {
      proxy.server.close();
    }
  });

  it('answers a Basic challenge with credentials, and refuses without', async () => {
    await assert.rejects(client(AUTH).getManifest('library/busybox', 'latest'), (e: unknown) => e instanceof Unauthorized && /no basic auth credentials/.test(e.message));
    const m = await client(AUTH, creds).getManifest('private/secret', 'latest');
    assert.equal(m.digest, 'sha256:49fbc0582911e39e5ae538c847c4acf4ce0fa6db8619495ad6b83a69bdaac376');
    await assert.rejects(client(AUTH, { username: 'berth', password: 'wrong' }).getManifest('library/busybox', 'latest'), Unauthorized);
  });

  it('gets Bearer tokens: anonymous for public repositories, with credentials for private ones', async () => {
    const anon = client(TOKEN);
    assert.equal((await anon.getManifest('library/busybox', 'latest')).digest, BUSYBOX);
    assert.equal((await anon.getManifest('library/busybox', '1.35')).digest, BUSYBOX);
    await assert.rejects(anon.getManifest('private/secret', 'latest'), (e: unknown) =>
      e instanceof Unauthorized && e.message.startsWith(`pull access denied for 127.0.0.1:${TOKEN}/private/secret, repository does not exist or may require 'docker login'`));
    const authed = client(TOKEN, creds);
    assert.equal((await authed.getManifest('private/secret', 'latest')).digest, 'sha256:49fbc0582911e39e5ae538c847c4acf4ce0fa6db8619495ad6b83a69bdaac376');
    const blob = await authed.openBlob('private/secret', JSON.parse((await authed.getManifest('private/secret', 'latest')).body.toString()).config.digest);
    let n = 0;
    for await (const chunk of blob.body) n += (chunk as Buffer).length;
    assert.ok(n > 0);
    await assert.rejects(client(TOKEN, { username: 'berth', password: 'wrong' }).getManifest('library/busybox', 'latest'), Unauthorized);
  });
});
