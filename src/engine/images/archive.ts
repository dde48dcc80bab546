// Image archives: `docker save` and `docker load`.
//
// Save writes what Docker 25+ writes: an OCI image layout (`oci-layout`, `index.json` naming each
// tag with containerd's and OCI's annotations, `blobs/sha256/…`) plus the docker-archive files
// older loaders read (`manifest.json`, `repositories`). Layers go out as the stored blobs
// (compressed as pulled: loaders detect compression), or, for a layer whose blob the store lacks,
// as a tar made from its unpacked dir, which must give the layer's diff id. Everything is
// resolved before the first byte, so a missing image is an ordinary 404.
//
// Load takes an archive from an untrusted source: Docker's and skopeo's docker-archive, Docker
// 25+'s (OCI layout inside), or a plain OCI archive, gzip or zstd compressed or not. Its members
// are read into a temp dir under the store, as numbered files: archive paths never reach the
// filesystem, and every path the archive's own files name (manifest.json entries, symlinks,
// hardlinks) is resolved in memory, confined to the archive. Every config is checked against its
// digest, every layer unpacks to the diff id its config gives, and every blob named by digest
// matches it; all of it is parsed and hashed before anything enters the store.
import { createHash } from 'node:crypto';
import { closeSync, constants as fsc, createReadStream, openSync, promises as fs, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Emit } from '../../server/json-stream.ts';
import { tempPathFor } from '../../store/atomic.ts';
import type { EngineContext } from '../context.ts';
import { InvalidArgument, NotFound, SystemError } from '../errors.ts';
import { imageLabels, recordImageEvent } from '../events/image-events.ts';
import { decompress, detectCompression } from '../storage/decompress.ts';
import { layerTar, tarHeader, tarPadding, TAR_END, T_DIR, T_REG } from '../storage/layer-tar.ts';
import { chainIds } from '../storage/layers.ts';
import { TarReader, unpackLayer, T_DIR as R_DIR, T_LINK as R_LINK, T_REG as R_REG, T_SYMLINK as R_SYMLINK, type TarEntry, type TarHandler } from '../storage/unpack.ts';
import { goArch } from '../system/host.ts';
import { ImageStore, type ImageConfig, type ImageRecord } from './image-store.ts';
import { choosePlatform, formatPlatform, MediaType, parseManifest, type Descriptor, type ImageManifest, type Platform } from './manifest.ts';
import { progressMessage } from './progress.ts';
import { familiarName, familiarString, isSha256Digest, parseNormalizedReference, referenceString, withDefaultTag, type Reference } from './reference.ts';

export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
/** containerd's annotation for an image's full name, which Docker 25+ writes in saved archives. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

const hex = (digest: string) => digest.slice('sha256:'.length);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The layer media type for what a blob starts with. */
export function layerMediaType(head: Uint8Array): string {
  switch (detectCompression(head)) {
    case 'gzip':
      return OCI_LAYER_GZIP;
    case 'zstd':
      return OCI_LAYER_ZSTD;
    case 'none':
      return OCI_LAYER;
    default:
      throw new InvalidArgument(`unsupported layer compression ${detectCompression(head)}: berth reads gzip, zstd and plain tar layers`);
  }
}

/** An OCI image manifest for a config and its layers, as berth writes one when it makes an image. */
export function ociManifest(config: Descriptor, layers: Descriptor[]): { bytes: Buffer; desc: Descriptor } {
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, desc: { mediaType: MediaType.ociManifest, digest: sha256(bytes), size: bytes.length } };
}

export function configPlatform(config: ImageConfig): Platform | undefined {
  if (!config.os || !config.architecture) return undefined;
  return config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture };
}

/** The `platform` query of save and load: a JSON OCI platform (`{"os":"linux","architecture":"arm64"}`). */
export function parsePlatformJson(text: string | undefined): Platform | undefined {
  if (!text) return undefined;
  let p: { os?: unknown; architecture?: unknown; variant?: unknown };
  try {
    p = JSON.parse(text) as typeof p;
  } catch {
    throw new InvalidArgument(`invalid platform ${JSON.stringify(text)}: not a JSON OCI platform`);
  }
  if (!p || typeof p !== 'object' || typeof p.os !== 'string' || typeof p.architecture !== 'string' || (p.variant !== undefined && typeof p.variant !== 'string')) {
    throw new InvalidArgument(`invalid platform ${JSON.stringify(text)}: os and architecture are required`);
  }
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

function platformMatches(want: Platform, config: ImageConfig): boolean {
  if ((config.os ?? 'linux') !== want.os || (config.architecture ?? goArch()) !== want.architecture) return false;
  return !want.variant || (config.variant ?? (config.architecture === 'arm64' ? 'v8' : '')) === want.variant;
}

// =============================================================================================
// Save

export interface ImageArchive extends AsyncIterable<Buffer> {
  /** Ends the archive early and frees what it holds (the iterator's return() does the same). */
  close(): Promise<void>;
  /** The archive as a byte stream; destroying it closes the archive. */
  stream(): Readable;
}

interface SaveItem {
  rec: ImageRecord;
  /** full tag names to save with it */
  tags: string[];
}

interface ArchiveFile {
  size: number;
  open(): AsyncIterable<Buffer>;
}

/**
 * `GET /images/get`: resolves `names` as Docker does (a repository alone means all its tags; an
 * id or `name@digest` saves the image without a tag), prepares every member, and returns the
 * archive to stream. Throws NotFound for a missing image before any byte exists.
 */
export async function saveImages(engine: EngineContext, names: string[], opts: { platform?: Platform } = {}): Promise<ImageArchive> {
  const store = new ImageStore(engine);
  await store.init();
  // held until the archive is written: a collection must not remove a blob being sent
  const hold = await store.holdForWrite();
  let scratch: string | undefined;
  const cleanup = async () => {
    try {
      if (scratch) await fs.rm(scratch, { recursive: true, force: true });
    } finally {
      await hold.release();
    }
  };
  try {
    const items = await resolveSaveNames(store, names);
    const blobs = new Map<string, ArchiveFile>();
    const manifestJson: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
    const repositories: Record<string, Record<string, string>> = {};
    const indexEntries: Descriptor[] = [];
    const storedBlob = async (digest: string): Promise<ArchiveFile> => {
      const size = await store.content.size(digest);
      if (size === undefined) throw new SystemError(`blob ${digest} is missing from the image store`);
      return { size, open: () => store.content.openRead(digest) };
    };

    for (const item of items) {
      const { rec } = item;
      const configBytes = await store.content.read(rec.id);
      const config = JSON.parse(configBytes.toString()) as ImageConfig;
      if (opts.platform && !platformMatches(opts.platform, config)) {
        throw new NotFound(`no suitable export target found for platform ${formatPlatform(opts.platform)}`);
      }
      const diffIds = config.rootfs?.diff_ids ?? [];
      const chains = chainIds(diffIds);
      // the manifest last named for it, else any other of its manifests that is readable
      let stored: ImageManifest | undefined;
      let storedDesc = rec.manifest;
      for (const digest of [rec.manifest.digest, ...rec.manifests.filter((d) => d !== rec.manifest.digest)]) {
        const m = await store.readManifest(digest).catch(() => undefined);
        if (m && m.config.digest === rec.id) {
          stored = m;
          if (digest !== rec.manifest.digest) storedDesc = { mediaType: m.mediaType, digest, size: (await store.content.size(digest)) ?? 0 };
          break;
        }
      }
      const layers: Descriptor[] = [];
      // OCI tools read only OCI manifests from a layout (skopeo skips Docker schema2 entries):
      // a stored OCI manifest goes as it is, anything else is written anew in OCI form
      let asStored = stored !== undefined && stored.mediaType === MediaType.ociManifest && stored.config.digest === rec.id && stored.layers.length === diffIds.length;
      for (let i = 0; i < diffIds.length; i++) {
        const d = stored?.layers[i];
        if (d && isSha256Digest(d.digest) && (await store.content.has(d.digest))) {
          if (!blobs.has(d.digest)) blobs.set(d.digest, await storedBlob(d.digest));
          const mediaType = d.mediaType.startsWith('application/vnd.oci.image.layer.') ? d.mediaType : layerMediaType(await blobHead(store, d.digest));
          layers.push({ mediaType, digest: d.digest, size: blobs.get(d.digest)!.size });
          continue;
        }
        // no blob: a tar of the unpacked layer, which must be the layer the config names
        asStored = false;
        const diffId = diffIds[i]!;
        if (!blobs.has(diffId)) {
          if (!scratch) {
            scratch = tempPathFor(join(engine.paths.images, 'save'));
            await fs.mkdir(scratch, { mode: 0o700 });
          }
          blobs.set(diffId, await layerTarFile(store, chains[i]!, diffId, join(scratch, hex(diffId))));
        }
        layers.push({ mediaType: OCI_LAYER, digest: diffId, size: blobs.get(diffId)!.size });
      }
      blobs.set(rec.id, bytesFile(configBytes));

      let manifestDesc: Descriptor;
      if (asStored) {
        manifestDesc = { mediaType: MediaType.ociManifest, digest: storedDesc.digest, size: storedDesc.size };
        blobs.set(storedDesc.digest, await storedBlob(storedDesc.digest));
      } else {
        const m = ociManifest({ mediaType: OCI_CONFIG, digest: rec.id, size: configBytes.length }, layers);
        manifestDesc = m.desc;
        blobs.set(m.desc.digest, bytesFile(m.bytes));
      }

      const repoTags: string[] = [];
      for (const full of item.tags) {
        const ref = parseNormalizedReference(full);
        repoTags.push(familiarString(ref));
        const repo = familiarName(ref);
        if (diffIds.length) (repositories[repo] ??= {})[ref.tag!] = hex(diffIds[diffIds.length - 1]!);
        indexEntries.push({ ...manifestDesc, annotations: { [ANNOTATION_IMAGE_NAME]: full, [ANNOTATION_REF_NAME]: ref.tag! } });
      }
      if (item.tags.length === 0) indexEntries.push(manifestDesc);
      manifestJson.push({ Config: `blobs/sha256/${hex(rec.id)}`, RepoTags: repoTags.length ? repoTags : null, Layers: layers.map((l) => `blobs/sha256/${hex(l.digest)}`) });
    }

    const files = new Map<string, ArchiveFile>();
    for (const d of [...blobs.keys()].sort()) files.set(`blobs/sha256/${hex(d)}`, blobs.get(d)!);
    files.set('index.json', bytesFile(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries }))));
    files.set('manifest.json', bytesFile(Buffer.from(`${JSON.stringify(manifestJson)}\n`)));
    files.set('oci-layout', bytesFile(Buffer.from('{"imageLayoutVersion": "1.0.0"}')));
    if (Object.keys(repositories).length) files.set('repositories', bytesFile(Buffer.from(`${JSON.stringify(repositories)}\n`)));
    for (const { rec } of items) await recordImageEvent(engine, 'save', rec.id, rec.id, imageLabels(store, rec.id));
    return closableArchive(() => writeArchive(files), cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The first bytes of a stored blob, to tell its compression. */
async function blobHead(store: ImageStore, digest: string): Promise<Buffer> {
  const fh = await fs.open(store.content.blobPath(digest), 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function bytesFile(bytes: Buffer): ArchiveFile {
  return {
    size: bytes.length,
    async *open() {
      yield bytes;
    },
  };
}

/** Docker's rules for which images and tags `docker save NAME…` takes. */
async function resolveSaveNames(store: ImageStore, names: string[]): Promise<SaveItem[]> {
  const images = await store.list();
  const items = new Map<string, SaveItem>();
  const add = (rec: ImageRecord, tag?: string) => {
    let item = items.get(rec.id);
    if (!item) items.set(rec.id, (item = { rec, tags: [] }));
    if (tag && !item.tags.includes(tag)) item.tags.push(tag);
  };
  for (const name of names) {
    if (/^(sha256:)?[a-f0-9]{64}$/.test(name)) {
      add(await store.find(name));
      continue;
    }
    let ref: Reference | undefined;
    try {
      ref = parseNormalizedReference(name);
    } catch (err) {
      if (!/^(sha256:)?[a-f0-9]+$/.test(name)) throw err;
    }
    if (!ref || ref.digest) {
      add(await store.find(name));
      continue;
    }
    if (ref.tag === undefined) {
      // a repository: every tag it has
      const repo = referenceString({ domain: ref.domain, path: ref.path });
      let found = false;
      for (const rec of images) {
        for (const t of rec.tags) {
          if (t.startsWith(`${repo}:`) && !t.slice(repo.length + 1).includes('/')) {
            add(rec, t);
            found = true;
          }
        }
      }
      if (!found) add(await store.find(name)); // an id prefix, or Docker's "No such image"
      continue;
    }
    const full = referenceString(withDefaultTag(ref));
    const rec = images.find((i) => i.tags.includes(full));
    if (!rec) throw new NotFound(`No such image: ${familiarString(ref)}`);
    add(rec, full);
  }
  return [...items.values()];
}

/** A tar of an unpacked layer into `path`; its digest must be the layer's diff id. */
async function layerTarFile(store: ImageStore, chainId: string, diffId: string, path: string): Promise<ArchiveFile> {
  if (!(await store.layers.has(chainId))) throw new SystemError(`layer ${diffId} is missing from the image store`);
  const fh = await fs.open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of layerTar(store.layers.diffDir(chainId))) {
      hash.update(chunk);
      size += chunk.length;
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== diffId) {
    throw new SystemError(`layer ${diffId} cannot be exported: its blob is not in the store, and a tar of its files gives ${got} (files cannot always be put back into the exact tar they came from)`);
  }
  return { size, open: () => createReadStream(path) };
}

async function* writeArchive(files: Map<string, ArchiveFile>): AsyncGenerator<Buffer, void, undefined> {
  const dir = (name: string) => tarHeader({ name, type: T_DIR, mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  yield Buffer.concat([dir('blobs/'), dir('blobs/sha256/')]);
  for (const [name, f] of files) {
    yield tarHeader({ name, type: T_REG, mode: 0o644, uid: 0, gid: 0, size: f.size, mtime: 0 });
    let sent = 0;
    for await (const chunk of f.open()) {
      const c = chunk as Buffer;
      if (sent + c.length > f.size) throw new SystemError(`${name} grew while being saved`);
      sent += c.length;
      yield c;
    }
    if (sent !== f.size) throw new SystemError(`${name} shrank while being saved`);
    const pad = tarPadding(f.size);
    if (pad.length) yield pad;
  }
  yield TAR_END;
}

/**
 * An iterable whose cleanup runs however it ends: read to the end, failed, returned early, or
 * never read at all and closed (a generator that never started would skip its finally).
 */
function closableArchive(make: () => AsyncGenerator<Buffer, void, undefined>, cleanup: () => Promise<void>): ImageArchive {
  let gen: AsyncGenerator<Buffer, void, undefined> | undefined;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      try {
        await gen?.return(undefined);
      } finally {
        await cleanup();
      }
    })());
  const iterator: AsyncIterator<Buffer> = {
    async next() {
      if (closed) return { done: true, value: undefined };
      gen ??= make();
      try {
        const r = await gen.next();
        if (r.done) await close();
        return r;
      } catch (err) {
        await close();
        throw err;
      }
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
  };
  const archive: ImageArchive = {
    [Symbol.asyncIterator]: () => iterator,
    close,
    stream: () => Readable.from(archive, { objectMode: false }),
  };
  return archive;
}

// =============================================================================================
// Load

export interface LoadOptions {
  /** Without quiet, a `Loading layer` progress bar per layer unpacked, as Docker draws them. */
  quiet?: boolean;
  /** Only images of this platform (and of an index, this platform's manifest). */
  platform?: Platform;
  emit: Emit;
}

export interface LoadedImage {
  id: string;
  /** full names given to it */
  names: string[];
}

interface PlannedLayer {
  file: ArchFile;
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
}

interface PlannedImage {
  id: string;
  configBytes: Buffer;
  layers: PlannedLayer[];
  manifest: { bytes: Buffer; desc: Descriptor };
  names: string[];
}

interface ArchFile {
  kind: 'file';
  path: string;
  size: number;
  digest?: string;
  head?: Buffer;
}

type ArchEntry = ArchFile | { kind: 'dir' } | { kind: 'symlink'; target: string };

const LOAD_PROGRESS_MS = 100;

/** `POST /images/load`: reads the whole archive, checks it, then stores and names each image. */
export async function loadImages(engine: EngineContext, input: AsyncIterable<Buffer> | undefined, opts: LoadOptions): Promise<LoadedImage[]> {
  const store = new ImageStore(engine);
  await store.init();
  const tmp = tempPathFor(join(engine.paths.images, 'load'));
  await fs.mkdir(tmp, { mode: 0o700 });
  let stored = false;
  try {
    if (!input || typeof (input as Partial<AsyncIterable<Buffer>>)[Symbol.asyncIterator] !== 'function') {
      throw new InvalidArgument('invalid image archive: the request has no tar body');
    }
    const archive = await readArchive(drainOnReturn(input), tmp);
    const plans = await planImages(archive, opts.platform);
    const hold = await store.holdForWrite();
    try {
      const loaded: LoadedImage[] = [];
      for (const plan of plans) {
        stored = true;
        loaded.push(await commitImage(store, plan, opts));
        await recordImageEvent(engine, 'load', plan.id, plan.id, imageLabels(store, plan.id));
      }
      return loaded;
    } finally {
      await hold.release();
    }
  } catch (err) {
    // what a failed load stored and nothing names goes now, when no other writer is busy
    if (stored) await store.collect({ wait: false }).catch(() => undefined);
    throw err;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

class Archive {
  readonly entries = new Map<string, ArchEntry>();
  constructor(readonly dir: string) {}

  /** The file at `path` (a path the archive itself gave), following symlinks inside the archive. */
  file(path: unknown, what: string): ArchFile {
    if (typeof path !== 'string' || path === '') throw new InvalidArgument(`invalid image archive: ${what} is not a path`);
    const shown = JSON.stringify(path);
    const p = Buffer.from(path).toString('latin1');
    if (p.startsWith('/') || p.split('/').includes('..') || p.includes('\0')) throw new InvalidArgument(`invalid image archive: ${what} ${shown} points outside the archive`);
    let parts = p.split('/').filter((c) => c !== '' && c !== '.');
    let done: string[] = [];
    let hops = 0;
    for (let i = 0; i < parts.length; ) {
      const cur = [...done, parts[i]!].join('/');
      const e = this.entries.get(cur);
      if (e?.kind === 'symlink') {
        if (++hops > 40) throw new InvalidArgument(`invalid image archive: ${what} ${shown}: too many levels of symbolic links`);
        const target = e.target.startsWith('/') ? confine([], e.target) : confine(done, e.target);
        if (target === undefined) throw new InvalidArgument(`invalid image archive: ${what} ${shown}: the symlink ${JSON.stringify(Buffer.from(cur, 'latin1').toString())} points outside the archive`);
        parts = [...target, ...parts.slice(i + 1)];
        done = [];
        i = 0;
        continue;
      }
      done.push(parts[i]!);
      i++;
    }
    const e = this.entries.get(done.join('/'));
    if (e?.kind !== 'file') throw new InvalidArgument(`invalid image archive: ${what} ${shown} is not in the archive`);
    return e;
  }

  has(path: string): boolean {
    try {
      this.file(path, path);
      return true;
    } catch {
      return false;
    }
  }

  /** The blob of a digest, in the OCI layout's place for it. */
  blob(digest: unknown, what: string): ArchFile {
    if (typeof digest !== 'string' || !isSha256Digest(digest)) throw new InvalidArgument(`invalid image archive: ${what} has an unsupported digest ${JSON.stringify(digest)}`);
    return this.file(`blobs/sha256/${hex(digest)}`, what);
  }
}

/** `base` joined with a symlink target, `..` included; undefined when it climbs out of the root. */
function confine(base: string[], target: string): string[] | undefined {
  const out = [...base];
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(c);
  }
  return out;
}

const showName = (name: string) => JSON.stringify(Buffer.from(name, 'latin1').toString());

/** The archive's members: regular files into numbered files in `dir`, the rest in memory. */
class ArchiveExtractor implements TarHandler {
  private fd = -1;
  private n = 0;
  private cur: ArchFile | undefined;
  constructor(private readonly archive: Archive) {}

  entry(e: TarEntry): boolean {
    const name = e.name;
    if (name.includes('\0')) throw new InvalidArgument(`invalid image archive: a NUL in the member name ${showName(name)}`);
    if (name.startsWith('/')) throw new InvalidArgument(`invalid image archive: member ${showName(name)} has an absolute path`);
    const parts = name.split('/').filter((c) => c !== '' && c !== '.');
    if (parts.includes('..')) throw new InvalidArgument(`invalid image archive: member ${showName(name)} points outside the archive`);
    const rel = parts.join('/');
    if (rel === '') return false;
    switch (e.type) {
      case R_DIR:
        this.archive.entries.set(rel, { kind: 'dir' });
        return false;
      case R_SYMLINK:
        this.archive.entries.set(rel, { kind: 'symlink', target: e.linkname });
        return false;
      case R_LINK: {
        const target = confine([], e.linkname);
        const t = target && !e.linkname.startsWith('/') ? this.archive.entries.get(target.join('/')) : undefined;
        if (t?.kind !== 'file') throw new InvalidArgument(`invalid image archive: hardlink ${showName(name)} -> ${showName(e.linkname)} does not name an earlier file of the archive`);
        this.archive.entries.set(rel, t);
        return false;
      }
      case R_REG: {
        if (e.sparse) throw new InvalidArgument(`invalid image archive: member ${showName(name)} is a sparse file`);
        const path = join(this.archive.dir, `m${this.n++}`);
        this.fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        this.cur = { kind: 'file', path, size: e.size };
        this.archive.entries.set(rel, this.cur);
        return true;
      }
      default:
        return false; // devices, FIFOs: nothing an image archive holds
    }
  }

  data(buf: Buffer, off: number, len: number): void {
    while (len > 0) {
      const n = writeSync(this.fd, buf, off, len);
      off += n;
      len -= n;
    }
  }

  end(): void {
    closeSync(this.fd);
    this.fd = -1;
    this.cur = undefined;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The input, except that stopping early reads the rest and drops it: a request body destroyed
 * mid-upload resets the client's connection before it can read the error answer.
 */
function drainOnReturn(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let finished = false;
  const self: AsyncIterableIterator<Buffer> = {
    [Symbol.asyncIterator]: () => self,
    async next() {
      if (finished) return { done: true, value: undefined };
      const r = await it.next();
      if (r.done) finished = true;
      return r;
    },
    async return() {
      if (!finished) {
        finished = true;
        try {
          while (!(await it.next()).done);
        } catch {
          // the upload failed too: nothing left to drain
        }
      }
      return { done: true, value: undefined };
    },
  };
  return self;
}

async function readArchive(input: AsyncIterable<Buffer>, dir: string): Promise<Archive> {
  const archive = new Archive(dir);
  const extractor = new ArchiveExtractor(archive);
  const reader = new TarReader(extractor);
  let bytes = 0;
  try {
    for await (const chunk of decompress(input)) {
      bytes += chunk.length;
      reader.write(chunk);
    }
    if (bytes === 0) throw new InvalidArgument('invalid image archive: the request body is empty');
    reader.end();
  } catch (err) {
    if (err instanceof InvalidArgument && err.message.startsWith('invalid layer tar')) {
      throw new InvalidArgument(err.message.replace('invalid layer tar', 'invalid image archive'), { cause: err });
    }
    throw err;
  } finally {
    extractor.close();
  }
  return archive;
}

function readJsonFile<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new InvalidArgument(`invalid image archive: ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

const MAX_JSON = 64 << 20;

async function readSmall(f: ArchFile, what: string): Promise<Buffer> {
  if (f.size > MAX_JSON) throw new InvalidArgument(`invalid image archive: ${what} is too big (${f.size} bytes)`);
  return fs.readFile(f.path);
}

/** sha256 and the first bytes of a member, computed once. */
async function hashFile(f: ArchFile): Promise<{ digest: string; head: Buffer }> {
  if (f.digest && f.head) return { digest: f.digest, head: f.head };
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headLen = 0;
  for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    if (headLen < 4) {
      head.push(chunk.subarray(0, 4));
      headLen += Math.min(4, chunk.length);
    }
  }
  f.digest = `sha256:${hash.digest('hex')}`;
  f.head = Buffer.concat(head).subarray(0, 4);
  return { digest: f.digest, head: f.head };
}

/** A blob named by digest: its bytes must hash to it (and be `size` long when a descriptor says so). */
async function verifiedBlob(archive: Archive, d: Descriptor, what: string): Promise<ArchFile> {
  const f = archive.blob(d.digest, what);
  if (typeof d.size === 'number' && d.size !== f.size) throw new InvalidArgument(`invalid image archive: ${what} ${d.digest} has ${f.size} bytes, its descriptor says ${d.size}`);
  const { digest } = await hashFile(f);
  if (digest !== d.digest) throw new InvalidArgument(`invalid image archive: ${what} ${d.digest} does not match its digest (its content hashes to ${digest})`);
  return f;
}

function parseConfig(bytes: Buffer, what: string): { config: ImageConfig; diffIds: string[] } {
  const config = readJsonFile<ImageConfig>(bytes, what);
  if (!config || typeof config !== 'object') throw new InvalidArgument(`invalid image archive: ${what} is not an image config`);
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && isSha256Digest(d))) {
    throw new InvalidArgument(`invalid image archive: ${what} has no valid rootfs.diff_ids`);
  }
  if (config.os && config.os !== 'linux') throw new InvalidArgument(`cannot load ${config.os} image on linux`);
  return { config, diffIds };
}

function loadName(tag: unknown): string {
  if (typeof tag !== 'string') throw new InvalidArgument(`invalid tag ${JSON.stringify(tag)}`);
  const ref = parseNormalizedReference(tag);
  if (ref.digest !== undefined || ref.tag === undefined) throw new InvalidArgument(`invalid tag ${JSON.stringify(tag)}`);
  return referenceString(ref);
}

/** Everything checked and hashed; nothing stored yet. */
async function planImages(archive: Archive, platform: Platform | undefined): Promise<PlannedImage[]> {
  const plans = archive.has('manifest.json') ? await planDockerArchive(archive, platform) : archive.has('index.json') ? await planOciArchive(archive, platform) : undefined;
  if (!plans) throw new InvalidArgument('invalid image archive: it contains neither a manifest.json (docker-archive) nor an index.json (OCI layout)');
  // one plan per image: names merged
  const byId = new Map<string, PlannedImage>();
  for (const p of plans) {
    const seen = byId.get(p.id);
    if (!seen) byId.set(p.id, p);
    else for (const n of p.names) if (!seen.names.includes(n)) seen.names.push(n);
  }
  return [...byId.values()];
}

interface ManifestItem {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

async function planDockerArchive(archive: Archive, platform: Platform | undefined): Promise<PlannedImage[]> {
  const items = readJsonFile<ManifestItem[] | null>(await readSmall(archive.file('manifest.json', 'manifest.json'), 'manifest.json'), 'manifest.json');
  if (items === null) throw new InvalidArgument('invalid manifest, manifest cannot be null (but can be [])');
  if (!Array.isArray(items)) throw new InvalidArgument('invalid image archive: manifest.json is not a list');
  const ociManifests = await ociManifestsByConfig(archive);
  const plans: PlannedImage[] = [];
  for (const [n, item] of items.entries()) {
    const what = `manifest.json entry ${n}`;
    if (!item || typeof item !== 'object') throw new InvalidArgument(`invalid image archive: ${what} is not an object`);
    const configFile = archive.file(item.Config, `${what}: Config`);
    const configBytes = await readSmall(configFile, `config ${JSON.stringify(item.Config)}`);
    const id = sha256(configBytes);
    // a config named by its digest (blobs/sha256/<hex>, or <hex>.json as older Docker and skopeo write) must match it
    const named = /(?:^|\/)(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(item.Config as string);
    if (named && named[1] !== hex(id)) throw new InvalidArgument(`invalid image archive: config ${JSON.stringify(item.Config)} does not match its digest (its content hashes to ${id})`);
    const { config, diffIds } = parseConfig(configBytes, `config ${JSON.stringify(item.Config)}`);
    if (!Array.isArray(item.Layers)) throw new InvalidArgument(`invalid image archive: ${what} has no Layers list`);
    if (item.Layers.length !== diffIds.length) throw new InvalidArgument(`invalid manifest, layers length mismatch: expected ${item.Layers.length}, got ${diffIds.length}`);
    const tags = item.RepoTags === null || item.RepoTags === undefined ? [] : item.RepoTags;
    if (!Array.isArray(tags)) throw new InvalidArgument(`invalid image archive: ${what} has a RepoTags that is not a list`);
    const names = tags.map(loadName);
    const layers: PlannedLayer[] = [];
    for (const [i, path] of item.Layers.entries()) {
      const file = archive.file(path, `${what}: layer ${i}`);
      const { digest, head } = await hashFile(file);
      const claimed = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path as string);
      if (claimed && claimed[1] !== hex(digest)) throw new InvalidArgument(`invalid image archive: layer ${JSON.stringify(path)} does not match its digest (its content hashes to ${digest})`);
      layers.push({ file, digest, size: file.size, mediaType: layerMediaType(head), diffId: diffIds[i]! });
    }
    if (platform && !platformMatches(platform, config)) continue;
    // the archive's own OCI manifest for this image, when it has one for these very blobs
    let manifest = ociManifests.get(id)?.find((m) => m.layers.length === layers.length && m.layers.every((l, i) => l.digest === layers[i]!.digest));
    if (manifest) {
      for (const [i, l] of manifest.layers.entries()) layers[i]!.mediaType = l.mediaType;
    } else {
      const made = ociManifest({ mediaType: OCI_CONFIG, digest: id, size: configBytes.length }, layers);
      manifest = { ...made, layers: [] };
    }
    const desc: Descriptor = { mediaType: manifest.desc.mediaType, digest: manifest.desc.digest, size: manifest.desc.size };
    const p = configPlatform(config);
    if (p) desc.platform = p;
    plans.push({ id, configBytes, layers, manifest: { bytes: manifest.bytes, desc }, names });
  }
  return plans;
}

interface FoundManifest {
  bytes: Buffer;
  desc: Descriptor;
  layers: Descriptor[];
}

/** The image manifests an OCI layout in a docker-archive holds, by config digest (unreadable ones skipped). */
async function ociManifestsByConfig(archive: Archive): Promise<Map<string, FoundManifest[]>> {
  const out = new Map<string, FoundManifest[]>();
  if (!archive.has('index.json')) return out;
  try {
    const index = readJsonFile<{ manifests?: Descriptor[] }>(await readSmall(archive.file('index.json', 'index.json'), 'index.json'), 'index.json');
    for (const d of index.manifests ?? []) {
      try {
        const f = await verifiedBlob(archive, d, 'manifest');
        const bytes = await readSmall(f, 'manifest');
        const m = parseManifest(bytes, d.mediaType);
        if (m.kind !== 'manifest') continue;
        const list = out.get(m.config.digest) ?? [];
        list.push({ bytes, desc: { mediaType: m.mediaType, digest: d.digest, size: bytes.length }, layers: m.layers });
        out.set(m.config.digest, list);
      } catch {
        // manifest.json is what this loader goes by; a manifest it cannot use is made anew
      }
    }
  } catch {
    // likewise
  }
  return out;
}

async function planOciArchive(archive: Archive, platform: Platform | undefined): Promise<PlannedImage[]> {
  const index = readJsonFile<{ manifests?: unknown }>(await readSmall(archive.file('index.json', 'index.json'), 'index.json'), 'index.json');
  if (!index || !Array.isArray(index.manifests)) throw new InvalidArgument('invalid image archive: index.json has no manifests list');
  const plans: PlannedImage[] = [];
  for (const [n, d] of (index.manifests as Descriptor[]).entries()) {
    if (!d || typeof d !== 'object') throw new InvalidArgument(`invalid image archive: index.json entry ${n} is not a descriptor`);
    const names = ociNames(d.annotations);
    plans.push(await planOciManifest(archive, d, names, platform, 0));
  }
  return plans.filter((p): p is PlannedImage => p !== undefined);
}

/** The name an index entry gives: containerd's full name, else an OCI ref name that is a whole reference. */
function ociNames(annotations: Record<string, string> | undefined): string[] {
  const full = annotations?.[ANNOTATION_IMAGE_NAME];
  const ref = annotations?.[ANNOTATION_REF_NAME];
  for (const candidate of [full, ref && /[:/]/.test(ref) ? ref : undefined]) {
    if (typeof candidate !== 'string' || candidate === '') continue;
    try {
      const r = parseNormalizedReference(candidate);
      if (r.digest) continue;
      return [referenceString(withDefaultTag(r))];
    } catch {
      // not a name (a bare tag such as `latest`): the image loads without one
    }
  }
  return [];
}

async function planOciManifest(archive: Archive, d: Descriptor, names: string[], platform: Platform | undefined, depth: number): Promise<PlannedImage> {
  if (depth > 4) throw new InvalidArgument('invalid image archive: indexes nested too deep');
  const f = await verifiedBlob(archive, d, 'manifest');
  const bytes = await readSmall(f, `manifest ${d.digest}`);
  let m;
  try {
    m = parseManifest(bytes, d.mediaType);
  } catch (err) {
    throw new InvalidArgument(`invalid image archive: manifest ${d.digest}: ${(err as Error).message}`);
  }
  if (m.kind === 'index') {
    const chosen = choosePlatform(m, platform ?? { os: 'linux', architecture: goArch() });
    return planOciManifest(archive, chosen, names, platform, depth + 1);
  }
  const configFile = await verifiedBlob(archive, m.config, 'config');
  const configBytes = await readSmall(configFile, `config ${m.config.digest}`);
  const { config, diffIds } = parseConfig(configBytes, `config ${m.config.digest}`);
  if (m.layers.length !== diffIds.length) throw new InvalidArgument(`invalid image archive: manifest ${d.digest} lists ${m.layers.length} layers, its config ${diffIds.length} diff ids`);
  const layers: PlannedLayer[] = [];
  for (const [i, l] of m.layers.entries()) {
    const file = await verifiedBlob(archive, l, `layer ${i} of manifest ${d.digest}`);
    layers.push({ file, digest: l.digest, size: file.size, mediaType: l.mediaType, diffId: diffIds[i]! });
  }
  const desc: Descriptor = { mediaType: m.mediaType, digest: d.digest, size: bytes.length };
  const p = configPlatform(config);
  if (p) desc.platform = p;
  return { id: m.config.digest, configBytes, layers, manifest: { bytes, desc }, names };
}

/** Layers (each unpacked and checked against its diff id), blobs, config, manifest, then the names. */
async function commitImage(store: ImageStore, plan: PlannedImage, opts: LoadOptions): Promise<LoadedImage> {
  const diffIds = plan.layers.map((l) => l.diffId);
  const chains = chainIds(diffIds);
  for (const [i, layer] of plan.layers.entries()) {
    const short = hex(layer.diffId).slice(0, 12);
    let last = 0;
    const progress = (done: number) => {
      if (opts.quiet) return;
      const now = Date.now();
      if (done < layer.size && now - last < LOAD_PROGRESS_MS) return;
      last = now;
      opts.emit(progressMessage('Loading layer', short, done, layer.size));
    };
    await store.layers.create(chains[i]!, layer.diffId, chains[i - 1], async (dir) => {
      const got = await unpackLayer(counted(createReadStream(layer.file.path), progress), dir);
      if (got.diffId !== layer.diffId) {
        throw new InvalidArgument(`invalid image archive: layer ${i} of image ${plan.id} unpacks to ${got.diffId}, but its config gives the diff id ${layer.diffId}`);
      }
      return got;
    });
  }
  const stored = new Set<string>();
  for (const layer of plan.layers) {
    if (stored.has(layer.digest)) continue;
    stored.add(layer.digest);
    await store.content.ingest(layer.digest, layer.size, { open: async () => createReadStream(layer.file.path) });
  }
  await store.content.ingest(plan.id, plan.configBytes.length, { open: async () => [plan.configBytes] });
  await store.content.ingest(plan.manifest.desc.digest, plan.manifest.bytes.length, { open: async () => [plan.manifest.bytes] });

  const before = new Map<string, string>();
  for (const name of plan.names) {
    const rec = await store.lookup(name).catch(() => undefined);
    if (rec && rec.id !== plan.id) before.set(name, rec.id);
  }
  await store.setNames(plan.id, plan.manifest.desc, plan.names);
  for (const name of plan.names) {
    const shown = ImageStore.familiar(name);
    const old = before.get(name);
    if (old) opts.emit({ stream: `The image ${shown} already exists, renaming the old one with ID ${old} to empty string\n` });
    opts.emit({ stream: `Loaded image: ${shown}\n` });
  }
  if (plan.names.length === 0) opts.emit({ stream: `Loaded image ID: ${plan.id}\n` });
  return { id: plan.id, names: plan.names };
}

async function* counted(input: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer, void, undefined> {
  let n = 0;
  for await (const chunk of input) {
    n += chunk.length;
    onBytes(n);
    yield chunk;
  }
}
