// `docker pull`: resolve the reference to registries (mirrors first), fetch and verify the
// manifest (choosing a platform from an index), the config, and each layer in one pass per blob —
// the download is hashed into the content store and unpacked into its chain-id dir at once —
// then name the image. Progress goes out as Docker's messages, so the CLI draws its usual bars.
import type { Emit } from '../../server/json-stream.ts';
import type { EngineContext } from '../context.ts';
import { InvalidArgument, NotFound, SystemError, Unauthorized } from '../errors.ts';
import { recordImageEvent } from '../events/image-events.ts';
import { chainIds } from '../storage/layers.ts';
import { ImageStore, type ImageConfig } from './image-store.ts';
import { choosePlatform, parseManifest, parsePlatform, type Descriptor, type ImageManifest, type Platform } from './manifest.ts';
import { progressMessage, shortId, statusMessage } from './progress.ts';
import { familiarName, familiarString, parseNormalizedReference, referenceString, withDefaultTag, type Reference } from './reference.ts';
import { fetchManifest, registriesConfig, verifyDigest } from './registries.ts';
import type { Credentials, RegistryClient } from './registry-client.ts';

/** Docker's default max-concurrent-downloads. */
const CONCURRENT_DOWNLOADS = 3;
const PROGRESS_INTERVAL_MS = 100;

export interface PullOptions {
  platform?: string;
  credentials?: Credentials;
  emit: Emit;
}

export interface PullResult {
  id: string;
  /** the digest the registry gave for the reference (an index's, for multi-platform images) */
  digest: string;
  /** the name set: `docker.io/library/busybox:latest` or `…@sha256:…` */
  name: string;
}

/** `fromImage` and `tag` as POST /images/create takes them: the tag may also be a digest. */
export function pullReference(fromImage: string, tag: string | undefined): Reference {
  let ref = parseNormalizedReference(fromImage);
  if (tag) {
    if (ref.tag !== undefined || ref.digest !== undefined) {
      // Docker ignores `tag` when fromImage has one already
    } else if (tag.startsWith('sha256:')) {
      ref = parseNormalizedReference(`${fromImage}@${tag}`);
    } else {
      ref = parseNormalizedReference(`${fromImage}:${tag}`);
    }
  }
  return withDefaultTag(ref);
}

export async function pullImage(engine: EngineContext, ref: Reference, opts: PullOptions): Promise<PullResult> {
  const store = new ImageStore(engine);
  await store.init();
  const conf = await registriesConfig(engine);
  const want = opts.platform ? parsePlatform(opts.platform) : undefined;
  const { client, source, fetched } = await fetchManifest(conf, ref, opts.credentials).catch((err: unknown) => Promise.reject(pullError(err)));
  const repository = source.repository;
  try {
    const name = ref.digest ? referenceString({ domain: ref.domain, path: ref.path, digest: ref.digest }) : referenceString(ref);
    let top = parseManifest(fetched.body, fetched.mediaType);
    let manifestBytes = fetched.body;
    let manifestDesc: Descriptor = { mediaType: top.mediaType, digest: fetched.digest, size: fetched.body.length };
    const hold = await store.holdForWrite();
    try {
      if (top.kind === 'index') {
        await putBytes(store, fetched.digest, fetched.body);
        const chosen = choosePlatform(top, want ?? parsePlatform(undefined));
        const child = await client.getManifest(repository, chosen.digest);
        verifyDigest(chosen.digest, child.body);
        top = parseManifest(child.body, child.mediaType);
        if (top.kind !== 'manifest') throw new InvalidArgument(`${chosen.digest}: an index inside an index is not supported`);
        manifestBytes = child.body;
        manifestDesc = { mediaType: top.mediaType, digest: chosen.digest, size: child.body.length };
        if (chosen.platform) manifestDesc.platform = chosen.platform;
      }
      const manifest = top;
      // the one item line without progressDetail, as Docker writes it
      opts.emit({ status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag });

      const config = await fetchConfig(store, client, repository, manifest);
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) {
        throw new InvalidArgument(`invalid image ${manifest.config.digest}: ${manifest.layers.length} layers but ${diffIds.length} diff ids in its config`);
      }
      manifestDesc.platform ??= configPlatform(config);
      const chains = chainIds(diffIds);
      const id = manifest.config.digest;
      const known = (await store.list()).some((i) => i.id === id);
      const complete = known && (await Promise.all(chains.map((c) => store.layers.has(c)))).every(Boolean);
      if (!complete) await fetchLayers(store, client, repository, manifest, diffIds, chains, opts.emit);
      await putBytes(store, manifestDesc.digest, manifestBytes);

      const previous = await store.lookup(name).catch(() => undefined);
      const names = [name];
      if (!ref.digest) names.push(referenceString({ domain: ref.domain, path: ref.path, digest: fetched.digest }));
      await store.setNames(id, manifestDesc, names);
      await recordImageEvent(engine, 'pull', familiarString(ref), familiarName(ref), config.config?.['Labels'] as Record<string, unknown> | undefined);
      opts.emit(statusMessage(`Digest: ${fetched.digest}`));
      const shown = ImageStore.familiar(name);
      opts.emit(statusMessage(previous?.id === id ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}`));
      return { id, digest: fetched.digest, name };
    } finally {
      await hold.release();
    }
  } finally {
    await client.close();
  }
}

/**
 * Docker answers a refused pull with 404 (`pull access denied …`) or 500 (`no basic auth
 * credentials`), never 401: on a 401 the docker CLI would start an interactive login.
 */
function pullError(err: unknown): unknown {
  if (!(err instanceof Unauthorized)) return err;
  return err.message.startsWith('pull access denied') ? new NotFound(err.message) : new SystemError(err.message);
}

async function putBytes(store: ImageStore, digest: string, bytes: Buffer): Promise<void> {
  await store.content.ingest(digest, bytes.length, { open: async () => [bytes] });
}

async function fetchConfig(store: ImageStore, client: RegistryClient, repository: string, manifest: ImageManifest): Promise<ImageConfig> {
  const d = manifest.config;
  await store.content.ingest(d.digest, d.size, { open: async () => (await client.openBlob(repository, d.digest)).body });
  return store.readConfig(d.digest);
}

function configPlatform(config: ImageConfig): Platform | undefined {
  if (!config.os || !config.architecture) return undefined;
  return config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture };
}

/** Layers, grouped by blob (a manifest may list one blob twice), `CONCURRENT_DOWNLOADS` at a time. */
async function fetchLayers(store: ImageStore, client: RegistryClient, repository: string, manifest: ImageManifest, diffIds: string[], chains: string[], emit: Emit): Promise<void> {
  const blobs = new Map<string, { desc: Descriptor; at: number[] }>();
  manifest.layers.forEach((desc, i) => {
    const b = blobs.get(desc.digest);
    if (b) b.at.push(i);
    else blobs.set(desc.digest, { desc, at: [i] });
  });
  const jobs: Array<{ desc: Descriptor; at: number[] }> = [];
  for (const b of blobs.values()) {
    const missing = [];
    for (const i of b.at) if (!(await store.layers.has(chains[i]!))) missing.push(i);
    if (missing.length === 0) emit(statusMessage('Already exists', shortId(b.desc.digest)));
    else jobs.push({ desc: b.desc, at: missing });
  }
  for (const j of jobs) emit(statusMessage('Pulling fs layer', shortId(j.desc.digest)));
  for (const j of jobs.slice(CONCURRENT_DOWNLOADS)) emit(statusMessage('Waiting', shortId(j.desc.digest)));

  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++]!;
      await fetchLayer(store, client, repository, j.desc, j.at.map((i) => ({ chain: chains[i]!, diffId: diffIds[i]!, parent: chains[i - 1] })), emit);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_DOWNLOADS, jobs.length) }, worker));
}

interface LayerTarget {
  chain: string;
  diffId: string;
  parent: string | undefined;
}

/** Blobs being fetched by a pull of this process: a second pull wanting one waits for it. */
const downloading = new Map<string, Promise<void>>();

async function fetchLayer(store: ImageStore, client: RegistryClient, repository: string, desc: Descriptor, targets: LayerTarget[], emit: Emit): Promise<void> {
  // each layer unpacks on a worker thread, beside the download (src/engine/storage/unpack-worker.ts)
  const worker = await import('../storage/unpack-worker.ts');
  const id = shortId(desc.digest);
  const total = desc.size;
  for (let other = downloading.get(desc.digest); other; other = downloading.get(desc.digest)) await other.catch(() => undefined);
  let finished!: () => void;
  downloading.set(desc.digest, new Promise<void>((r) => (finished = r)));
  try {
    let todo = targets;
    if (await store.content.has(desc.digest)) {
      emit(statusMessage('Download complete', id));
    } else {
      await downloadAndUnpack(store, client, repository, desc, targets[0]!, emit, worker);
      emit(statusMessage('Verifying Checksum', id));
      emit(statusMessage('Download complete', id));
      todo = targets.slice(1);
    }
    // from the stored blob: a layer whose blob was here already, or the same blob at another depth
    for (const t of todo) await store.layers.create(t.chain, t.diffId, t.parent, (dir) => worker.unpackLayerInWorker({ file: store.content.blobPath(desc.digest) }, dir));
    emit(progressMessage('Extracting', id, total, total));
    emit(statusMessage('Pull complete', id));
  } finally {
    downloading.delete(desc.digest);
    finished();
  }
}

/**
 * One pass: the download feeds the content store (digest check) and the unpacker (diff id check).
 * Its bytes are copied once, into 1 MiB buffers the store writes and hashes, and that then move to
 * the unpack worker (the store is done with a buffer when it asks for the next).
 */
async function downloadAndUnpack(
  store: ImageStore,
  client: RegistryClient,
  repository: string,
  desc: Descriptor,
  target: LayerTarget,
  emit: Emit,
  worker: typeof import('../storage/unpack-worker.ts'),
): Promise<void> {
  const id = shortId(desc.digest);
  const { body } = await client.openBlob(repository, desc.digest);
  const feed = new worker.UnpackFeed();
  let last = 0;
  const progress = (bytes: number) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS && bytes < desc.size) return;
    last = now;
    emit(progressMessage('Downloading', id, bytes, desc.size));
  };
  let opened = false;
  const chunks = () => {
    opened = true;
    return storedThenUnpacked(body, feed);
  };
  const stored = store.content.ingest(desc.digest, desc.size, { open: async () => chunks(), onProgress: progress }).then(async () => {
    // another process had stored the blob: the unpacker still wants the bytes
    if (!opened) for await (const _ of chunks());
  });
  // another process may have made the layer first: then the feed throws away what it gets
  const unpacked = store.layers.create(target.chain, target.diffId, target.parent, (dir) => worker.unpackLayerInWorker(feed, dir)).finally(() => feed.drop());
  // either failing stops the other; wait for both so no temp file is left being written
  const guard = (p: Promise<unknown>) => p.catch((err: Error) => (body.destroy(err), Promise.reject(err)));
  const results = await Promise.allSettled([guard(stored), guard(unpacked)]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** `source` in 1 MiB buffers: each is yielded (to the store), then pushed to the unpack feed. */
async function* storedThenUnpacked(source: AsyncIterable<Buffer>, feed: import('../storage/unpack-worker.ts').UnpackFeed): AsyncGenerator<Buffer, void, undefined> {
  let buf = feed.buffer();
  let n = 0;
  let ended = false;
  try {
    for await (const chunk of source) {
      let off = 0;
      while (off < chunk.length) {
        const k = Math.min(buf.length - n, chunk.length - off);
        buf.set(chunk.subarray(off, off + k), n);
        n += k;
        off += k;
        if (n === buf.length) {
          yield Buffer.from(buf.buffer, 0, n);
          await feed.push(buf, n);
          buf = feed.buffer();
          n = 0;
        }
      }
    }
    if (n > 0) {
      yield Buffer.from(buf.buffer, 0, n);
      await feed.push(buf, n);
    }
    ended = true;
    feed.end();
  } catch (err) {
    feed.fail(err);
    throw err;
  } finally {
    // the store stopped reading (it found the blob wrong): the unpack stops too
    if (!ended) feed.fail(new SystemError('the layer download stopped'));
  }
}
