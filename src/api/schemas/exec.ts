// Request and response shapes of the exec endpoints (Docker's field names). Unknown fields pass
// through, as Docker ignores what it doesn't know.
import { z } from 'zod';

const int = z.number().int();
/** Docker's strslice: a string is a one-element list. */
const strSlice = z.union([z.string().transform((s) => [s]), z.array(z.string())]).nullable();
/** [height, width] of a terminal. */
const consoleSize = z.tuple([int.min(0), int.min(0)]).nullable();

export const ExecCreateBody = z.looseObject({
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  ConsoleSize: consoleSize.optional(),
  DetachKeys: z.string().optional(),
  Tty: z.boolean().optional(),
  Env: z.array(z.string()).nullable().optional(),
  Cmd: strSlice.optional(),
  Privileged: z.boolean().optional(),
  User: z.string().optional(),
  WorkingDir: z.string().optional(),
});
export const ExecCreateResponse = z.object({ Id: z.string() });

export const ExecStartBody = z
  .looseObject({
    Detach: z.boolean().optional(),
    Tty: z.boolean().optional(),
    ConsoleSize: consoleSize.optional(),
  })
  .nullable()
  .optional();

/** Docker reads a missing size as 0. */
const dimension = z.coerce.number().int().min(0).max(2 ** 32 - 1).optional().default(0);
export const ExecResizeQuery = z.object({ h: dimension, w: dimension });

export const ExecInspect = z.object({
  ID: z.string(),
  Running: z.boolean(),
  ExitCode: int.nullable(),
  ProcessConfig: z.object({ tty: z.boolean(), entrypoint: z.string(), arguments: z.array(z.string()), privileged: z.boolean(), user: z.string() }),
  OpenStdin: z.boolean(),
  OpenStderr: z.boolean(),
  OpenStdout: z.boolean(),
  CanRemove: z.boolean(),
  ContainerID: z.string(),
  DetachKeys: z.string(),
  Pid: int,
});
