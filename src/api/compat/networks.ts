// Docker Engine API, Network: create, list, inspect, connect, disconnect, remove, prune.
import { defineRoute, type Route } from '../../server/route.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/networks.ts');
const ops = () => import('../../engine/network/operations.ts');

const notFound = { 404: { description: 'no such network' } };

export const routes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/networks/create',
    api: 'compat',
    operationId: 'NetworkCreate',
    tag: 'Network',
    summary: 'Create a bridge network',
    body: async () => (await schemas()).NetworkCreateBody,
    responses: {
      201: { description: 'created', schema: async () => (await schemas()).NetworkCreateResponse },
      400: { description: 'bad parameter' },
      403: { description: 'a pre-defined network, or an overlapping pool' },
      404: { description: 'no such driver plugin' },
      409: { description: 'name in use' },
    },
    handler: async ({ body, engine, reply }) => {
      const out = await (await ops()).createNetwork(engine, body as never);
      reply.code(201);
      return out;
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/networks',
    api: 'compat',
    operationId: 'NetworkList',
    tag: 'Network',
    summary: 'List networks',
    query: async () => (await schemas()).NetworkListQuery,
    responses: { 200: { description: 'the networks', schema: async () => (await schemas()).Network.array() }, 400: { description: 'bad filter' } },
    handler: async ({ query, engine }) => (await ops()).listNetworks(engine, query.filters),
  }),
  defineRoute({
    method: 'GET',
    path: '/networks/{id}',
    api: 'compat',
    operationId: 'NetworkInspect',
    tag: 'Network',
    summary: 'Inspect a network (by name, id or id prefix)',
    query: async () => (await schemas()).NetworkInspectQuery,
    responses: { 200: { description: 'the network', schema: async () => (await schemas()).Network }, ...notFound },
    handler: async ({ params, engine }) => (await ops()).inspectNetwork(engine, params['id']!),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/networks/{id}',
    api: 'compat',
    operationId: 'NetworkDelete',
    tag: 'Network',
    summary: 'Remove a network',
    responses: { 204: { description: 'removed' }, 403: { description: 'a pre-defined network' }, ...notFound, 409: { description: 'has active endpoints' } },
    handler: async ({ params, engine, reply }) => {
      await (await ops()).removeNetwork(engine, params['id']!);
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/networks/{id}/connect',
    api: 'compat',
    operationId: 'NetworkConnect',
    tag: 'Network',
    summary: 'Connect a container to a network (live when it runs)',
    body: async () => (await schemas()).NetworkConnectBody,
    responses: { 200: { description: 'connected' }, 403: { description: 'not possible for this container or network' }, 404: { description: 'no such network or container' } },
    handler: async ({ params, body, engine, reply }) => {
      await (await ops()).connectNetwork(engine, params['id']!, body as never);
      reply.code(200);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/networks/{id}/disconnect',
    api: 'compat',
    operationId: 'NetworkDisconnect',
    tag: 'Network',
    summary: 'Disconnect a container from a network',
    body: async () => (await schemas()).NetworkDisconnectBody,
    responses: { 200: { description: 'disconnected' }, 403: { description: 'not connected, or not possible' }, 404: { description: 'no such network or container' } },
    handler: async ({ params, body, engine, reply }) => {
      await (await ops()).disconnectNetwork(engine, params['id']!, body);
      reply.code(200);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/networks/prune',
    api: 'compat',
    operationId: 'NetworkPrune',
    tag: 'Network',
    summary: 'Remove the user-defined networks no container uses',
    query: async () => (await schemas()).NetworkPruneQuery,
    responses: { 200: { description: 'what was removed', schema: async () => (await schemas()).NetworkPruneResponse } },
    handler: async ({ query, engine }) => (await ops()).pruneNetworks(engine, query.filters),
  }),
];
