// libpod API, System: /libpod/_ping, /libpod/version, /libpod/info — the shapes podman --remote reads.
import os from 'node:os';
import { systemReport, runtimeReport, conmonReport } from '../../engine/system/report.ts';
import { goArch, runtimeVersion } from '../../engine/system/host.ts';
import { LIBPOD_API_VERSION } from '../../server/api-version.ts';
import { defineRoute, type Route } from '../../server/route.ts';
import { BERTH_BUILD_TIME, BERTH_COMMIT, BERTH_VERSION } from '../../version.ts';
import type { EngineContext } from '../../engine/context.ts';
import { conmonVersionText, dockerVersion, pingRoutes } from '../compat/system.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/system.ts');

/**
 * podman --remote finds the server's version in the component named "Podman Engine", so the
 * libpod answer names berth's engine that way, with the libpod API version in its details.
 */
async function libpodVersion(engine: EngineContext) {
  const v = await dockerVersion(engine);
  const [runtime, conmon] = await Promise.all([runtimeReport(engine), conmonReport(engine)]);
  return {
    ...v,
    Components: [
      {
        Name: 'Podman Engine',
        Version: BERTH_VERSION,
        Details: {
          APIVersion: LIBPOD_API_VERSION,
          Arch: goArch(),
          BuildTime: BERTH_BUILD_TIME,
          Experimental: 'false',
          GitCommit: BERTH_COMMIT,
          GoVersion: runtimeVersion(),
          KernelVersion: os.release(),
          MinAPIVersion: '4.0.0',
          Os: 'linux',
        },
      },
      { Name: 'Conmon', Version: conmonVersionText(conmon), Details: { Package: '' } },
      { Name: 'OCI Runtime (runc)', Version: runtime.version ? `runc version ${runtime.version.version}` : '', Details: { Package: '' } },
    ],
  };
}

async function libpodInfo(engine: EngineContext) {
  const r = await systemReport(engine);
  const c = r.counts;
  const built = BERTH_BUILD_TIME ? Math.floor(Date.parse(BERTH_BUILD_TIME) / 1000) : 0;
  return {
    host: {
      arch: goArch(),
      buildahVersion: '',
      cgroupManager: 'cgroupfs',
      cgroupVersion: `v${r.cgroup.version}`,
      conmon: { package: '', path: r.conmon.path, version: conmonVersionText(r.conmon) },
      cpus: r.ncpu,
      distribution: { distribution: r.os.id, version: r.os.versionId, codename: r.os.codename },
      eventLogger: 'file',
      hostname: r.hostname,
      kernel: r.kernel,
      logDriver: 'k8s-file',
      memFree: r.memFree,
      memTotal: r.memTotal,
      ociRuntime: { name: 'runc', package: '', path: r.runtime.path, version: r.runtime.version ? `runc version ${r.runtime.version.version}\ncommit: ${r.runtime.version.commit}` : '' },
      os: 'linux',
      security: {
        apparmorEnabled: r.security.apparmor,
        rootless: r.security.rootless,
        seccompEnabled: r.security.seccomp,
        seccompProfilePath: '/usr/share/containers/seccomp.json',
        selinuxEnabled: r.security.selinux,
      },
      swapFree: r.swapFree,
      swapTotal: r.swapTotal,
      uptime: `${Math.floor(r.uptimeSeconds / 3600)}h ${Math.floor((r.uptimeSeconds % 3600) / 60)}m ${r.uptimeSeconds % 60}s`,
    },
    store: {
      configFile: '',
      containerStore: { number: c.containersRunning + c.containersPaused + c.containersStopped, paused: c.containersPaused, running: c.containersRunning, stopped: c.containersStopped },
      graphDriverName: 'overlay',
      graphRoot: engine.paths.root,
      graphStatus: { 'Backing Filesystem': r.backingFs, 'Native Overlay Diff': 'true', 'Supports d_type': 'true' },
      imageStore: { number: c.images },
      runRoot: engine.paths.runroot,
      volumePath: engine.paths.volumes,
    },
    registries: { search: r.registries.unqualifiedSearch },
    plugins: { volume: ['local'], network: ['bridge'], log: ['k8s-file', 'none'] },
    version: {
      APIVersion: LIBPOD_API_VERSION,
      Version: BERTH_VERSION,
      GoVersion: runtimeVersion(),
      GitCommit: BERTH_COMMIT,
      BuiltTime: BERTH_BUILD_TIME,
      Built: built,
      OsArch: `linux/${goArch()}`,
      Os: 'linux',
    },
  };
}

export const routes: Route[] = [
  ...pingRoutes('libpod'),
  defineRoute({
    method: 'GET',
    path: '/version',
    api: 'libpod',
    operationId: 'SystemVersionLibpod',
    tag: 'system',
    summary: 'Component versions',
    responses: { 200: { description: 'versions', schema: async () => (await schemas()).SystemVersion } },
    handler: ({ engine }) => libpodVersion(engine),
  }),
  defineRoute({
    method: 'GET',
    path: '/info',
    api: 'libpod',
    operationId: 'SystemInfoLibpod',
    tag: 'system',
    summary: 'Host, store and registry information',
    responses: { 200: { description: 'information', schema: async () => (await schemas()).LibpodInfo } },
    handler: ({ engine }) => libpodInfo(engine),
  }),
];
