// `docker stats` samples: a container's cgroup counters (v1 or v2), the host's CPU time from
// /proc/stat and the interfaces of the container's network namespace, in Docker's
// StatsResponse shape. The CLI derives its columns from these: CPU % is the container's CPU
// time delta over the host's, times online_cpus; memory is usage minus total_inactive_file
// (v1) or inactive_file (v2), against limit (the host's memory when unlimited).
import { existsSync, promises as fs } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { ContainerStore } from '../containers/store.ts';
import { ZERO_TIME, type ContainerRecord } from '../containers/types.ts';
import { containerCgroups, ProcessGone, runningPid, type ContainerCgroups } from './cgroups.ts';

export interface CpuUsage {
  total_usage: number;
  /** cgroup v1 only. */
  percpu_usage?: number[];
  usage_in_kernelmode: number;
  usage_in_usermode: number;
}

export interface ThrottlingData {
  periods: number;
  throttled_periods: number;
  throttled_time: number;
}

export interface CpuStats {
  cpu_usage: CpuUsage;
  /** The host's CPU time since boot, in ns. */
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: ThrottlingData;
}

export interface MemoryStats {
  usage?: number;
  /** cgroup v1 only. */
  max_usage?: number;
  stats?: Record<string, number>;
  failcnt?: number;
  limit?: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioEntry[] | null;
  io_serviced_recursive: BlkioEntry[] | null;
  io_queue_recursive: BlkioEntry[] | null;
  io_service_time_recursive: BlkioEntry[] | null;
  io_wait_time_recursive: BlkioEntry[] | null;
  io_merged_recursive: BlkioEntry[] | null;
  io_time_recursive: BlkioEntry[] | null;
  sectors_recursive: BlkioEntry[] | null;
}

export interface PidsStats {
  current?: number;
  /** Absent when unlimited. */
  limit?: number;
}

export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** Docker's StatsResponse (API 1.50), with Go's omitempty applied. */
export interface DockerStats {
  id?: string;
  /** With Docker's leading slash. */
  name?: string;
  os_type: string;
  read: string;
  preread: string;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  networks?: Record<string, NetworkStats>;
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
}

/** What the cgroup files say; the rest of a sample comes from /proc. */
export interface CgroupSample {
  cpu: CpuStats;
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
}

export interface StatsOptions {
  id?: string;
  /** The container's name, without Docker's slash (added here). */
  name?: string;
  /** Read the interfaces of the process's network namespace (not for host networking). Default true. */
  networks?: boolean;
  /** The host's memory, the limit shown for an unlimited container (default: os.totalmem()). */
  machineMemory?: number;
}

// Docker assumes USER_HZ 100 for cpuacct.stat and /proc/stat, as Linux has on every arch.
const NS_PER_TICK = 1e9 / 100;
// Above 2^63 a counter is "unlimited"; clamped, its JSON number stays inside uint64 for Go.
const U64_CAP = 2n ** 63n - 1n;

/** A cgroup counter: decimal uint64 (or `max`, which is undefined). */
export function parseU64(text: string | undefined): number | undefined {
  const s = text?.trim();
  if (!s || s === 'max' || !/^-?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n < 0n) return 0;
  return Number(n > U64_CAP ? U64_CAP : n);
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.events). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (!key || value === undefined) continue;
    const n = parseU64(value);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

/** v1 blkio files: `8:0 Read 4096` (or `8:0 4096` for time/sectors), ending in `Total N`. */
export function parseBlkioV1(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(fields[0] ?? '');
    if (!dev) continue;
    const [op, value] = fields.length >= 3 ? [fields[1]!, fields[2]] : ['', fields[1]];
    out.push({ major: Number(dev[1]), minor: Number(dev[2]), op, value: parseU64(value) ?? 0 });
  }
  return out;
}

/** v2 io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`, as Docker's read/write pairs. */
export function parseIoStatV2(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(fields[0] ?? '');
    if (!dev) continue;
    const kv: Record<string, number> = {};
    for (const f of fields.slice(1)) {
      const [k, v] = f.split('=');
      if (k) kv[k] = parseU64(v) ?? 0;
    }
    const major = Number(dev[1]);
    const minor = Number(dev[2]);
    out.push({ major, minor, op: 'read', value: kv['rbytes'] ?? 0 }, { major, minor, op: 'write', value: kv['wbytes'] ?? 0 });
  }
  return out;
}

/** /proc/stat: the host's CPU time in ns (user..softirq, as Docker sums) and the online CPUs. */
export function parseProcStat(text: string): { systemUsage: number; onlineCpus: number } {
  let systemUsage = 0;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) break; // the cpu lines come first
    if (line[3] === ' ') {
      const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((sum, f) => sum + BigInt(f), 0n);
      systemUsage = Number(ticks * BigInt(NS_PER_TICK));
    } else if (line[3]! >= '0' && line[3]! <= '9') onlineCpus++;
  }
  return { systemUsage, onlineCpus };
}

/** /proc/<pid>/net/dev: per-interface counters, without `lo` (Docker shows only the container's endpoints). */
export function parseNetDev(text: string): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!name || name === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map((v) => parseU64(v) ?? 0);
    out[name] = {
      rx_bytes: f[0] ?? 0,
      rx_packets: f[1] ?? 0,
      rx_errors: f[2] ?? 0,
      rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0,
      tx_packets: f[9] ?? 0,
      tx_errors: f[10] ?? 0,
      tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

// The memory.stat keys Docker reports, per cgroup version (absent ones as 0, as Docker does).
const MEMORY_KEYS_V1 = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit',
  'hierarchical_memsw_limit', 'total_cache', 'total_rss', 'total_rss_huge', 'total_mapped_file', 'total_dirty',
  'total_writeback', 'total_pgpgin', 'total_pgpgout', 'total_pgfault', 'total_pgmajfault', 'total_inactive_anon',
  'total_active_anon', 'total_inactive_file', 'total_active_file', 'total_unevictable',
];
const MEMORY_KEYS_V2 = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable',
  'slab_unreclaimable', 'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate',
  'workingset_nodereclaim', 'pgrefill', 'pgscan', 'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree',
  'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
];

const readText = (dir: string | undefined, file: string): Promise<string | undefined> =>
  dir ? fs.readFile(join(dir, file), 'utf8').catch(() => undefined) : Promise.resolve(undefined);

function pick(raw: Record<string, number>, keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = raw[k] ?? 0;
  return out;
}

/** Go's omitempty: zero numbers are left out. */
function withoutZeros<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== 0) out[k] = v;
  return out as T;
}

/** The host's memory stands for "no limit", as Docker shows it. */
function clampLimit(limit: number | undefined, machineMemory: number): number | undefined {
  if (limit === undefined) return machineMemory;
  return limit > machineMemory && machineMemory > 0 ? machineMemory : limit;
}

export function emptyBlkio(): BlkioStats {
  return {
    io_service_bytes_recursive: null,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

/** Go's zero CPUStats: what precpu_stats is on a first sample. */
export function emptyCpuStats(): CpuStats {
  return {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** A cgroup v1 container's counters (paths: controller → directory). */
export async function readCgroupV1(paths: Record<string, string>, machineMemory = totalmem()): Promise<CgroupSample> {
  const cpuacct = paths['cpuacct'] ?? paths['cpu'];
  const [usage, percpu, acctStat, cpuStat, memUsage, memMax, memLimit, memFailcnt, memStat, pidsCurrent, pidsMax] = await Promise.all([
    readText(cpuacct, 'cpuacct.usage'),
    readText(cpuacct, 'cpuacct.usage_percpu'),
    readText(cpuacct, 'cpuacct.stat'),
    readText(paths['cpu'] ?? paths['cpuacct'], 'cpu.stat'),
    readText(paths['memory'], 'memory.usage_in_bytes'),
    readText(paths['memory'], 'memory.max_usage_in_bytes'),
    readText(paths['memory'], 'memory.limit_in_bytes'),
    readText(paths['memory'], 'memory.failcnt'),
    readText(paths['memory'], 'memory.stat'),
    readText(paths['pids'], 'pids.current'),
    readText(paths['pids'], 'pids.max'),
  ]);
  const ticks = parseFlatKeyed(acctStat ?? '');
  const throttle = parseFlatKeyed(cpuStat ?? '');
  const perCpu = (percpu ?? '').trim().split(/\s+/).filter(Boolean).map((v) => parseU64(v) ?? 0);
  const cpu: CpuStats = {
    cpu_usage: {
      total_usage: parseU64(usage) ?? 0,
      ...(perCpu.length ? { percpu_usage: perCpu } : {}),
      usage_in_kernelmode: (ticks['system'] ?? 0) * NS_PER_TICK,
      usage_in_usermode: (ticks['user'] ?? 0) * NS_PER_TICK,
    },
    throttling_data: { periods: throttle['nr_periods'] ?? 0, throttled_periods: throttle['nr_throttled'] ?? 0, throttled_time: throttle['throttled_time'] ?? 0 },
  };

  const memory: MemoryStats = memStat === undefined ? {} : withoutZeros({
    usage: parseU64(memUsage),
    max_usage: parseU64(memMax),
    stats: pick(parseFlatKeyed(memStat), MEMORY_KEYS_V1),
    failcnt: parseU64(memFailcnt),
    limit: clampLimit(parseU64(memLimit), machineMemory),
  });

  return { cpu, memory, pids: pidsStats(pidsCurrent, pidsMax), blkio: await readBlkioV1(paths['blkio']) };
}

function pidsStats(current: string | undefined, max: string | undefined): PidsStats {
  return withoutZeros({ current: parseU64(current), limit: parseU64(max) });
}

async function readBlkioV1(dir: string | undefined): Promise<BlkioStats> {
  const out: BlkioStats = {
    io_service_bytes_recursive: [],
    io_serviced_recursive: [],
    io_queue_recursive: [],
    io_service_time_recursive: [],
    io_wait_time_recursive: [],
    io_merged_recursive: [],
    io_time_recursive: [],
    sectors_recursive: [],
  };
  if (!dir) return out;
  // CFQ's full set when the kernel has it; else (blk-mq, the usual now) the throttle counters
  if (existsSync(join(dir, 'blkio.io_service_bytes_recursive'))) {
    const files: Array<[keyof BlkioStats, string]> = [
      ['io_service_bytes_recursive', 'blkio.io_service_bytes_recursive'],
      ['io_serviced_recursive', 'blkio.io_serviced_recursive'],
      ['io_queue_recursive', 'blkio.io_queued_recursive'],
      ['io_service_time_recursive', 'blkio.io_service_time_recursive'],
      ['io_wait_time_recursive', 'blkio.io_wait_time_recursive'],
      ['io_merged_recursive', 'blkio.io_merged_recursive'],
      ['io_time_recursive', 'blkio.time_recursive'],
      ['sectors_recursive', 'blkio.sectors_recursive'],
    ];
    await Promise.all(files.map(async ([key, file]) => (out[key] = parseBlkioV1((await readText(dir, file)) ?? ''))));
  } else {
    out.io_service_bytes_recursive = parseBlkioV1((await readText(dir, 'blkio.throttle.io_service_bytes_recursive')) ?? '');
    out.io_serviced_recursive = parseBlkioV1((await readText(dir, 'blkio.throttle.io_serviced_recursive')) ?? '');
  }
  return out;
}

/** A cgroup v2 container's counters (its unified directory). */
export async function readCgroupV2(dir: string, machineMemory = totalmem()): Promise<CgroupSample> {
  const [cpuStat, memCurrent, memMax, memStat, memEvents, pidsCurrent, pidsMax, ioStat] = await Promise.all([
    readText(dir, 'cpu.stat'),
    readText(dir, 'memory.current'),
    readText(dir, 'memory.max'),
    readText(dir, 'memory.stat'),
    readText(dir, 'memory.events'),
    readText(dir, 'pids.current'),
    readText(dir, 'pids.max'),
    readText(dir, 'io.stat'),
  ]);
  const c = parseFlatKeyed(cpuStat ?? '');
  const cpu: CpuStats = {
    cpu_usage: {
      total_usage: (c['usage_usec'] ?? 0) * 1000,
      usage_in_kernelmode: (c['system_usec'] ?? 0) * 1000,
      usage_in_usermode: (c['user_usec'] ?? 0) * 1000,
    },
    throttling_data: { periods: c['nr_periods'] ?? 0, throttled_periods: c['nr_throttled'] ?? 0, throttled_time: (c['throttled_usec'] ?? 0) * 1000 },
  };
  const memory: MemoryStats = memStat === undefined ? {} : withoutZeros({
    usage: parseU64(memCurrent),
    stats: pick(parseFlatKeyed(memStat), MEMORY_KEYS_V2),
    // v2 has no failcnt: Docker reports the oom count of memory.events there
    failcnt: parseFlatKeyed(memEvents ?? '')['oom'],
    limit: clampLimit(parseU64(memMax), machineMemory),
  });
  const io = parseIoStatV2(ioStat ?? '');
  const blkio = emptyBlkio();
  if (io.length) blkio.io_service_bytes_recursive = io;
  return { cpu, memory, pids: pidsStats(pidsCurrent, pidsMax), blkio };
}

/** The counters of a container's cgroups, whichever version. */
export function readCgroupSample(cg: ContainerCgroups, machineMemory = totalmem()): Promise<CgroupSample> {
  return cg.version === 2 ? readCgroupV2(cg.paths['unified']!, machineMemory) : readCgroupV1(cg.paths, machineMemory);
}

/** Docker's answer for a container that is not running: its id and name, every counter zero. */
export function emptyStats(id?: string, name?: string): DockerStats {
  return {
    ...(id ? { id } : {}),
    ...(name ? { name: `/${name}` } : {}),
    os_type: 'linux',
    read: ZERO_TIME,
    preread: ZERO_TIME,
    cpu_stats: emptyCpuStats(),
    precpu_stats: emptyCpuStats(),
    memory_stats: {},
    pids_stats: {},
    blkio_stats: emptyBlkio(),
    num_procs: 0,
    storage_stats: {},
  };
}

/**
 * One sample of the container whose init is `pid`. `prev` (the previous sample of the same
 * stream) fills precpu_stats and preread; without it they are zero, as Docker's first sample.
 * Throws ProcessGone when the process has exited.
 */
export async function readStats(pid: number, prev?: DockerStats, opts: StatsOptions = {}): Promise<DockerStats> {
  const read = new Date().toISOString();
  const cg = await containerCgroups(pid);
  const sample = await readCgroupSample(cg, opts.machineMemory);
  // the host's CPU time right after the container's, so the two deltas cover the same span
  const { systemUsage, onlineCpus } = parseProcStat(await fs.readFile('/proc/stat', 'utf8'));
  const cpu: CpuStats = { ...sample.cpu, system_cpu_usage: systemUsage, online_cpus: onlineCpus };
  let networks: Record<string, NetworkStats> | undefined;
  if (opts.networks !== false) {
    const netDev = await fs.readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => {
      throw new ProcessGone(pid);
    });
    networks = parseNetDev(netDev);
    if (!Object.keys(networks).length) networks = undefined;
  }
  return {
    ...(opts.id ? { id: opts.id } : {}),
    ...(opts.name ? { name: `/${opts.name}` } : {}),
    os_type: 'linux',
    read,
    preread: prev?.read ?? ZERO_TIME,
    cpu_stats: cpu,
    precpu_stats: prev?.cpu_stats ?? emptyCpuStats(),
    memory_stats: sample.memory,
    ...(networks ? { networks } : {}),
    pids_stats: sample.pids,
    blkio_stats: sample.blkio,
    num_procs: 0,
    storage_stats: {},
  };
}

export interface StatsStreamOptions {
  /** One sample a second until the container stops (Docker's default), or one answer. */
  stream: boolean;
  /** With stream false: one sample at once instead of two a second apart (no precpu_stats). */
  oneShot?: boolean;
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The samples `GET /containers/{id}/stats` answers with. Resolves the container first (so a
 * missing one is an ordinary 404), then yields: streaming, one sample per interval (the first
 * without precpu_stats, as Docker's) until a container that ran stops or is removed, or zeros
 * each interval for one that isn't running; not streaming, one sample, which carries the
 * previous one taken an interval before unless oneShot.
 */
export async function statsSamples(ctx: EngineContext, idOrName: string, opts: StatsStreamOptions): Promise<AsyncGenerator<DockerStats>> {
  const store = new ContainerStore(ctx);
  const first = await store.find(idOrName);
  const interval = opts.intervalMs ?? 1000;
  const sample = (rec: ContainerRecord, pid: number, prev?: DockerStats) =>
    readStats(pid, prev, { id: rec.Id, name: rec.Name, networks: rec.HostConfig.NetworkMode !== 'host' });

  async function* once(): AsyncGenerator<DockerStats> {
    const pid = runningPid(first);
    try {
      if (!pid) yield emptyStats(first.Id, first.Name);
      else if (opts.oneShot) yield await sample(first, pid);
      else {
        const before = await sample(first, pid);
        await sleep(interval);
        yield await sample(first, pid, before);
      }
    } catch (err) {
      if (!(err instanceof ProcessGone)) throw err;
      yield emptyStats(first.Id, first.Name);
    }
  }

  async function* stream(): AsyncGenerator<DockerStats> {
    let rec: ContainerRecord | undefined = first;
    let prev: DockerStats | undefined;
    while (rec) {
      const pid = runningPid(rec);
      let s: DockerStats | undefined;
      if (pid) s = await sample(rec, pid, prev).catch((err: unknown) => (err instanceof ProcessGone ? undefined : Promise.reject(err)));
      if (s) yield (prev = s);
      else if (prev) return; // it ran and has stopped: Docker ends the stream
      else yield emptyStats(rec.Id, rec.Name);
      await sleep(interval);
      rec = await store.read(rec.Id);
    }
  }

  return opts.stream ? stream() : once();
}
