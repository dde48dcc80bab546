// A container's root filesystem: an overlay of its image's unpacked layers (read-only lower
// dirs) and its own upper/work dirs, mounted at `<runroot>/containers/<id>/rootfs`. Mounted at
// start (or for a moment, under the container's lock, when docker cp/export/diff touch a
// stopped container) and unmounted by cleanup.
import { promises as fs } from 'node:fs';
import type { EngineContext } from '../context.ts';
import { LayerStore } from '../storage/layers.ts';
import { mount, MNT_DETACH, umount } from '../../sys/libc.ts';
import { ContainerStore, containerPaths } from './store.ts';
import type { ContainerRecord } from './types.ts';

export interface LayerDirs {
  upper: string;
  work: string;
  /** The image's layer diff dirs, bottom layer first. */
  lowers: string[];
}

export function containerLayerDirs(ctx: EngineContext, rec: ContainerRecord): LayerDirs {
  const layers = new LayerStore(ctx.paths.layers, ctx.paths.locks);
  const p = containerPaths(ctx, rec.Id);
  return { upper: p.upper, work: p.work, lowers: rec.Layers.map((c) => layers.diffDir(c)) };
}

/** True when something is mounted at `dir` (its device differs from its parent's). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const [a, b] = await Promise.all([fs.stat(dir).catch(() => undefined), fs.stat(`${dir}/..`).catch(() => undefined)]);
  return !!a && !!b && (a.dev !== b.dev || a.ino === b.ino);
}

/** Mounts the container's overlay (if it is not mounted yet) and returns the rootfs path. */
export async function mountRootfs(ctx: EngineContext, rec: ContainerRecord): Promise<string> {
  const p = containerPaths(ctx, rec.Id);
  await fs.mkdir(p.rootfs, { recursive: true, mode: 0o700 });
  if (await isMountPoint(p.rootfs)) return p.rootfs;
  const dirs = containerLayerDirs(ctx, rec);
  await Promise.all([fs.mkdir(dirs.upper, { recursive: true, mode: 0o755 }), fs.mkdir(dirs.work, { recursive: true, mode: 0o700 })]);
  let lowers = [...dirs.lowers].reverse(); // overlay lists the top layer first
  if (lowers.length === 0) {
    // an image without layers (an empty import): overlay needs one lower dir
    const empty = `${p.dir}/empty`;
    await fs.mkdir(empty, { recursive: true, mode: 0o755 });
    lowers = [empty];
  }
  // The options must fit in a page (4 KiB); layer dirs are named relative to layers/ by
  // mounting from there, which doubles how many layers fit.
  const relLowers = lowers.map((l) => (l.startsWith(ctx.paths.layers + '/') ? l.slice(ctx.paths.layers.length + 1) : l));
  const data = `lowerdir=${relLowers.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  const cwd = process.cwd();
  process.chdir(ctx.paths.layers); // synchronous from here to chdir back: nothing else runs between
  try {
    mount('overlay', p.rootfs, 'overlay', 0, data);
  } finally {
    process.chdir(cwd);
  }
  return p.rootfs;
}

export async function unmountRootfs(ctx: EngineContext, id: string): Promise<void> {
  const p = containerPaths(ctx, id);
  // lazy: a docker cp still reading from it finishes on its open files
  while (await isMountPoint(p.rootfs)) {
    if (!umount(p.rootfs, MNT_DETACH)) break;
  }
}

function isLive(rec: ContainerRecord): boolean {
  return rec.State.Status === 'running' || rec.State.Status === 'paused' || rec.State.Status === 'restarting';
}

/**
 * Runs `fn` with the container's rootfs mounted: as it is when the container runs, or mounted
 * for the call (under the container's lock, so a start can't race the unmount) when it doesn't.
 */
export async function withContainerRootfs<T>(ctx: EngineContext, idOrName: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
  const store = new ContainerStore(ctx);
  const rec = await store.find(idOrName);
  if (isLive(rec)) return fn(await mountRootfs(ctx, rec), rec);
  return store.withLock(rec.Id, async () => {
    const now = (await store.read(rec.Id)) ?? rec;
    const wasMounted = await isMountPoint(containerPaths(ctx, rec.Id).rootfs);
    const rootfs = await mountRootfs(ctx, now);
    try {
      return await fn(rootfs, now);
    } finally {
      if (!wasMounted && !isLive((await store.read(rec.Id)) ?? now)) await unmountRootfs(ctx, rec.Id);
    }
  });
}
