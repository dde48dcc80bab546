// Request and response shapes of stats, top and update (Docker's field names). Responses are
// described for openapi/ and not checked at run time.
import { z } from 'zod';
import { queryBool, queryString as str } from './common.ts';

export const ContainerStatsQuery = z.object({
  stream: queryBool.optional(),
  'one-shot': queryBool.optional(),
});

export const ContainerTopQuery = z.object({
  ps_args: str.optional(),
});

const int = z.number().int();

/** Docker's Resources subset of HostConfig that update takes, plus RestartPolicy; unknown fields pass. */
export const ContainerUpdateBody = z.looseObject({
    Memory: int.optional(),
    MemorySwap: int.optional(),
    MemoryReservation: int.optional(),
    MemorySwappiness: int.nullable().optional(),
    OomKillDisable: z.boolean().nullable().optional(),
    NanoCpus: int.optional(),
    CpuShares: int.optional(),
    CpuPeriod: int.optional(),
    CpuQuota: int.optional(),
    CpuRealtimePeriod: int.optional(),
    CpuRealtimeRuntime: int.optional(),
    CpusetCpus: z.string().optional(),
    CpusetMems: z.string().optional(),
    PidsLimit: int.nullable().optional(),
    BlkioWeight: int.optional(),
    RestartPolicy: z
      .object({
        Name: z.enum(['', 'no', 'always', 'unless-stopped', 'on-failure']).optional(),
        MaximumRetryCount: int.optional(),
      })
      .optional(),
  })
  .optional()
  .transform((b) => b ?? {});

export const ContainerUpdateResponse = z.object({ Warnings: z.array(z.string()) });

export const ContainerTopResponse = z.object({
  Titles: z.array(z.string()),
  Processes: z.array(z.array(z.string())),
});

const CpuStats = z.object({
  cpu_usage: z.object({
    total_usage: int,
    percpu_usage: z.array(int).optional().describe('cgroup v1 only'),
    usage_in_kernelmode: int,
    usage_in_usermode: int,
  }),
  system_cpu_usage: int.optional(),
  online_cpus: int.optional(),
  throttling_data: z.object({ periods: int, throttled_periods: int, throttled_time: int }),
});

const BlkioEntries = z.array(z.object({ major: int, minor: int, op: z.string(), value: int })).nullable();

export const ContainerStatsResponse = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  os_type: z.string(),
  read: z.string(),
  preread: z.string(),
  cpu_stats: CpuStats,
  precpu_stats: CpuStats,
  memory_stats: z.object({
    usage: int.optional(),
    max_usage: int.optional().describe('cgroup v1 only'),
    stats: z.record(z.string(), int).optional(),
    failcnt: int.optional(),
    limit: int.optional(),
  }),
  networks: z
    .record(
      z.string(),
      z.object({ rx_bytes: int, rx_packets: int, rx_errors: int, rx_dropped: int, tx_bytes: int, tx_packets: int, tx_errors: int, tx_dropped: int }),
    )
    .optional(),
  pids_stats: z.object({ current: int.optional(), limit: int.optional() }),
  blkio_stats: z.object({
    io_service_bytes_recursive: BlkioEntries,
    io_serviced_recursive: BlkioEntries,
    io_queue_recursive: BlkioEntries,
    io_service_time_recursive: BlkioEntries,
    io_wait_time_recursive: BlkioEntries,
    io_merged_recursive: BlkioEntries,
    io_time_recursive: BlkioEntries,
    sectors_recursive: BlkioEntries,
  }),
  num_procs: int,
  storage_stats: z.object({}),
});
