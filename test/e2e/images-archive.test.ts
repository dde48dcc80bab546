// Image archives through real clients: `docker load` of skopeo's docker-archive and OCI archives
// (plain, gzip, zstd), `docker save` read back by berth and by skopeo, `docker import` with
// changes, and hostile archives that must be refused leaving the store as it was.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { storePaths } from '../../src/config/paths.ts';
import type { EngineContext } from '../../src/engine/context.ts';
import { importImage } from '../../src/engine/images/import.ts';
import { layerTar } from '../../src/engine/storage/layer-tar.ts';
import { startBerth, tempDir, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, dockerFor, fixture, fixturesDir, startRegistries } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const skopeo = ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].find((p) => existsSync(p));
const oci = join(fixturesDir, 'oci');
const busybox = fixture('busybox:latest');
const layersImage = fixture('layers:latest');
const BUSYBOX_GZIP = join(oci, 'blobs/sha256/ece4de5b4b74d7a4f393335c71b20c5dff5d63418c8457f8296b9c758d9ab763');
const BUSYBOX_DIFF_ID = 'sha256:554bc60ddc94694371f99a1c8b755d9924857a0300df5da1027a09992e659215';
const REGISTRY = 5340;
const R = `127.0.0.1:${REGISTRY}`;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let work: string;
let registries: { stop(): void } | undefined;

before(async () => {
  registries = startRegistries([['start', REGISTRY]]);
  b = await startBerth();
  docker = dockerFor(b);
  work = tempDir('berth-archive-');
  if (skopeo) {
    await exec(skopeo, ['copy', `oci:${oci}:busybox-oci:latest`, `docker-archive:${join(work, 'busybox.tar')}:busybox:latest`]);
    await exec(skopeo, ['copy', `oci:${oci}:layers:latest`, `oci-archive:${join(work, 'layers.tar')}`]);
    await exec(skopeo, ['copy', `oci:${oci}:layers:latest`, `oci-archive:${join(work, 'layers-named.tar')}:layers:v2`]);
  }
});

after(async () => {
  await b?.stop();
  registries?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const inspect = async (name: string) => JSON.parse((await docker('image', 'inspect', name)).stdout)[0];
const fails = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return e.stderr || e.message;
  }
  assert.fail('expected the command to fail');
};
const sh = (script: string) => exec('sh', ['-c', script], { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: b.dir }, maxBuffer: 64 << 20 });

/** What the store holds: blobs, names, layers, and anything else in images/ (temp dirs). */
function storeState() {
  const images = join(b.root, 'images');
  const list = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
  return {
    blobs: list(join(images, 'blobs', 'sha256')),
    index: existsSync(join(images, 'index.json')) ? readFileSync(join(images, 'index.json'), 'utf8') : '',
    layers: list(join(b.root, 'layers')),
    images: list(images),
  };
}

/** A request with a binary body and a binary answer (tar archives both ways). */
function raw(method: string, path: string, body?: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; text: string; json(): any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: 'docker' };
    if (body) Object.assign(headers, { 'Content-Type': 'application/x-tar', 'Content-Length': String(body.length) });
    const req = request({ socketPath: b.sock, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body: data, text: data.toString(), json: () => JSON.parse(data.toString()) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST /images/load of a raw body. */
const load = (body: Buffer, query = '') => raw('POST', `/images/load${query}`, body);

async function tarOf(entries: Array<{ name: string; content?: Buffer | string; type?: 'file' | 'symlink' | 'directory'; linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  for (const e of entries) {
    const header: tar.Headers = { name: e.name, type: e.type ?? 'file', mode: 0o644, mtime: new Date(0) };
    if (e.linkname) header.linkname = e.linkname;
    await new Promise<void>((resolve, reject) => pack.entry(header, e.content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

/** tar-stream normalises names; a hostile name needs a header written by hand. */
function rawMember(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'latin1');
  const octal = (n: number, w: number) => n.toString(8).padStart(w - 1, '0') + '\0';
  h.write(octal(0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(data.length, 12), 124, 'latin1');
  h.write(octal(0, 12), 136, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

const ready = dockerCli && skopeo ? false : 'needs the docker CLI and skopeo';

describe('docker load', { skip: ready }, () => {
  it("loads skopeo's docker-archive of busybox under its tag and the fixture's image id", async () => {
    const out = (await docker('load', '-i', join(work, 'busybox.tar'))).stdout;
    assert.equal(out.trim(), 'Loaded image: busybox:latest');
    const i = await inspect('busybox');
    assert.equal(i.Id, busybox.imageId);
    assert.deepEqual(i.RepoTags, ['busybox:latest']);
    assert.deepEqual(i.RootFS.Layers, [BUSYBOX_DIFF_ID]);
    assert.deepEqual(i.Config.Cmd, ['sh']);
    // the store is an OCI layout skopeo reads, the layer as the archive gave it (plain tar)
    const { stdout } = await exec(skopeo!, ['inspect', '--raw', `oci:${join(b.root, 'images')}:docker.io/library/busybox:latest`]);
    const m = JSON.parse(stdout);
    assert.equal(m.config.digest, busybox.imageId);
    assert.deepEqual(m.layers.map((l: { digest: string; mediaType: string }) => [l.digest, l.mediaType]), [[BUSYBOX_DIFF_ID, 'application/vnd.oci.image.layer.v1.tar']]);
  });

  it('loads an OCI archive: without a name it says the image id, with one the name', async () => {
    const out = (await docker('load', '-i', join(work, 'layers.tar'))).stdout;
    assert.equal(out.trim(), `Loaded image ID: ${layersImage.imageId}`);
    const named = (await docker('load', '-i', join(work, 'layers-named.tar'))).stdout;
    assert.equal(named.trim(), 'Loaded image: layers:v2');
    const i = await inspect('layers:v2');
    assert.equal(i.Id, layersImage.imageId);
    assert.equal(i.RootFS.Layers.length, 6);
    // the OCI manifest is kept as it was: the store names the fixture's manifest digest
    const index = JSON.parse(readFileSync(join(b.root, 'images', 'index.json'), 'utf8'));
    const entry = index.manifests.find((e: { annotations: Record<string, string> }) => e.annotations['io.berth.name'] === 'docker.io/library/layers:v2');
    assert.equal(entry.digest, layersImage.digest);
  });

  it('loads gzip and zstd compressed archives', async () => {
    const plain = readFileSync(join(work, 'busybox.tar'));
    writeFileSync(join(work, 'busybox.tar.gz'), gzipSync(plain));
    await exec('zstd', ['-q', '-f', join(work, 'busybox.tar'), '-o', join(work, 'busybox.tar.zst')]);
    for (const f of ['busybox.tar.gz', 'busybox.tar.zst']) {
      const out = (await sh(`docker load < ${join(work, f)}`)).stdout;
      assert.equal(out.trim(), 'Loaded image: busybox:latest', f);
    }
  });

  it('shows Loading layer progress unless quiet, and answers JSON lines', async () => {
    await docker('rmi', 'layers:v2');
    const a = await load(readFileSync(join(work, 'layers-named.tar')), '?quiet=0');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/json');
    const lines = a.text.trim().split('\n').map((l) => JSON.parse(l));
    const progress = lines.filter((l) => l.status === 'Loading layer');
    assert.ok(progress.length >= 4, a.text); // the layers not already stored
    assert.match(progress[0].id, /^[a-f0-9]{12}$/);
    assert.match(progress[0].progress, /\[=*>?\s*\]/);
    assert.deepEqual(lines[lines.length - 1], { stream: 'Loaded image: layers:v2\n' });
    const quiet = await load(readFileSync(join(work, 'layers-named.tar')), '?quiet=1');
    assert.deepEqual(quiet.text.trim().split('\n').map((l) => JSON.parse(l)), [{ stream: 'Loaded image: layers:v2\n' }]);
  });
});

describe('docker save', { skip: ready }, () => {
  it('docker save busybox | docker load gives the same image back', async () => {
    await docker('rmi', '-f', 'busybox');
    await docker('load', '-i', join(work, 'busybox.tar'));
    const out = (await sh('docker save busybox | docker load')).stdout;
    assert.equal(out.trim(), 'Loaded image: busybox:latest');
    await docker('rmi', 'busybox');
    assert.match(await fails(docker('save', '-o', join(work, 'gone.tar'), 'busybox')), /No such image: busybox:latest/);
    const back = (await sh(`docker load < ${join(work, 'busybox.tar')} && docker save busybox > ${join(work, 'saved.tar')} && docker rmi busybox >/dev/null && docker load -i ${join(work, 'saved.tar')}`)).stdout;
    assert.match(back, /Loaded image: busybox:latest/);
    assert.equal((await inspect('busybox')).Id, busybox.imageId);
  });

  it('writes a docker-archive with an OCI layout inside, as Docker 25+ does', async () => {
    const file = join(work, 'saved-o.tar');
    await docker('save', '-o', file, 'busybox');
    const names = (await exec('tar', ['-tf', file])).stdout.trim().split('\n');
    assert.deepEqual(names.filter((n) => !n.startsWith('blobs/sha256/')), ['blobs/', 'index.json', 'manifest.json', 'oci-layout', 'repositories']);
    const read = async (name: string) => JSON.parse((await exec('tar', ['-xOf', file, name], { maxBuffer: 64 << 20 })).stdout);
    const manifest = await read('manifest.json');
    assert.deepEqual(manifest, [{ Config: `blobs/sha256/${busybox.imageId!.slice(7)}`, RepoTags: ['busybox:latest'], Layers: [`blobs/sha256/${BUSYBOX_DIFF_ID.slice(7)}`] }]);
    assert.deepEqual(await read('repositories'), { busybox: { latest: BUSYBOX_DIFF_ID.slice(7) } });
    const index = await read('index.json');
    assert.equal(index.manifests.length, 1);
    assert.deepEqual(index.manifests[0].annotations, { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' });
    assert.deepEqual(await read('oci-layout'), { imageLayoutVersion: '1.0.0' });
    // skopeo reads it both ways: as a docker-archive and as an OCI archive
    const dest = join(work, 'oci-copy');
    await exec(skopeo!, ['copy', `docker-archive:${file}`, `oci:${dest}:z`]);
    const copied = JSON.parse((await exec(skopeo!, ['inspect', '--config', `oci:${dest}:z`])).stdout);
    assert.deepEqual(copied.rootfs.diff_ids, [BUSYBOX_DIFF_ID]);
    const viaOci = JSON.parse((await exec(skopeo!, ['inspect', `oci-archive:${file}:latest`])).stdout);
    assert.equal(viaOci.Digest, index.manifests[0].digest);
    assert.deepEqual(viaOci.Layers, [BUSYBOX_DIFF_ID]);
    // the same images, the same bytes
    await docker('save', '-o', join(work, 'saved-o2.tar'), 'busybox');
    assert.equal(sha(readFileSync(join(work, 'saved-o2.tar'))), sha(readFileSync(file)));
  });

  it('saves the stored layer blobs as they are (gzip from a gzip source), which skopeo and berth load', async () => {
    const file = join(work, 'layers-saved.tar');
    await docker('save', '-o', file, 'layers:v2');
    const manifest = JSON.parse((await exec('tar', ['-xOf', file, 'manifest.json'])).stdout);
    assert.deepEqual(manifest[0].Layers, layersImage.layers!.map((l) => `blobs/sha256/${l.digest.slice(7)}`));
    const index = JSON.parse((await exec('tar', ['-xOf', file, 'index.json'])).stdout);
    assert.equal(index.manifests[0].digest, layersImage.digest);
    const dest = join(work, 'oci-layers');
    await exec(skopeo!, ['copy', `docker-archive:${file}`, `oci:${dest}:z`]);
    await docker('rmi', 'layers:v2');
    assert.equal((await docker('load', '-i', file)).stdout.trim(), 'Loaded image: layers:v2');
    assert.equal((await inspect('layers:v2')).Id, layersImage.imageId);
  });

  it('saves a pulled image with its registry manifest and gzip blob, which load and skopeo take back', async () => {
    const rich = fixture('rich:latest');
    await docker('pull', `${R}/library/rich`);
    const file = join(work, 'rich.tar');
    await docker('save', '-o', file, `${R}/library/rich`);
    const manifest = JSON.parse((await exec('tar', ['-xOf', file, 'manifest.json'])).stdout);
    assert.deepEqual(manifest[0].RepoTags, [`${R}/library/rich:latest`]);
    assert.deepEqual(manifest[0].Layers, rich.layers!.map((l) => `blobs/sha256/${l.digest.slice(7)}`));
    // the registry's Docker schema2 manifest goes out in OCI form (OCI tools skip other kinds in a layout)
    const index = JSON.parse((await exec('tar', ['-xOf', file, 'index.json'])).stdout);
    assert.equal(index.manifests[0].mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const m = JSON.parse((await exec('tar', ['-xOf', file, `blobs/sha256/${index.manifests[0].digest.slice(7)}`])).stdout);
    assert.equal(m.config.digest, rich.imageId);
    assert.deepEqual(
      m.layers.map((l: { digest: string; mediaType: string }) => [l.digest, l.mediaType]),
      rich.layers!.map((l) => [l.digest, 'application/vnd.oci.image.layer.v1.tar+gzip']),
    );
    const dest = join(work, 'oci-rich');
    await exec(skopeo!, ['copy', `docker-archive:${file}`, `oci:${dest}:z`]);
    await exec(skopeo!, ['copy', `oci-archive:${file}:latest`, `oci:${dest}:y`]);
    await docker('rmi', `${R}/library/rich`);
    assert.equal((await docker('load', '-i', file)).stdout.trim(), `Loaded image: ${R}/library/rich:latest`);
    const i = await inspect(`${R}/library/rich`);
    assert.equal(i.Id, rich.imageId);
    assert.deepEqual(i.RepoDigests, []); // a load knows no registry digest, as with Docker
  });

  it('takes several names, every tag of a repository, and ids (saved without a tag)', async () => {
    await docker('tag', 'busybox', 'busybox:other');
    const a = await raw('GET', '/images/get?names=busybox&names=layers:v2');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/x-tar');
    const file = join(work, 'several.tar');
    writeFileSync(file, a.body);
    const manifest = JSON.parse((await exec('tar', ['-xOf', file, 'manifest.json'])).stdout);
    assert.deepEqual(manifest.map((m: { RepoTags: string[] }) => m.RepoTags.sort()), [['busybox:latest', 'busybox:other'], ['layers:v2']]);
    const byId = join(work, 'by-id.tar');
    await docker('save', '-o', byId, busybox.imageId!.slice(7, 19));
    const m2 = JSON.parse((await exec('tar', ['-xOf', byId, 'manifest.json'])).stdout);
    assert.equal(m2[0].RepoTags, null);
    assert.ok(!(await exec('tar', ['-tf', byId])).stdout.includes('repositories'));
    await docker('rmi', 'busybox:other');
  });

  it('answers 404 for a missing image before sending anything', async () => {
    const a = await call(b.sock, 'GET', '/images/nosuchimage/get');
    assert.equal(a.status, 404);
    assert.deepEqual(a.json(), { message: 'No such image: nosuchimage:latest' });
    const several = await call(b.sock, 'GET', '/images/get?names=busybox&names=nosuch:tag');
    assert.equal(several.status, 404);
    assert.match(await fails(docker('save', '-o', join(work, 'none.tar'), 'nosuch')), /No such image: nosuch:latest/);
    assert.ok(storeState().images.every((n) => !n.startsWith('.save')), 'no temp dir left');
  });
});

/** The engine of the running berth, for calling import in-process while its route is not wired. */
function engineOf(berth: Berth): EngineContext {
  return { paths: storePaths(berth.root, berth.runroot), programs: { runc: 'runc', conmon: 'conmon' }, registriesConf: [] };
}

/** `docker import` when POST /images/create serves fromSrc, else importImage against the same store. */
async function dockerImport(file: string, args: { changes?: string[]; message?: string; repo?: string }): Promise<string> {
  const probe = await call(b.sock, 'POST', '/images/create?fromSrc=-&changes=BOGUS', { body: '', headers: { 'Content-Type': 'application/octet-stream' } });
  if (probe.status !== 501) {
    const flags = [...(args.changes ?? []).flatMap((c) => ['-c', c]), ...(args.message ? ['-m', args.message] : [])];
    return (await docker('import', ...flags, file, ...(args.repo ? [args.repo] : []))).stdout.trim();
  }
  const emitted: object[] = [];
  const [repo, tag] = args.repo ? args.repo.split(':') : [];
  const r = await importImage(engineOf(b), createReadStream(file), { changes: args.changes, message: args.message, repo, tag, emit: (m) => emitted.push(m) });
  assert.deepEqual(emitted, [{ status: r.id }]);
  return r.id;
}

describe('docker import', { skip: ready }, () => {
  it('makes a one-layer image of the gzip busybox rootfs, with CMD and ENV from --change', async () => {
    const id = await dockerImport(BUSYBOX_GZIP, { changes: ['CMD ["sh"]', 'ENV A=b'], repo: 'imported:v1' });
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    const i = await inspect('imported:v1');
    assert.equal(i.Id, id);
    assert.deepEqual(i.Config.Cmd, ['sh']);
    assert.deepEqual(i.Config.Env, ['A=b']);
    assert.deepEqual(i.RootFS.Layers, [BUSYBOX_DIFF_ID]);
    assert.equal(i.Comment, 'Imported from -');
    assert.equal(i.Os, 'linux');
    // the layer blob is stored as given: the gzip bytes
    const { stdout } = await exec(skopeo!, ['inspect', '--raw', `oci:${join(b.root, 'images')}:docker.io/library/imported:v1`]);
    const m = JSON.parse(stdout);
    assert.deepEqual(m.layers, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${BUSYBOX_GZIP.slice(-64)}`, size: statSync(BUSYBOX_GZIP).size }]);
    const history = JSON.parse((await docker('history', '--no-trunc', '--format', '{{json .}}', 'imported:v1')).stdout.trim().split('\n')[0]!);
    assert.equal(history.Comment, 'Imported from -');
  });

  it('applies every change instruction Docker takes, and the message', async () => {
    const changes = [
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD echo hi',
      'ENV PATH=/bin GREETING="hello world"',
      'ENV WHO=${GREETING}!',
      'EXPOSE 80 53/udp 8000-8001',
      'LABEL a="b c" d=e',
      'WORKDIR /app',
      'WORKDIR sub',
      'USER 1000:1000',
      'VOLUME ["/data", "/cache"]',
      'STOPSIGNAL SIGINT',
      'ONBUILD RUN echo built',
      'HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost || exit 1',
    ];
    await dockerImport(BUSYBOX_GZIP, { changes, message: 'from a test', repo: 'imported:all' });
    const i = await inspect('imported:all');
    const c = i.Config;
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(c.Env, ['PATH=/bin', 'GREETING=hello world', 'WHO=hello world!']);
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} });
    assert.deepEqual(c.Labels, { a: 'b c', d: 'e' });
    assert.equal(c.WorkingDir, '/app/sub');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(c.Volumes, { '/data': {}, '/cache': {} });
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.OnBuild, ['RUN echo built']);
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Interval: 30e9, Retries: 3 });
    assert.equal(i.Comment, 'from a test');
  });

  it('refuses a change Docker refuses, before reading the tar', async () => {
    const before = storeState();
    await assert.rejects(dockerImport(BUSYBOX_GZIP, { changes: ['RUN echo no'] }), /run is not a valid change command/);
    assert.deepEqual(storeState(), before);
  });
});

describe('a layer whose blob is gone', { skip: ready }, () => {
  it('is saved as a tar of its files when that gives its diff id', async () => {
    // a layer made by berth's own tar writer: its files give back the very same tar
    const dir = join(work, 'rootfs');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'motd'), 'made in a test\n');
    writeFileSync(join(dir, 'hello'), 'hello\n');
    for (const p of ['etc/motd', 'hello', 'etc']) utimesSync(join(dir, p), 1_700_000_000, 1_700_000_000);
    const chunks: Buffer[] = [];
    for await (const c of layerTar(dir)) chunks.push(c);
    const layer = Buffer.concat(chunks);
    writeFileSync(join(work, 'own.tar'), layer);
    const id = await dockerImport(join(work, 'own.tar'), { repo: 'own:v1' });
    rmSync(join(b.root, 'images', 'blobs', 'sha256', sha(layer).slice(7)));
    const file = join(work, 'own-saved.tar');
    await docker('save', '-o', file, 'own:v1');
    const inArchive = (await exec('tar', ['-xOf', file, `blobs/sha256/${sha(layer).slice(7)}`], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout;
    assert.equal(sha(inArchive), sha(layer));
    await docker('rmi', 'own:v1');
    assert.equal((await docker('load', '-i', file)).stdout.trim(), 'Loaded image: own:v1');
    assert.equal((await inspect('own:v1')).Id, id);
  });

  it('is refused with a clear error when its files do not give its diff id', async () => {
    rmSync(join(b.root, 'images', 'blobs', 'sha256', BUSYBOX_DIFF_ID.slice(7)));
    const a = await call(b.sock, 'GET', '/images/busybox/get');
    assert.equal(a.status, 500);
    assert.match(a.json().message, new RegExp(`layer ${BUSYBOX_DIFF_ID} cannot be exported`));
    assert.ok(storeState().images.every((n) => !n.startsWith('.save')), 'no temp dir left');
    // loading the archive again brings the blob back
    await docker('load', '-i', join(work, 'busybox.tar'));
    assert.equal((await raw('GET', '/images/busybox/get')).status, 200);
  });
});

describe('hostile archives', { skip: ready }, () => {
  const config = readFileSync(join(oci, 'blobs/sha256', busybox.imageId!.slice(7)));
  const layer = readFileSync(BUSYBOX_GZIP);

  const cases: Array<[string, () => Promise<Buffer>, RegExp]> = [
    ['a manifest.json pointing at ../../etc/passwd', () => tarOf([{ name: 'manifest.json', content: JSON.stringify([{ Config: '../../etc/passwd', RepoTags: ['evil:latest'], Layers: [] }]) }]), /Config "..\/..\/etc\/passwd" points outside the archive/],
    ['a member named ../x', async () => Buffer.concat([rawMember('../x', Buffer.from('x')), rawMember('manifest.json', Buffer.from('[]')), Buffer.alloc(1024)]), /member "..\/x" points outside the archive/],
    ['a member with an absolute path', async () => Buffer.concat([rawMember('/etc/x', Buffer.from('x')), Buffer.alloc(1024)]), /member "\/etc\/x" has an absolute path/],
    [
      'a symlink out of the archive',
      () => tarOf([{ name: 'c.json', type: 'symlink', linkname: '../../../etc/passwd' }, { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:latest'], Layers: [] }]) }]),
      /the symlink "c.json" points outside the archive/,
    ],
    [
      'a config that is not the digest it is named by',
      () => tarOf([{ name: `blobs/sha256/${'0'.repeat(64)}`, content: config }, { name: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${'0'.repeat(64)}`, RepoTags: ['evil:latest'], Layers: ['l.tar'] }]) }, { name: 'l.tar', content: layer }]),
      /does not match its digest/,
    ],
    [
      'a layer that is not the diff id its config gives',
      () => {
        const bad = JSON.parse(config.toString());
        bad.rootfs.diff_ids = ['sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef'];
        return tarOf([{ name: 'c.json', content: JSON.stringify(bad) }, { name: 'l.tar', content: layer }, { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:latest'], Layers: ['l.tar'] }]) }]);
      },
      /layer 0 of image sha256:[a-f0-9]{64} unpacks to sha256:554bc60d/,
    ],
    [
      'an OCI blob that does not match its digest',
      async () => {
        const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: busybox.imageId, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'1'.repeat(64)}`, size: layer.length }] });
        const md = sha(Buffer.from(manifest));
        return tarOf([
          { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
          { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, annotations: { 'io.containerd.image.name': 'docker.io/library/evil:latest' } }] }) },
          { name: `blobs/sha256/${md.slice(7)}`, content: manifest },
          { name: `blobs/sha256/${busybox.imageId!.slice(7)}`, content: config },
          { name: `blobs/sha256/${'1'.repeat(64)}`, content: layer },
        ]);
      },
      /layer 0 of manifest sha256:[a-f0-9]{64} sha256:1{64} does not match its digest/,
    ],
    ['not an archive', async () => Buffer.from('this is not a tar archive at all, just some text\n'.repeat(30)), /invalid image archive/],
    ['an archive without a manifest', () => tarOf([{ name: 'hello.txt', content: 'hi' }]), /neither a manifest.json \(docker-archive\) nor an index.json/],
  ];

  for (const [what, make, message] of cases) {
    it(`refuses ${what}, leaving the store as it was`, async () => {
      // a fresh store state: nothing of the archive may be in it already
      const before = storeState();
      const body = await make();
      const file = join(work, 'hostile.tar');
      writeFileSync(file, body);
      const err = await fails(docker('load', '-i', file));
      assert.match(err, message);
      const a = await load(body);
      assert.equal(a.status, 400, a.text);
      assert.match(a.json().message, message);
      assert.deepEqual(storeState(), before);
      await assert.rejects(inspect('evil'));
    });
  }
});
