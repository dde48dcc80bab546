// Docker Engine API, Container: GET /containers/{id}/logs — the container's output from conmon's
// log, as Docker streams it: raw with a TTY, multiplexed without; following a running container
// until it stops or the client goes away.
import type { ServerResponse } from 'node:http';
import { defineRoute, type Route } from '../../server/route.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/containers-logs.ts');

export const routes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/logs',
    api: 'compat',
    operationId: 'ContainerLogs',
    tag: 'Container',
    summary: "The container's stdout and stderr, as logged; with follow, new lines until it stops",
    query: async () => (await schemas()).ContainerLogsQuery,
    responses: {
      200: {
        description: 'the log: application/vnd.docker.multiplexed-stream without a TTY (API ≥ 1.42), else application/vnd.docker.raw-stream',
        schema: async () => (await schemas()).LogStream,
        contentType: 'application/vnd.docker.multiplexed-stream',
      },
      400: { description: 'no stream chosen, or a bad since/until' },
      404: { description: 'no such container' },
      409: { description: 'the container is being removed' },
      501: { description: 'the log driver (none) keeps no log' },
    },
    handler: async ({ params, query, engine, request, reply, apiVersion }) => {
      const { containerLogs, parseLogTime } = await import('../../engine/runtime/container-log.ts');
      const abort = new AbortController();
      const tail = query.tail === undefined || !/^[+-]?\d+$/.test(query.tail) ? 'all' : Number(query.tail);
      const until = parseLogTime('until', query.until);
      const logs = await containerLogs(engine, params['id']!, {
        stdout: query.stdout ?? false,
        stderr: query.stderr ?? false,
        follow: query.follow,
        since: parseLogTime('since', query.since),
        until: until === 0 ? undefined : until,
        tail,
        timestamps: query.timestamps,
        details: query.details,
        signal: abort.signal,
      });
      const { atLeast } = await import('../../server/api-version.ts');
      const mux = !logs.tty;
      const contentType = mux && atLeast(apiVersion, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
      // Headers go out at once: clients following a quiet container wait for them.
      const { openStream } = await import('../../server/stream-response.ts');
      const res = openStream(reply, contentType);
      res.once('close', () => abort.abort());
      const { muxFrame } = await import('../../server/stdcopy.ts');
      try {
        await writeLogStream(res, logs.batches, mux ? muxFrame : undefined);
      } catch (err) {
        // too late for a status code: Docker says it in the stream (on the system-error stream when multiplexed)
        request.log.warn({ err }, 'reading the log failed');
        const text = `Error grabbing logs: ${(err as Error).message}\n`;
        if (!res.destroyed) res.write(mux ? muxFrame(3, text) : text);
      }
      abort.abort();
      if (!res.destroyed) res.end();
      return reply;
    },
  }),
];

type Frame = (stream: 1 | 2, payload: Buffer) => Buffer;

/**
 * Writes the log's entries, one frame each (Docker's way: a line per frame) when multiplexed,
 * gathered into one write per batch, waiting for the client when its buffer is full.
 */
async function writeLogStream(res: ServerResponse, batches: AsyncIterable<Array<{ stream: 'stdout' | 'stderr'; line: Buffer }>>, frame: Frame | undefined): Promise<void> {
  for await (const batch of batches) {
    if (res.destroyed) return;
    const out = frame ? frameBatch(batch, frame) : batch.length === 1 ? batch[0]!.line : Buffer.concat(batch.map((e) => e.line));
    if (!res.write(out)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
}

/** Lines below this size take the short way to a frame (larger ones are split by muxFrame). */
const FAST_FRAME = 1 << 20;

/** A batch's frames in one buffer: an 8-byte header before each line. */
function frameBatch(batch: Array<{ stream: 'stdout' | 'stderr'; line: Buffer }>, frame: Frame): Buffer {
  if (batch.some((e) => e.line.length >= FAST_FRAME)) return Buffer.concat(batch.map((e) => frame(e.stream === 'stdout' ? 1 : 2, e.line)));
  let size = 0;
  for (const e of batch) size += 8 + e.line.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const e of batch) {
    out[at] = e.stream === 'stdout' ? 1 : 2;
    out[at + 1] = out[at + 2] = out[at + 3] = 0;
    out.writeUInt32BE(e.line.length, at + 4);
    e.line.copy(out, at + 8);
    at += 8 + e.line.length;
  }
  return out;
}
