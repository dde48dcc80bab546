// Request and response shapes of the image archive endpoints: save (GET /images/{name}/get,
// GET /images/get) and load (POST /images/load). Responses are described for openapi/ and not
// checked at run time.
import { z } from 'zod';
import { queryBool, queryStringList as strList } from './common.ts';

/** JSON OCI platforms (`{"os":"linux","architecture":"amd64"}`), one per value: API 1.48+. */
const platforms = strList.describe('a JSON-encoded OCI platform: only images (or index entries) of that platform');

export const ImageGetQuery = z.object({
  platform: platforms.optional(),
});

export const ImageGetAllQuery = z.object({
  names: strList.optional(),
  platform: platforms.optional(),
});

export const ImageLoadQuery = z.object({
  quiet: queryBool.optional(),
  platform: platforms.optional(),
});

/** One line of the load answer. */
export const LoadMessage = z.object({
  stream: z.string().optional().describe('`Loaded image: busybox:latest\\n`, or `Loaded image ID: sha256:…\\n` for an image without a tag'),
  status: z.string().optional(),
  id: z.string().optional(),
  progress: z.string().optional(),
  progressDetail: z.object({ current: z.number().optional(), total: z.number().optional() }).optional(),
  errorDetail: z.object({ message: z.string() }).optional(),
  error: z.string().optional(),
});
