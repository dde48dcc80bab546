// The image store: which images exist and what names they have. The single source of truth is
// the OCI layout's index.json: one entry per name (a tag, or a repo digest), each pointing at an
// image manifest and carrying the image id (config digest) in an annotation; an image that has
// lost every name keeps one unnamed entry (Docker's dangling `<none>:<none>`). Tags also carry
// the OCI ref-name annotation, so `skopeo inspect oci:<root>/images:<ref>` finds them. Every
// change is one locked read-modify-write of index.json, written atomically: a crash leaves the
// old index or the new one, and blobs and layers are always in place before a name points at them.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { Conflict, InvalidArgument, NotFound } from '../errors.ts';
import { readJson, sweepTempFiles, writeJsonAtomic } from '../../store/atomic.ts';
import { acquireLock, lockPath, withLock, type Lock } from '../../store/lock.ts';
import { chainIds, LayerStore } from '../storage/layers.ts';
import { ContentStore } from './content-store.ts';
import { parseManifest, type Descriptor, type ImageManifest } from './manifest.ts';
import { familiarString, parseNormalizedReference, referenceString, withDefaultTag, type Reference } from './reference.ts';

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** The full name this entry gives: `docker.io/library/busybox:latest` or `…@sha256:…`. */
export const ANNOTATION_NAME = 'io.berth.name';
/** The image id (config digest). */
export const ANNOTATION_IMAGE = 'io.berth.image';
/** When the name was set (Docker's Metadata.LastTagTime). */
export const ANNOTATION_TIME = 'io.berth.time';

export interface IndexEntry extends Descriptor {
  annotations: Record<string, string>;
}

interface IndexFile {
  schemaVersion: 2;
  mediaType?: string;
  manifests: IndexEntry[];
}

/** The OCI image config, as far as berth reads it. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture?: string;
  variant?: string;
  os?: string;
  config?: Record<string, unknown>;
  container_config?: Record<string, unknown>;
  container?: string;
  docker_version?: string;
  comment?: string;
  rootfs?: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; author?: string; empty_layer?: boolean }>;
}

export interface ImageRecord {
  id: string;
  /** the manifest most recently named for it */
  manifest: Descriptor;
  manifests: string[];
  /** full references: `docker.io/library/busybox:latest` */
  tags: string[];
  /** full references: `docker.io/library/busybox@sha256:…` */
  digests: string[];
  lastTagTime?: string;
}

export interface NameChange {
  /** names set (full references) */
  added: string[];
  /** images that lost their last name to this change, now dangling */
  orphaned: string[];
}

const isDigestName = (name: string) => name.includes('@');

export class ImageStore {
  readonly content: ContentStore;
  readonly layers: LayerStore;
  private readonly indexPath: string;
  private readonly locksDir: string;

  constructor(private readonly ctx: EngineContext) {
    const engine = ctx;
    this.content = new ContentStore(engine.paths.images, engine.paths.locks);
    this.layers = new LayerStore(engine.paths.layers, engine.paths.locks);
    this.indexPath = join(engine.paths.images, 'index.json');
    this.locksDir = engine.paths.locks;
  }

  async init(): Promise<void> {
    await this.content.init();
  }

  private async readIndex(): Promise<IndexFile> {
    const idx = await readJson<IndexFile>(this.indexPath);
    return idx && Array.isArray(idx.manifests) ? idx : { schemaVersion: 2, manifests: [] };
  }

  /** One locked read-modify-write of index.json. */
  private async updateIndex<T>(fn: (entries: IndexEntry[]) => T | Promise<T>): Promise<T> {
    await this.init();
    return withLock(lockPath(this.locksDir, 'images', 'index'), async () => {
      const idx = await this.readIndex();
      const result = await fn(idx.manifests);
      await writeJsonAtomic(this.indexPath, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: idx.manifests });
      return result;
    });
  }

  async list(): Promise<ImageRecord[]> {
    const idx = await this.readIndex();
    const byId = new Map<string, ImageRecord>();
    for (const e of idx.manifests) {
      const id = e.annotations?.[ANNOTATION_IMAGE];
      if (!id) continue; // an entry some other tool added: not an image berth knows
      let rec = byId.get(id);
      if (!rec) byId.set(id, (rec = { id, manifest: stripAnnotations(e), manifests: [], tags: [], digests: [] }));
      if (!rec.manifests.includes(e.digest)) rec.manifests.push(e.digest);
      const name = e.annotations[ANNOTATION_NAME];
      const time = e.annotations[ANNOTATION_TIME];
      if (name) (isDigestName(name) ? rec.digests : rec.tags).push(name);
      if (time && (!rec.lastTagTime || time > rec.lastTagTime)) {
        rec.lastTagTime = time;
        rec.manifest = stripAnnotations(e);
      }
    }
    return [...byId.values()];
  }

  /**
   * Finds an image as Docker does: by name (`busybox` means `busybox:latest`), by `name@digest`,
   * by full id (`sha256:…` or 64 hex), or by a unique id prefix.
   */
  async find(nameOrId: string): Promise<ImageRecord> {
    const found = await this.lookup(nameOrId);
    if (!found) throw new NotFound(`No such image: ${notFoundName(nameOrId)}`);
    return found;
  }

  async lookup(nameOrId: string): Promise<ImageRecord | undefined> {
    const images = await this.list();
    const idLike = /^(sha256:)?[a-f0-9]{1,64}$/.test(nameOrId);
    if (/^sha256:[a-f0-9]{64}$/.test(nameOrId) || /^[a-f0-9]{64}$/.test(nameOrId)) {
      const id = nameOrId.startsWith('sha256:') ? nameOrId : `sha256:${nameOrId}`;
      return images.find((i) => i.id === id);
    }
    let ref: Reference | undefined;
    try {
      ref = withDefaultTag(parseNormalizedReference(nameOrId));
    } catch (err) {
      if (!idLike) throw err;
    }
    if (ref) {
      const full = referenceString(ref.digest ? { ...ref, tag: undefined } : ref);
      const byName = images.find((i) => i.tags.includes(full) || i.digests.includes(full));
      if (byName) return byName;
      if (ref.digest) {
        // `name@digest` where the digest is the manifest's and the name one the image has
        const repo = referenceString({ domain: ref.domain, path: ref.path });
        const sameRepo = (n: string) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`);
        const byManifest = images.find((i) => i.manifests.includes(ref!.digest!) && [...i.tags, ...i.digests].some(sameRepo));
        if (byManifest) return byManifest;
      }
    }
    if (idLike) {
      const prefix = nameOrId.startsWith('sha256:') ? nameOrId : `sha256:${nameOrId}`;
      const matches = images.filter((i) => i.id.startsWith(prefix));
      if (matches.length > 1) throw new InvalidArgument(`multiple IDs found with provided prefix: ${nameOrId.replace(/^sha256:/, '')}`);
      return matches[0];
    }
    return undefined;
  }

  async readManifest(digest: string): Promise<ImageManifest> {
    const m = parseManifest(await this.content.read(digest));
    if (m.kind !== 'manifest') throw new InvalidArgument(`${digest} is an index, not an image manifest`);
    return m;
  }

  async readConfig(id: string): Promise<ImageConfig> {
    return JSON.parse((await this.content.read(id)).toString()) as ImageConfig;
  }

  /** The chain ids of an image's layers, bottom first. */
  async chainIdsOf(id: string): Promise<string[]> {
    return chainIds((await this.readConfig(id)).rootfs?.diff_ids ?? []);
  }

  /** Unpacked size of the image: its layers' sizes added up. */
  async size(id: string): Promise<number> {
    let total = 0;
    for (const c of await this.chainIdsOf(id)) total += (await this.layers.info(c))?.size ?? 0;
    return total;
  }

  /**
   * Gives image `id` (whose manifest, config and layers are in place) the names in `names`
   * (full references, tags or digests), moving a tag away from another image. An image with no
   * name left keeps a nameless entry. With no names, the image is only recorded (dangling).
   */
  async setNames(id: string, manifest: Descriptor, names: string[]): Promise<NameChange> {
    const time = new Date().toISOString();
    return this.updateIndex((entries) => {
      const orphaned: string[] = [];
      for (const name of names) {
        const i = entries.findIndex((e) => e.annotations?.[ANNOTATION_NAME] === name);
        if (i >= 0) {
          const moved = entries.splice(i, 1)[0]!;
          const old = moved.annotations[ANNOTATION_IMAGE]!;
          if (old !== id && !entries.some((e) => e.annotations?.[ANNOTATION_IMAGE] === old)) {
            entries.push(entry(stripAnnotations(moved), old, undefined, moved.annotations[ANNOTATION_TIME] ?? time));
            orphaned.push(old);
          }
        }
        entries.push(entry(manifest, id, name, time));
      }
      // the image's nameless entry, if any, is no longer needed once it has a name
      if (names.length) {
        const j = entries.findIndex((e) => e.annotations?.[ANNOTATION_IMAGE] === id && !e.annotations[ANNOTATION_NAME]);
        if (j >= 0) entries.splice(j, 1);
      } else if (!entries.some((e) => e.annotations?.[ANNOTATION_IMAGE] === id)) {
        entries.push(entry(manifest, id, undefined, time));
      }
      return { added: names, orphaned };
    });
  }

  /** Removes one name. Returns true if the image has no tag left (only digests or nothing). */
  async removeName(name: string): Promise<{ id: string; lastTag: boolean }> {
    return this.updateIndex((entries) => {
      const i = entries.findIndex((e) => e.annotations?.[ANNOTATION_NAME] === name);
      if (i < 0) throw new NotFound(`No such image: ${name}`);
      const removed = entries.splice(i, 1)[0]!;
      const id = removed.annotations[ANNOTATION_IMAGE]!;
      const rest = entries.filter((e) => e.annotations?.[ANNOTATION_IMAGE] === id);
      if (rest.length === 0) entries.push(entry(stripAnnotations(removed), id, undefined, removed.annotations[ANNOTATION_TIME] ?? new Date().toISOString()));
      return { id, lastTag: !rest.some((e) => e.annotations[ANNOTATION_NAME] && !isDigestName(e.annotations[ANNOTATION_NAME]!)) };
    });
  }

  /** Removes every entry of image `id`; its blobs and layers go at the next collect(). */
  async forget(id: string): Promise<void> {
    await this.updateIndex((entries) => {
      for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.annotations?.[ANNOTATION_IMAGE] === id) entries.splice(i, 1);
    });
  }

  /**
   * Pulls, loads and imports hold this shared lock from their first blob until their names are
   * committed, so that a collection never removes what they have fetched but not yet named.
   */
  async holdForWrite(): Promise<Lock> {
    return acquireLock(lockPath(this.locksDir, 'images', 'gc'), { shared: true, timeoutMs: 30 * 60_000 });
  }

  /**
   * Removes blobs and layers no image entry needs any more, and temp files of dead writers.
   * `keepIds`: images still needed by someone else (containers) even without an entry.
   * Returns the chain ids of the layers removed (Docker lists them as `Deleted`).
   */
  async collect(opts: { wait?: boolean } = {}): Promise<string[]> {
    let gc: Lock;
    try {
      gc = await acquireLock(lockPath(this.locksDir, 'images', 'gc'), { timeoutMs: opts.wait === false ? 0 : 10 * 60_000 });
    } catch (err) {
      if (opts.wait === false) return [];
      throw err;
    }
    try {
      const idx = await this.readIndex();
      const blobs = new Set<string>();
      const chains = new Set<string>();
      for (const e of idx.manifests) {
        blobs.add(e.digest);
        let m: ImageManifest;
        try {
          m = await this.readManifest(e.digest);
        } catch {
          continue;
        }
        blobs.add(m.config.digest);
        for (const l of m.layers) blobs.add(l.digest);
        for (const c of await this.chainIdsOf(m.config.digest).catch(() => [] as string[])) chains.add(c);
        for (const d of Object.values(e.annotations ?? {})) if (/^sha256:[a-f0-9]{64}$/.test(d)) blobs.add(d);
      }
      // containers keep their image's layers (and config), even when the image lost its names
      const { ContainerStore } = await import('../containers/store.ts');
      for (const c of await new ContainerStore(this.ctx).list()) {
        for (const chain of c.Layers) chains.add(chain);
        blobs.add(c.Image);
      }
      for (const e of idx.manifests) {
        const name = e.annotations?.[ANNOTATION_NAME];
        if (name && isDigestName(name)) blobs.add(name.slice(name.indexOf('@') + 1)); // an index a repo digest names
      }
      const removed: string[] = [];
      const layers = await this.layers.list();
      // top layers first, as Docker lists them
      const order = new Map<string, number>();
      for (const c of layers) order.set(c, (await this.layers.info(c))?.parent ? 1 : 0);
      for (const c of layers.filter((c) => !chains.has(c)).sort((a, b) => order.get(b)! - order.get(a)!)) {
        await this.layers.remove(c);
        removed.push(c);
      }
      const names = await fs.readdir(this.content.blobsDir).catch(() => [] as string[]);
      for (const n of names) {
        if (!/^[a-f0-9]{64}$/.test(n) || blobs.has(`sha256:${n}`)) continue;
        await fs.rm(join(this.content.blobsDir, n), { force: true });
      }
      await this.sweep();
      return removed;
    } finally {
      await gc.release();
    }
  }

  /** Removes temp files and dirs whose writer died (blobs, layers, load dirs). */
  async sweep(): Promise<void> {
    await sweepTempFiles(this.content.dir);
    await sweepTempFiles(this.content.blobsDir);
    await this.layers.sweep();
  }

  /** Docker's way of showing a stored name: `busybox:latest`. */
  static familiar(name: string): string {
    return familiarString(parseNormalizedReference(name));
  }

  /** 409 unless forced, for deleting an image a container uses: the rule lives with containers. */
  static inUse(id: string, container: string): Conflict {
    return new Conflict(`conflict: unable to delete ${id.slice('sha256:'.length, 'sha256:'.length + 12)} (must be forced) - image is being used by stopped container ${container.slice(0, 12)}`);
  }
}

function entry(manifest: Descriptor, id: string, name: string | undefined, time: string): IndexEntry {
  const annotations: Record<string, string> = { [ANNOTATION_IMAGE]: id, [ANNOTATION_TIME]: time };
  if (name) {
    annotations[ANNOTATION_NAME] = name;
    if (!isDigestName(name)) annotations[ANNOTATION_REF_NAME] = name;
  }
  const e: IndexEntry = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, annotations };
  if (manifest.platform) e.platform = manifest.platform;
  return e;
}

function stripAnnotations(e: IndexEntry): Descriptor {
  const d: Descriptor = { mediaType: e.mediaType, digest: e.digest, size: e.size };
  if (e.platform) d.platform = e.platform;
  return d;
}

/** `doesnotexist` → `doesnotexist:latest`, as Docker words a missing image. */
export function notFoundName(nameOrId: string): string {
  try {
    return familiarString(withDefaultTag(parseNormalizedReference(nameOrId)));
  } catch {
    return nameOrId;
  }
}
