// `docker update`: new resource limits and restart policy for a container. The record always
// takes them; a running (or paused) container gets the limits live through `runc update`,
// before the record is written, so a refused change leaves the record as it was.
import type { EngineContext } from '../context.ts';
import { Conflict, SystemError } from '../errors.ts';
import { runningPid } from '../runtime/cgroups.ts';
import { runcUpdate } from '../runtime/runc.ts';
import { validateHostConfig } from './create-config.ts';
import { containerEvent } from './events.ts';
import { resourcesForUpdate, UPDATABLE_RESOURCE_FIELDS, type OciLinuxResources } from './resources.ts';
import { ContainerStore } from './store.ts';
import type { HostConfig, RestartPolicy } from './types.ts';

/** The update body: Docker's Resources subset of HostConfig plus RestartPolicy. */
export type UpdateBody = Partial<Pick<HostConfig, (typeof UPDATABLE_RESOURCE_FIELDS)[number]>> & {
  RestartPolicy?: RestartPolicy;
  [key: string]: unknown;
};

export interface UpdateResult {
  Warnings: string[];
}

const cannotUpdate = (id: string, why: string) => `Cannot update container ${id}: ${why}`;

/**
 * The record's HostConfig with the update applied, as Docker merges it: zero (or absent) leaves
 * a field as it was; NanoCpus and CpuPeriod/CpuQuota exclude each other across old and new.
 * Throws Conflict with Docker's words (prefixed by "Cannot update container <id>: ").
 */
export function mergeUpdate(id: string, current: HostConfig, body: UpdateBody): HostConfig {
  const conflict = (why: string) => new Conflict(cannotUpdate(id, why));
  const cur = current;
  const n = (v: number | null | undefined) => v ?? 0;
  if (n(body.NanoCpus) > 0 && n(cur.CpuPeriod) > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (n(body.NanoCpus) > 0 && n(cur.CpuQuota) > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (n(body.CpuPeriod) > 0 && n(cur.NanoCpus) > 0) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (n(body.CpuQuota) > 0 && n(cur.NanoCpus) > 0) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  const out: HostConfig = { ...cur };
  const numeric = ['BlkioWeight', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'MemorySwap', 'MemoryReservation', 'CpuRealtimePeriod', 'CpuRealtimeRuntime'] as const;
  for (const key of numeric) if (n(body[key]) !== 0) out[key] = body[key]!;
  if (body.CpusetCpus) out.CpusetCpus = body.CpusetCpus;
  if (body.CpusetMems) out.CpusetMems = body.CpusetMems;
  if (n(body.Memory) !== 0) {
    // Docker refuses a memory limit above the swap limit already set unless the swap changes
    // too. It applies that to an unset (0) or unlimited (-1) swap as well, which makes
    // `docker update -m` fail on any container run without -m (moby#39541, moby#47874): we
    // check only against a real limit.
    const swap = n(cur.MemorySwap);
    if (swap > 0 && body.Memory! > swap && n(body.MemorySwap) === 0) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    out.Memory = body.Memory!;
  }
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) out.PidsLimit = body.PidsLimit;
  if (body.MemorySwappiness !== undefined && body.MemorySwappiness !== null) out.MemorySwappiness = body.MemorySwappiness;
  if (body.OomKillDisable !== undefined && body.OomKillDisable !== null) out.OomKillDisable = body.OomKillDisable;
  if (body.RestartPolicy?.Name) {
    if (cur.AutoRemove && body.RestartPolicy.Name !== 'no') throw conflict('Restart policy cannot be updated because AutoRemove is enabled for the container');
    out.RestartPolicy = { Name: body.RestartPolicy.Name, MaximumRetryCount: body.RestartPolicy.MaximumRetryCount ?? 0 };
  }
  return out;
}

export interface UpdateDeps {
  /** Applies resources to the running container (default: runcUpdate). */
  apply?: (ctx: EngineContext, id: string, resources: OciLinuxResources) => Promise<void>;
}

/** Updates a container's limits and restart policy; running ones get the limits at once. */
export async function updateContainer(ctx: EngineContext, idOrName: string, body: UpdateBody, deps: UpdateDeps = {}): Promise<UpdateResult> {
  // the body as a HostConfig of only what it sets: Docker's create checks, in their update form
  validateHostConfig(body as HostConfig, {}, { update: true });
  const store = new ContainerStore(ctx);
  const id = await store.resolve(idOrName);
  const apply = deps.apply ?? runcUpdate;
  const { rec } = await store.update(id, async (rec) => {
    if (rec.State.Status === 'removing' || rec.State.Status === 'dead') {
      throw new SystemError(cannotUpdate(id, 'container is marked for removal and cannot be "update"'));
    }
    const merged = mergeUpdate(id, rec.HostConfig, body);
    const resources = resourcesForUpdate(body);
    if (runningPid(rec) && Object.keys(resources).length) {
      try {
        await apply(ctx, id, resources);
      } catch (err) {
        throw new SystemError(cannotUpdate(id, (err as Error).message), { cause: err });
      }
    }
    rec.HostConfig = merged;
  });
  await containerEvent(ctx, rec, 'update');
  return { Warnings: [] };
}
