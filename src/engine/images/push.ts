// `docker push`: send an image as stored (its manifest, config and layer blobs unchanged, so the
// registry gives it the digest it has here) to its repository's registry. For each layer: skip it
// if the registry has it, else mount it from another repository of that registry the image (or
// another image with that layer) came from, else upload it from the content store. Then the
// config, then the manifest under the tag. Progress goes out as Docker's messages (`Preparing`,
// `Waiting`, `Pushing` with its bar, `Pushed`, `Layer already exists`, `Mounted from …`, the
// digest line and the aux result), and the pushed digest becomes a repo digest of the image.
import { join } from 'node:path';
import type { Emit } from '../../server/json-stream.ts';
import { readJson } from '../../store/atomic.ts';
import type { EngineContext } from '../context.ts';
import { InvalidArgument, NotFound, SystemError, Unauthorized } from '../errors.ts';
import { imageLabels, recordImageEvent } from '../events/image-events.ts';
import { ANNOTATION_IMAGE, ANNOTATION_NAME, ImageStore, type ImageRecord, type IndexEntry } from './image-store.ts';
import { formatPlatform, parsePlatform, type Descriptor, type ImageManifest, type Platform } from './manifest.ts';
import { progressMessage, shortId, statusMessage } from './progress.ts';
import { familiarName, familiarString, parseNormalizedReference, referenceString, repositoryName, type Reference } from './reference.ts';
import { clientFor, pushSource, registriesConfig } from './registries.ts';
import { NoBasicCredentials, type Credentials, type RegistryClient, type UploadSession } from './registry-client.ts';

/** Docker's default max-concurrent-uploads. */
const CONCURRENT_UPLOADS = 5;
const PROGRESS_INTERVAL_MS = 100;
/** Docker tries at most this many repositories to mount a layer from. */
const MAX_MOUNT_ATTEMPTS = 3;

export interface PushOptions {
  /** Push only this tag; without it, every tag of the repository (Docker's --all-tags). */
  tag?: string;
  /** `linux/arm64` or Docker's JSON form `{"os":"linux","architecture":"arm64"}` (API 1.46). */
  platform?: string;
  credentials?: Credentials;
  emit: Emit;
}

export interface PushResult {
  Tag: string;
  Digest: string;
  Size: number;
}

interface TagPlan {
  tag: string;
  /** the full name: `127.0.0.1:5000/library/busybox:latest` */
  name: string;
  image: ImageRecord;
  manifest: Descriptor;
}

/** The repository and tags of `name` + `tag` as POST /images/{name}/push takes them. */
export function pushReference(name: string, tag: string | undefined): Reference {
  const ref = parseNormalizedReference(name);
  if (ref.digest && !tag) throw new InvalidArgument('cannot push a digest reference');
  return { domain: ref.domain, path: ref.path, tag: tag || ref.tag };
}

export async function pushImage(engine: EngineContext, name: string, opts: PushOptions): Promise<PushResult[]> {
  const ref = pushReference(name, opts.tag);
  const store = new ImageStore(engine);
  await store.init();
  const plans = await planTags(engine, store, ref, opts.platform);
  const conf = await registriesConfig(engine);
  const source = pushSource(conf, ref);
  const client = await clientFor(source, opts.credentials);
  const hold = await store.holdForWrite(); // no collection removes a blob while it is being sent
  try {
    opts.emit(statusMessage(`The push refers to repository [${repositoryName(ref)}]`));
    const results: PushResult[] = [];
    for (const plan of plans) {
      try {
        results.push(await pushTag(engine, store, client, source.repository, ref, plan, opts.emit));
      } catch (err) {
        throw dockerPushError(err);
      }
    }
    return results;
  } finally {
    await hold.release();
    await client.close();
  }
}

/** What to push: one tag, or every tag of the repository; Docker's wording when there is none. */
async function planTags(engine: EngineContext, store: ImageStore, ref: Reference, platform: string | undefined): Promise<TagPlan[]> {
  const repo = repositoryName(ref);
  const images = await store.list();
  const entries = await indexEntries(engine);
  const inRepo = (n: string) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`);
  if (!images.some((i) => [...i.tags, ...i.digests].some(inRepo))) {
    throw new NotFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  }
  const tagged: Array<{ tag: string; name: string; image: ImageRecord }> = [];
  for (const image of images) {
    for (const t of image.tags) if (t.startsWith(`${repo}:`)) tagged.push({ tag: t.slice(repo.length + 1), name: t, image });
  }
  tagged.sort((a, b) => a.tag.localeCompare(b.tag));
  const wanted = ref.tag !== undefined ? tagged.filter((t) => t.tag === ref.tag) : tagged;
  if (wanted.length === 0) {
    if (ref.tag !== undefined) throw new NotFound(`tag does not exist: ${familiarString(ref)}`);
    throw new NotFound(`no tags to push for ${familiarName(ref)}`);
  }
  const want = platform ? parsePushPlatform(platform) : undefined;
  const plans: TagPlan[] = [];
  for (const t of wanted) {
    const entry = entries.find((e) => e.annotations?.[ANNOTATION_NAME] === t.name && e.annotations[ANNOTATION_IMAGE] === t.image.id);
    const manifest: Descriptor = entry ? { mediaType: entry.mediaType, digest: entry.digest, size: entry.size } : t.image.manifest;
    if (entry?.platform) manifest.platform = entry.platform;
    if (want) await checkPlatform(store, t.name, manifest, want);
    plans.push({ ...t, manifest });
  }
  return plans;
}

async function indexEntries(engine: EngineContext): Promise<IndexEntry[]> {
  const idx = await readJson<{ manifests?: IndexEntry[] }>(join(engine.paths.images, 'index.json'));
  return Array.isArray(idx?.manifests) ? idx.manifests : [];
}

/** Docker's API sends the platform as JSON (`{"os":"linux","architecture":"arm64"}`); the CLI form works too. */
export function parsePushPlatform(value: string): Platform {
  const v = value.trim();
  if (v.startsWith('{')) {
    let p: { os?: unknown; architecture?: unknown; variant?: unknown };
    try {
      p = JSON.parse(v) as typeof p;
    } catch {
      throw new InvalidArgument(`invalid platform: ${value}`);
    }
    if (typeof p.os !== 'string' || typeof p.architecture !== 'string' || !p.os || !p.architecture) throw new InvalidArgument(`invalid platform: ${value}`);
    return typeof p.variant === 'string' && p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
  }
  return parsePlatform(v);
}

async function checkPlatform(store: ImageStore, name: string, manifest: Descriptor, want: Platform): Promise<void> {
  let have = manifest.platform;
  if (!have) {
    const config = await store.readConfig((await store.readManifest(manifest.digest)).config.digest);
    if (config.os && config.architecture) have = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  }
  const norm = (p: Platform) => formatPlatform({ ...p, variant: p.architecture === 'arm64' && (!p.variant || p.variant === 'v8') ? undefined : p.variant });
  const matches = have && have.os === want.os && have.architecture === want.architecture && (!want.variant || norm(have) === norm(want));
  if (!matches) {
    throw new NotFound(`image with reference ${ImageStore.familiar(name)} was found but does not provide the specified platform (${formatPlatform(want)})`);
  }
}

/** Docker's pusher shows what went wrong without the URL wrapping (`no basic auth credentials`). */
function dockerPushError(err: unknown): unknown {
  if (err instanceof NoBasicCredentials) return new Unauthorized('no basic auth credentials');
  return err;
}

async function pushTag(engine: EngineContext, store: ImageStore, client: RegistryClient, repository: string, ref: Reference, plan: TagPlan, emit: Emit): Promise<PushResult> {
  const candidates = await mountCandidates(engine, store, ref, plan.image);
  const mounted = new Map<string, string>();
  const { manifest, descriptor } = await chooseManifest(store, client, repository, plan, candidates, mounted);

  // unique blobs, top layer first, as Docker lists them
  const layers: Descriptor[] = [];
  for (const l of [...manifest.layers].reverse()) if (!layers.some((x) => x.digest === l.digest)) layers.push(l);
  for (const l of layers) emit(statusMessage('Preparing', shortId(l.digest)));
  for (const l of layers.slice(CONCURRENT_UPLOADS)) emit(statusMessage('Waiting', shortId(l.digest)));

  let next = 0;
  const worker = async () => {
    while (next < layers.length) {
      const layer = layers[next++]!;
      const from = mounted.get(layer.digest);
      if (from) emit(statusMessage(`Mounted from ${from}`, shortId(layer.digest)));
      else await pushLayer(store, client, repository, layer, candidates(layer.digest), emit);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_UPLOADS, layers.length) }, worker));

  // the config: no progress lines, as Docker shows none
  const config = manifest.config;
  if (!mounted.has(config.digest) && !(await client.hasBlob(repository, config.digest))) {
    const bytes = await store.content.read(config.digest);
    await client.uploadBlob(repository, config.digest, bytes.length, [bytes]);
  }

  const bytes = await store.content.read(descriptor.digest);
  const digest = await client.putManifest(repository, plan.tag, descriptor.mediaType, bytes);
  if (digest !== descriptor.digest) {
    throw new SystemError(`the registry stored the manifest of ${ImageStore.familiar(plan.name)} as ${digest}, not ${descriptor.digest}`);
  }
  emit(statusMessage(`${plan.tag}: digest: ${digest} size: ${bytes.length}`));
  await store.setNames(plan.image.id, descriptor, [referenceString({ domain: ref.domain, path: ref.path, digest })]);
  await recordImageEvent(engine, 'push', familiarString({ domain: ref.domain, path: ref.path, tag: plan.tag }), familiarName(ref), imageLabels(store, plan.image.id));
  const result: PushResult = { Tag: plan.tag, Digest: digest, Size: bytes.length };
  emit({ progressDetail: {}, aux: result });
  return result;
}

/** Mounts `digest` from the first candidate repository that has it; the repository, or undefined. */
async function tryMount(client: RegistryClient, repository: string, digest: string, from: string[]): Promise<{ from?: string; session?: UploadSession }> {
  let session: UploadSession | undefined;
  for (const f of from) {
    try {
      const mount = await client.mountBlob(repository, digest, f);
      if (mount.mounted) return { from: f };
      session = mount.session; // the registry opened an upload instead: the caller may use it
    } catch {
      // a refused mount is not the push's end: the upload says what is wrong
    }
  }
  return session ? { session } : {};
}

/**
 * The tag's own manifest, unless it names a blob this store lacks (a layer first pulled in
 * another encoding is not fetched again) that the registry can neither show nor mount: then
 * another manifest of the same image whose blobs are all here. Failing that, the tag's own, and
 * the push fails on the missing blob. Blobs mounted on the way are noted in `mounted`.
 */
async function chooseManifest(
  store: ImageStore,
  client: RegistryClient,
  repository: string,
  plan: TagPlan,
  candidates: (digest: string) => string[],
  mounted: Map<string, string>,
): Promise<{ manifest: ImageManifest; descriptor: Descriptor }> {
  const own = await store.readManifest(plan.manifest.digest);
  const missing = async (m: ImageManifest) => {
    const out: string[] = [];
    for (const d of [m.config, ...m.layers]) if (!out.includes(d.digest) && !(await store.content.has(d.digest))) out.push(d.digest);
    return out;
  };
  let reachable = true;
  for (const digest of await missing(own)) {
    if (await client.hasBlob(repository, digest)) continue;
    const { from } = await tryMount(client, repository, digest, candidates(digest));
    if (from) mounted.set(digest, from);
    else reachable = false;
  }
  if (reachable) return { manifest: own, descriptor: plan.manifest };
  for (const digest of plan.image.manifests) {
    if (digest === plan.manifest.digest) continue;
    const other = await store.readManifest(digest).catch(() => undefined);
    if (!other || other.config.digest !== plan.image.id || (await missing(other)).length) continue;
    const size = (await store.content.size(digest)) ?? 0;
    return { manifest: other, descriptor: { mediaType: other.mediaType, digest, size } };
  }
  return { manifest: own, descriptor: plan.manifest };
}

/**
 * Repositories of the target registry that hold a layer, as far as this store knows: each name
 * (tag or repo digest) records the manifest pulled from or pushed to that repository. The image's
 * own names come first; paths as the registry sees them; the target repository is not one.
 */
async function mountCandidates(engine: EngineContext, store: ImageStore, ref: Reference, image: ImageRecord): Promise<(digest: string) => string[]> {
  const target = repositoryName(ref);
  const entries = (await indexEntries(engine)).filter((e) => e.annotations?.[ANNOTATION_NAME]);
  entries.sort((a, b) => Number(b.annotations[ANNOTATION_IMAGE] === image.id) - Number(a.annotations[ANNOTATION_IMAGE] === image.id));
  const layersOf = new Map<string, Set<string>>();
  const sources: Array<{ path: string; manifest: string }> = [];
  for (const e of entries) {
    let r: Reference;
    try {
      r = parseNormalizedReference(e.annotations[ANNOTATION_NAME]!);
    } catch {
      continue;
    }
    if (r.domain !== ref.domain || repositoryName(r) === target) continue;
    if (!sources.some((s) => s.path === r.path && s.manifest === e.digest)) sources.push({ path: r.path, manifest: e.digest });
    if (!layersOf.has(e.digest)) {
      const m = await store.readManifest(e.digest).catch(() => undefined);
      layersOf.set(e.digest, new Set(m?.layers.map((l) => l.digest) ?? []));
    }
  }
  return (digest) => [...new Set(sources.filter((s) => layersOf.get(s.manifest)?.has(digest)).map((s) => s.path))].slice(0, MAX_MOUNT_ATTEMPTS);
}

async function pushLayer(store: ImageStore, client: RegistryClient, repository: string, layer: Descriptor, mountFrom: string[], emit: Emit): Promise<void> {
  const id = shortId(layer.digest);
  if (await client.hasBlob(repository, layer.digest)) {
    emit(statusMessage('Layer already exists', id));
    return;
  }
  const { from, session } = await tryMount(client, repository, layer.digest, mountFrom);
  if (from) {
    emit(statusMessage(`Mounted from ${from}`, id));
    return;
  }
  const size = await store.content.size(layer.digest);
  if (size === undefined) {
    throw new SystemError(`cannot push layer ${layer.digest}: its blob is not in the local store (the image's layers were pulled in another encoding) and ${client.host}/${repository} cannot mount it`);
  }
  let last = 0;
  const progress = (sent: number) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS && sent < size) return;
    last = now;
    emit(progressMessage('Pushing', id, sent, size));
  };
  await client.uploadBlob(repository, layer.digest, size, store.content.openRead(layer.digest), { session, onProgress: progress });
  emit(statusMessage('Pushed', id));
}
