// Docker Engine API, Volume: create, list, inspect, remove, prune (the local driver).
import { defineRoute, type Route } from '../../server/route.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/volumes.ts');
const operations = () => import('../../engine/volumes/operations.ts');

const notFound = { 404: { description: 'no such volume' } };

export const routes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/volumes/create',
    api: 'compat',
    operationId: 'VolumeCreate',
    tag: 'Volume',
    summary: 'Create a volume (or answer the existing one of that name)',
    body: async () => (await schemas()).VolumeCreateBody,
    responses: {
      201: { description: 'created', schema: async () => (await schemas()).Volume },
      400: { description: 'bad name or driver options' },
      404: { description: 'no such volume driver' },
    },
    handler: async ({ body, engine, reply }) => {
      const { createVolume } = await operations();
      const out = await createVolume(engine, {
        Name: body.Name ?? undefined,
        Driver: body.Driver ?? undefined,
        DriverOpts: body.DriverOpts ?? null,
        Labels: body.Labels ?? null,
      });
      reply.code(201);
      return out;
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/volumes',
    api: 'compat',
    operationId: 'VolumeList',
    tag: 'Volume',
    summary: 'List volumes (filters: dangling, driver, label, name)',
    query: async () => (await schemas()).VolumeListQuery,
    responses: { 200: { description: 'the volumes', schema: async () => (await schemas()).VolumeListResponse }, 400: { description: 'bad filter' } },
    handler: async ({ query, engine }) => (await operations()).listVolumes(engine, query.filters ?? {}),
  }),
  defineRoute({
    method: 'GET',
    path: '/volumes/{name}',
    api: 'compat',
    operationId: 'VolumeInspect',
    tag: 'Volume',
    summary: 'Inspect a volume',
    responses: { 200: { description: 'the volume', schema: async () => (await schemas()).Volume }, ...notFound },
    handler: async ({ params, engine }) => (await operations()).inspectVolume(engine, params['name']!),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/volumes/{name}',
    api: 'compat',
    operationId: 'VolumeDelete',
    tag: 'Volume',
    summary: 'Remove a volume no container uses (force: no error when it is missing)',
    query: async () => (await schemas()).VolumeDeleteQuery,
    responses: { 204: { description: 'removed' }, ...notFound, 409: { description: 'in use' } },
    handler: async ({ params, query, engine, reply }) => {
      await (await operations()).removeVolume(engine, params['name']!, { force: query.force });
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/volumes/prune',
    api: 'compat',
    operationId: 'VolumePrune',
    tag: 'Volume',
    summary: 'Remove unused volumes (anonymous ones only from API 1.42, unless all=true)',
    query: async () => (await schemas()).VolumePruneQuery,
    responses: { 200: { description: 'what was removed', schema: async () => (await schemas()).VolumePruneResponse }, 400: { description: 'bad filter' } },
    handler: async ({ query, engine, apiVersion }) => (await operations()).pruneVolumes(engine, query.filters ?? {}, apiVersion),
  }),
];
