/**
 * The annotated workbook download (issue 4): GET /api/batches/:id/rejections.xlsx and
 * GET /api/rejections.xlsx?batch=&ids=1,2,3. Streamed; a clerk only gets its own county's rows (another
 * county's batch or ids answer 404, as if they did not exist).
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { countyScope } from '../../review/access.js';
import { badRequest } from '../../review/errors.js';
import {
  planAnnotatedWorkbook,
  WorkbookAborted,
  type WorkbookDeps,
  type WorkbookPlan,
  type WorkbookQuery,
  writeWorkbookPlan,
} from '../../review/workbook.js';
import { requireUser } from '../auth.js';
import type { WebDeps } from '../deps.js';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const batchParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

const status = { type: 'string', enum: ['open', 'all'] } as const;

const listQuery = {
  type: 'object',
  properties: {
    batch: { type: 'string', minLength: 1, maxLength: 100 },
    // Comma-separated rejection ids (a GET link the page can put in an <a download>); a URL holds ~1,000.
    ids: { type: 'string', pattern: '^[0-9]{1,15}(,[0-9]{1,15})*$', maxLength: 16_000 },
    status,
  },
} as const;

export async function workbookRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const wb: WorkbookDeps = { db: deps.ctx.db, catalogs: deps.ctx.catalogs, clock: deps.ctx.clock };
  const log = deps.ctx.logger.child({ component: 'workbook' });

  const send = (reply: FastifyReply, plan: WorkbookPlan) => {
    const body = new PassThrough();
    // Rows are read and written while the response streams; a failure midway can only cut it short.
    writeWorkbookPlan(wb, plan, body).catch((err: Error) => {
      const batches = plan.batches.map((b) => b.batch.id);
      if (err instanceof WorkbookAborted) log.debug({ batches }, 'workbook download cancelled');
      else log.error({ err, en: err.message, batches }, 'workbook failed');
    });
    return reply
      .header('content-type', XLSX_TYPE)
      .header('content-disposition', contentDisposition(plan.fileName))
      .header('cache-control', 'no-store')
      .header('x-rejection-rows', String(plan.rows))
      .send(body);
  };

  app.get(
    '/batches/:id/rejections.xlsx',
    { schema: { params: batchParams, querystring: { type: 'object', properties: { status } } } },
    async (request, reply) => {
      const user = requireUser(request);
      const { id } = request.params as { id: string };
      const q = request.query as { status?: 'open' | 'all' };
      const plan = await planAnnotatedWorkbook(wb, { batchId: id, status: q.status }, { county: countyScope(user) });
      return send(reply, plan);
    },
  );

  app.get('/rejections.xlsx', { schema: { querystring: listQuery } }, async (request, reply) => {
    const user = requireUser(request);
    const q = request.query as { batch?: string; ids?: string; status?: 'open' | 'all' };
    const query: WorkbookQuery = { status: q.status };
    if (q.batch !== undefined) query.batchId = q.batch;
    if (q.ids !== undefined) query.ids = q.ids.split(',').map(Number);
    if (query.batchId === undefined && query.ids === undefined) {
      throw badRequest('BATCH_OR_IDS', '请指定批次（batch）或退回编号（ids）。', 'give batch or ids');
    }
    const plan = await planAnnotatedWorkbook(wb, query, { county: countyScope(user) });
    return send(reply, plan);
  });
}

/** `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded utf-8>` (RFC 6266 / 5987). */
export function contentDisposition(name: WorkbookPlan['fileName']): string {
  const ascii = name.ascii.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const utf8 = encodeURIComponent(name.utf8).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}
