// Builds the OpenAPI 3.1 description of what berth serves, from the route table and its zod
// schemas. scripts/openapi.ts writes it to openapi/berth.json; a test checks that file is current.
import { z } from 'zod';
import type { Route } from '../src/server/route.ts';
import { LIBPOD_API_VERSION, MAX_API_VERSION, MIN_API_VERSION } from '../src/server/api-version.ts';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out['$schema'];
  return out;
}

async function queryParameters(route: Route): Promise<Json[]> {
  if (!route.query) return [];
  const schema = schemaOf(await route.query(), 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: 'query', required: (schema.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest };
  });
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
}

export async function openApiDocument(routes: Route[], version: string): Promise<Json> {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = route.api === 'libpod' ? `/libpod${route.path}` : route.path;
    const responses: Json = {};
    for (const [code, r] of Object.entries(route.responses)) {
      const type = r.contentType ?? 'application/json';
      responses[code] = {
        description: r.description,
        ...(r.schema ? { content: { [type]: { schema: schemaOf(await r.schema(), 'output') } } } : r.contentType ? { content: { [type]: {} } } : {}),
      };
    }
    responses['default'] = {
      description: 'an error, in Docker\'s shape',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      tags: [route.tag],
      summary: route.summary,
      parameters: [...pathParameters(route.path), ...(await queryParameters(route))],
      ...(route.body ? { requestBody: { content: { 'application/json': { schema: schemaOf(await route.body(), 'input') } } } } : {}),
      responses,
    };
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'berth',
      version,
      description:
        `The Docker Engine API (versions ${MIN_API_VERSION} to ${MAX_API_VERSION}) and the libpod API (${LIBPOD_API_VERSION}) as berth serves them. ` +
        'Every path is also served under /v{version}/ (e.g. /v1.41/info, /v5.0.0/libpod/info). Generated from the route table: do not edit.',
    },
    servers: [{ url: 'http://localhost', description: 'over the unix socket, e.g. /run/berth/berth.sock' }],
    paths: sorted,
    components: {
      schemas: {
        ErrorResponse: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      },
    },
  };
}

export async function openApiText(routes: Route[], version: string): Promise<string> {
  return JSON.stringify(await openApiDocument(routes, version), null, 2) + '\n';
}
