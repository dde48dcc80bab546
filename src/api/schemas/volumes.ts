// Request and response shapes of the volume endpoints (Docker's field names). Responses are
// described for openapi/ and not checked at run time.
import { z } from 'zod';
import { queryBool, queryFilters } from './common.ts';

const strMap = z.record(z.string(), z.string());

/** docker-py sends null for what it was not given. */
export const VolumeCreateBody = z.looseObject({
  Name: z.string().nullable().optional(),
  Driver: z.string().nullable().optional(),
  DriverOpts: strMap.nullable().optional(),
  Labels: strMap.nullable().optional(),
});

export const Volume = z.object({
  CreatedAt: z.string(),
  Driver: z.string(),
  Labels: strMap.nullable(),
  Mountpoint: z.string(),
  Name: z.string(),
  Options: strMap.nullable(),
  Scope: z.enum(['local', 'global']),
  UsageData: z.object({ Size: z.number().int(), RefCount: z.number().int() }).optional(),
});

export const VolumeListQuery = z.object({ filters: queryFilters.optional() });
export const VolumeListResponse = z.object({ Volumes: z.array(Volume), Warnings: z.array(z.string()).nullable() });

export const VolumeDeleteQuery = z.object({ force: queryBool.optional() });

export const VolumePruneQuery = z.object({ filters: queryFilters.optional() });
export const VolumePruneResponse = z.object({ VolumesDeleted: z.array(z.string()).nullable(), SpaceReclaimed: z.number().int() });
