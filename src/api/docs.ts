import type { RequestHandler, Router } from 'express';
import type { RouteParameters } from 'express-serve-static-core';
import { z } from 'zod';
import { VERSION } from '../version.js';

type Method = 'get' | 'post' | 'patch' | 'delete';

export interface RouteSpec {
  summary: string;
  /** The schema the handler validates its JSON body with. */
  body?: z.ZodType;
  /** The schema the handler validates its query string with. */
  query?: z.ZodObject;
  /** Status codes it answers besides the problem+json errors every route may give. */
  responses: Record<number, string>;
  /** Admin routes take the admin token instead of an API key. */
  admin?: boolean;
}

interface DocumentedRoute extends RouteSpec {
  method: Method;
  path: string;
}

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

/**
 * Routes are registered through here, so the OpenAPI document is made from the very schemas the
 * handlers validate with, and no route can exist without being in it.
 */
export class ApiDocs {
  readonly routes: DocumentedRoute[] = [];

  /** A router's registration methods under `prefix` (its mount path). */
  on(router: Router, prefix: string) {
    const add =
      (method: Method) =>
      <Path extends string>(
        path: Path,
        spec: RouteSpec,
        handler: RequestHandler<RouteParameters<Path>>,
      ): void => {
        this.routes.push({ method, path: `${prefix}${path === '/' ? '' : path}`, ...spec });
        router[method](path, handler);
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
        schema: { type: 'string' },
      }));
      const query = r.query
        ? Object.entries((jsonSchema(r.query).properties ?? {}) as Record<string, unknown>).map(
            ([name, schema]) => ({
              name,
              in: 'query',
              required: false,
              schema,
            }),
          )
        : [];
      const responses: Record<string, unknown> = {};
      for (const [code, description] of Object.entries(r.responses)) responses[code] = { description };
      responses.default = {
        description: 'An error (RFC 9457), with every field problem under `errors`',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
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
