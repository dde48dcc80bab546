// Request and response shapes of a container's filesystem endpoints: archive (docker cp),
// changes (docker diff) and export. Responses are described for openapi/ and not checked at run time.
import { z } from 'zod';
import { queryBool, queryString } from './common.ts';

/** `path` is checked by the route, for Docker's message when it is missing. */
const path = queryString.describe("a path in the container's filesystem").optional();

export const ArchiveQuery = z.object({ path });

export const PutArchiveQuery = z.object({
  path: queryString.describe('a directory in the container to extract the archive into').optional(),
  noOverwriteDirNonDir: queryBool.optional().describe('refuse to replace a directory with a non-directory or the reverse'),
  copyUIDGID: queryBool.optional().describe("entries owned by the container's user (Config.User) instead of the archive's owners"),
});

export const FilesystemChange = z.object({
  Path: z.string(),
  Kind: z.union([z.literal(0), z.literal(1), z.literal(2)]).describe('0: modified, 1: added, 2: deleted'),
});

export const ChangesResponse = z.array(FilesystemChange).nullable().describe('null when nothing changed');
