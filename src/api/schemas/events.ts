// Request and response shapes of GET /events (Docker's field names).
import { z } from 'zod';
import { queryFilters, queryString as str } from './common.ts';

export const EventsQuery = z.object({
  since: str.optional().describe('unix seconds with an optional fraction; also a Go duration (`10m`: that long ago) or an RFC 3339 date'),
  until: str.optional().describe('as since; without it the stream follows new events until the client goes'),
  filters: queryFilters.optional().describe('JSON: type, event, container, image, label, network, volume, daemon, plugin, node, service, secret, config, scope'),
});

export const EventMessage = z.object({
  status: z.string().optional().describe('legacy (container and image events): the action'),
  id: z.string().optional().describe('legacy (container and image events): the actor id'),
  from: z.string().optional().describe('legacy (container events): the image'),
  Type: z.enum(['builder', 'config', 'container', 'daemon', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'volume']),
  Action: z.string(),
  Actor: z.object({ ID: z.string(), Attributes: z.record(z.string(), z.string()) }),
  scope: z.enum(['local', 'swarm']),
  time: z.number().int(),
  timeNano: z.number().int(),
});
