/** The review API (under /api): batches, rejections with facets, fixes and discards. Thin over review/. */
import type { FastifyInstance } from 'fastify';
import { getBatchView, listBatchViews } from '../../review/batches.js';
import { discardMany, discardRejection } from '../../review/discard.js';
import { type FixManyInput, fixMany, fixRejection } from '../../review/fix.js';
import {
  getRejectionView,
  listRejectionViews,
  type RejectionFilter,
  rejectionFacets,
  STATUS_FILTERS,
} from '../../review/rejections.js';
import { engineDeps } from '../../src/engine-deps.js';
import { requireUser } from '../auth.js';
import type { WebDeps } from '../deps.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

const batchParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

const county = { type: 'string', pattern: '^[0-9]{6}$' } as const;
const paging = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
} as const;

const rejectionFilter = {
  batch: { type: 'string', minLength: 1, maxLength: 100 },
  status: { type: 'string', enum: [...STATUS_FILTERS] },
  rule: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,63}$' },
  column: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' },
  county,
} as const;

/** Header key → new text. Keys are header texts (any characters); values what the clerk typed. */
const edits = {
  type: 'object',
  maxProperties: 200,
  propertyNames: { minLength: 1, maxLength: 200 },
  additionalProperties: { type: 'string', maxLength: 2000 },
} as const;

const fixBody = {
  type: 'object',
  required: ['version', 'edits'],
  additionalProperties: false,
  properties: { version: { type: 'integer', minimum: 0 }, edits },
} as const;

const fixManyBody = {
  type: 'object',
  required: ['edits'],
  additionalProperties: false,
  properties: {
    batch: { type: 'string', minLength: 1, maxLength: 100 },
    ids: { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'integer', minimum: 1 } },
    match: {
      type: 'object',
      required: ['header', 'value'],
      additionalProperties: false,
      properties: {
        header: { type: 'string', minLength: 1, maxLength: 200 },
        value: { type: 'string', maxLength: 2000 },
      },
    },
    edits,
  },
} as const;

const discardBody = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1000 }, version: { type: 'integer', minimum: 0 } },
} as const;

const discardManyBody = {
  type: 'object',
  required: ['ids', 'reason'],
  additionalProperties: false,
  properties: {
    ids: { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'integer', minimum: 1 } },
    reason: { type: 'string', maxLength: 1000 },
  },
} as const;

export async function reviewRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const review = engineDeps(deps.ctx);
  const wh = deps.ctx.db;

  app.get('/catalogs', async (request) => {
    requireUser(request);
    return deps.ctx.catalogs.list.map((c) => ({
      id: c.id,
      title: c.title,
      fields: c.fields.map((f) => ({ name: f.name, title: f.title, column: f.column, personal: f.personal })),
    }));
  });

  app.get(
    '/batches',
    { schema: { querystring: { type: 'object', properties: { ...paging, county } } } },
    async (request) => {
      const q = request.query as { limit: number; offset: number; county?: string };
      return listBatchViews(wh, requireUser(request), q);
    },
  );

  app.get('/batches/:id', { schema: { params: batchParams } }, async (request) => {
    const { id } = request.params as { id: string };
    return getBatchView(wh, requireUser(request), id);
  });

  app.get(
    '/rejections',
    { schema: { querystring: { type: 'object', properties: { ...rejectionFilter, ...paging } } } },
    async (request) => {
      const q = request.query as RejectionFilter & { limit: number; offset: number };
      return listRejectionViews(review, requireUser(request), q);
    },
  );

  app.get(
    '/rejections/facets',
    { schema: { querystring: { type: 'object', properties: rejectionFilter } } },
    async (request) => rejectionFacets(review, requireUser(request), request.query as RejectionFilter),
  );

  app.get('/rejections/:id', { schema: { params: idParams } }, async (request) => {
    const { id } = request.params as { id: number };
    return getRejectionView(review, requireUser(request), id);
  });

  app.post('/rejections/:id/fix', { schema: { params: idParams, body: fixBody } }, async (request, reply) => {
    requireUser(request);
    const { id } = request.params as { id: number };
    const body = request.body as { version: number; edits: Record<string, string> };
    const result = await fixRejection(review, request.actor, id, body);
    if (result.status === 'fixed') return result;
    return reply.status(422).send({
      code: 'STILL_INVALID',
      message: '修改后这一行仍未通过校验，已保存您的修改，请按新的提示继续修改。',
      en: `rejection ${id} still fails validation after the edit`,
      rejection: result.rejection,
    });
  });

  app.post('/rejections/fix-many', { schema: { body: fixManyBody } }, async (request) => {
    requireUser(request);
    return fixMany(review, request.actor, request.body as FixManyInput);
  });

  app.post('/rejections/:id/discard', { schema: { params: idParams, body: discardBody } }, async (request) => {
    requireUser(request);
    const { id } = request.params as { id: number };
    const body = request.body as { reason: string; version?: number };
    return { rejection: await discardRejection(review, request.actor, id, body) };
  });

  app.post('/rejections/discard-many', { schema: { body: discardManyBody } }, async (request) => {
    requireUser(request);
    const body = request.body as { ids: number[]; reason: string };
    return discardMany(review, request.actor, body.ids, body.reason);
  });
}
