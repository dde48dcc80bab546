// Request and response shapes of the image endpoints (Docker's field names). Responses are
// described for openapi/ and not checked at run time.
import { z } from 'zod';
import { queryBool, queryFilters, queryString as str, queryStringList as strList } from './common.ts';

export const ImageCreateQuery = z.object({
  fromImage: str.optional(),
  fromSrc: str.optional(),
  repo: str.optional(),
  tag: str.optional(),
  message: str.optional(),
  platform: str.optional(),
  changes: strList.optional(),
});

export const ImageListQuery = z.object({
  all: queryBool.optional(),
  digests: queryBool.optional(),
  'shared-size': queryBool.optional(),
  manifests: queryBool.optional(),
  filters: queryFilters.optional(),
});

export const ImageDeleteQuery = z.object({
  force: queryBool.optional(),
  noprune: queryBool.optional(),
  platforms: strList.optional(),
});

export const ImageTagQuery = z.object({
  repo: str.optional(),
  tag: str.optional(),
});

export const ImagePruneQuery = z.object({
  filters: queryFilters.optional(),
});

export const ImageSummary = z.object({
  Id: z.string(),
  ParentId: z.string(),
  RepoTags: z.array(z.string()).nullable(),
  RepoDigests: z.array(z.string()).nullable(),
  Created: z.number().int(),
  Size: z.number().int(),
  SharedSize: z.number().int(),
  VirtualSize: z.number().int().optional().describe('only before API 1.44'),
  Labels: z.record(z.string(), z.string()).nullable(),
  Containers: z.number().int(),
});

export const ImageInspect = z.object({
  Id: z.string(),
  RepoTags: z.array(z.string()),
  RepoDigests: z.array(z.string()),
  Parent: z.string(),
  Comment: z.string(),
  Created: z.string(),
  Config: z.record(z.string(), z.unknown()),
  Architecture: z.string(),
  Variant: z.string().optional(),
  Os: z.string(),
  Size: z.number().int(),
  GraphDriver: z.object({ Name: z.string(), Data: z.record(z.string(), z.string()) }),
  RootFS: z.object({ Type: z.string(), Layers: z.array(z.string()) }),
  Metadata: z.object({ LastTagTime: z.string() }),
});

export const HistoryItem = z.object({
  Id: z.string(),
  Created: z.number().int(),
  CreatedBy: z.string(),
  Tags: z.array(z.string()).nullable(),
  Size: z.number().int(),
  Comment: z.string(),
});

export const DeleteItem = z.object({ Untagged: z.string().optional(), Deleted: z.string().optional() });

export const ImagePruneResponse = z.object({
  ImagesDeleted: z.array(DeleteItem).nullable(),
  SpaceReclaimed: z.number().int(),
});

export const ProgressMessage = z.object({
  status: z.string().optional(),
  id: z.string().optional(),
  progress: z.string().optional(),
  progressDetail: z.object({ current: z.number().optional(), total: z.number().optional() }).optional(),
  errorDetail: z.object({ message: z.string() }).optional(),
  error: z.string().optional(),
});
