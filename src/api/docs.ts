import type { Request, Response, Router } from 'express';
import type { RouteParameters } from 'express-serve-static-core';
import { z } from 'zod';
import { VERSION } from '../version.js';
import { validationProblem } from './problem.js';
import { RESPONSE_BODIES } from './responses.js';

type Method = 'get' | 'post' | 'patch' | 'delete';

export interface RouteSpec {
  summary: string;
  /** The schema the handler validates its JSON body with. */
  body?: z.ZodType;
  /** The schema the handler validates its query string with. */
  query?: z.ZodObject;
  /** Request headers the handler reads and checks (e.g. Idempotency-Key). */
  headers?: z.ZodObject;
  /** Its successful answers (status → description). */
  responses: Record<number, string>;
  /** Problems particular to the route (status → when); the common ones are added by `errorsOf`. */
  errors?: Record<number, string>;
  /** Admin routes take the admin token instead of an API key. */
  admin?: boolean;
}

/** What the registrar parsed with the route's own schemas, handed to its handler. */
export interface Parsed<S extends RouteSpec> {
  body: S['body'] extends z.ZodType ? z.output<S['body']> : undefined;
  query: S['query'] extends z.ZodObject ? z.output<S['query']> : undefined;
}

export type RouteHandler<Path extends string, S extends RouteSpec> = (
  req: Request<RouteParameters<Path>>,
  res: Response,
  input: Parsed<S>,
) => unknown;

interface DocumentedRoute extends RouteSpec {
  method: Method;
  path: string;
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

/**
 * Every problem status a route can answer: those of the middleware in front of it (key, rate
 * limit, body parser), of its inputs (body, query, path ids), of a dependency outage, and its own.
 */
export function errorsOf(r: DocumentedRoute): Record<number, string> {
  const errors: Record<number, string> = {
    401: r.admin ? 'No or a wrong admin token' : 'No or an unknown API key',
  };
  if (!r.admin) errors[429] = 'Over the rate limit of the API key (see Retry-After)';
  if (r.method === 'post' || r.method === 'patch') {
    errors[400] = 'The body is not valid JSON, nests too deeply, or breaks the schema';
    errors[413] = 'The body is too large';
    errors[415] = 'A body that is not application/json';
  }
  if (r.query || r.headers) errors[400] = 'A parameter breaks its schema, or the body does';
  if (r.path.includes(':')) {
    errors[400] ??= 'A path segment that is not valid percent-encoding';
    errors[404] = 'No such resource (or an id that cannot exist)';
  }
  errors[503] = 'A dependency (PostgreSQL or Temporal) is unavailable; try again';
  return { ...errors, ...r.errors };
}

const parametersOf = (schema: z.ZodObject | undefined, where: 'query' | 'header') => {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: json.required?.includes(name) ?? false,
    schema: s,
  }));
};

/**
 * Routes are registered through here, so the OpenAPI document is made from the very schemas the
 * requests are validated with, and no route can exist without being in it. The registrar parses
 * the body and the query with the route's schemas (400 listing every problem) and hands the
 * parsed values to the handler: one parse, by the schema that is documented.
 */
export class ApiDocs {
  readonly routes: DocumentedRoute[] = [];

  /** A router's registration methods under `prefix` (its mount path). */
  on(router: Router, prefix: string) {
    const add =
      (method: Method) =>
      <Path extends string, S extends RouteSpec>(
        path: Path,
        spec: S,
        handler: RouteHandler<Path, S>,
      ): void => {
        this.routes.push({ method, path: `${prefix}${path === '/' ? '' : path}`, ...spec });
        router[method](path, async (req: Request<RouteParameters<Path>>, res: Response) => {
          const parse = (schema: z.ZodType | undefined, value: unknown) => {
            if (!schema) return undefined;
            const parsed = schema.safeParse(value);
            if (!parsed.success) throw validationProblem(parsed.error);
            return parsed.data;
          };
          // A POST without a body (a replay, a rotation) is an empty object to its schema.
          const input = {
            body: parse(spec.body, req.body ?? {}),
            query: parse(spec.query, req.query),
          } as Parsed<S>;
          await handler(req, res, input);
        });
      };
    return { get: add('get'), post: add('post'), patch: add('patch'), delete: add('delete') };
  }

  /** OpenAPI 3.1 (its schemas are JSON Schema 2020-12, which zod emits). */
  document(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const path = r.path.replace(/:(\w+)/g, '{$1}');
      const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string', minLength: 1 },
      }));
      const query = [...parametersOf(r.query, 'query'), ...parametersOf(r.headers, 'header')];
      const responses: Record<string, unknown> = {};
      const bodies = RESPONSE_BODIES[`${r.method.toUpperCase()} ${r.path}`] ?? {};
      for (const [code, description] of Object.entries(r.responses)) {
        const body = bodies[Number(code)];
        responses[code] = {
          description,
          ...(body ? { content: { 'application/json': { schema: jsonSchema(body, 'output') } } } : {}),
        };
      }
      for (const [code, description] of Object.entries(errorsOf(r))) {
        responses[code] = {
          description: `${description} (RFC 9457 problem, every field problem under \`errors\`)`,
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        };
      }
      (paths[path] ??= {})[r.method] = {
        summary: r.summary,
        security: [{ [r.admin ? 'adminToken' : 'apiKey']: [] }],
        ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
        ...(r.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchema(r.body) } },
              },
            }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'Hookline API', version: VERSION },
      paths,
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: "An application's API key" },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'The admin token (HOOKLINE_ADMIN_TOKEN)',
          },
        },
        schemas: {
          Problem: {
            type: 'object',
            required: ['type', 'title', 'status'],
            properties: {
              type: { type: 'string' },
              title: { type: 'string' },
              status: { type: 'integer' },
              detail: { type: 'string' },
              errors: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['field', 'message'],
                  properties: { field: { type: 'string' }, message: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    };
  }
}
