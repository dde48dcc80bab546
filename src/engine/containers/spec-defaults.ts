// What Docker gives every container unless told otherwise: capabilities, mounts, masked and
// read-only paths, the device cgroup allow-list. Data only; oci-spec.ts applies it.
import type { OciDeviceCgroup } from './resources.ts';

/** Every capability, in kernel number order (index = capability number). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** Docker's default capability set (moby's caps.DefaultCapabilities, same order). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** /dev/shm's size when HostConfig.ShmSize is 0 (Docker's 64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Docker's (and runc's) default when the image sets no STOPSIGNAL / the body no StopTimeout. */
export const DEFAULT_STOP_SIGNAL = 'SIGTERM';
export const DEFAULT_STOP_TIMEOUT = 10;

/**
 * RLIMIT_NOFILE as Docker's containers get it (inherited from containerd's unit,
 * LimitNOFILE=infinity → 1048576); berth is socket-activated with systemd's default 1024, so
 * it sets the limit itself unless Ulimits names nofile.
 */
export const DEFAULT_NOFILE = 1048576;

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** Docker's default mounts, before ShmSize, Privileged and ReadonlyRootfs adjust them. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

/** Docker's masked paths (the per-cpu thermal_throttle entries are added where they exist). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Docker's device cgroup rules: deny all, then allow null, zero, full, urandom, random, tty,
 * console and ptmx; and deny /dev/fuse (10:229). runc appends its own default
 * allow-list (pts, tun, …) after these.
 */
export function defaultDeviceRules(): OciDeviceCgroup[] {
  const allow = (major: number, minor: number): OciDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5),
    allow(1, 3),
    allow(1, 9),
    allow(1, 8),
    allow(5, 0),
    allow(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
}

/** Where the init (catatonit) is bind-mounted when HostConfig.Init is set. */
export const INIT_PATH_IN_CONTAINER = '/run/podman-init';
