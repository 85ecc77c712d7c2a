/**
 * Uploads (under /api): a clerk's file is streamed to the upload folder (size-capped), checked and
 * staged as held batches — a dry run the clerk can read ("47 rows good, 3 need fixing") — then
 * committed (merged from staging: the file is not read again, it is gone by then) or cancelled.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cancelHeldBatch, commitHeldBatch } from '../../pipelines/held.js';
import { type FileResult, ingestFile } from '../../pipelines/ingest.js';
import { assertVisible, countyScope } from '../../review/access.js';
import { writeAudit } from '../../review/audit.js';
import { badRequest, conflict, notFound } from '../../review/errors.js';
import { listRejectionViews } from '../../review/rejections.js';
import type { User } from '../../review/types.js';
import type { RejectionView } from '../../review/view.js';
import { engineDeps } from '../../src/engine-deps.js';
import { isGuijiError } from '../../src/errors.js';
import type { BatchSummary } from '../../src/types.js';
import { getBatch } from '../../src/warehouse/batches.js';
import { requireUser } from '../auth.js';
import type { WebDeps } from '../deps.js';

/** Rejections shown with an upload's result: enough to see what is wrong, not the whole list. */
const SAMPLE = 20;

const batchParams = {
  type: 'object',
  required: ['batchId'],
  properties: { batchId: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

interface UploadFields {
  catalog?: string;
  county?: string;
  sheet?: string;
  headerRow?: number;
}

export interface UploadResult {
  uploadId: string;
  file: string;
  batches: Array<BatchSummary & { status: 'staged' }>;
  sample: RejectionView[];
  skipped: FileResult['skipped'];
}

/** The name a file is shown under: its base name, no control characters, not too long. */
function displayName(filename: string | undefined): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const base = path.basename(String(filename ?? '').replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '');
  const name = base.trim().slice(-120);
  return name === '' || name === '.' || name === '..' ? '上传文件' : name;
}

function field(name: keyof UploadFields, raw: string): UploadFields[keyof UploadFields] {
  const v = raw.trim();
  const bad = (zh: string) => badRequest('BAD_UPLOAD_FIELD', zh, `bad upload field ${name}`);
  if (v === '') return undefined;
  if (name === 'headerRow') {
    if (!/^[1-9][0-9]{0,3}$/.test(v)) throw bad('表头行号应为 1 到 9999 之间的整数。');
    return Number(v);
  }
  if (name === 'county' && !/^[0-9]{6}$/.test(v)) throw bad('区县代码应为 6 位数字，例如 230184。');
  if (name === 'catalog' && !/^[a-z][a-z0-9-]{0,63}$/.test(v)) throw bad(`信息目录“${v.slice(0, 40)}”无效。`);
  if (name === 'sheet' && v.length > 100) throw bad('工作表名称过长。');
  return v;
}

export async function uploadRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const engine = engineDeps(deps.ctx);
  const wh = deps.ctx.db;

  /** Reads the multipart body: the file streamed to disk (size-capped), the option fields. */
  async function receive(request: FastifyRequest, target: string) {
    const fields: UploadFields = {};
    let original: string | undefined;
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        const name = part.fieldname as keyof UploadFields;
        if (['catalog', 'county', 'sheet', 'headerRow'].includes(name)) {
          (fields as Record<string, unknown>)[name] = field(name, String(part.value ?? ''));
        }
        continue;
      }
      const file = part as MultipartFile;
      if (file.fieldname !== 'file' || original !== undefined) {
        file.file.resume(); // not ours: drain it so the rest of the body can be read
        continue;
      }
      original = displayName(file.filename);
      // `wx`: the random name is new; nothing the client sends reaches the path.
      await pipeline(file.file, createWriteStream(target, { flags: 'wx' }));
      if (file.file.truncated) throw new app.multipartErrors.RequestFileTooLargeError();
    }
    if (original === undefined) {
      throw badRequest('UPLOAD_NO_FILE', '请选择要上传的文件（表单字段 file）。', 'multipart field "file" missing');
    }
    return { fields, original };
  }

  app.post('/uploads', async (request): Promise<UploadResult> => {
    const user = requireUser(request);
    if (!request.isMultipart()) {
      throw badRequest('UPLOAD_NOT_MULTIPART', '请以表单文件的方式上传。', 'expected multipart/form-data');
    }
    const uploadId = randomUUID();
    const target = path.join(deps.uploadDir, uploadId);
    try {
      const { fields, original } = await receive(request, target);
      const own = countyScope(user);
      if (own !== null && fields.county !== undefined && fields.county !== own) {
        throw badRequest(
          'COUNTY_NOT_YOURS',
          `您只能报送本区县（${own}）的数据。`,
          `clerk of ${own} asked for county ${fields.county}`,
        );
      }
      const result = await ingestFile(engine, target, {
        displayName: original,
        hold: true,
        kind: 'upload',
        createdBy: user.username,
        ...(own !== null ? { ownCounty: own } : fields.county !== undefined ? { county: fields.county } : {}),
        ...(fields.catalog !== undefined ? { catalogId: fields.catalog } : {}),
        ...(fields.sheet !== undefined ? { sheet: fields.sheet } : {}),
        ...(fields.headerRow !== undefined ? { headerRow: fields.headerRow } : {}),
      });
      if (result.error) {
        // One unusable sheet refuses the upload: the clerk fixes the file and uploads it again.
        for (const s of result.summaries) {
          if (s.batchId) await cancelHeldBatch(engine, s.batchId, request.actor.name).catch(() => {});
        }
        throw result.error;
      }
      const batches = result.summaries.map((s) => ({ ...s, status: 'staged' as const }));
      const sample: RejectionView[] = [];
      for (const b of batches) {
        if (sample.length >= SAMPLE || b.rejected === 0) continue;
        const page = await listRejectionViews(engine, user, { batch: b.batchId ?? '', limit: SAMPLE - sample.length });
        sample.push(...page.items);
      }
      await writeAudit(wh.knex, {
        actor: request.actor,
        action: 'upload',
        entity: 'upload',
        entityId: uploadId,
        county: batches[0]?.county ?? own,
        detail: { file: original, batches: batches.map((b) => b.batchId), skipped: result.skipped.length },
      });
      return { uploadId, file: original, batches, sample, skipped: result.skipped };
    } finally {
      // Everything needed later is staged: the file itself is never read again.
      await rm(target, { force: true });
    }
  });

  /** The staged upload batch a user may act on (404 for another county's, as if it did not exist). */
  async function heldBatch(user: User, batchId: string) {
    const b = await getBatch(wh, batchId);
    assertVisible(user, b?.county ?? null, '上传批次', batchId);
    if (!b) throw notFound('上传批次', batchId);
    if (b.kind !== 'upload') {
      throw badRequest('NOT_AN_UPLOAD', `批次 ${batchId} 不是上传的批次。`, `batch ${batchId} is not an upload`);
    }
    if (b.status !== 'staged') throw notStaged(batchId, b.status);
    return b;
  }

  const notStaged = (batchId: string, status: string) =>
    conflict(
      'BATCH_NOT_STAGED',
      status === 'done'
        ? `批次 ${batchId} 已经提交过了。`
        : status === 'cancelled'
          ? `批次 ${batchId} 已经取消。`
          : `批次 ${batchId} 当前不能提交或取消（状态：${status}）。`,
      `batch ${batchId} is ${status}, not staged`,
      { status },
    );

  /** Another request committed or cancelled it meanwhile: a conflict, not a bad request. */
  const raced = async (batchId: string, e: unknown): Promise<never> => {
    if (isGuijiError(e) && e.code === 'BATCH_NOT_STAGED') {
      throw notStaged(batchId, (await getBatch(wh, batchId))?.status ?? 'unknown');
    }
    throw e;
  };

  app.post('/uploads/:batchId/commit', { schema: { params: batchParams } }, async (request) => {
    const user = requireUser(request);
    const { batchId } = request.params as { batchId: string };
    await heldBatch(user, batchId);
    const summary = await commitHeldBatch(engine, batchId, request.actor.name).catch((e) => raced(batchId, e));
    return { ...summary, status: 'done' as const };
  });

  app.post('/uploads/:batchId/cancel', { schema: { params: batchParams } }, async (request) => {
    const user = requireUser(request);
    const { batchId } = request.params as { batchId: string };
    await heldBatch(user, batchId);
    const b = await cancelHeldBatch(engine, batchId, request.actor.name).catch((e) => raced(batchId, e));
    return { batchId: b.id, file: b.file, sheet: b.sheet, catalog: b.catalog, county: b.county, status: b.status };
  });
}
