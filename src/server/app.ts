// The fastify application: API version routing, Docker's headers and error shape, body
// parsing, and the route table. It does not listen; src/server/serve.ts owns the sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { InvalidArgument } from '../engine/errors.ts';
import type { EngineContext } from '../engine/context.ts';
import { LIBPOD_API_VERSION, MAX_API_VERSION, negotiateCompatVersion, splitApiPath, type ApiPath } from './api-version.ts';
import { toHttpError } from './errors.ts';
import { encodeNameSlashes } from './name-paths.ts';
import type { RequestHandler } from './hijack.ts';
import { fastifyPath, parseInput, successStatus, type Lazy, type Route } from './route.ts';
import { BERTH_VERSION } from '../version.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The Docker API version the request is served at, or the libpod version for libpod paths. */
    apiVersion: string;
  }
}

export interface AppOptions {
  engine: EngineContext;
  routes: Route[];
  logLevel?: string;
  /**
   * How long an idle keep-alive connection stays open, announced as `Keep-Alive: timeout=N`.
   * The service passes its idle timeout: clients that honour the hint (Node's agent retires a
   * socket a second before it) then never send on a connection the idle exit is closing.
   */
  keepAliveMs?: number;
}

export interface App {
  fastify: FastifyInstance;
  /** The request handler, to serve on any number of http servers. */
  handler: RequestHandler;
  /** A new http server for one more listener, sharing the app. */
  newServer(): Server;
}

const apiPaths = new WeakMap<IncomingMessage, ApiPath>();

function noSchemaCompiler(): never {
  throw new Error('fastify route schemas are not used in berth: declare zod schemas in the route table');
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const httpServerOptions = {
    // Node's default 300 s request timeout would cut slow uploads (load, build, archive).
    requestTimeout: 0,
    keepAliveTimeout: opts.keepAliveMs ?? 5_000,
  };
  let handler: RequestHandler | undefined;
  const fastify = Fastify({
    logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel ?? 'info', stream: process.stderr },
    // one line per request, written by the onResponse hook below
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: false,
    // Input is validated with zod in the route table; fastify's JSON-schema compilers (ajv,
    // fast-json-stringify) are never used, so they are not loaded (nor bundled: scripts/bundle-options.ts).
    schemaController: { compilersFactory: { buildValidator: noSchemaCompiler, buildSerializer: noSchemaCompiler } },
    bodyLimit: 16 << 20,
    // names with digests (`host/repo@sha256:<64 hex>`) are long path parameters
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    rewriteUrl(req) {
      const parsed = splitApiPath(req.url ?? '/');
      apiPaths.set(req, parsed);
      return encodeNameSlashes(parsed.url, req.method);
    },
    serverFactory(h) {
      handler = h as RequestHandler;
      return createServer(httpServerOptions, h);
    },
  });

  fastify.decorateRequest('apiVersion', '');

  fastify.addHook('onRequest', async (request, reply) => {
    const apiPath = apiPaths.get(request.raw) ?? splitApiPath(request.url);
    reply.header('Server', `Berth/${BERTH_VERSION} (linux)`);
    reply.header('Ostype', 'linux');
    if (apiPath.api === 'libpod') {
      reply.header('Libpod-API-Version', LIBPOD_API_VERSION);
      request.apiVersion = apiPath.version ?? LIBPOD_API_VERSION;
      return;
    }
    reply.header('Api-Version', MAX_API_VERSION);
    reply.header('Docker-Experimental', 'false');
    request.apiVersion = negotiateCompatVersion(apiPath.version);
  });

  fastify.addHook('onSend', async (_request, reply, payload) => {
    // Docker answers `application/json`, without fastify's charset suffix.
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json;')) reply.header('content-type', 'application/json');
    return payload;
  });

  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.originalUrl, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  // JSON bodies: empty means none, and bad JSON is Docker's 400. Everything else reaches the
  // route as a stream (tar archives for load, build and copy come that way).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  fastify.setErrorHandler((err, request, reply) => {
    const { status, message } = toHttpError(err);
    if (status >= 500) request.log.error({ err }, message);
    if (status === 304) return reply.code(304).send();
    return reply.code(status).send({ message });
  });

  fastify.setNotFoundHandler((_request, reply) => {
    return reply.code(404).send({ message: 'page not found' });
  });

  for (const route of opts.routes) register(fastify, route, opts.engine);

  await fastify.ready();
  if (!handler) throw new Error('fastify did not create its server');
  const h = handler;
  return { fastify, handler: h, newServer: () => createServer(httpServerOptions, h) };
}

function register(fastify: FastifyInstance, route: Route, engine: EngineContext): void {
  const status = successStatus(route);
  const url = route.api === 'libpod' ? `/libpod${fastifyPath(route.path)}` : fastifyPath(route.path);
  const querySchema = once(route.query);
  const bodySchema = once(route.body);
  fastify.route({
    method: route.method,
    url,
    handler: async (request, reply) => {
      const query = route.query ? parseInput(await querySchema(), request.query, 'query') : undefined;
      const body = route.body ? parseInput(await bodySchema(), await jsonBody(request.body), 'body') : undefined;
      const result = await route.handler({
        query,
        body,
        params: request.params as Record<string, string>,
        apiVersion: request.apiVersion,
        request,
        reply,
        engine,
      });
      if (reply.sent) return reply;
      reply.code(status);
      return result;
    },
  });
}

/** A lazy schema, loaded once on first use. */
function once<T>(load: Lazy<T> | undefined): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= load!());
}

/** A JSON body that came without the JSON content type arrives as a stream: parse it too. */
async function jsonBody(body: unknown): Promise<unknown> {
  if (!body || typeof (body as NodeJS.ReadableStream).pipe !== 'function') return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return parseJsonBody(Buffer.concat(chunks).toString('utf8'));
}

/** A JSON request body: empty means none, and bad JSON is Docker's 400. */
function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgument(`invalid JSON body: ${(err as Error).message}`);
  }
}
