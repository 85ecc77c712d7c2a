/**
 * A distributed batch that cannot finish (a bug, a chunk file gone) is closed as failed: nothing runs it
 * again, so its staged rows and the chunk files it left in the spool are removed; its rejections stay.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowDeps } from '../../pipelines/distributed/deps.js';
import { failBatch } from '../../pipelines/distributed/finalize.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import { makeClock } from '../../src/clock.js';
import { loadReference } from '../../src/reference.js';
import { makeSpool } from '../../src/spool.js';
import { createBatch, getBatch } from '../../src/warehouse/batches.js';
import { stageRows } from '../../src/warehouse/load.js';
import { saveRejections } from '../../src/warehouse/rejections.js';
import { fixtureConfig, silent } from '../helpers/ingest.js';
import { penaltyRow } from '../helpers/penalty-rows.js';
import { openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';

const catalogs = loadCatalogs();
const catalog = catalogs.get('admin-penalty');
let t: TestWarehouse;
let spoolDir: string;

beforeAll(async () => {
  t = await openTestWarehouse('postgres', 'fail_batch');
  spoolDir = mkdtempSync(path.join(tmpdir(), 'guiji-spool-fail-'));
});
afterAll(async () => {
  await t?.dispose();
  rmSync(spoolDir, { recursive: true, force: true });
});

it('a failed batch leaves no staged rows and no chunk files; its rejections and the other batches stay', async () => {
  const spool = makeSpool(spoolDir);
  const info = (id: string) => ({ id, county: '230102', file: 'f.csv', sheet: null });
  for (const id of ['bad', 'other']) {
    await createBatch(t.wh, { id, file: 'f.csv', catalog: catalog.id, county: '230102' });
    await stageRows(
      t.wh,
      catalog,
      info(id),
      Array.from({ length: 5 }, (_, i) => penaltyRow(catalog, id, i + 2, i)),
    );
    await spool.writeChunk(id, 1, [{ rowNumber: 8, cells: ['x'] }]);
  }
  const rejected = penaltyRow(catalog, 'bad', 9, 9);
  rejected.issues.push({
    code: 'REQUIRED_MISSING',
    severity: 'error',
    field: 'subject_name',
    zh: '缺少',
    en: 'missing',
  });
  await saveRejections(t.wh, { id: 'bad', catalog: catalog.id, county: '230102', file: 'f.csv' }, [rejected], []);

  const deps: FlowDeps = {
    config: fixtureConfig(),
    warehouse: t.wh,
    catalogs,
    reference: loadReference(),
    clock: makeClock('Asia/Shanghai'),
    logger: silent,
    spool,
    enqueue: {
      collect: async () => {
        throw new Error('not expected');
      },
      chunk: async () => {
        throw new Error('not expected');
      },
      finalize: async () => {
        throw new Error('not expected');
      },
    },
    worker: 'test',
  };
  await failBatch(deps, 'bad', 'chunk 3 of batch bad is missing from the spool');

  const b = await getBatch(t.wh, 'bad');
  expect(b).toMatchObject({ status: 'failed', error: 'chunk 3 of batch bad is missing from the spool', rejected: 0 });
  const staged = await t.wh.knex.raw(
    'SELECT batch_id, count(*)::int AS n FROM admin_penalty_staging GROUP BY batch_id ORDER BY batch_id',
  );
  expect(staged.rows).toEqual([{ batch_id: 'other', n: 5 }]);
  expect(await spool.hasChunk('bad', 1)).toBe(false);
  expect(await spool.hasChunk('other', 1)).toBe(true);
  expect(existsSync(spoolDir)).toBe(true);
  const rej = await t.wh.knex('rejections').where('batch_id', 'bad').count({ n: '*' });
  expect(Number(rej[0]?.n)).toBe(1);
});
