// Docker Engine API, the registry-facing endpoints: push (POST /images/{name}/push), login
// (POST /auth), search (GET /images/search) and GET /distribution/{name}/json.
import type { FastifyRequest } from 'fastify';
import { defineRoute, type Route } from '../../server/route.ts';
import type { Credentials } from '../../engine/images/registry-client.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/registry.ts');

/** X-Registry-Auth; search and distribution ignore a header they cannot read, as Docker does. */
async function registryAuth(request: FastifyRequest, strict: boolean): Promise<Credentials | undefined> {
  const { decodeRegistryAuth } = await import('../../engine/images/registries.ts');
  const header = request.headers['x-registry-auth'];
  try {
    return decodeRegistryAuth(Array.isArray(header) ? header[0] : header);
  } catch (err) {
    if (strict) throw err;
    return undefined;
  }
}

export const routes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/images/{name}/push',
    api: 'compat',
    operationId: 'ImagePush',
    tag: 'Image',
    summary: 'Push an image (one tag, or every tag of the repository) to its registry, answering with a progress stream',
    query: async () => (await schemas()).ImagePushQuery,
    responses: {
      200: { description: 'progress messages, one JSON object per line; the last has the pushed digest in aux', schema: async () => (await schemas()).PushMessage },
      400: { description: 'bad reference or parameter' },
      404: { description: 'no such image or tag' },
    },
    handler: async ({ params, query, request, reply, engine }) => {
      const { streamJson } = await import('../../server/json-stream.ts');
      const { pushImage } = await import('../../engine/images/push.ts');
      const credentials = await registryAuth(request, true);
      const stream = await streamJson((emit) => pushImage(engine, params['name']!, { tag: query.tag, platform: query.platform, credentials, emit }).then(() => undefined));
      reply.type('application/json');
      return reply.send(stream ?? '');
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth',
    api: 'compat',
    operationId: 'SystemAuth',
    tag: 'System',
    summary: 'Check credentials against a registry (docker login)',
    body: async () => (await schemas()).AuthConfig,
    responses: {
      200: { description: 'the credentials work', schema: async () => (await schemas()).AuthResponse },
      401: { description: 'the registry refused them' },
    },
    handler: async ({ body, engine }) => {
      const { login } = await import('../../engine/images/distribution.ts');
      return login(engine, body);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/images/search',
    api: 'compat',
    operationId: 'ImageSearch',
    tag: 'Image',
    summary: "Search a registry's repositories (Docker Hub's search API, or another registry's catalog)",
    query: async () => (await schemas()).ImageSearchQuery,
    responses: {
      200: { description: 'the repositories found', schema: async () => (await schemas()).SearchResult.array() },
      400: { description: 'bad term, limit or filter' },
    },
    handler: async ({ query, request, engine }) => {
      const { searchImages } = await import('../../engine/images/distribution.ts');
      return searchImages(engine, query.term, { limit: query.limit, filters: query.filters, credentials: await registryAuth(request, false) });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/distribution/{name}/json',
    api: 'compat',
    operationId: 'DistributionInspect',
    tag: 'Distribution',
    summary: "A reference's manifest descriptor and platforms, from its registry",
    responses: {
      200: { description: 'the descriptor and platforms', schema: async () => (await schemas()).DistributionInspect },
      401: { description: 'the registry wants credentials' },
      404: { description: 'no such repository or manifest' },
    },
    handler: async ({ params, request, engine }) => {
      const { inspectDistribution } = await import('../../engine/images/distribution.ts');
      return inspectDistribution(engine, params['name']!, await registryAuth(request, false));
    },
  }),
];
