// Container listing and pruning: the record store read through the state reconciliation.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { filterTime, matchLabels, checkFilterKeys, type Filters } from '../filters.ts';
import { ImageStore } from '../images/image-store.ts';
import { containerFilter } from './describe.ts';
import { isRunning, refresh, removeContainer } from './lifecycle.ts';
import { ContainerStore } from './store.ts';
import type { ContainerRecord } from './types.ts';

export async function listContainers(ctx: EngineContext, opts: { all?: boolean; limit?: number; filters?: Filters }): Promise<ContainerRecord[]> {
  const store = new ContainerStore(ctx);
  const recs = await Promise.all((await store.list()).map((r) => refresh(ctx, r).catch(() => r)));
  const filters = opts.filters ?? {};
  let ancestors: Set<string> | undefined;
  if (filters['ancestor']?.length) {
    const images = new ImageStore(ctx);
    ancestors = new Set();
    for (const a of filters['ancestor']) {
      const img = await images.lookup(a).catch(() => undefined);
      if (img) ancestors.add(img.id);
    }
  }
  const keep = containerFilter(filters, recs, ancestors);
  // without `all`, only running ones (a status filter widens it, as Docker's does)
  const showAll = opts.all || (opts.limit ?? 0) > 0 || !!filters['status']?.length || !!filters['exited']?.length;
  let out = recs.filter((r) => (showAll || isRunning(r) || r.State.Status === 'restarting') && keep(r));
  out.sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
  if (opts.limit && opts.limit > 0) out = out.slice(0, opts.limit);
  return out;
}

/** Bytes under a directory (files counted once per inode). */
export async function dirSize(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) total += await dirSize(p, seen);
    else {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (st.isFile() || st.isSymbolicLink()) total += st.size;
    }
  }
  return total;
}

/** SizeRw (the container's own layer) and SizeRootFs (with its image). */
export async function containerSizes(ctx: EngineContext, rec: ContainerRecord): Promise<{ sizeRw: number; sizeRootFs: number }> {
  const store = new ContainerStore(ctx);
  const sizeRw = await dirSize(store.paths(rec.Id).upper);
  const imageSize = await new ImageStore(ctx).size(rec.Image).catch(() => 0);
  return { sizeRw, sizeRootFs: sizeRw + imageSize };
}

export async function pruneContainers(ctx: EngineContext, filters: Filters): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
  checkFilterKeys(filters, ['until', 'label', 'label!']);
  const until = filters['until']?.length ? filterTime(filters['until'][0]!) : undefined;
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const rec of await listContainers(ctx, { all: true })) {
    if (isRunning(rec) || rec.State.Status === 'restarting' || rec.State.Status === 'removing') continue;
    if (until !== undefined && !(Date.parse(rec.Created) < until)) continue;
    if (!matchLabels(rec.Config.Labels, filters['label'])) continue;
    if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(rec.Config.Labels, [l]))) continue;
    const size = await dirSize(new ContainerStore(ctx).paths(rec.Id).upper);
    try {
      await removeContainer(ctx, rec.Id, {});
    } catch {
      continue;
    }
    deleted.push(rec.Id);
    reclaimed += size;
  }
  return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
}
