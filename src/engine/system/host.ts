// Facts about the host, read from /proc, /sys and os: what /info and /version report.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';

export interface CgroupFacts {
  version: '1' | '2';
  memory: boolean;
  swap: boolean;
  cpuCfsPeriod: boolean;
  cpuCfsQuota: boolean;
  cpuShares: boolean;
  cpuset: boolean;
  pids: boolean;
  oomKillDisable: boolean;
  kernelMemoryTcp: boolean;
}

export interface SecurityFacts {
  seccomp: boolean;
  apparmor: boolean;
  selinux: boolean;
  rootless: boolean;
}

export interface OsRelease {
  prettyName: string;
  id: string;
  versionId: string;
  codename: string;
}

/** Go's names for architectures, which Docker's API uses (`amd64`, not `x64`). */
export function goArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

/** The language runtime's version, in the place Docker puts Go's (`go1.19.8` there, `node20.20.2` here). */
export function runtimeVersion(): string {
  return `node${process.versions.node}`;
}

export function parseOsRelease(text: string): OsRelease {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return {
    prettyName: vars['PRETTY_NAME'] ?? 'Linux',
    id: vars['ID'] ?? 'linux',
    versionId: vars['VERSION_ID'] ?? '',
    codename: vars['VERSION_CODENAME'] ?? '',
  };
}

export async function osRelease(): Promise<OsRelease> {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return parseOsRelease(text);
  }
  return parseOsRelease('');
}

export async function cgroupFacts(root = '/sys/fs/cgroup'): Promise<CgroupFacts> {
  const controllers = await fs.readFile(`${root}/cgroup.controllers`, 'utf8').catch(() => undefined);
  if (controllers !== undefined) {
    const set = new Set(controllers.trim().split(/\s+/));
    const memory = set.has('memory');
    const cpu = set.has('cpu');
    return {
      version: '2',
      memory,
      // swap accounting shows as memory.swap.max in any non-root cgroup
      swap: memory && (existsSync(`${root}/init.scope/memory.swap.max`) || existsSync(`${root}/system.slice/memory.swap.max`) || (await hasSwapFileInChildren(root))),
      cpuCfsPeriod: cpu,
      cpuCfsQuota: cpu,
      cpuShares: cpu,
      cpuset: set.has('cpuset'),
      pids: set.has('pids'),
      oomKillDisable: false,
      kernelMemoryTcp: false,
    };
  }
  const has = (p: string) => existsSync(`${root}/${p}`);
  return {
    version: '1',
    memory: has('memory/memory.limit_in_bytes'),
    swap: has('memory/memory.memsw.limit_in_bytes'),
    cpuCfsPeriod: has('cpu/cpu.cfs_period_us'),
    cpuCfsQuota: has('cpu/cpu.cfs_quota_us'),
    cpuShares: has('cpu/cpu.shares'),
    cpuset: has('cpuset/cpuset.cpus'),
    pids: has('pids'),
    oomKillDisable: has('memory/memory.oom_control'),
    kernelMemoryTcp: has('memory/memory.kmem.tcp.limit_in_bytes'),
  };
}

async function hasSwapFileInChildren(root: string): Promise<boolean> {
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.some((e) => e.isDirectory() && existsSync(`${root}/${e.name}/memory.swap.max`));
}

export async function securityFacts(): Promise<SecurityFacts> {
  const status = await fs.readFile('/proc/self/status', 'utf8').catch(() => '');
  const apparmor = await fs.readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => 'N');
  return {
    seccomp: /^Seccomp:/m.test(status),
    apparmor: apparmor.trim() === 'Y',
    selinux: existsSync('/sys/fs/selinux/enforce'),
    rootless: process.getuid?.() !== 0,
  };
}

async function readFlag(path: string): Promise<boolean> {
  const v = await fs.readFile(path, 'utf8').catch(() => '0');
  return v.trim() === '1';
}

export const ipv4Forwarding = () => readFlag('/proc/sys/net/ipv4/ip_forward');
export const bridgeNfIptables = () => readFlag('/proc/sys/net/bridge/bridge-nf-call-iptables');
export const bridgeNfIp6tables = () => readFlag('/proc/sys/net/bridge/bridge-nf-call-ip6tables');

const fsMagic: Record<number, string> = {
  0xef53: 'extfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
};

/** The filesystem under `path` as Docker names it in DriverStatus ("extfs", "xfs", …). */
export async function backingFilesystem(path: string): Promise<string> {
  try {
    const st = await fs.statfs(path);
    return fsMagic[st.type] ?? `0x${st.type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

export async function openFdCount(): Promise<number> {
  return (await fs.readdir('/proc/self/fd').catch(() => [])).length;
}

export async function memInfo(): Promise<{ memFree: number; swapTotal: number; swapFree: number }> {
  const text = await fs.readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { memFree: kb('MemAvailable') || os.freemem(), swapTotal: kb('SwapTotal'), swapFree: kb('SwapFree') };
}

/** Proxy settings from the environment, as Docker reports them (credentials masked). */
export function proxyEnv(env: NodeJS.ProcessEnv = process.env): { http: string; https: string; no: string } {
  const mask = (u: string | undefined) => (u ?? '').replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:xxxxx@');
  return {
    http: mask(env.HTTP_PROXY ?? env.http_proxy),
    https: mask(env.HTTPS_PROXY ?? env.https_proxy),
    no: env.NO_PROXY ?? env.no_proxy ?? '',
  };
}
