// Docker Engine API, Image: pull (POST /images/create), list, inspect, history, tag, remove, prune.
import { defineRoute, type Route } from '../../server/route.ts';
import { InvalidArgument, NotFound } from '../../engine/errors.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/images.ts');
const engineImages = () => import('../../engine/images/operations.ts');

const notFound = { 404: { description: 'no such image' } };

export const routes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/images/create',
    api: 'compat',
    operationId: 'ImageCreate',
    tag: 'Image',
    summary: 'Pull an image (fromImage), or import a root filesystem tar (fromSrc), answering with a progress stream',
    query: async () => (await schemas()).ImageCreateQuery,
    responses: {
      200: { description: 'progress messages, one JSON object per line', schema: async () => (await schemas()).ProgressMessage },
      400: { description: 'bad reference or parameter' },
      404: { description: 'no such repository or manifest' },
    },
    handler: async ({ query, request, reply, engine }) => {
      const { streamJson } = await import('../../server/json-stream.ts');
      if (query.fromSrc !== undefined) {
        const { importImage } = await import('../../engine/images/import.ts');
        const stream = await streamJson((emit) => importImage(engine, request.body as AsyncIterable<Buffer> | undefined, { ...query, emit }).then(() => undefined));
        reply.type('application/json');
        return reply.send(stream ?? '');
      }
      if (!query.fromImage) throw new InvalidArgument('either fromImage or fromSrc is required');
      const { pullImage, pullReference } = await import('../../engine/images/pull.ts');
      const { decodeRegistryAuth } = await import('../../engine/images/registries.ts');
      const ref = pullReference(query.fromImage, query.tag);
      const credentials = decodeRegistryAuth(request.headers['x-registry-auth'] as string | undefined);
      const stream = await streamJson((emit) => pullImage(engine, ref, { platform: query.platform, credentials, emit }).then(() => undefined));
      reply.type('application/json');
      return reply.send(stream ?? '');
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/images/json',
    api: 'compat',
    operationId: 'ImageList',
    tag: 'Image',
    summary: 'List images, newest first',
    query: async () => (await schemas()).ImageListQuery,
    responses: { 200: { description: 'the images', schema: async () => (await schemas()).ImageSummary.array() } },
    handler: async ({ query, engine, apiVersion }) => {
      const { listImages } = await engineImages();
      const { imageSummary } = await import('../../engine/images/describe.ts');
      const images = await listImages(engine, { all: query.all, filters: query.filters });
      return images.map((f) => imageSummary(f, apiVersion));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/images/{name}/json',
    api: 'compat',
    operationId: 'ImageInspect',
    tag: 'Image',
    summary: 'Inspect an image',
    responses: { 200: { description: 'the image', schema: async () => (await schemas()).ImageInspect }, ...notFound },
    handler: async ({ params, engine, apiVersion }) => {
      const { imageStore } = await engineImages();
      const { imageFacts, imageInspect } = await import('../../engine/images/describe.ts');
      const store = imageStore(engine);
      const rec = await store.find(params['name']!).catch((err: unknown) => {
        // Docker words a missing image here as `no such image: <name>: No such image: <name:tag>`
        throw err instanceof NotFound ? new NotFound(`no such image: ${params['name']}: ${err.message}`) : err;
      });
      const facts = await imageFacts(store, rec);
      const lowerDirs = (await store.chainIdsOf(rec.id)).map((c) => store.layers.diffDir(c));
      return imageInspect(facts, apiVersion, { lowerDirs });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/images/{name}/history',
    api: 'compat',
    operationId: 'ImageHistory',
    tag: 'Image',
    summary: 'The history of an image, newest first',
    responses: { 200: { description: 'the history', schema: async () => (await schemas()).HistoryItem.array() }, ...notFound },
    handler: async ({ params, engine }) => {
      const { imageStore } = await engineImages();
      const { imageFacts, imageHistory } = await import('../../engine/images/describe.ts');
      const store = imageStore(engine);
      return imageHistory(store, await imageFacts(store, await store.find(params['name']!)));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/images/{name}/tag',
    api: 'compat',
    operationId: 'ImageTag',
    tag: 'Image',
    summary: 'Give an image another name',
    query: async () => (await schemas()).ImageTagQuery,
    responses: { 201: { description: 'tagged' }, 400: { description: 'bad name' }, ...notFound, 409: { description: 'conflict' } },
    handler: async ({ params, query, engine, reply }) => {
      const { tagImage } = await engineImages();
      await tagImage(engine, params['name']!, query.repo ?? '', query.tag);
      reply.code(201);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/images/{name}',
    api: 'compat',
    operationId: 'ImageDelete',
    tag: 'Image',
    summary: 'Untag an image, and remove it with its last name',
    query: async () => (await schemas()).ImageDeleteQuery,
    responses: { 200: { description: 'what was untagged and deleted', schema: async () => (await schemas()).DeleteItem.array() }, ...notFound, 409: { description: 'in use or referenced in several repositories' } },
    handler: async ({ params, query, engine }) => {
      const { removeImage } = await engineImages();
      return removeImage(engine, params['name']!, { force: query.force, noprune: query.noprune });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/images/prune',
    api: 'compat',
    operationId: 'ImagePrune',
    tag: 'Image',
    summary: 'Remove dangling (or, with dangling=false, all unused) images',
    query: async () => (await schemas()).ImagePruneQuery,
    responses: { 200: { description: 'what was removed', schema: async () => (await schemas()).ImagePruneResponse } },
    handler: async ({ query, engine }) => {
      const { pruneImages } = await engineImages();
      return pruneImages(engine, query.filters ?? {});
    },
  }),
];
