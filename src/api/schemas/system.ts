// Request and response shapes of the system endpoints (Docker's field names). Responses are
// described for openapi/ and not checked at run time.
import { z } from 'zod';
import { queryBool } from './common.ts';

export const ComponentVersion = z.object({
  Name: z.string(),
  Version: z.string(),
  Details: z.record(z.string(), z.string()).optional(),
});

export const SystemVersion = z.object({
  Platform: z.object({ Name: z.string() }),
  Components: z.array(ComponentVersion),
  Version: z.string(),
  ApiVersion: z.string(),
  MinAPIVersion: z.string(),
  GitCommit: z.string(),
  GoVersion: z.string().describe('the language runtime berth runs on, e.g. node20.20.2'),
  Os: z.string(),
  Arch: z.string(),
  KernelVersion: z.string(),
  Experimental: z.boolean().optional(),
  BuildTime: z.string(),
});

const Commit = z.object({ ID: z.string(), Expected: z.string().optional() });

export const IndexInfo = z.object({
  Name: z.string(),
  Mirrors: z.array(z.string()),
  Secure: z.boolean(),
  Official: z.boolean(),
});

export const RegistryServiceConfig = z.object({
  AllowNondistributableArtifactsCIDRs: z.array(z.string()).optional(),
  AllowNondistributableArtifactsHostnames: z.array(z.string()).optional(),
  InsecureRegistryCIDRs: z.array(z.string()),
  IndexConfigs: z.record(z.string(), IndexInfo),
  Mirrors: z.array(z.string()),
});

export const SystemInfo = z.object({
  ID: z.string(),
  Containers: z.number().int(),
  ContainersRunning: z.number().int(),
  ContainersPaused: z.number().int(),
  ContainersStopped: z.number().int(),
  Images: z.number().int(),
  Driver: z.string(),
  DriverStatus: z.array(z.array(z.string())),
  DockerRootDir: z.string(),
  Plugins: z.object({
    Volume: z.array(z.string()),
    Network: z.array(z.string()),
    Authorization: z.array(z.string()).nullable(),
    Log: z.array(z.string()),
  }),
  MemoryLimit: z.boolean(),
  SwapLimit: z.boolean(),
  KernelMemoryTCP: z.boolean(),
  CpuCfsPeriod: z.boolean(),
  CpuCfsQuota: z.boolean(),
  CPUShares: z.boolean(),
  CPUSet: z.boolean(),
  PidsLimit: z.boolean(),
  OomKillDisable: z.boolean(),
  IPv4Forwarding: z.boolean(),
  BridgeNfIptables: z.boolean(),
  BridgeNfIp6tables: z.boolean(),
  Debug: z.boolean(),
  NFd: z.number().int(),
  NGoroutines: z.number().int(),
  SystemTime: z.string(),
  LoggingDriver: z.string(),
  CgroupDriver: z.string(),
  CgroupVersion: z.string(),
  NEventsListener: z.number().int(),
  KernelVersion: z.string(),
  OperatingSystem: z.string(),
  OSVersion: z.string(),
  OSType: z.string(),
  Architecture: z.string(),
  NCPU: z.number().int(),
  MemTotal: z.number().int(),
  IndexServerAddress: z.string(),
  RegistryConfig: RegistryServiceConfig,
  GenericResources: z.null(),
  HttpProxy: z.string(),
  HttpsProxy: z.string(),
  NoProxy: z.string(),
  Name: z.string(),
  Labels: z.array(z.string()),
  ExperimentalBuild: z.boolean(),
  ServerVersion: z.string(),
  Runtimes: z.record(z.string(), z.object({ path: z.string(), runtimeArgs: z.array(z.string()).optional() })),
  DefaultRuntime: z.string(),
  Swarm: z.object({
    NodeID: z.string(),
    NodeAddr: z.string(),
    LocalNodeState: z.string(),
    ControlAvailable: z.boolean(),
    Error: z.string(),
    RemoteManagers: z.null(),
  }),
  LiveRestoreEnabled: z.boolean().describe('true: containers keep running while no berth process does'),
  Isolation: z.string(),
  InitBinary: z.string(),
  ContainerdCommit: Commit,
  RuncCommit: Commit,
  InitCommit: Commit,
  SecurityOptions: z.array(z.string()),
  CDISpecDirs: z.array(z.string()),
  Warnings: z.array(z.string()),
});

export const SystemDfQuery = z.object({
  type: z.union([z.string(), z.array(z.string())]).optional().describe('container, image, volume, build-cache; repeatable'),
  verbose: queryBool.optional(),
});

export const SystemDf = z.object({
  LayersSize: z.number().int(),
  Images: z.array(z.unknown()),
  Containers: z.array(z.unknown()),
  Volumes: z.array(z.unknown()),
  BuildCache: z.array(z.unknown()),
});

export const LibpodInfo = z.object({
  host: z.record(z.string(), z.unknown()),
  store: z.record(z.string(), z.unknown()),
  registries: z.record(z.string(), z.unknown()),
  plugins: z.record(z.string(), z.unknown()),
  version: z.record(z.string(), z.unknown()),
});
