// Docker Engine API, Container: resource usage (stats), processes (top) and live limits (update).
import { defineRoute, type Route } from '../../server/route.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/containers-stats.ts');

const nodeStream = lazyRequire<typeof import('node:stream')>('node:stream');

const notFound = { 404: { description: 'no such container' } };

export const routes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/stats',
    api: 'compat',
    operationId: 'ContainerStats',
    tag: 'Container',
    summary: "A container's resource usage: one sample a second (stream, the default) or one answer",
    query: async () => (await schemas()).ContainerStatsQuery,
    responses: {
      200: { description: 'samples, one JSON object per line', schema: async () => (await schemas()).ContainerStatsResponse },
      ...notFound,
    },
    handler: async ({ params, query, engine, reply }) => {
      const { statsSamples } = await import('../../engine/runtime/stats.ts');
      const samples = await statsSamples(engine, params['id']!, { stream: query.stream ?? true, oneShot: query['one-shot'] ?? false });
      const lines = (async function* () {
        for await (const s of samples) yield `${JSON.stringify(s)}\n`;
      })();
      reply.type('application/json');
      return reply.send(nodeStream().Readable.from(lines, { objectMode: false }));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/top',
    api: 'compat',
    operationId: 'ContainerTop',
    tag: 'Container',
    summary: 'The processes of a running container, as `ps` shows them',
    query: async () => (await schemas()).ContainerTopQuery,
    responses: {
      200: { description: 'ps titles and rows', schema: async () => (await schemas()).ContainerTopResponse },
      ...notFound,
      409: { description: 'the container is not running' },
      500: { description: 'ps failed' },
    },
    handler: async ({ params, query, engine }) => {
      const { containerTop } = await import('../../engine/runtime/top.ts');
      return containerTop(engine, params['id']!, query.ps_args);
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/update',
    api: 'compat',
    operationId: 'ContainerUpdate',
    tag: 'Container',
    summary: "Change a container's resource limits (live when it runs) and restart policy",
    body: async () => (await schemas()).ContainerUpdateBody,
    responses: {
      200: { description: 'updated', schema: async () => (await schemas()).ContainerUpdateResponse },
      400: { description: 'bad limit' },
      ...notFound,
      409: { description: 'conflicting limits' },
    },
    handler: async ({ params, body, engine }) => {
      const { updateContainer } = await import('../../engine/containers/update.ts');
      return updateContainer(engine, params['id']!, body);
    },
  }),
];
