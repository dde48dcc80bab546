// Docker's resource fields (HostConfig) as the OCI runtime spec's linux.resources. The same
// object goes into config.json at start and, for `docker update`, into the file given to
// `runc update --resources`, so it only ever holds what was asked for.
import { InvalidArgument } from '../errors.ts';
import type { HostConfig } from './types.ts';

export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'b' | 'c';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciLinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface OciLinuxCpu {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
}

export interface OciLinuxResources {
  devices?: OciDeviceCgroup[];
  memory?: OciLinuxMemory;
  cpu?: OciLinuxCpu;
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

/** The CFS period NanoCpus is expressed in (100 ms), as Docker uses. */
export const NANO_CPUS_PERIOD = 100_000;

/** The resource fields `docker update` may send (besides RestartPolicy). */
export const UPDATABLE_RESOURCE_FIELDS = [
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'MemorySwappiness',
  'OomKillDisable',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpusetCpus',
  'CpusetMems',
  'PidsLimit',
  'BlkioWeight',
] as const satisfies ReadonlyArray<keyof HostConfig>;

type ResourceFields = Pick<HostConfig, (typeof UPDATABLE_RESOURCE_FIELDS)[number] | 'DeviceCgroupRules'>;

const set = (n: number | null | undefined): n is number => typeof n === 'number' && n !== 0;

/**
 * linux.resources for a container's HostConfig. Zero means "not set" in Docker's API for every
 * field but MemorySwappiness (where -1 / null is "not set") and PidsLimit (0 and -1 unlimited).
 */
export function linuxResources(hc: ResourceFields): OciLinuxResources {
  const out: OciLinuxResources = {};

  const memory: OciLinuxMemory = {};
  if (set(hc.Memory)) memory.limit = hc.Memory;
  if (set(hc.MemoryReservation)) memory.reservation = hc.MemoryReservation;
  // MemorySwap is memory+swap in both Docker and runc; -1 is unlimited and goes through as is
  if (set(hc.MemorySwap)) memory.swap = hc.MemorySwap;
  if (typeof hc.MemorySwappiness === 'number' && hc.MemorySwappiness >= 0) memory.swappiness = hc.MemorySwappiness;
  if (typeof hc.OomKillDisable === 'boolean' && hc.OomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;

  const cpu: OciLinuxCpu = {};
  if (set(hc.CpuShares)) cpu.shares = hc.CpuShares;
  if (set(hc.NanoCpus)) {
    cpu.period = NANO_CPUS_PERIOD;
    cpu.quota = Math.round((hc.NanoCpus * NANO_CPUS_PERIOD) / 1e9);
  } else {
    if (set(hc.CpuQuota)) cpu.quota = hc.CpuQuota;
    if (set(hc.CpuPeriod)) cpu.period = hc.CpuPeriod;
  }
  if (set(hc.CpuRealtimeRuntime)) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;
  if (set(hc.CpuRealtimePeriod)) cpu.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;

  if (typeof hc.PidsLimit === 'number') {
    // Docker: 0 and -1 both mean unlimited; runc wants -1 (0 would mean "leave as is")
    out.pids = { limit: hc.PidsLimit > 0 ? hc.PidsLimit : -1 };
  }
  if (set(hc.BlkioWeight)) out.blockIO = { weight: hc.BlkioWeight };

  const rules = (hc.DeviceCgroupRules ?? []).map(parseDeviceCgroupRule);
  if (rules.length) out.devices = rules;
  return out;
}

/**
 * For `docker update`: the resources of only the fields present in `body`, so `runc update`
 * leaves the others alone. Docker's update sends zeros for fields not given; those are dropped
 * too, except a PidsLimit, where 0 asks for "unlimited".
 */
export function resourcesForUpdate(body: Partial<HostConfig>): OciLinuxResources {
  const given: ResourceFields = {};
  for (const key of UPDATABLE_RESOURCE_FIELDS) {
    if (body[key] !== undefined && body[key] !== null) (given as Record<string, unknown>)[key] = body[key];
  }
  if (given.PidsLimit === 0 && body.PidsLimit !== undefined) given.PidsLimit = -1;
  return linuxResources(given);
}

/** One `--device-cgroup-rule`: `c 1:3 mr`, `a *:* rwm`, `b 7:* rmw`. */
export function parseDeviceCgroupRule(rule: string): OciDeviceCgroup {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (!m) throw new InvalidArgument(`invalid device cgroup rule format: '${rule}'`);
  const out: OciDeviceCgroup = { allow: true, type: m[1] as 'a' | 'b' | 'c', access: m[4]! };
  if (m[2] !== '*') out.major = Number(m[2]);
  if (m[3] !== '*') out.minor = Number(m[3]);
  return out;
}
