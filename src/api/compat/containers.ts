// Docker Engine API, Container: create, list, inspect, start, stop, kill, restart, wait,
// pause/unpause, rename, resize, attach, remove, prune.
import { defineRoute, type Route } from '../../server/route.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/containers.ts');
const lifecycle = () => import('../../engine/containers/lifecycle.ts');

const notFound = { 404: { description: 'no such container' } };
const noContent = { 204: { description: 'done' } };

export const routes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/containers/create',
    api: 'compat',
    operationId: 'ContainerCreate',
    tag: 'Container',
    summary: 'Create a container from an image',
    query: async () => (await schemas()).ContainerCreateQuery,
    body: async () => (await schemas()).ContainerCreateBody,
    responses: {
      201: { description: 'created', schema: async () => (await schemas()).ContainerCreateResponse },
      400: { description: 'bad parameter' },
      404: { description: 'no such image' },
      409: { description: 'name in use' },
    },
    handler: async ({ query, body, engine, reply }) => {
      const { createContainer } = await lifecycle();
      const out = await createContainer(engine, body as never, { name: query.name });
      reply.code(201);
      return out;
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/json',
    api: 'compat',
    operationId: 'ContainerList',
    tag: 'Container',
    summary: 'List containers (running ones unless all), newest first',
    query: async () => (await schemas()).ContainerListQuery,
    responses: { 200: { description: 'the containers', schema: async () => (await schemas()).ContainerSummary.array() }, 400: { description: 'bad filter' } },
    handler: async ({ query, engine }) => {
      const { listContainers, containerSizes } = await import('../../engine/containers/operations.ts');
      const { containerSummary } = await import('../../engine/containers/describe.ts');
      const recs = await listContainers(engine, { all: query.all, limit: query.limit, filters: query.filters });
      return Promise.all(recs.map(async (r) => containerSummary(r, query.size ? await containerSizes(engine, r).then((s) => ({ sizeRw: s.sizeRw, sizeRootFs: s.sizeRootFs })) : {})));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/json',
    api: 'compat',
    operationId: 'ContainerInspect',
    tag: 'Container',
    summary: 'Inspect a container',
    query: async () => (await schemas()).ContainerInspectQuery,
    responses: { 200: { description: 'the container', schema: async () => (await schemas()).ContainerInspect }, ...notFound },
    handler: async ({ params, query, engine }) => {
      const { findFresh } = await lifecycle();
      const { containerInspect } = await import('../../engine/containers/describe.ts');
      const rec = await findFresh(engine, params['id']!);
      let sizes = {};
      if (query.size) {
        const { containerSizes } = await import('../../engine/containers/operations.ts');
        sizes = await containerSizes(engine, rec);
      }
      return containerInspect(engine, rec, sizes);
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/start',
    api: 'compat',
    operationId: 'ContainerStart',
    tag: 'Container',
    summary: 'Start a container',
    responses: { ...noContent, 304: { description: 'already started' }, ...notFound, 409: { description: 'paused or being removed' } },
    handler: async ({ params, engine, reply }) => {
      const { startContainer } = await lifecycle();
      await startContainer(engine, params['id']!);
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/stop',
    api: 'compat',
    operationId: 'ContainerStop',
    tag: 'Container',
    summary: 'Stop a container: its stop signal, then SIGKILL after t seconds',
    query: async () => (await schemas()).ContainerStopQuery,
    responses: { ...noContent, 304: { description: 'already stopped' }, ...notFound },
    handler: async ({ params, query, engine, reply }) => {
      const { stopContainer } = await lifecycle();
      await stopContainer(engine, params['id']!, { signal: query.signal, timeout: query.t });
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/restart',
    api: 'compat',
    operationId: 'ContainerRestart',
    tag: 'Container',
    summary: 'Stop and start a container',
    query: async () => (await schemas()).ContainerStopQuery,
    responses: { ...noContent, ...notFound },
    handler: async ({ params, query, engine, reply }) => {
      const { restartContainer } = await lifecycle();
      await restartContainer(engine, params['id']!, { signal: query.signal, timeout: query.t });
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/kill',
    api: 'compat',
    operationId: 'ContainerKill',
    tag: 'Container',
    summary: 'Send a signal to a container',
    query: async () => (await schemas()).ContainerKillQuery,
    responses: { ...noContent, 400: { description: 'bad signal' }, ...notFound, 409: { description: 'not running' } },
    handler: async ({ params, query, engine, reply }) => {
      const { killContainer } = await lifecycle();
      await killContainer(engine, params['id']!, query.signal || 'SIGKILL');
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/wait',
    api: 'compat',
    operationId: 'ContainerWait',
    tag: 'Container',
    summary: 'Wait for a container to stop (or be removed); headers are sent at once',
    query: async () => (await schemas()).ContainerWaitQuery,
    responses: { 200: { description: 'its exit', schema: async () => (await schemas()).ContainerWaitResponse }, ...notFound },
    handler: async ({ params, query, engine, reply }) => {
      const { waitContainer, findFresh } = await lifecycle();
      await findFresh(engine, params['id']!); // a 404 comes as a status, before the headers
      const { openStream } = await import('../../server/stream-response.ts');
      const res = openStream(reply, 'application/json');
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      try {
        const out = await waitContainer(engine, params['id']!, query.condition ?? 'not-running', abort.signal);
        res.end(JSON.stringify(out) + '\n');
      } catch (err) {
        if (!res.destroyed) res.end(JSON.stringify({ StatusCode: -1, Error: { Message: (err as Error).message } }) + '\n');
      }
      return reply;
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/pause',
    api: 'compat',
    operationId: 'ContainerPause',
    tag: 'Container',
    summary: "Freeze a container's processes",
    responses: { ...noContent, ...notFound, 409: { description: 'not running or already paused' } },
    handler: async ({ params, engine, reply }) => {
      await (await lifecycle()).pauseContainer(engine, params['id']!);
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/unpause',
    api: 'compat',
    operationId: 'ContainerUnpause',
    tag: 'Container',
    summary: "Thaw a paused container's processes",
    responses: { ...noContent, ...notFound, 409: { description: 'not paused' } },
    handler: async ({ params, engine, reply }) => {
      await (await lifecycle()).unpauseContainer(engine, params['id']!);
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/rename',
    api: 'compat',
    operationId: 'ContainerRename',
    tag: 'Container',
    summary: 'Rename a container',
    query: async () => (await schemas()).ContainerRenameQuery,
    responses: { ...noContent, 400: { description: 'bad name' }, ...notFound, 409: { description: 'name in use' } },
    handler: async ({ params, query, engine, reply }) => {
      await (await lifecycle()).renameContainer(engine, params['id']!, query.name);
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/resize',
    api: 'compat',
    operationId: 'ContainerResize',
    tag: 'Container',
    summary: "Set the size of a container's terminal",
    query: async () => (await schemas()).ContainerResizeQuery,
    responses: { 200: { description: 'resized' }, 400: { description: 'bad size' }, ...notFound, 409: { description: 'not running' } },
    handler: async ({ params, query, engine, reply }) => {
      await (await lifecycle()).resizeContainer(engine, params['id']!, query.h, query.w);
      reply.code(200);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/attach',
    api: 'compat',
    operationId: 'ContainerAttach',
    tag: 'Container',
    summary: "Attach to a container's stdin, stdout and stderr (a hijacked stream)",
    query: async () => (await schemas()).ContainerAttachQuery,
    responses: {
      101: { description: 'the stream, after Upgrade: tcp' },
      200: { description: 'the stream (clients that did not ask to upgrade)' },
      400: { description: 'bad parameter' },
      ...notFound,
      409: { description: 'not running' },
    },
    handler: async ({ params, query, engine, request, reply, apiVersion }) => {
      const { openAttach } = await lifecycle();
      const { pumpAttach, parseDetachKeys } = await import('../../engine/runtime/attach.ts');
      const { hijackForStreams } = await import('./hijacked-output.ts');
      const { containerEvent } = await import('../../engine/containers/events.ts');
      const detachKeys = parseDetachKeys(query.detachKeys);
      const { rec, sock } = await openAttach(engine, params['id']!);
      const tty = !!rec.Config.Tty;
      const { stream, write } = hijackForStreams(request, reply, apiVersion, tty);
      await containerEvent(engine, rec, 'attach');
      if (!sock) {
        stream.close();
        return reply;
      }
      const end = await pumpAttach(sock, {
        stdin: query.stdin ? stream.input : undefined,
        stdout: query.stdout ?? false,
        stderr: query.stderr ?? false,
        // Docker watches for detach keys only on a terminal; piped stdin passes through as is
        detachKeys: tty ? detachKeys : [],
        write,
      });
      if (end === 'detached') await containerEvent(engine, rec, 'detach');
      stream.close();
      return reply;
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/containers/{id}/attach/ws',
    api: 'compat',
    operationId: 'ContainerAttachWebsocket',
    tag: 'Container',
    summary: "Attach to a container over a websocket: binary messages carry stdin in, stdout and stderr out (not multiplexed)",
    query: async () => (await schemas()).ContainerAttachQuery,
    responses: { 101: { description: 'switching to the websocket' }, 400: { description: 'not a websocket request' }, ...notFound, 409: { description: 'not running' } },
    handler: async ({ params, query, engine, request, reply }) => {
      const { openAttach } = await lifecycle();
      const { pumpAttach, parseDetachKeys } = await import('../../engine/runtime/attach.ts');
      const { acceptWebsocket } = await import('../../server/websocket.ts');
      const { containerEvent } = await import('../../engine/containers/events.ts');
      const detachKeys = parseDetachKeys(query.detachKeys);
      const { rec, sock } = await openAttach(engine, params['id']!);
      const ws = await acceptWebsocket(request, reply);
      await containerEvent(engine, rec, 'attach');
      if (!sock) {
        ws.close();
        return reply;
      }
      const end = await pumpAttach(sock, {
        stdin: query.stdin ? ws.input : undefined,
        stdout: query.stdout ?? false,
        stderr: query.stderr ?? false,
        detachKeys: rec.Config.Tty ? detachKeys : [],
        write: (_s, data) => ws.send(data),
      });
      if (end === 'detached') await containerEvent(engine, rec, 'detach');
      ws.close();
      return reply;
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/containers/{id}',
    api: 'compat',
    operationId: 'ContainerDelete',
    tag: 'Container',
    summary: 'Remove a container (force: kill it first)',
    query: async () => (await schemas()).ContainerDeleteQuery,
    responses: { ...noContent, 400: { description: 'bad parameter' }, ...notFound, 409: { description: 'running' } },
    handler: async ({ params, query, engine, reply }) => {
      await (await lifecycle()).removeContainer(engine, params['id']!, { force: query.force, volumes: query.v });
      reply.code(204);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/containers/prune',
    api: 'compat',
    operationId: 'ContainerPrune',
    tag: 'Container',
    summary: 'Remove stopped containers',
    query: async () => (await schemas()).ContainerPruneQuery,
    responses: { 200: { description: 'what was removed', schema: async () => (await schemas()).ContainerPruneResponse } },
    handler: async ({ query, engine }) => {
      const { pruneContainers } = await import('../../engine/containers/operations.ts');
      const out = await pruneContainers(engine, query.filters ?? {});
      return { ContainersDeleted: out.ContainersDeleted.length ? out.ContainersDeleted : null, SpaceReclaimed: out.SpaceReclaimed };
    },
  }),
];
