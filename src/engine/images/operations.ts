// The image operations behind the endpoints: list with filters, tag, remove, prune. Each is
// one or a few index.json commits, then a collection of what no image needs any more.
import type { ContainerRecord } from '../containers/types.ts';
import type { EngineContext } from '../context.ts';
import { recordEvent } from '../events/journal.ts';
import { imageLabels, recordImageEvent, recordPruned, recordRemoval } from '../events/image-events.ts';
import { Conflict, InvalidArgument, NotFound } from '../errors.ts';
import { checkFilterKeys, filterBool, filterTime, matchLabels, type Filters } from '../filters.ts';
import { imageFacts, type ImageFacts } from './describe.ts';
import { ImageStore, notFoundName, type ImageRecord } from './image-store.ts';
import { familiarName, parseNormalizedReference, referenceString, withDefaultTag } from './reference.ts';

export function imageStore(engine: EngineContext): ImageStore {
  return new ImageStore(engine);
}

const LIST_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];

/** GET /images/json: newest first, as Docker lists them. */
export async function listImages(engine: EngineContext, opts: { all?: boolean; filters?: Filters }): Promise<ImageFacts[]> {
  const filters = opts.filters ?? {};
  checkFilterKeys(filters, LIST_FILTERS);
  const store = imageStore(engine);
  const images = await store.list();
  const facts = await Promise.all(images.map((rec) => imageFacts(store, rec)));
  const created = (f: ImageFacts) => Date.parse(f.config.created ?? '') || 0;
  const dangling = filterBool('dangling', filters['dangling']);
  const refAt = async (name: string) => created(await imageFacts(store, await store.find(name)));
  const before = filters['before']?.length ? await refAt(filters['before'][0]!) : undefined;
  const since = filters['since']?.length ? await refAt(filters['since'][0]!) : undefined;
  const until = filters['until']?.length ? filterTime(filters['until'][0]!) : undefined;
  const refs = filters['reference'];
  const out = facts.filter((f) => {
    if (dangling !== undefined && (f.rec.tags.length === 0) !== dangling) return false;
    if (!matchLabels(f.config.config?.['Labels'] as Record<string, string> | undefined, filters['label'])) return false;
    if (before !== undefined && !(created(f) < before)) return false;
    if (since !== undefined && !(created(f) > since)) return false;
    if (until !== undefined && !(created(f) < until)) return false;
    if (refs?.length && ![...f.rec.tags, ...f.rec.digests].some((t) => refs.some((r) => referenceMatches(r, t)))) return false;
    // without `all`, Docker hides intermediate images; pulled images have none
    return true;
  });
  if (refs?.length) {
    // Docker shows only the matching tags of a reference-filtered image
    for (const f of out) f.rec = { ...f.rec, tags: f.rec.tags.filter((t) => refs.some((r) => referenceMatches(r, t))), digests: f.rec.digests.filter((t) => refs.some((r) => referenceMatches(r, t))) };
  }
  return out.sort((a, b) => created(b) - created(a));
}

/** Docker's `reference` filter: a glob on the familiar `name[:tag]`. */
function referenceMatches(pattern: string, full: string): boolean {
  const ref = parseNormalizedReference(full);
  const name = familiarName(ref);
  const glob = (p: string, s: string) => new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`).test(s);
  if (pattern.includes(':') && !/^[^/]*:\d+\/[^:]*$/.test(pattern)) return glob(pattern, `${name}:${ref.tag ?? ''}`) || glob(pattern, `${ref.domain}/${ref.path}:${ref.tag ?? ''}`);
  return glob(pattern, name) || glob(pattern, `${ref.domain}/${ref.path}`);
}

/** POST /images/{name}/tag */
export async function tagImage(engine: EngineContext, source: string, repo: string, tag: string | undefined): Promise<string> {
  const store = imageStore(engine);
  const rec = await store.find(source);
  if (!repo) throw new InvalidArgument('repository name must have at least one component');
  const target = parseNormalizedReference(tag ? `${repo}:${tag}` : repo);
  if (target.digest) throw new InvalidArgument('refusing to create a tag with a digest reference');
  const name = referenceString(withDefaultTag(target));
  await store.setNames(rec.id, rec.manifest, [name]);
  await recordImageEvent(engine, 'tag', rec.id, ImageStore.familiar(name), imageLabels(store, rec.id));
  return name;
}

export type DeleteItem = { Untagged: string } | { Deleted: string };

/**
 * DELETE /images/{name}: a name is untagged, and the image deleted with its last tag; an id
 * deletes the image, refused when it has tags in several repositories unless forced.
 */
export async function removeImage(engine: EngineContext, name: string, opts: { force?: boolean; noprune?: boolean }): Promise<DeleteItem[]> {
  const store = imageStore(engine);
  const rec = await store.lookup(name);
  if (!rec) throw new NotFound(`No such image: ${notFoundName(name)}`);
  const eventLabels = await imageLabels(store, rec.id);
  const items: DeleteItem[] = [];
  const byName = namesOf(rec).find((n) => n === fullName(name));
  const users = (await imagesInUse(engine)).get(rec.id) ?? [];
  if (byName) {
    if (users.length && !opts.force && rec.tags.length + rec.digests.length === 1) {
      throw new Conflict(`conflict: unable to remove repository reference "${name}" (must force) - container ${shortImageId(users[0]!.Id)} is using its referenced image ${shortImageId(rec.id)}`);
    }
    const { lastTag } = await store.removeName(byName);
    items.push({ Untagged: ImageStore.familiar(byName) });
    if (!lastTag && !isDigest(byName)) {
      await recordRemoval(engine, rec.id, items, eventLabels);
      return items;
    }
    const now = await store.lookup(rec.id);
    if ((now && now.tags.length > 0) || users.length) {
      // other tags keep it, or a container does (then it stays as a dangling image)
      await recordRemoval(engine, rec.id, items, eventLabels);
      return items;
    }
  } else {
    const running = users.find(isLive);
    if (running) throw new Conflict(`conflict: unable to delete ${shortImageId(rec.id)} (cannot be forced) - image is being used by running container ${shortImageId(running.Id)}`);
    if (users.length && !opts.force) throw new Conflict(`conflict: unable to delete ${shortImageId(rec.id)} (must be forced) - image is being used by stopped container ${shortImageId(users[0]!.Id)}`);
    const repos = new Set(rec.tags.map((t) => repoOf(t)));
    if (repos.size > 1 && !opts.force) {
      throw new Conflict(`conflict: unable to delete ${shortImageId(rec.id)} (must be forced) - image is referenced in multiple repositories`);
    }
  }
  const current = (await store.lookup(rec.id)) ?? rec;
  for (const n of [...current.tags, ...current.digests]) items.push({ Untagged: ImageStore.familiar(n) });
  await store.forget(rec.id);
  items.push({ Deleted: rec.id });
  for (const layer of await store.collect()) items.push({ Deleted: layer });
  await recordRemoval(engine, rec.id, items, eventLabels);
  return items;
}

export interface PruneResult {
  ImagesDeleted: DeleteItem[] | null;
  SpaceReclaimed: number;
}

/** POST /images/prune: dangling images by default; `dangling=false` every unused image. */
export async function pruneImages(engine: EngineContext, filters: Filters): Promise<PruneResult> {
  checkFilterKeys(filters, ['dangling', 'until', 'label', 'label!']);
  const store = imageStore(engine);
  const danglingOnly = filterBool('dangling', filters['dangling']) ?? true;
  const until = filters['until']?.length ? filterTime(filters['until'][0]!) : undefined;
  const deleted: DeleteItem[] = [];
  let reclaimed = 0;
  const layersBefore = new Map<string, number>();
  for (const c of await store.layers.list()) layersBefore.set(c, (await store.layers.info(c))?.size ?? 0);
  const inUse = await imagesInUse(engine);
  for (const rec of await store.list()) {
    if (danglingOnly && rec.tags.length > 0) continue;
    if (inUse.has(rec.id)) continue;
    const f = await imageFacts(store, rec);
    const labels = f.config.config?.['Labels'] as Record<string, string> | undefined;
    if (!matchLabels(labels, filters['label'])) continue;
    if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(labels, [l]))) continue;
    if (until !== undefined && !((Date.parse(f.config.created ?? '') || 0) < until)) continue;
    for (const n of [...rec.tags, ...rec.digests]) deleted.push({ Untagged: ImageStore.familiar(n) });
    await store.forget(rec.id);
    deleted.push({ Deleted: rec.id });
    await recordPruned(engine, rec.id, rec.tags.length + rec.digests.length, labels);
  }
  for (const layer of await store.collect()) {
    deleted.push({ Deleted: layer });
    reclaimed += layersBefore.get(layer) ?? 0;
  }
  await recordEvent(engine, { type: 'image', action: 'prune', id: '', attributes: { reclaimed: String(reclaimed) } });
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
}

function namesOf(rec: ImageRecord): string[] {
  return [...rec.tags, ...rec.digests];
}

function fullName(name: string): string | undefined {
  try {
    const ref = withDefaultTag(parseNormalizedReference(name));
    return referenceString(ref.digest ? { domain: ref.domain, path: ref.path, digest: ref.digest } : ref);
  } catch {
    return undefined;
  }
}

const isDigest = (n: string) => n.includes('@');
const repoOf = (n: string) => n.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
const shortImageId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** The containers of each image id: an image a container uses is not deleted under it. */
async function imagesInUse(engine: EngineContext): Promise<Map<string, ContainerRecord[]>> {
  const { ContainerStore } = await import('../containers/store.ts');
  const out = new Map<string, ContainerRecord[]>();
  for (const c of await new ContainerStore(engine).list()) out.set(c.Image, [...(out.get(c.Image) ?? []), c]);
  return out;
}

const isLive = (c: ContainerRecord) => c.State.Status === 'running' || c.State.Status === 'paused' || c.State.Status === 'restarting';
