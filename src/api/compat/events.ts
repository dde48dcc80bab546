// Docker Engine API, System: GET /events. The answer's headers go out at once (clients wait for
// them before doing what they want to watch), then one JSON message per line: the journal from
// `since`, then new events as they are written, until `until` or the client leaves. An open
// stream keeps the service from idling out (src/server/idle.ts counts open responses).
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { defineRoute, type Route } from '../../server/route.ts';
import { InvalidArgument } from '../../engine/errors.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/events.ts');

/** Docker's content negotiation for event streams: JSON lines by default, RS-prefixed json-seq on request. */
function streamType(accept: string | undefined): { type: string; prefix: string } {
  const a = (accept ?? '').toLowerCase();
  if (a.includes('application/x-ndjson')) return { type: 'application/x-ndjson', prefix: '' };
  if (a.includes('application/jsonl')) return { type: 'application/jsonl', prefix: '' };
  if (a.includes('application/json-seq')) return { type: 'application/json-seq', prefix: '\x1e' };
  return { type: 'application/json', prefix: '' };
}

/** Waits for a full socket buffer to drain; false when the client went away instead. */
async function drained(res: ServerResponse, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  await once(res, 'drain', { signal }).catch(() => undefined);
  return !signal.aborted;
}

export const routes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/events',
    api: 'compat',
    operationId: 'SystemEvents',
    tag: 'System',
    summary: 'Stream events: replayed from `since`, then followed until `until` or the client disconnects',
    query: async () => (await schemas()).EventsQuery,
    responses: {
      200: { description: 'one JSON event per line', schema: async () => (await schemas()).EventMessage },
      400: { description: 'bad since, until or filters' },
    },
    handler: async ({ query, request, reply, engine, apiVersion }) => {
      const { parseEventTime } = await import('../../engine/events/filter.ts');
      const { eventLine, followEvents } = await import('../../engine/events/journal.ts');
      const since = query.since ? parseEventTime(query.since) : undefined;
      const until = query.until ? parseEventTime(query.until) : undefined;
      if (since !== undefined && until !== undefined && until < since) {
        throw new InvalidArgument(`\`since\` time (${query.since}) cannot be after \`until\` time (${query.until})`);
      }
      const [major, minor] = apiVersion.split('.').map(Number);
      const legacy = major! < 1 || (major === 1 && minor! < 52);
      const { type, prefix } = streamType(request.headers.accept);

      const { openStream } = await import('../../server/stream-response.ts');
      const res = openStream(reply, type);
      const ac = new AbortController();
      res.once('close', () => ac.abort());
      try {
        for await (const ev of followEvents(engine, { since, until, filters: query.filters, signal: ac.signal })) {
          if (!res.write(`${prefix}${eventLine(ev, { legacy })}\n`) && !(await drained(res, ac.signal))) break;
        }
      } catch (err) {
        request.log.error({ err }, 'events stream failed');
      } finally {
        res.end();
      }
    },
  }),
];
