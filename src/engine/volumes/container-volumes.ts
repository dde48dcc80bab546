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
import type { EngineContext } from '../context.ts';
import type { ContainerConfig, ContainerRecord, HostConfig, MountPoint } from '../containers/types.ts';

export async function planMounts(
  _ctx: EngineContext,
  _input: { id: string; config: ContainerConfig; hostConfig: HostConfig },
): Promise<MountPoint[]> {
  return [];
}

export async function forgetMounts(_ctx: EngineContext, _mounts: MountPoint[]): Promise<void> {}

/** `(volumeName, target) → host path` for the OCI spec's volume mounts. */
export type VolumeSource = (name: string, target: string) => Promise<string | undefined>;

export async function prepareMounts(_ctx: EngineContext, _rec: ContainerRecord, _rootfs: string): Promise<VolumeSource> {
  return async () => undefined;
}

export async function releaseMounts(_ctx: EngineContext, _rec: ContainerRecord): Promise<void> {}

export async function removeContainerVolumes(_ctx: EngineContext, _rec: ContainerRecord): Promise<void> {}
