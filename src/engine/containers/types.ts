// What a container is on disk: Docker's create body (Config + HostConfig, in Docker's field
// names, so inspect answers them back as given) and the state berth adds. One record per
// container, `<root>/containers/<id>/container.json`, rewritten atomically under the
// container's lock.

/** Docker's container Config (the create body minus HostConfig/NetworkingConfig). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: Record<string, unknown> | null;
  ArgsEscaped?: boolean | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean | null;
  MacAddress?: string | null;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string | null;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface MountSpec {
  Target?: string;
  Source?: string;
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> }; Subpath?: string } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] } | null;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** Docker's HostConfig: the fields berth honours are named; the rest are kept and answered back. */
export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: MountSpec[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string> | null;
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  Isolation?: string;
  // resources
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  Init?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  ConsoleSize?: [number, number] | null;
  [key: string]: unknown;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The process is there: running, or paused (frozen). */
export function isRunning(rec: { State: { Status: ContainerStatus } }): boolean {
  return rec.State.Status === 'running' || rec.State.Status === 'paused';
}

export interface ContainerState {
  Status: ContainerStatus;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339 with nanoseconds; Docker's zero time `0001-01-01T00:00:00Z` when never. */
  StartedAt: string;
  FinishedAt: string;
  OOMKilled: boolean;
  /** pid of the conmon watching the running container (0 when none). */
  ConmonPid: number;
  /** Stopped by a user (stop/kill through the API): `unless-stopped` and `always` won't restart it on their own. */
  ManuallyStopped?: boolean;
}

export interface ContainerRecord {
  Id: string;
  /** Without Docker's leading slash. */
  Name: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  /** The image id (sha256:…). */
  Image: string;
  /** The image as the client named it. */
  ImageName: string;
  /** Config as given merged with the image's (Docker's inspect shows the merged form). */
  Config: ContainerConfig;
  HostConfig: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, unknown> | null } | null;
  State: ContainerState;
  RestartCount: number;
  /** Chain ids of the image's layers, bottom first: the overlay's lower dirs. */
  Layers: string[];
  /** What the network step recorded: Docker's NetworkSettings (network/container-network.ts). */
  NetworkSettings?: Record<string, unknown>;
  /** Every mount a user asked for, resolved at create (volumes/container-volumes.ts); inspect's Mounts. */
  MountPoints?: MountPoint[];
  /** The exec sessions' ids. */
  ExecIDs?: string[];
}

/** One of a container's mounts, as Docker's inspect `Mounts` shows it, plus what berth needs. */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** The volume's name (volumes only). */
  Name?: string;
  /** Host path: the bind's source, the volume's _data. */
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** A volume made for this container alone (`-v /path`, image VOLUME): `rm -v` removes it. */
  Anonymous?: boolean;
  /** Don't copy the image's content at the path into a new empty volume. */
  NoCopy?: boolean;
  /** The copy-up was made (or found the volume in use): Docker populates a volume once, at the container's first use. */
  Populated?: boolean;
  /** The HostConfig.Mounts entry it came from (bind options, tmpfs options, a volume's subpath). */
  Spec?: MountSpec;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
