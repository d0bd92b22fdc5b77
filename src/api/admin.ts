import { timingSafeEqual, createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { ApplicationService } from '../applications/service.js';
import type { ApiKeyInfo, Application } from '../db/applications.js';
import type { ApiDocs } from './docs.js';
import { bearerToken } from './auth.js';
import { ID_SHAPES, idParam, text } from './input.js';
import { HttpProblem, notFound } from './problem.js';

/** Days an application's events are kept; null (or absent at creation): HOOKLINE_RETENTION_DAYS. */
const retentionDays = z.number().int().min(1).max(3650).nullable();

export const createApplicationSchema = z
  .object({ name: text(200).trim().min(1), retentionDays: retentionDays.optional() })
  .strict();
export const updateApplicationSchema = z
  .object({ name: text(200).trim().min(1).optional(), retentionDays: retentionDays.optional() })
  .strict();
export const createApiKeySchema = z.object({ name: text(200).trim().min(1).default('api key') }).strict();

const digest = (s: string) => createHash('sha256').update(s).digest();

/** `/api/admin/*` needs the admin token; compared in constant time. */
export function requireAdminToken(adminToken: string | undefined): RequestHandler {
  return (req, _res, next) => {
    const given = bearerToken(req.headers.authorization);
    if (!adminToken || !given || !timingSafeEqual(digest(given), digest(adminToken))) {
      return next(
        new HttpProblem(401, 'Unauthorized', 'the admin API needs Authorization: Bearer <admin token>'),
      );
    }
    next();
  };
}

const applicationView = (a: Application) => ({
  id: a.id,
  name: a.name,
  retentionDays: a.retentionDays,
  createdAt: a.createdAt.toISOString(),
});

const keyView = (k: ApiKeyInfo) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export function adminRoutes(applications: ApplicationService, docs: ApiDocs): Router {
  const router = Router();
  const r = docs.on(router, '/api/admin');
  router.param('id', idParam(ID_SHAPES.admin, 'application'));
  router.param('keyId', idParam(ID_SHAPES.admin, 'API key'));

  r.post(
    '/applications',
    {
      summary: 'Create an application',
      admin: true,
      body: createApplicationSchema,
      responses: { 201: 'The application' },
    },
    async (req, res, { body }) => {
      const app = await applications.create(body.name, body.retentionDays ?? null);
      res.status(201).json(applicationView(app));
    },
  );

  r.get(
    '/applications',
    { summary: 'List applications', admin: true, responses: { 200: 'The applications' } },
    async (_req, res) => {
      res.json({ data: (await applications.list()).map(applicationView) });
    },
  );

  r.patch(
    '/applications/:id',
    {
      summary: "Rename an application or set its retention (null: the deployment's default)",
      admin: true,
      body: updateApplicationSchema,
      responses: { 200: 'The application' },
    },
    async (req, res, { body }) => {
      const app = await applications.update(req.params.id, body);
      if (!app) throw notFound('application');
      res.json(applicationView(app));
    },
  );

  r.delete(
    '/applications/:id',
    { summary: 'Delete an application and everything it owns', admin: true, responses: { 204: 'Deleted' } },
    async (req, res) => {
      if (!(await applications.remove(req.params.id))) throw notFound('application');
      res.status(204).end();
    },
  );

  /** The key is in this response only; Hookline keeps its SHA-256 hash. */
  r.post(
    '/applications/:id/keys',
    {
      summary: 'Create an API key (shown once)',
      admin: true,
      body: createApiKeySchema,
      responses: { 201: 'The key' },
    },
    async (req, res, { body }) => {
      const created = await applications.createKey(req.params.id, body.name);
      if (!created) throw notFound('application');
      res.status(201).json({ ...keyView(created), key: created.key });
    },
  );

  r.get(
    '/applications/:id/keys',
    {
      summary: "List an application's API keys",
      admin: true,
      responses: { 200: 'The keys, without the keys themselves' },
    },
    async (req, res) => {
      const keys = await applications.listKeys(req.params.id);
      if (!keys) throw notFound('application');
      res.json({ data: keys.map(keyView) });
    },
  );

  r.delete(
    '/applications/:id/keys/:keyId',
    { summary: 'Revoke an API key', admin: true, responses: { 204: 'Revoked' } },
    async (req, res) => {
      if (!(await applications.revokeKey(req.params.id, req.params.keyId))) throw notFound('API key');
      res.status(204).end();
    },
  );

  return router;
}
