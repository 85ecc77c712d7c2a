import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogs } from '../../src/catalog/load.js';
import { maskIdNumber } from '../../src/identifiers/index.js';
import type { Row } from '../../src/types.js';
import { createBatch, finishBatch, getBatch, listBatches } from '../../src/warehouse/batches.js';
import {
  differingDuplicates,
  mergeBatch,
  openScratchStaging,
  predictMerge,
  stageRows,
} from '../../src/warehouse/load.js';
import {
  appendWarnings,
  cellsByHeader,
  listRejections,
  saveRejections,
  saveWarnings,
} from '../../src/warehouse/rejections.js';
import { penaltyRow, withKey } from '../helpers/penalty-rows.js';
import {
  describeEachWarehouse,
  openTestWarehouse,
  TEST_DATABASE_URL,
  type TestWarehouse,
} from '../helpers/warehouses.js';

const catalog = loadCatalogs().get('admin-penalty');
const batchInfo = (id: string) => ({ id, county: '230102', file: 'f.xlsx', sheet: 'S1' });

/** Rows numbered from 2 (row 1 is the header), content n = row index. */
function rows(batchId: string, count: number, over: (n: number) => Record<string, unknown> = () => ({})): Row[] {
  return Array.from({ length: count }, (_, i) => penaltyRow(catalog, batchId, i + 2, i, over(i)));
}

describeEachWarehouse('warehouse load', (kind) => {
  let t: TestWarehouse;
  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'load');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const count = async (table: string) => Number((await t.wh.knex.raw(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  async function load(id: string, list: Row[], chunkRows?: number) {
    await createBatch(t.wh, { id, file: 'f.xlsx', sheet: 'S1', catalog: catalog.id, county: '230102' });
    // Staged in two calls, as the pipeline stages chunk by chunk.
    const half = Math.floor(list.length / 2);
    await stageRows(t.wh, catalog, batchInfo(id), list.slice(0, half));
    await stageRows(t.wh, catalog, batchInfo(id), list.slice(half));
    const r = await mergeBatch(t.wh, catalog, id, chunkRows !== undefined ? { chunkRows } : {});
    expect(r.inserted + r.updated + r.unchanged + r.duplicate).toBe(list.length);
    return r;
  }

  describe('one record set through its life', () => {
    it('first load inserts every row, with lineage', async () => {
      const r = await load('b1', rows('b1', 40), 7);
      expect(r).toMatchObject({ inserted: 40, updated: 0, unchanged: 0, duplicate: 0 });
      expect(await count('admin_penalty')).toBe(40);
      const one = (await t.wh.knex('admin_penalty').where('source_row', 5).first()) as Record<string, unknown>;
      expect(one).toMatchObject({
        batch_id: 'b1',
        source_file: 'f.xlsx',
        source_sheet: 'S1',
        county: '230102',
        version: 1,
      });
      expect(one.subject_name).toBe('某某运输有限公司3');
      expect(one.penalty_types).toEqual(['罚款']);
      expect(Number(one.fine_amount_wan_yuan)).toBe(0.2);
      expect(await count('admin_penalty_staging')).toBe(0);
    });

    it('an identical re-load is all unchanged and writes nothing', async () => {
      const before = await t.wh
        .knex('admin_penalty')
        .select('record_key', 'updated_at', 'batch_id')
        .orderBy('record_key');
      const r = await load('b2', rows('b2', 40), 7);
      expect(r).toMatchObject({ inserted: 0, updated: 0, unchanged: 40, duplicate: 0 });
      const after = await t.wh
        .knex('admin_penalty')
        .select('record_key', 'updated_at', 'batch_id')
        .orderBy('record_key');
      expect(after).toEqual(before);
      expect(await count('admin_penalty_history')).toBe(0);
    });

    it('one changed row gives one update; the old version stays in history', async () => {
      const list = rows('b3', 40, (n) =>
        n === 10 ? { penalty_content: '罚款3000元', fine_amount_wan_yuan: 0.3 } : {},
      );
      const r = await load('b3', list, 7);
      expect(r).toMatchObject({ inserted: 0, updated: 1, unchanged: 39, duplicate: 0 });
      const cur = (await t.wh.knex('admin_penalty').where('record_key', list[10]?.key).first()) as Record<
        string,
        unknown
      >;
      expect(cur).toMatchObject({ version: 2, batch_id: 'b3', penalty_content: '罚款3000元' });
      const hist = await t.wh.knex('admin_penalty_history').select();
      expect(hist).toHaveLength(1);
      expect(hist[0]).toMatchObject({
        record_key: list[10]?.key,
        version: 1,
        batch_id: 'b1',
        penalty_content: '罚款2000元',
        superseded_by_batch: 'b3',
      });
    });

    it("a dry run's scratch staging: predicted as the merge would go, seen by no other session, gone after", async () => {
      // Rows 2–4 are what the table holds now (unchanged), row 5 a new record, row 6 row 2 again.
      const list = [...rows('x', 3), penaltyRow(catalog, 'x', 5, 1000), penaltyRow(catalog, 'x', 6, 0)];
      const scratch = await openScratchStaging(t.wh, catalog);
      try {
        expect(await stageRows(t.wh, catalog, batchInfo('x'), list, scratch)).toBe(5);
        const staged = await scratch.wh.knex.raw(`SELECT count(*) AS n FROM ${scratch.table}`);
        expect(Number(staged.rows[0].n)).toBe(5);
        if (kind === 'postgres') {
          // PGlite has one connection, which the scratch holds; on PostgreSQL another session looks.
          const other = await t.wh.knex.raw(`SELECT to_regclass('${scratch.table}') AS t`);
          expect(other.rows[0].t).toBeNull();
        }
        expect(await predictMerge(t.wh, catalog, 'x', scratch)).toEqual({
          inserted: 1,
          updated: 0,
          unchanged: 3,
          duplicate: 1,
          duplicateWarnings: 0,
          staged: 5,
        });
      } finally {
        await scratch.discard();
      }
      expect(await count('admin_penalty_staging')).toBe(0);
      expect((await t.wh.knex.raw(`SELECT to_regclass('${scratch.table}') AS t`)).rows[0].t).toBeNull();
      const gone = await t.wh.knex('admin_penalty').whereIn('source_row', [5, 6]).where('batch_id', 'x');
      expect(gone).toEqual([]);
    });
  });

  it('duplicates in a batch: the last valid row wins, across chunks, and differing losers are reported', async () => {
    const list = rows('d1', 30, (n) => ({ decision_doc_no: `D〔2024〕${n}号` }));
    // row 5 and row 27 (far apart, different chunks) share a key with different content: 27 wins.
    list[3] = penaltyRow(catalog, 'd1', 5, 25, { decision_doc_no: 'D〔2024〕25号', violation_facts: 'older text' });
    // rows 8 and 9 are identical: 9 wins, no warning.
    list[7] = penaltyRow(catalog, 'd1', 9, 6, { decision_doc_no: 'D〔2024〕6号' });
    const r = await load('d1', list, 4);
    expect(r.duplicate).toBe(2);
    expect(r.inserted).toBe(28);
    expect(r.duplicateWarnings).toBe(1);
    expect(await differingDuplicates(t.wh, 'd1')).toEqual([{ rowNumber: 5, winnerRow: 27 }]);
    const w = (await t.wh.knex('admin_penalty').where('record_key', list[25]?.key).first()) as Record<string, unknown>;
    expect(w.source_row).toBe(27);
    expect(w.violation_facts).toBe('车辆超限 25');
  });

  it('differing duplicates are read a page at a time, in row order', async () => {
    // Keys 0–3 each three times (rows 2–5, 6–9, 10–13) with other content each time: rows 10–13 win.
    const list = Array.from({ length: 12 }, (_, i) =>
      penaltyRow(catalog, 'p1', i + 2, i % 4, { decision_doc_no: `P〔2024〕${i % 4}号`, remarks: `copy ${i}` }),
    );
    const r = await load('p1', list);
    expect({ duplicate: r.duplicate, duplicateWarnings: r.duplicateWarnings }).toEqual({
      duplicate: 8,
      duplicateWarnings: 8,
    });
    const pages: number[][] = [];
    for (let after = 0; ; ) {
      const page = await differingDuplicates(t.wh, 'p1', after, 3);
      if (page.length === 0) break;
      pages.push(page.map((d) => d.rowNumber));
      expect(page.every((d) => d.winnerRow === 10 + ((d.rowNumber - 2) % 4))).toBe(true);
      after = page.at(-1)?.rowNumber ?? after;
    }
    expect(pages).toEqual([
      [2, 3, 4],
      [5, 6, 7],
      [8, 9],
    ]);
  });

  it('a merge interrupted after some chunks and re-run (even re-staged) counts every row once', async () => {
    const list = rows('c1', 25, (n) => ({ decision_doc_no: `C〔2024〕${n}号` }));
    list[20] = penaltyRow(catalog, 'c1', 22, 1, { decision_doc_no: 'C〔2024〕1号', remarks: 'later' });
    await createBatch(t.wh, { id: 'c1', file: 'f.xlsx', catalog: catalog.id, county: '230102' });
    await stageRows(t.wh, catalog, batchInfo('c1'), list);
    let chunks = 0;
    await expect(
      mergeBatch(t.wh, catalog, 'c1', {
        chunkRows: 5,
        onProgress: () => {
          if (++chunks === 2) throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    expect(await count("admin_penalty WHERE batch_id = 'c1'")).toBeGreaterThan(0);
    // The pipeline restarts from the file: everything staged again, then merged.
    await stageRows(t.wh, catalog, batchInfo('c1'), list);
    const r = await mergeBatch(t.wh, catalog, 'c1', { chunkRows: 5 });
    expect(r).toMatchObject({ inserted: 24, updated: 0, unchanged: 0, duplicate: 1 });
    expect(r.duplicateWarnings).toBe(1);
    expect(await differingDuplicates(t.wh, 'c1')).toEqual([{ rowNumber: 3, winnerRow: 22 }]);
    expect(await count("admin_penalty WHERE batch_id = 'c1'")).toBe(24);
  });

  it('a warning found at merge time is added to the warnings a row already has, once', async () => {
    await createBatch(t.wh, { id: 'w1', file: 'f.csv', catalog: catalog.id, county: '230102' });
    const warn = (code: string) => ({ code, severity: 'warning' as const, zh: `${code} 说明`, en: code });
    const row = (code: string): Row => ({
      prov: { batchId: 'w1', file: 'f.csv', rowNumber: 7 },
      cells: [],
      values: {},
      issues: [warn(code)],
    });
    await saveWarnings(t.wh, 'w1', [row('SUBJECT_OUTSIDE_COUNTY')]);
    await appendWarnings(t.wh, 'w1', [row('DUPLICATE_DIFFERS')]);
    await appendWarnings(t.wh, 'w1', [row('DUPLICATE_DIFFERS')]); // a retried merge
    const stored = await t.wh.knex('row_warnings').where({ batch_id: 'w1', row_number: 7 }).first();
    const issues = (typeof stored.issues === 'string' ? JSON.parse(stored.issues) : stored.issues) as Array<{
      code: string;
    }>;
    expect(issues.map((i) => i.code)).toEqual(['SUBJECT_OUTSIDE_COUNTY', 'DUPLICATE_DIFFERS']);
  });

  it('re-staging the same rows does not double them', async () => {
    const list = rows('s1', 10, (n) => ({ decision_doc_no: `S〔2024〕${n}号` }));
    await stageRows(t.wh, catalog, batchInfo('s1'), list);
    await stageRows(t.wh, catalog, batchInfo('s1'), list);
    expect(await count("admin_penalty_staging WHERE batch_id = 's1'")).toBe(10);
    const r = await mergeBatch(t.wh, catalog, 's1');
    expect(r).toMatchObject({ inserted: 10, duplicate: 0 });
  });

  it("a merged batch's staged rows go; another batch's staged rows stay (then the table is emptied whole)", async () => {
    // A batch still waiting in staging (a held upload) beside one being merged.
    const waiting = rows('w1', 6, (n) => ({ decision_doc_no: `W〔2024〕${n}号` }));
    await stageRows(t.wh, catalog, batchInfo('w1'), waiting);
    await load(
      'm1',
      rows('m1', 8, (n) => ({ decision_doc_no: `M〔2024〕${n}号` })),
    );
    expect(await count("admin_penalty_staging WHERE batch_id = 'm1'")).toBe(0);
    expect(await count("admin_penalty_staging WHERE batch_id = 'w1'")).toBe(6);
    // Alone in staging, the last batch's merge empties the table outright: no dead rows are left behind.
    await createBatch(t.wh, { id: 'w1', file: 'f.xlsx', sheet: 'S1', catalog: catalog.id, county: '230102' });
    const r = await mergeBatch(t.wh, catalog, 'w1');
    expect(r).toMatchObject({ inserted: 6, duplicate: 0 });
    expect(await count('admin_penalty_staging')).toBe(0);
    if (kind === 'postgres') {
      const size = await t.wh.knex.raw("SELECT pg_relation_size('admin_penalty_staging') AS n");
      expect(Number(size.rows[0].n)).toBe(0);
    }
  });

  it('values with tabs, newlines, backslashes, quotes, commas and NULLs arrive exactly', async () => {
    const nasty = 'a\tb\nc\\d\re "q" \\N {x,y} 中文';
    const row = penaltyRow(catalog, 'e1', 2, 9000, {
      decision_doc_no: 'E1',
      violation_facts: nasty,
      penalty_types: ['罚款', 'a,b', 'q"uote', 'back\\slash', 'tab\tnl\n', ''],
      remarks: '',
      fine_amount_wan_yuan: 12345678.123456,
      confiscation_amount_wan_yuan: null,
    });
    const r = await load('e1', [withKey(catalog, row)]);
    expect(r.inserted).toBe(1);
    const got = (await t.wh.knex('admin_penalty').where('record_key', row.key).first()) as Record<string, unknown>;
    expect(got.violation_facts).toBe(nasty);
    expect(got.penalty_types).toEqual(['罚款', 'a,b', 'q"uote', 'back\\slash', 'tab\tnl\n', '']);
    expect(got.remarks).toBeNull();
    expect(got.confiscation_amount_wan_yuan).toBeNull();
    expect(String(got.fine_amount_wan_yuan)).toBe('12345678.123456');
    expect(got.decision_date).not.toBeNull();
  });

  it('the ledger records counts and timings; rejections keep cells and mask IDs in listings', async () => {
    await createBatch(t.wh, {
      id: 'L1',
      file: '县.xlsx',
      sheet: null,
      catalog: catalog.id,
      county: '230102',
      fileSha256: 'ab',
    });
    expect((await getBatch(t.wh, 'L1'))?.status).toBe('running');
    const bad: Row = {
      prov: { batchId: 'L1', file: '县.xlsx', rowNumber: 7 },
      cells: ['张三', '230102199001011234', null, 12.5],
      values: { subject_name: '张三', subject_id_no: '230102199001011234' },
      issues: [
        {
          code: 'RESIDENT_ID_CHECKSUM',
          severity: 'error',
          field: 'subject_id_no',
          header: '证件号码',
          value: '230102199001011234',
          zh: '证件号码 230102199001011234 校验位不对',
          en: 'bad check digit',
        },
      ],
    };
    await saveRejections(
      t.wh,
      { id: 'L1', catalog: catalog.id, county: '230102', file: '县.xlsx' },
      [bad],
      ['行政相对人名称', '证件号码', '备注', '备注'],
    );
    await saveRejections(
      t.wh,
      { id: 'L1', catalog: catalog.id, county: '230102', file: '县.xlsx' },
      [bad],
      ['行政相对人名称', '证件号码', '备注', '备注'],
    );
    const raw = await t.wh.knex('rejections').where('batch_id', 'L1');
    expect(raw).toHaveLength(1);
    const cells = typeof raw[0].cells === 'string' ? JSON.parse(raw[0].cells) : raw[0].cells;
    expect(cells).toEqual({ 行政相对人名称: '张三', 证件号码: '230102199001011234', 备注: null, '备注#4': 12.5 });
    expect([raw[0].error_codes, raw[0].error_fields]).toEqual([['RESIDENT_ID_CHECKSUM'], ['subject_id_no']]);
    // A ragged row (more cells than headers, quotes and a date among them) keeps every cell, as cellsByHeader names them.
    const ragged: Row = {
      ...bad,
      prov: { ...bad.prov, rowNumber: 9 },
      cells: ['"王五"', new Date(Date.UTC(2024, 0, 2)), null, 1, 'x\ty'],
    };
    const headers = ['行政相对人名称', '', '备注', '备注'];
    await saveRejections(t.wh, { id: 'L1', catalog: catalog.id, county: '230102', file: '县.xlsx' }, [ragged], headers);
    const stored = (await t.wh.knex('rejections').where({ batch_id: 'L1', row_number: 9 }).first()) as Record<
      string,
      unknown
    >;
    const storedCells = typeof stored.cells === 'string' ? JSON.parse(stored.cells) : stored.cells;
    expect(storedCells).toEqual(JSON.parse(JSON.stringify(cellsByHeader(headers, ragged.cells))));
    expect(Object.keys(storedCells).sort()).toEqual(['#2', '#5', '备注', '备注#4', '行政相对人名称']);
    await t.wh.knex('rejections').where({ batch_id: 'L1', row_number: 9 }).delete();
    const [pub] = await listRejections(t.wh, { batchId: 'L1', limit: 10 });
    expect(pub?.cells.证件号码).toBe('2301**********1234');
    expect(pub?.values.subject_id_no).toBe('2301**********1234');
    expect(pub?.issues[0]?.value).toBe('2301**********1234');
    expect(pub?.issues[0]?.zh).not.toContain('230102199001011234');
    expect(pub?.rowNumber).toBe(7);

    // A malformed ID (17 digits) in a personal field is still somebody's ID number: masked too.
    const typo = '23018419931076348';
    const short: Row = {
      ...bad,
      prov: { ...bad.prov, rowNumber: 8 },
      cells: ['李四', typo, null, null],
      values: { subject_name: '李四', subject_id_no: typo },
      issues: [
        {
          ...(bad.issues[0] as Row['issues'][number]),
          value: typo,
          zh: `‘证件号码’列的值“${typo}”不是有效的居民身份证号码`,
        },
      ],
    };
    await saveRejections(
      t.wh,
      { id: 'L1', catalog: catalog.id, county: '230102', file: '县.xlsx' },
      [short],
      ['行政相对人名称', '证件号码', '备注', '备注'],
    );
    const masked = (
      await listRejections(t.wh, { batchId: 'L1', limit: 10, personalFields: new Set(['subject_id_no']) })
    ).find((r) => r.rowNumber === 8);
    expect(masked?.issues[0]?.zh).not.toContain(typo);
    expect(masked?.issues[0]?.zh).toContain(maskIdNumber(typo));
    expect(masked?.cells.证件号码).toBe(maskIdNumber(typo));
    expect(masked?.values.subject_id_no).toBe(maskIdNumber(typo));

    const warned = penaltyRow(catalog, 'L1', 9, 1);
    warned.issues.push({ code: 'SUBJECT_OUTSIDE_COUNTY', severity: 'warning', zh: '外县', en: 'outside' });
    expect(await saveWarnings(t.wh, 'L1', [warned, penaltyRow(catalog, 'L1', 10, 2)])).toBe(1);

    await finishBatch(
      t.wh,
      'L1',
      {
        counts: { inserted: 3, updated: 0, unchanged: 0, duplicate: 0, rejected: 1 },
        total: 4,
        warnings: 1,
        stageMs: { read: 12, load: 30 },
      },
      'done',
    );
    const b = await getBatch(t.wh, 'L1');
    expect(b).toMatchObject({
      status: 'done',
      total: 4,
      inserted: 3,
      rejected: 1,
      warnings: 1,
      stageMs: { read: 12, load: 30 },
      fileSha256: 'ab',
    });
    expect(b?.finishedAt).toBeInstanceOf(Date);
    expect((await listBatches(t.wh, { limit: 100 })).map((x) => x.id)).toContain('L1');
  });
  describe.runIf(kind === 'postgres')('another session writes the same records during the merge', () => {
    /**
     * Opens a transaction in another session that writes one record (`write`), starts the merge, waits until
     * the merge is blocked on that record's lock, then commits the other session: the merge's statement
     * planned on a snapshot without the other write, and must notice.
     */
    async function mergeAgainst(batchId: string, write: (c: pg.Client) => Promise<void>) {
      const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await other.connect();
      try {
        await other.query(`SET search_path TO "${t.wh.schema}"`);
        await other.query('BEGIN');
        await write(other);
        const merging = mergeBatch(t.wh, catalog, batchId);
        merging.catch(() => {});
        for (let i = 0; ; i++) {
          await other.query('SELECT pg_stat_clear_snapshot()'); // inside a transaction the view is cached
          const waiting = await other.query(
            `SELECT count(*) AS n FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE 'WITH cand%' AND pid <> pg_backend_pid()`,
          );
          if (Number(waiting.rows[0].n) > 0) break;
          if (i > 200) throw new Error('the merge never waited for the other session');
          await new Promise((r) => setTimeout(r, 25));
        }
        await other.query('COMMIT');
        return await merging;
      } finally {
        await other.end();
      }
    }

    it('a record inserted meanwhile is updated, its version kept in history, not an error', async () => {
      const list = rows('ri', 6, (n) => ({ decision_doc_no: `RI〔2024〕${n}号` }));
      await createBatch(t.wh, { id: 'ri', file: 'f.xlsx', catalog: catalog.id, county: '230102' });
      await stageRows(t.wh, catalog, batchInfo('ri'), list);
      const key = list[2]?.key as string;
      const r = await mergeAgainst('ri', async (c) => {
        await c.query(
          `INSERT INTO admin_penalty (record_key, content_hash, version, batch_id, remarks) VALUES ($1, 'other', 1, 'other', 'o')`,
          [key],
        );
      });
      expect(r).toMatchObject({ inserted: 5, updated: 1, unchanged: 0, duplicate: 0 });
      const cur = await t.wh.knex('admin_penalty').where('record_key', key).first();
      expect(cur).toMatchObject({ version: 2, batch_id: 'ri', content_hash: list[2]?.hash });
      const hist = await t.wh.knex('admin_penalty_history').where('record_key', key);
      expect(hist).toMatchObject([{ version: 1, batch_id: 'other', remarks: 'o', superseded_by_batch: 'ri' }]);
    });

    it("a record updated meanwhile gets the batch's content as the next version; both older ones are in history", async () => {
      const first = rows('ru0', 4, (n) => ({ decision_doc_no: `RU〔2024〕${n}号` }));
      await load('ru0', first);
      const list = rows('ru1', 4, (n) => ({
        decision_doc_no: `RU〔2024〕${n}号`,
        ...(n === 1 ? { remarks: '改' } : {}),
      }));
      const key = list[1]?.key as string;
      await createBatch(t.wh, { id: 'ru1', file: 'f.xlsx', catalog: catalog.id, county: '230102' });
      await stageRows(t.wh, catalog, batchInfo('ru1'), list);
      const r = await mergeAgainst('ru1', async (c) => {
        await c.query(
          `INSERT INTO admin_penalty_history SELECT *, now(), 'other' FROM admin_penalty WHERE record_key = $1`,
          [key],
        );
        await c.query(
          `UPDATE admin_penalty SET remarks = 'o', content_hash = 'other', version = 2, batch_id = 'other' WHERE record_key = $1`,
          [key],
        );
      });
      expect(r).toMatchObject({ inserted: 0, updated: 1, unchanged: 3, duplicate: 0 });
      const cur = await t.wh.knex('admin_penalty').where('record_key', key).first();
      expect(cur).toMatchObject({ version: 3, batch_id: 'ru1', remarks: '改', content_hash: list[1]?.hash });
      const hist = await t.wh.knex('admin_penalty_history').where('record_key', key).orderBy('version');
      expect(hist.map((h) => [h.version, h.batch_id, h.superseded_by_batch])).toEqual([
        [1, 'ru0', 'other'],
        [2, 'other', 'ru1'],
      ]);
    });
  });
});
