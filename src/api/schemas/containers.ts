// Request and response shapes of the container lifecycle endpoints (Docker's field names).
// The create body is checked for the types of the fields berth acts on; unknown fields pass
// through (Docker ignores what it doesn't know), and their values are validated by the engine.
import { z } from 'zod';
import { queryBool, queryFilters, queryString as str } from './common.ts';

/** Docker's strslice: a string is a one-element list. */
const strSlice = z.union([z.string().transform((s) => [s]), z.array(z.string())]).nullable();
const labels = z.record(z.string(), z.string()).nullable();
const int = z.number().int();

const HostConfig = z.looseObject({
  Binds: z.array(z.string()).nullable().optional(),
  NetworkMode: z.string().optional(),
  RestartPolicy: z.looseObject({ Name: z.string().optional(), MaximumRetryCount: int.optional() }).nullable().optional(),
  AutoRemove: z.boolean().optional(),
  CapAdd: strSlice.optional(),
  CapDrop: strSlice.optional(),
  Dns: z.array(z.string()).nullable().optional(),
  DnsOptions: z.array(z.string()).nullable().optional(),
  DnsSearch: z.array(z.string()).nullable().optional(),
  ExtraHosts: z.array(z.string()).nullable().optional(),
  GroupAdd: z.array(z.string()).nullable().optional(),
  Privileged: z.boolean().optional(),
  ReadonlyRootfs: z.boolean().optional(),
  SecurityOpt: z.array(z.string()).nullable().optional(),
  Tmpfs: z.record(z.string(), z.string()).nullable().optional(),
  ShmSize: int.optional(),
  Memory: int.optional(),
  MemorySwap: int.optional(),
  NanoCpus: int.optional(),
  CpuShares: int.optional(),
  PidsLimit: int.nullable().optional(),
  Init: z.boolean().nullable().optional(),
  Mounts: z.array(z.looseObject({ Target: z.string().optional(), Source: z.string().optional(), Type: z.string().optional(), ReadOnly: z.boolean().optional() })).nullable().optional(),
});

export const ContainerCreateBody = z.looseObject({
  Hostname: z.string().optional(),
  Domainname: z.string().optional(),
  User: z.string().optional(),
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  ExposedPorts: z.record(z.string(), z.unknown()).nullable().optional(),
  Tty: z.boolean().optional(),
  OpenStdin: z.boolean().optional(),
  StdinOnce: z.boolean().optional(),
  Env: z.array(z.string()).nullable().optional(),
  Cmd: strSlice.optional(),
  Entrypoint: strSlice.optional(),
  Image: z.string().optional(),
  Volumes: z.record(z.string(), z.unknown()).nullable().optional(),
  WorkingDir: z.string().optional(),
  Labels: labels.optional(),
  StopSignal: z.string().nullable().optional(),
  StopTimeout: int.nullable().optional(),
  HostConfig: HostConfig.nullable().optional(),
  NetworkingConfig: z.looseObject({ EndpointsConfig: z.record(z.string(), z.unknown()).nullable().optional() }).nullable().optional(),
});

export const ContainerCreateQuery = z.object({ name: str.optional(), platform: str.optional() });
export const ContainerCreateResponse = z.object({ Id: z.string(), Warnings: z.array(z.string()) });

export const ContainerListQuery = z.object({
  all: queryBool.optional(),
  limit: z.coerce.number().int().optional(),
  size: queryBool.optional(),
  filters: queryFilters.optional(),
});

export const ContainerInspectQuery = z.object({ size: queryBool.optional() });

export const ContainerStopQuery = z.object({ t: z.coerce.number().int().optional(), signal: str.optional() });
export const ContainerKillQuery = z.object({ signal: str.optional() });
export const ContainerWaitQuery = z.object({ condition: z.enum(['not-running', 'next-exit', 'removed']).optional() });
export const ContainerWaitResponse = z.object({ StatusCode: int, Error: z.object({ Message: z.string() }).optional() });
export const ContainerDeleteQuery = z.object({ force: queryBool.optional(), v: queryBool.optional(), link: queryBool.optional() });
export const ContainerRenameQuery = z.object({ name: str });
export const ContainerResizeQuery = z.object({ h: z.coerce.number().int().min(0), w: z.coerce.number().int().min(0) });
export const ContainerAttachQuery = z.object({
  detachKeys: str.optional(),
  logs: queryBool.optional(),
  stream: queryBool.optional(),
  stdin: queryBool.optional(),
  stdout: queryBool.optional(),
  stderr: queryBool.optional(),
});
export const ContainerPruneQuery = z.object({ filters: queryFilters.optional() });
export const ContainerPruneResponse = z.object({ ContainersDeleted: z.array(z.string()).nullable(), SpaceReclaimed: int });

export const ContainerSummary = z.looseObject({
  Id: z.string(),
  Names: z.array(z.string()),
  Image: z.string(),
  ImageID: z.string(),
  Command: z.string(),
  Created: int,
  State: z.string(),
  Status: z.string(),
});
export const ContainerInspect = z.looseObject({ Id: z.string(), Name: z.string(), State: z.looseObject({ Status: z.string() }) });
