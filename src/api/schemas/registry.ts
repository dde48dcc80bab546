// Request and response shapes of the registry-facing endpoints: push, auth, search and
// distribution (Docker's field names). Responses are described for openapi/ and not checked at
// run time.
import { z } from 'zod';
import { queryFilters, queryString as str } from './common.ts';

export const ImagePushQuery = z.object({
  tag: str.optional().describe('the tag to push; every tag of the repository when absent'),
  platform: str.optional().describe('JSON-encoded OCI platform (API 1.46), or os/arch[/variant]'),
});

/** Docker's AuthConfig, as POST /auth takes it (and X-Registry-Auth carries it, base64url). */
export const AuthConfig = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  auth: z.string().optional().describe('base64 of username:password'),
  email: z.string().optional().describe('ignored, as by Docker'),
  serveraddress: z.string().optional().describe('the registry: host[:port] or a URL; Docker Hub when empty'),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});

export const AuthResponse = z.object({
  Status: z.string(),
  IdentityToken: z.string().optional(),
});

export const ImageSearchQuery = z.object({
  term: str,
  limit: str
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
        ctx.addIssue({ code: 'custom', message: 'invalid limit specified' });
        return z.NEVER;
      }
      return n;
    }),
  filters: queryFilters.optional(),
});

export const SearchResult = z.object({
  star_count: z.number().int(),
  is_official: z.boolean(),
  name: z.string(),
  is_automated: z.boolean().describe('deprecated: always false'),
  description: z.string(),
});

export const DistributionInspect = z.object({
  Descriptor: z.object({ mediaType: z.string(), digest: z.string(), size: z.number().int() }),
  Platforms: z.array(
    z.object({
      architecture: z.string(),
      os: z.string(),
      'os.version': z.string().optional(),
      'os.features': z.array(z.string()).optional(),
      variant: z.string().optional(),
    }),
  ),
});

export const PushMessage = z.object({
  status: z.string().optional(),
  id: z.string().optional(),
  progress: z.string().optional(),
  progressDetail: z.object({ current: z.number().optional(), total: z.number().optional() }).optional(),
  aux: z.object({ Tag: z.string(), Digest: z.string(), Size: z.number().int() }).optional(),
  errorDetail: z.object({ message: z.string() }).optional(),
  error: z.string().optional(),
});
