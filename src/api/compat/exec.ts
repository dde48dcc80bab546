// Docker Engine API, Exec: create a session in a running container, start it (a hijacked
// stream, or detached), resize its terminal, inspect it.
import { defineRoute, type Route } from '../../server/route.ts';

/** Schemas load on first use (see src/server/route.ts). */
const schemas = () => import('../schemas/exec.ts');
const execs = () => import('../../engine/containers/exec.ts');

const notFound = { 404: { description: 'no such exec instance' } };

export const routes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/containers/{id}/exec',
    api: 'compat',
    operationId: 'ContainerExec',
    tag: 'Exec',
    summary: 'Create an exec session in a running container',
    body: async () => (await schemas()).ExecCreateBody,
    responses: {
      201: { description: 'created', schema: async () => (await schemas()).ExecCreateResponse },
      400: { description: 'bad parameter (no command, unknown user, bad detach keys)' },
      404: { description: 'no such container' },
      409: { description: 'container not running, paused or restarting' },
    },
    handler: async ({ params, body, engine, reply, apiVersion }) => {
      const { atLeast } = await import('../../server/api-version.ts');
      const out = await (await execs()).createExec(engine, params['id']!, body ?? {}, { consoleSize: atLeast(apiVersion, '1.42') });
      reply.code(201);
      return out;
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/exec/{id}/start',
    api: 'compat',
    operationId: 'ExecStart',
    tag: 'Exec',
    summary: "Run an exec session: attached (a hijacked stream, raw with a TTY, else multiplexed) or detached (200 at once)",
    body: async () => (await schemas()).ExecStartBody,
    responses: {
      200: { description: 'detached: started; attached: the stream (clients that did not ask to upgrade)' },
      101: { description: 'the stream, after Upgrade: tcp' },
      ...notFound,
      409: { description: 'container stopped or paused, or the session already ran' },
    },
    handler: async ({ params, body, engine, request, reply, apiVersion }) => {
      const ex = await execs();
      const { atLeast } = await import('../../server/api-version.ts');
      const id = params['id']!;
      // 404 and 409 come as statuses, before the connection is taken over
      const { rec } = await ex.checkExecStart(engine, id);
      const tty = !!body?.Tty;
      const consoleSize = tty && atLeast(apiVersion, '1.42') ? body?.ConsoleSize : undefined;
      if (body?.Detach) {
        await ex.startExec(engine, id, { detach: true, consoleSize });
        reply.code(200);
        return reply.send();
      }
      const { pumpAttach, parseDetachKeys } = await import('../../engine/runtime/attach.ts');
      const { hijackForStreams } = await import('./hijacked-output.ts');
      const { stream, write } = hijackForStreams(request, reply, apiVersion, tty);
      let started;
      try {
        started = await ex.startExec(engine, id, { detach: false, consoleSize });
      } catch (err) {
        // Docker tells the client on the stream; the exit code (126/127) is in the session
        write(1, Buffer.from(`${(err as Error).message}\r\n`));
        stream.close();
        return reply;
      }
      const end = await pumpAttach(started.sock!, {
        stdin: rec.OpenStdin ? stream.input : undefined,
        stdout: rec.OpenStdout,
        stderr: rec.OpenStderr,
        // Docker watches for detach keys only on a terminal; piped stdin passes through as is
        detachKeys: rec.ProcessConfig.tty ? parseDetachKeys(rec.DetachKeys) : [],
        write,
      });
      if (end === 'ended') {
        // recorded before EOF: clients inspect the session right after it
        await started.exited;
      } else if (end === 'detached') {
        const { findFresh } = await import('../../engine/containers/lifecycle.ts');
        const { containerEvent } = await import('../../engine/containers/events.ts');
        await containerEvent(engine, await findFresh(engine, rec.ContainerID), 'exec_detach', { execID: id }).catch(() => {});
      }
      stream.close();
      return reply;
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/exec/{id}/resize',
    api: 'compat',
    operationId: 'ExecResize',
    tag: 'Exec',
    summary: "Set the size of an exec session's terminal",
    query: async () => (await schemas()).ExecResizeQuery,
    responses: { 200: { description: 'resized' }, 400: { description: 'bad size, or not started' }, ...notFound, 409: { description: 'container not running' } },
    handler: async ({ params, query, engine, reply }) => {
      await (await execs()).resizeExec(engine, params['id']!, query.h, query.w);
      reply.code(200);
      return reply.send();
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/exec/{id}/json',
    api: 'compat',
    operationId: 'ExecInspect',
    tag: 'Exec',
    summary: 'Inspect an exec session: running, exit code, process',
    responses: { 200: { description: 'the session', schema: async () => (await schemas()).ExecInspect }, ...notFound },
    handler: async ({ params, engine }) => (await execs()).inspectExec(engine, params['id']!),
  }),
];
