// What the volume endpoints do: create, inspect, list, remove, prune, disk usage.
import type { EngineContext } from '../context.ts';
import { Conflict, NotFound, SystemError } from '../errors.ts';
import { recordEvent } from '../events/journal.ts';
import type { Filters } from '../filters.ts';
import { umount, MNT_DETACH } from '../../sys/libc.ts';
import { directorySize, volumeApi, volumeListFilter, volumePruneFilter, type VolumeApi } from './describe.ts';
import { needsMount } from './driver-options.ts';
import { unmountIfUnused } from './driver-mount.ts';
import { isMountedAt } from './mountinfo.ts';
import { newVolumeName, volumeNameProblem } from './names.ts';
import { referencesTo, volumeReferences } from './references.ts';
import { VolumeStore } from './store.ts';

export interface CreateVolumeBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export async function createVolume(ctx: EngineContext, body: CreateVolumeBody): Promise<VolumeApi> {
  const name = body.Name || newVolumeName();
  const driver = body.Driver ?? '';
  if (driver && driver !== 'local') throw new NotFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  const store = new VolumeStore(ctx);
  const { volume } = await store.create({ name, labels: body.Labels ?? null, options: body.DriverOpts ?? null, anonymous: !body.Name });
  return volumeApi(volume, store.paths(name).data);
}

export async function inspectVolume(ctx: EngineContext, name: string): Promise<VolumeApi> {
  const store = new VolumeStore(ctx);
  return volumeApi(await store.get(name), store.paths(name).data);
}

export async function listVolumes(ctx: EngineContext, filters: Filters = {}): Promise<{ Volumes: VolumeApi[]; Warnings: null }> {
  const store = new VolumeStore(ctx);
  const refs = filters['dangling']?.length ? await volumeReferences(ctx) : new Map<string, string[]>();
  const keep = volumeListFilter(filters, (n) => refs.get(n)?.length ?? 0);
  const vols = (await store.list()).filter(keep);
  return { Volumes: vols.map((v) => volumeApi(v, store.paths(v.Name).data)), Warnings: null };
}

/**
 * Removes a volume nobody uses: Docker's 409 `remove <name>: volume is in use - [ids]` when a
 * container (running or not) has it; with `force`, a missing volume is no error. `quietInUse`
 * (rm -v, a failed create) leaves a used one without complaint.
 */
export async function removeVolume(ctx: EngineContext, name: string, opts: { force?: boolean; quietInUse?: boolean } = {}): Promise<boolean> {
  const store = new VolumeStore(ctx);
  // a name no volume can have (nor a lock file)
  if (volumeNameProblem(name)) {
    if (opts.force) return false;
    throw new NotFound(`get ${name}: no such volume`);
  }
  const removed = await store.withLock(name, async () => {
    const vol = await store.read(name);
    if (!vol) {
      if (opts.force) return undefined;
      throw new NotFound(`get ${name}: no such volume`);
    }
    const refs = await referencesTo(ctx, name);
    if (refs.length) {
      if (opts.quietInUse) return undefined;
      throw new Conflict(`remove ${name}: volume is in use - [${refs.join(', ')}]`);
    }
    const data = store.paths(name).data;
    if (needsMount(vol.Options)) {
      if (!(await unmountIfUnused(ctx, name))) throw new Conflict(`remove ${name}: volume is in use - [${refs.join(', ')}]`);
    }
    // never rm -r through a mount: an o=bind volume's _data is a host directory
    while (await isMountedAt(data)) {
      if (!umount(data, MNT_DETACH)) break;
    }
    if (await isMountedAt(data)) throw new SystemError(`remove ${name}: error removing volume path '${data}': still mounted`);
    await store.deleteLocked(name);
    return vol;
  });
  if (!removed) return false;
  await recordEvent(ctx, { type: 'volume', action: 'destroy', id: name, attributes: { driver: removed.Driver } });
  return true;
}

/**
 * Removes the unused volumes the filters select (no volume with DriverOpts: its data is not
 * here to reclaim, as Docker skips them). API < 1.42 prunes every unused volume, later
 * versions only anonymous ones unless `all=true`.
 */
export async function pruneVolumes(ctx: EngineContext, filters: Filters, apiVersion: string): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
  const f: Filters = { ...filters };
  if (versionLess(apiVersion, '1.42')) f['all'] = ['true'];
  const keep = volumePruneFilter(f);
  const store = new VolumeStore(ctx);
  const refs = await volumeReferences(ctx);
  const out = { VolumesDeleted: [] as string[], SpaceReclaimed: 0 };
  for (const v of await store.list()) {
    if (v.Options && Object.keys(v.Options).length) continue;
    if (refs.get(v.Name)?.length || !keep(v)) continue;
    const size = await directorySize(store.paths(v.Name).data);
    try {
      if (!(await removeVolume(ctx, v.Name, { quietInUse: true }))) continue;
    } catch {
      continue; // in use or gone meanwhile: Docker logs it and goes on
    }
    out.VolumesDeleted.push(v.Name);
    out.SpaceReclaimed += Math.max(size, 0);
  }
  await recordEvent(ctx, { type: 'volume', action: 'prune', id: '', attributes: { reclaimed: String(out.SpaceReclaimed) } });
  return out;
}

function versionLess(a: string, b: string): boolean {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am < bm || (am === bm && an < bn);
}

/** /system/df's Volumes: local volumes without DriverOpts, with their sizes and users. */
export async function volumesDiskUsage(ctx: EngineContext): Promise<VolumeApi[]> {
  const store = new VolumeStore(ctx);
  const refs = await volumeReferences(ctx);
  const out: VolumeApi[] = [];
  for (const v of await store.list()) {
    if (v.Options && Object.keys(v.Options).length) continue;
    const data = store.paths(v.Name).data;
    out.push(volumeApi(v, data, { Size: await directorySize(data), RefCount: refs.get(v.Name)?.length ?? 0 }));
  }
  return out;
}

/** Volume dirs a killed create or remove left (run after the service starts). */
export async function sweepVolumes(ctx: EngineContext): Promise<string[]> {
  return new VolumeStore(ctx).sweep();
}
