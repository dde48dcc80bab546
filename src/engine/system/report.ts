// Everything /info and /version say, gathered once per call from the host, the store and the
// programs berth drives. The API modules shape it as Docker's or libpod's JSON.
import os from 'node:os';
import { loadRegistriesConfig, registriesConfFiles, type RegistriesConfig } from '../../config/registries.ts';
import { readJson, writeFileAtomic } from '../../store/atomic.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';
import { promises as fs } from 'node:fs';
import type { EngineContext } from '../context.ts';
import { conmonVersion, runcVersion, type ProgramVersion } from '../runtime/versions.ts';
import {
  backingFilesystem,
  bridgeNfIp6tables,
  bridgeNfIptables,
  cgroupFacts,
  ipv4Forwarding,
  memInfo,
  openFdCount,
  osRelease,
  securityFacts,
  type CgroupFacts,
  type OsRelease,
  type SecurityFacts,
} from './host.ts';

export interface ProgramReport {
  name: string;
  path: string;
  /** undefined when the program could not be run; `error` says why. */
  version?: ProgramVersion;
  error?: string;
}

export interface StoreCounts {
  containersRunning: number;
  containersPaused: number;
  containersStopped: number;
  images: number;
}

export interface SystemReport {
  engineId: string;
  hostname: string;
  kernel: string;
  os: OsRelease;
  arch: string;
  ncpu: number;
  memTotal: number;
  memFree: number;
  swapTotal: number;
  swapFree: number;
  uptimeSeconds: number;
  cgroup: CgroupFacts;
  security: SecurityFacts;
  ipv4Forwarding: boolean;
  bridgeNfIptables: boolean;
  bridgeNfIp6tables: boolean;
  backingFs: string;
  openFds: number;
  runtime: ProgramReport;
  conmon: ProgramReport;
  registries: RegistriesConfig;
  counts: StoreCounts;
}

// needed once per store, for its id: not worth loading at every start
const crypto = lazyRequire<typeof import('node:crypto')>('node:crypto');

// Program versions don't change while one short-lived service process runs: ask once.
const versionCache = new Map<string, Promise<ProgramReport>>();

function programReport(name: string, path: string, probe: (p: string) => Promise<ProgramVersion>): Promise<ProgramReport> {
  const key = `${name}\0${path}`;
  let p = versionCache.get(key);
  if (!p) {
    p = probe(path).then(
      (version) => ({ name, path, version }),
      (err: Error) => ({ name, path, error: err.message }),
    );
    versionCache.set(key, p);
  }
  return p;
}

export function runtimeReport(ctx: EngineContext): Promise<ProgramReport> {
  return programReport('runc', ctx.programs.runc, runcVersion);
}

export function conmonReport(ctx: EngineContext): Promise<ProgramReport> {
  return programReport('conmon', ctx.programs.conmon, conmonVersion);
}

/** The engine's id: made once, kept in the store, the same for every later process. */
export async function engineId(ctx: EngineContext): Promise<string> {
  const existing = await fs.readFile(ctx.paths.engineId, 'utf8').catch(() => '');
  if (existing.trim()) return existing.trim();
  const id = crypto().randomUUID();
  // two first starts at once may race; the rename makes one win, and both read it back
  await writeFileAtomic(ctx.paths.engineId, id + '\n', { mode: 0o644 });
  return (await fs.readFile(ctx.paths.engineId, 'utf8')).trim();
}

/** Counts of containers (by their reconciled state) and images. */
export async function storeCounts(ctx: EngineContext): Promise<StoreCounts> {
  const { ImageStore } = await import('../images/image-store.ts');
  const { listContainers } = await import('../containers/operations.ts');
  const [images, containers] = await Promise.all([new ImageStore(ctx).list(), listContainers(ctx, { all: true })]);
  const count = (...st: string[]) => containers.filter((c) => st.includes(c.State.Status)).length;
  return { containersRunning: count('running', 'restarting'), containersPaused: count('paused'), containersStopped: containers.length - count('running', 'restarting', 'paused'), images: images.length };
}

export async function systemReport(ctx: EngineContext): Promise<SystemReport> {
  const [id, osr, cgroup, security, fwd, nf, nf6, backingFs, fds, mem, runtime, conmon, counts] = await Promise.all([
    engineId(ctx),
    osRelease(),
    cgroupFacts(),
    securityFacts(),
    ipv4Forwarding(),
    bridgeNfIptables(),
    bridgeNfIp6tables(),
    backingFilesystem(ctx.paths.root),
    openFdCount(),
    memInfo(),
    runtimeReport(ctx),
    conmonReport(ctx),
    storeCounts(ctx),
  ]);
  return {
    engineId: id,
    hostname: os.hostname(),
    kernel: os.release(),
    os: osr,
    arch: os.machine(),
    ncpu: os.availableParallelism(),
    memTotal: os.totalmem(),
    memFree: mem.memFree,
    swapTotal: mem.swapTotal,
    swapFree: mem.swapFree,
    uptimeSeconds: Math.floor(os.uptime()),
    cgroup,
    security,
    ipv4Forwarding: fwd,
    bridgeNfIptables: nf,
    bridgeNfIp6tables: nf6,
    backingFs,
    openFds: fds,
    runtime,
    conmon,
    registries: loadRegistriesConfig(ctx.registriesConf ?? registriesConfFiles()),
    counts,
  };
}
