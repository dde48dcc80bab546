// Docker Engine API, Image: archives. Save (GET /images/{name}/get, GET /images/get) answers a
// tar; load (POST /images/load) takes one. Import (POST /images/create?fromSrc=) shares its path
// with pull and is served by compat/images.ts through engine/images/import.ts.
import { defineRoute, type Route } from '../../server/route.ts';
import { InvalidArgument } from '../../engine/errors.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/images-archive.ts');
const archive = () => import('../../engine/images/archive.ts');

/** The platform query: API 1.48+, one value (several are API 1.52, which berth does not serve). */
async function platformOf(values: string[] | undefined, apiVersion: string) {
  const [major, minor] = apiVersion.split('.').map(Number);
  if (!values?.length || major! < 1 || (major === 1 && minor! < 48)) return undefined;
  if (values.length > 1) throw new InvalidArgument('multiple platform parameters are not supported in this API version; use API version 1.52 or later');
  return (await archive()).parsePlatformJson(values[0]);
}

const tar = { description: 'the images: an OCI image layout with docker-archive manifest.json and repositories', contentType: 'application/x-tar' };

export const routes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/images/{name}/get',
    api: 'compat',
    operationId: 'ImageGet',
    tag: 'Image',
    summary: 'Export an image (a repository alone: every tag of it) as a tar archive',
    query: async () => (await schemas()).ImageGetQuery,
    responses: { 200: tar, 404: { description: 'no such image' } },
    handler: async ({ params, query, engine, reply, apiVersion }) => {
      const { saveImages } = await archive();
      const out = await saveImages(engine, [params['name']!], { platform: await platformOf(query.platform, apiVersion) });
      reply.type('application/x-tar');
      return reply.send(out.stream());
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/images/get',
    api: 'compat',
    operationId: 'ImageGetAll',
    tag: 'Image',
    summary: 'Export several images as one tar archive',
    query: async () => (await schemas()).ImageGetAllQuery,
    responses: { 200: tar, 404: { description: 'no such image' } },
    handler: async ({ query, engine, reply, apiVersion }) => {
      const { saveImages } = await archive();
      const out = await saveImages(engine, query.names ?? [], { platform: await platformOf(query.platform, apiVersion) });
      reply.type('application/x-tar');
      return reply.send(out.stream());
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/images/load',
    api: 'compat',
    operationId: 'ImageLoad',
    tag: 'Image',
    summary: 'Load images from a tar archive (docker-archive, Docker 25+ or OCI; plain, gzip or zstd)',
    query: async () => (await schemas()).ImageLoadQuery,
    responses: {
      200: { description: 'one JSON object per line: `Loaded image: …` per tag (and, unless quiet, layer progress)', schema: async () => (await schemas()).LoadMessage },
      400: { description: 'not an image archive, or one that does not check out' },
    },
    handler: async ({ query, request, reply, engine, apiVersion }) => {
      const { streamJson } = await import('../../server/json-stream.ts');
      const { loadImages } = await archive();
      const platform = await platformOf(query.platform, apiVersion);
      const input = request.body as AsyncIterable<Buffer> | undefined;
      // Docker's default is quiet; the docker CLI asks for progress only on a terminal
      const stream = await streamJson((emit) => loadImages(engine, input, { quiet: query.quiet ?? true, platform, emit }).then(() => undefined));
      reply.type('application/json');
      return reply.send(stream ?? '');
    },
  }),
];
