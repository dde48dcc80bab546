// How every endpoint is declared: one table entry with its method, path, zod schemas and
// handler. The app registers the table with fastify; scripts/openapi.ts describes it. A route
// validates input, calls the engine, and shapes the answer; nothing else.
//
// Schemas are given as loaders (`() => import('../schemas/x.ts')…`) and fetched on a route's
// first use: a cold start that answers /_ping never evaluates zod or builds a schema, however
// many endpoints there are. So route modules import zod as a type only (test/unit/bundle.test.ts
// checks that zod stays off the start-up path).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { InvalidArgument } from '../engine/errors.ts';
import type { EngineContext } from '../engine/context.ts';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** A schema loaded on first use. */
export type Lazy<T> = () => Promise<T>;

export interface ResponseSpec {
  description: string;
  schema?: Lazy<z.ZodType>;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
}

export interface RouteContext<Q, B> {
  query: Q;
  body: B;
  params: Record<string, string>;
  /** The Docker API version the request is served at (e.g. "1.41"); the libpod version for libpod routes. */
  apiVersion: string;
  request: FastifyRequest;
  reply: FastifyReply;
  engine: EngineContext;
}

export interface RouteDef<Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** OpenAPI form: `/containers/{id}/json`. */
  path: string;
  api: 'compat' | 'libpod';
  operationId: string;
  tag: string;
  summary: string;
  query?: Lazy<Q>;
  body?: Lazy<B>;
  /** Status code → response; the lowest 2xx is the status of a normal return. */
  responses: Record<number, ResponseSpec>;
  handler: (ctx: RouteContext<z.output<Q>, z.output<B>>) => unknown | Promise<unknown>;
}

export type Route = RouteDef<z.ZodType, z.ZodType>;

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(
  def: RouteDef<Q, B>,
): Route {
  return def as unknown as Route;
}

/** `/containers/{id}/json` → `/containers/:id/json` */
export function fastifyPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

export function successStatus(route: Route): number {
  const codes = Object.keys(route.responses).map(Number).filter((c) => c >= 200 && c < 300);
  return codes.length ? Math.min(...codes) : 200;
}

/** Validates with zod; a failure is a 400 naming the field, as Docker's messages do. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'query' | 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  const prefix = where === 'query' ? 'invalid query parameter' : 'invalid request body';
  throw new InvalidArgument(field ? `${prefix} ${field}: ${issue.message}` : `${prefix}: ${issue.message}`);
}
