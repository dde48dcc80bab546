// Docker Engine API, System: /_ping, /version, /info, /system/df.
import type { FastifyReply } from 'fastify';
import type { RegistriesConfig } from '../../config/registries.ts';
import { goArch, proxyEnv, runtimeVersion } from '../../engine/system/host.ts';
import { systemReport, runtimeReport, conmonReport, type ProgramReport, type SystemReport } from '../../engine/system/report.ts';
import { LIBPOD_API_VERSION, MAX_API_VERSION, MIN_API_VERSION } from '../../server/api-version.ts';
import { defineRoute, type Route } from '../../server/route.ts';
import { BERTH_BUILD_TIME, BERTH_COMMIT, BERTH_VERSION } from '../../version.ts';
import type { EngineContext } from '../../engine/context.ts';
import { InvalidArgument } from '../../engine/errors.ts';
import os from 'node:os';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/system.ts');

/** Headers of every ping answer, compat or libpod. */
export function pingHeaders(reply: FastifyReply): void {
  reply.header('Api-Version', MAX_API_VERSION);
  reply.header('Builder-Version', '1');
  reply.header('Docker-Experimental', 'false');
  reply.header('Libpod-API-Version', LIBPOD_API_VERSION);
  reply.header('Swarm', 'inactive');
  reply.header('Cache-Control', 'no-cache, no-store, must-revalidate');
  reply.header('Pragma', 'no-cache');
  reply.type('text/plain; charset=utf-8');
}

/** GET and HEAD /_ping, the same for compat and libpod paths. */
export function pingRoutes(api: 'compat' | 'libpod'): Route[] {
  const suffix = api === 'libpod' ? 'Libpod' : '';
  const responses = { 200: { description: 'the service is up', contentType: 'text/plain' } };
  const common = { path: '/_ping', api, tag: api === 'libpod' ? 'system' : 'System', responses } as const;
  return [
    defineRoute({
      ...common,
      method: 'GET',
      operationId: `SystemPing${suffix}`,
      summary: 'Ping: OK, with the API version and capabilities in headers',
      handler: ({ reply }) => {
        pingHeaders(reply);
        return 'OK';
      },
    }),
    defineRoute({
      ...common,
      method: 'HEAD',
      operationId: `SystemPingHead${suffix}`,
      summary: 'Ping: the headers only',
      handler: ({ reply }) => {
        pingHeaders(reply);
        reply.header('Content-Length', '0');
        return '';
      },
    }),
  ];
}

/** How podman prints conmon's version, which libpod clients show as is. */
export function conmonVersionText(report: ProgramReport): string {
  return report.version ? `conmon version ${report.version.version}, commit: ${report.version.commit}` : '';
}

export function componentOf(report: ProgramReport, name: string) {
  return { Name: name, Version: report.version?.version ?? '', Details: { GitCommit: report.version?.commit ?? '' } };
}

export async function dockerVersion(engine: EngineContext) {
  const [runtime, conmon] = await Promise.all([runtimeReport(engine), conmonReport(engine)]);
  const engineDetails = {
    ApiVersion: MAX_API_VERSION,
    Arch: goArch(),
    BuildTime: BERTH_BUILD_TIME,
    Experimental: 'false',
    GitCommit: BERTH_COMMIT,
    GoVersion: runtimeVersion(),
    KernelVersion: os.release(),
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
  };
  return {
    Platform: { Name: `berth ${BERTH_VERSION}` },
    Components: [
      { Name: 'Engine', Version: BERTH_VERSION, Details: engineDetails },
      ...[componentOf(runtime, 'runc'), componentOf(conmon, 'conmon')].filter((c) => c.Version),
    ],
    Version: BERTH_VERSION,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: BERTH_COMMIT,
    GoVersion: runtimeVersion(),
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: os.release(),
    Experimental: false,
    BuildTime: BERTH_BUILD_TIME,
  };
}

/** Docker's RegistryConfig from registries.conf; 127.0.0.0/8 and ::1 are insecure as in Docker. */
export function registryServiceConfig(cfg: RegistriesConfig) {
  const hub = cfg.registries.find((r) => r.prefix === 'docker.io');
  const hubMirrors = (hub?.mirrors ?? []).map((m) => `https://${m.location}/`);
  const indexConfigs: Record<string, { Name: string; Mirrors: string[]; Secure: boolean; Official: boolean }> = {
    'docker.io': { Name: 'docker.io', Mirrors: hubMirrors, Secure: !(hub?.insecure ?? false), Official: true },
  };
  for (const r of cfg.registries) {
    if (r.prefix === 'docker.io') continue;
    indexConfigs[r.prefix] = { Name: r.prefix, Mirrors: r.mirrors.map((m) => `https://${m.location}/`), Secure: !r.insecure, Official: false };
  }
  return {
    AllowNondistributableArtifactsCIDRs: [],
    AllowNondistributableArtifactsHostnames: [],
    InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'],
    IndexConfigs: indexConfigs,
    Mirrors: hubMirrors,
  };
}

export function securityOptions(r: SystemReport): string[] {
  const opts: string[] = [];
  if (r.security.apparmor) opts.push('name=apparmor');
  if (r.security.seccomp) opts.push('name=seccomp,profile=builtin');
  if (r.security.selinux) opts.push('name=selinux');
  if (r.security.rootless) opts.push('name=rootless');
  if (r.cgroup.version === '2') opts.push('name=cgroupns');
  return opts;
}

function warnings(r: SystemReport): string[] {
  const w: string[] = [];
  if (!r.cgroup.memory) w.push('WARNING: No memory limit support');
  if (!r.cgroup.swap) w.push('WARNING: No swap limit support');
  if (!r.ipv4Forwarding) w.push('WARNING: IPv4 forwarding is disabled');
  if (!r.bridgeNfIptables) w.push('WARNING: bridge-nf-call-iptables is disabled');
  if (!r.bridgeNfIp6tables) w.push('WARNING: bridge-nf-call-ip6tables is disabled');
  if (r.runtime.error) w.push(`WARNING: the OCI runtime cannot run: ${r.runtime.error}`);
  if (r.conmon.error) w.push(`WARNING: conmon cannot run: ${r.conmon.error}`);
  return w;
}

export async function dockerInfo(engine: EngineContext, logLevel: string) {
  const r = await systemReport(engine);
  const c = r.counts;
  const proxy = proxyEnv();
  return {
    ID: r.engineId,
    Containers: c.containersRunning + c.containersPaused + c.containersStopped,
    ContainersRunning: c.containersRunning,
    ContainersPaused: c.containersPaused,
    ContainersStopped: c.containersStopped,
    Images: c.images,
    Driver: 'overlay',
    DriverStatus: [
      ['Backing Filesystem', r.backingFs],
      ['Supports d_type', 'true'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', String(r.security.rootless)],
    ],
    DockerRootDir: engine.paths.root,
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file', 'k8s-file', 'none'] },
    MemoryLimit: r.cgroup.memory,
    SwapLimit: r.cgroup.swap,
    KernelMemoryTCP: r.cgroup.kernelMemoryTcp,
    CpuCfsPeriod: r.cgroup.cpuCfsPeriod,
    CpuCfsQuota: r.cgroup.cpuCfsQuota,
    CPUShares: r.cgroup.cpuShares,
    CPUSet: r.cgroup.cpuset,
    PidsLimit: r.cgroup.pids,
    OomKillDisable: r.cgroup.oomKillDisable,
    IPv4Forwarding: r.ipv4Forwarding,
    BridgeNfIptables: r.bridgeNfIptables,
    BridgeNfIp6tables: r.bridgeNfIp6tables,
    Debug: logLevel === 'debug' || logLevel === 'trace',
    NFd: r.openFds,
    NGoroutines: process.getActiveResourcesInfo().length,
    SystemTime: new Date().toISOString(),
    // conmon writes k8s-file logs; clients (docker-py) only read logs of json-file containers
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: r.cgroup.version,
    NEventsListener: 0,
    KernelVersion: r.kernel,
    OperatingSystem: r.os.prettyName,
    OSVersion: r.os.versionId,
    OSType: 'linux',
    Architecture: r.arch,
    NCPU: r.ncpu,
    MemTotal: r.memTotal,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryServiceConfig(r.registries),
    GenericResources: null,
    HttpProxy: proxy.http,
    HttpsProxy: proxy.https,
    NoProxy: proxy.no,
    Name: r.hostname,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: BERTH_VERSION,
    Runtimes: { runc: { path: r.runtime.path } },
    DefaultRuntime: 'runc',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'catatonit',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: r.runtime.version?.commit ?? '', Expected: r.runtime.version?.commit ?? '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: securityOptions(r),
    CDISpecDirs: [],
    Warnings: warnings(r),
  };
}

const DF_TYPES = new Set(['container', 'image', 'volume', 'build-cache']);

export const routes: Route[] = [
  ...pingRoutes('compat'),
  defineRoute({
    method: 'GET',
    path: '/version',
    api: 'compat',
    operationId: 'SystemVersion',
    tag: 'System',
    summary: 'Versions of berth, the API, the OCI runtime and conmon',
    responses: { 200: { description: 'versions', schema: async () => (await schemas()).SystemVersion } },
    handler: ({ engine }) => dockerVersion(engine),
  }),
  defineRoute({
    method: 'GET',
    path: '/info',
    api: 'compat',
    operationId: 'SystemInfo',
    tag: 'System',
    summary: 'System-wide information',
    responses: { 200: { description: 'information', schema: async () => (await schemas()).SystemInfo } },
    handler: ({ engine, request }) => dockerInfo(engine, request.log.level),
  }),
  defineRoute({
    method: 'GET',
    path: '/system/df',
    api: 'compat',
    operationId: 'SystemDataUsage',
    tag: 'System',
    summary: 'Disk usage of images, containers, volumes and build cache',
    query: async () => (await schemas()).SystemDfQuery,
    responses: { 200: { description: 'usage', schema: async () => (await schemas()).SystemDf } },
    handler: async ({ query, engine, apiVersion }) => {
      const types = query.type === undefined ? [] : [query.type].flat();
      for (const t of types) {
        if (!DF_TYPES.has(t)) throw new InvalidArgument(`unknown object type: ${t}`);
      }
      const want = (t: string) => types.length === 0 || types.includes(t);
      // The build cache arrives with the builder; empty until then.
      const { imageDiskUsage, containerDiskUsage } = await import('../../engine/images/usage.ts');
      return {
        ...(want('image') ? await imageDiskUsage(engine, apiVersion) : {}),
        ...(want('container') ? await containerDiskUsage(engine) : {}),
        ...(want('volume') ? { Volumes: await (await import('../../engine/volumes/operations.ts')).volumesDiskUsage(engine) } : {}),
        ...(want('build-cache') ? { BuildCache: [] } : {}),
      };
    },
  }),
];
