// Docker Engine API, Container: its filesystem. Archive (docker cp: HEAD stats a path, GET
// answers its tar, PUT extracts a tar into a directory), changes (docker diff) and export.
import { defineRoute, type Route } from '../../server/route.ts';
import { InvalidArgument } from '../../engine/errors.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/containers-fs.ts');
const archive = () => import('../../engine/storage/archive-path.ts');

const STAT_HEADER = 'X-Docker-Container-Path-Stat';
const notFound = { 404: { description: 'no such container, or no such path in it' } };
const badParameter = { 400: { description: 'bad parameter' } };

function requirePath(path: string | undefined): string {
  if (!path) throw new InvalidArgument('bad parameter: path cannot be empty');
  return path;
}

/** The stat header: base64 of Docker's PathStat JSON. */
function statHeader(stat: object): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export const routes: Route[] = [
  defineRoute({
    method: 'HEAD',
    path: '/containers/{id}/archive',
    api: 'compat',
    operationId: 'ContainerArchiveInfo',
    tag: 'Container',
    summary: 'Stat a path in a container: base64 JSON in the X-Docker-Container-Path-Stat header',
    query: async () => (await schemas()).ArchiveQuery,
    responses: { 200: { description: 'the stat, in the header' }, ...badParameter, ...notFound },
    handler: async ({ params, query, engine, reply }) => {
      const { containerStatPath } = await archive();
      const stat = await containerStatPath(engine, params['id']!, requirePath(query.path));
      reply.header(STAT_HEADER, statHeader(stat));
      return reply.code(200).send();
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/archive',
    api: 'compat',
    operationId: 'ContainerArchive',
    tag: 'Container',
    summary: 'A tar of a path in a container (a directory with its contents, under its basename)',
    query: async () => (await schemas()).ArchiveQuery,
    responses: { 200: { description: 'the tar; the stat in X-Docker-Container-Path-Stat', contentType: 'application/x-tar' }, ...badParameter, ...notFound },
    handler: async ({ params, query, engine, reply }) => {
      const { containerArchive } = await archive();
      const { stat, tar } = await containerArchive(engine, params['id']!, requirePath(query.path));
      reply.header(STAT_HEADER, statHeader(stat));
      reply.type('application/x-tar');
      return reply.send(tar);
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/containers/{id}/archive',
    api: 'compat',
    operationId: 'PutContainerArchive',
    tag: 'Container',
    summary: 'Extract a tar (plain, gzip or zstd) into a directory of a container',
    query: async () => (await schemas()).PutArchiveQuery,
    responses: {
      200: { description: 'extracted' },
      400: { description: 'the path is not a directory, the rootfs is read-only, or the archive is bad' },
      ...notFound,
    },
    handler: async ({ params, query, engine, request, reply }) => {
      const { copyToContainer } = await archive();
      const path = requirePath(query.path);
      const body = (request.body ?? request.raw) as AsyncIterable<Buffer>;
      await copyToContainer(engine, params['id']!, path, body, { noOverwriteDirNonDir: query.noOverwriteDirNonDir ?? false, copyUIDGID: query.copyUIDGID ?? false });
      return reply.code(200).send();
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/changes',
    api: 'compat',
    operationId: 'ContainerChanges',
    tag: 'Container',
    summary: "What changed in a container's filesystem: Kind 0 modified, 1 added, 2 deleted",
    responses: { 200: { description: 'the changes (null when none)', schema: async () => (await schemas()).ChangesResponse }, 404: { description: 'no such container' } },
    handler: async ({ params, engine, reply }) => {
      const { containerChanges } = await import('../../engine/storage/changes.ts');
      const out = await containerChanges(engine, params['id']!);
      reply.type('application/json');
      return reply.send(JSON.stringify(out));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/export',
    api: 'compat',
    operationId: 'ContainerExport',
    tag: 'Container',
    summary: "A tar of a container's whole filesystem",
    responses: { 200: { description: 'the tar', contentType: 'application/octet-stream' }, 404: { description: 'no such container' }, 409: { description: 'the container is dead or being removed' } },
    handler: async ({ params, engine, reply }) => {
      const { exportContainer } = await archive();
      const tar = await exportContainer(engine, params['id']!);
      reply.type('application/octet-stream');
      return reply.send(tar);
    },
  }),
];
