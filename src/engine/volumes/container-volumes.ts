// The volume step of a container's life (owned by the volumes work, issue 4).
//
// Contract with lifecycle.ts:
// - planMounts at create (no lock held): parses Binds, Mounts, Config.Volumes (image VOLUMEs
//   included), VolumesFrom; creates the named volumes that don't exist yet and the anonymous
//   ones; returns the record's MountPoints. When create fails later, forgetMounts undoes it.
// - prepareMounts in init, under the container's lock, after the rootfs is mounted: mounts
//   volumes with driver options, copies the image's content into new empty volumes, records
//   mount events; returns the host path of each volume mount for the OCI spec.
// - releaseMounts on every end of a run (idempotent): unmounts what prepareMounts mounted when
//   no other running container uses it.
// - removeContainerVolumes at `rm` (with `v`): the container's anonymous volumes go.
//
// What one run mounted is listed in `<runroot>/volumes/.runs/<container id>` (written before
// the first mount, removed after the last unmount), so that releaseMounts, whichever process
// and however often it runs, sends each unmount event once and only for a run that happened.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { EngineError, InvalidArgument, NotFound } from '../errors.ts';
import { recordEvent } from '../events/journal.ts';
import { ContainerStore } from '../containers/store.ts';
import { isRunning, type ContainerConfig, type ContainerRecord, type HostConfig, type MountPoint } from '../containers/types.ts';
import { resolveInRoot } from '../storage/container-fs.ts';
import { readJson, writeJsonAtomic } from '../../store/atomic.ts';
import { copyUp } from './copy-up.ts';
import { needsMount } from './driver-options.ts';
import { mountVolume, unmountVolume } from './driver-mount.ts';
import { newVolumeName } from './names.ts';
import { planMountPoints, recordMountPoints } from './plan.ts';
import { addPending, removePending } from './references.ts';
import { removeVolume } from './operations.ts';
import { VolumeStore } from './store.ts';

export async function planMounts(ctx: EngineContext, input: { id: string; config: ContainerConfig; hostConfig: HostConfig }): Promise<MountPoint[]> {
  const containers = new ContainerStore(ctx);
  const others = new Map<string, MountPoint[]>();
  for (const spec of input.hostConfig.VolumesFrom ?? []) {
    const ref = spec.split(':', 1)[0]!;
    if (!ref || others.has(ref)) continue;
    try {
      others.set(ref, recordMountPoints(await containers.find(ref)));
    } catch (err) {
      if (err instanceof NotFound) throw new InvalidArgument(err.message, { cause: err });
      throw err;
    }
  }
  const planned = planMountPoints(input.config, input.hostConfig, (ref) => others.get(ref) ?? []);
  const volumes = new VolumeStore(ctx);
  const done: MountPoint[] = [];
  try {
    for (const { mp, volume } of planned) {
      if (volume) {
        const name = volume.name || newVolumeName();
        if (volume.mustExist) {
          await volumes.withLock(name, async () => {
            if (!(await volumes.read(name))) throw new NotFound(`get ${name}: no such volume`);
            await addPending(ctx, name, input.id);
          });
        } else {
          await volumes.create(
            { name, labels: volume.labels, options: volume.options, anonymous: !volume.name },
            { whileLocked: () => addPending(ctx, name, input.id) },
          );
        }
        mp.Name = name;
        mp.Source = volumes.paths(name).data;
      }
      done.push(mp);
    }
  } catch (err) {
    await forgetMounts(ctx, done, input.id).catch(() => {});
    throw err;
  }
  return planned.map((p) => p.mp);
}

/**
 * Undoes a plan whose container was not made: its claims on the volumes go, and the anonymous
 * volumes it made. Without the container's id the claims are left to go stale.
 */
export async function forgetMounts(ctx: EngineContext, mounts: MountPoint[], id?: string): Promise<void> {
  for (const mp of mounts) {
    if (mp.Type !== 'volume' || !mp.Name) continue;
    if (id) await removePending(ctx, mp.Name, id);
    if (mp.Anonymous) await removeVolume(ctx, mp.Name, { force: true, quietInUse: true }).catch(() => {});
  }
}

/** `(volumeName, target) → host path` for the OCI spec's volume mounts. */
export type VolumeSource = (name: string, target: string) => Promise<string | undefined>;

function runFile(ctx: EngineContext, id: string): string {
  return join(ctx.paths.runroot, 'volumes', '.runs', id);
}

interface RunMounts {
  /** Volumes this run may have mounted (listed before the mount). */
  volumes: string[];
  /** Those a mount event was sent for (an unmount event follows for each). */
  events?: string[];
}

export async function prepareMounts(ctx: EngineContext, rec: ContainerRecord, rootfs: string): Promise<VolumeSource> {
  await createBindSources(rec);
  const store = new VolumeStore(ctx);
  const sources = new Map<string, string>();
  const key = (name: string, target: string) => `${name}\0${target}`;
  const mps = (rec.MountPoints ?? []).filter((m) => m.Type === 'volume' && m.Name);
  if (mps.length === 0) return async () => undefined;
  const file = runFile(ctx, rec.Id);
  const run: RunMounts = (await readJson<RunMounts>(file).catch(() => undefined)) ?? { volumes: [] };
  await fs.mkdir(join(ctx.paths.runroot, 'volumes', '.runs'), { recursive: true, mode: 0o700 });
  for (const mp of mps) {
    const name = mp.Name!;
    const vol = await store.read(name);
    if (!vol) throw new NotFound(`error while mounting volume '${mp.Source}': get ${name}: no such volume`);
    // listed before it is mounted: a kill between the two leaves an unmount to do, never a mount nobody knows of
    if (!run.volumes.includes(name)) {
      run.volumes.push(name);
      await writeJsonAtomic(file, run, { durable: false });
    }
    const data = await mountVolume(ctx, vol, rec.Id);
    let source = data;
    const sub = mp.Spec?.VolumeOptions?.Subpath;
    if (sub) {
      source = await resolveInRoot(data, sub, { followLast: true });
      if (!(await fs.stat(source).then(() => true, () => false))) {
        throw new InvalidArgument(`error while mounting volume '${data}': cannot access path ${source}: no such file or directory`);
      }
    }
    if (!mp.NoCopy && !mp.Populated) {
      await store.withLock(name, async () => {
        try {
          copyUp(rootfs, mp.Destination, data);
        } catch (err) {
          throw new EngineError('system', `failed to populate volume: ${(err as Error).message}`, { cause: err });
        }
      });
      // Docker populates at the container's first use only; the record is written after init
      mp.Populated = true;
    }
    sources.set(key(name, mp.Destination), source);
    if (!run.events?.includes(name)) {
      run.events = [...(run.events ?? []), name];
      await writeJsonAtomic(file, run, { durable: false });
    }
    await recordEvent(ctx, {
      type: 'volume',
      action: 'mount',
      id: name,
      attributes: { container: rec.Id, destination: mp.Destination, driver: vol.Driver, propagation: mp.Propagation, 'read/write': String(mp.RW) },
    });
  }
  return async (name, target) => sources.get(key(name, target));
}

/**
 * A `-v /host:/path` bind whose /host is missing gets it made, a directory (0755), at start, as
 * Docker does; `--mount type=bind` was refused at create instead, unless its CreateMountpoint.
 */
async function createBindSources(rec: ContainerRecord): Promise<void> {
  for (const mp of recordMountPoints(rec)) {
    if (mp.Type !== 'bind' || (mp.Spec && !mp.Spec.BindOptions?.CreateMountpoint)) continue;
    const missing = await fs.stat(mp.Source).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
    // a dangling symlink in the way is left for the runtime to report
    if (missing) await fs.mkdir(mp.Source, { recursive: true, mode: 0o755 }).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
  }
}

/**
 * The volumes and binds `docker cp` sees in the container, as Docker mounts them for it: each
 * destination with its host directory. A volume mounted with driver options is there only while
 * the container runs (its directory is empty otherwise); tmpfs mounts live in the container alone.
 */
export async function cpMounts(ctx: EngineContext, rec: ContainerRecord): Promise<Array<{ destination: string; source: string; readOnly: boolean }>> {
  const store = new VolumeStore(ctx);
  const running = isRunning(rec);
  const out = [];
  for (const mp of recordMountPoints(rec)) {
    if (mp.Type === 'tmpfs' || !mp.Source || mp.Spec?.VolumeOptions?.Subpath) continue;
    if (mp.Type === 'volume' && !running) {
      const vol = mp.Name ? await store.read(mp.Name) : undefined;
      if (!vol || needsMount(vol.Options)) continue;
    }
    out.push({ destination: mp.Destination, source: mp.Source, readOnly: !mp.RW });
  }
  return out;
}

export async function releaseMounts(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  const file = runFile(ctx, rec.Id);
  const run = await readJson<RunMounts>(file).catch(() => undefined);
  if (!run) return;
  const store = new VolumeStore(ctx);
  for (const name of run.volumes) {
    const vol = await store.read(name).catch(() => undefined);
    if (vol && needsMount(vol.Options)) await unmountVolume(ctx, name, rec.Id);
    if (!run.events?.includes(name)) continue;
    await recordEvent(ctx, { type: 'volume', action: 'unmount', id: name, attributes: { container: rec.Id, driver: vol?.Driver ?? 'local' } });
  }
  await fs.rm(file, { force: true });
}

export async function removeContainerVolumes(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  for (const mp of rec.MountPoints ?? []) {
    if (mp.Type !== 'volume' || !mp.Name || !mp.Anonymous) continue;
    // one another container still uses (volumes-from) stays, as Docker leaves it
    await removeVolume(ctx, mp.Name, { force: true, quietInUse: true }).catch(() => {});
  }
}
