// The query of GET /containers/{id}/logs (Docker's names). since/until stay text here: the
// route parses them with Docker's wording for a bad value.
import { z } from 'zod';
import { queryBool, queryString as str } from './common.ts';

export const ContainerLogsQuery = z.object({
  follow: queryBool.optional(),
  stdout: queryBool.optional(),
  stderr: queryBool.optional(),
  since: str.optional().describe('unix seconds, with an optional fraction: lines from this time on'),
  until: str.optional().describe('unix seconds, with an optional fraction: lines up to this time (0: no limit)'),
  timestamps: queryBool.optional(),
  details: queryBool.optional(),
  tail: str.optional().describe('the number of lines from the end, or "all"'),
});

/** The stream: raw with a TTY, else Docker's 8-byte frame headers. Described, not checked. */
export const LogStream = z.string().describe('the log, raw with a TTY; else frames: [stream, 0, 0, 0, size as uint32 big-endian] then size bytes');
