/**
 * Golden fixtures: real county files in, the outcomes written by hand from each file out
 * (fixtures/**\/*.expected.json). A first ingest into an empty warehouse, on both backends.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCatalogs } from '../../src/catalog/load.js';
import { FIXTURES, ingestForTest, rowOutcomes } from '../helpers/ingest.js';
import { describeEachWarehouse, openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';

interface ExpectedRow {
  outcome: string;
  errors?: string[];
  warnings?: string[];
}
interface ExpectedSheet {
  sheet: string | null;
  total: number;
  inserted: number;
  updated: number;
  unchanged: number;
  duplicate: number;
  rejected: number;
  rows: Record<string, ExpectedRow>;
}
interface Expected {
  file: string;
  catalog: string;
  county: string;
  sheets: ExpectedSheet[];
}

function goldenFiles(): Array<{ file: string; expected: Expected }> {
  const out: Array<{ file: string; expected: Expected }> = [];
  for (const dir of ['demo', 'county']) {
    for (const name of readdirSync(path.join(FIXTURES, dir)).sort()) {
      if (!name.endsWith('.expected.json')) continue;
      const file = path.join(FIXTURES, dir, name.replace(/\.expected\.json$/, ''));
      out.push({ file, expected: JSON.parse(readFileSync(path.join(FIXTURES, dir, name), 'utf8')) });
    }
  }
  return out;
}

const catalogs = loadCatalogs();
const golden = goldenFiles();

it('has golden fixtures to check', () => {
  expect(golden.length).toBeGreaterThanOrEqual(6);
});

describeEachWarehouse('golden county files', (kind) => {
  let t: TestWarehouse;
  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'golden');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  for (const { file, expected } of golden) {
    it(`${path.relative(FIXTURES, file)} ends as written by hand`, async () => {
      // Each expectation is for a first ingest into an empty warehouse.
      for (const c of catalogs.list) await t.wh.knex.raw(`TRUNCATE ${c.table}, ${c.table}_history`);
      const result = await ingestForTest(t.wh, file, { county: expected.county });
      expect(result.error?.zh).toBeUndefined();
      expect(result.summaries.map((s) => s.sheet)).toEqual(expected.sheets.map((s) => s.sheet));
      const table = catalogs.get(expected.catalog).table;
      for (const [i, want] of expected.sheets.entries()) {
        const got = result.summaries[i];
        if (!got?.batchId) throw new Error('no batch');
        expect(got.catalog).toBe(expected.catalog);
        const { total, inserted, updated, unchanged, duplicate, rejected } = got;
        expect({ total, inserted, updated, unchanged, duplicate, rejected }).toEqual({
          total: want.total,
          inserted: want.inserted,
          updated: want.updated,
          unchanged: want.unchanged,
          duplicate: want.duplicate,
          rejected: want.rejected,
        });
        expect(inserted + updated + unchanged + duplicate + rejected).toBe(total);
        // The ledger names the file by its bytes' hash (read beside the sheet, written once known).
        const ledger = await t.wh.knex('batches').where('id', got.batchId).first('file_sha256');
        expect(ledger?.file_sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));

        // Every rejection tells the clerk where (sheet, row, column), what the cell held and how to fix it.
        const stored = await t.wh
          .knex('rejections')
          .where('batch_id', got.batchId)
          .select('sheet', 'row_number', 'issues');
        for (const r of stored) {
          expect(r.sheet ?? null).toBe(want.sheet);
          const issues = (typeof r.issues === 'string' ? JSON.parse(r.issues) : r.issues) as Array<
            Record<string, unknown>
          >;
          const errors = issues.filter((i) => i.severity === 'error');
          expect(errors.length).toBeGreaterThan(0);
          for (const i of errors) {
            expect(typeof i.code).toBe('string');
            expect(String(i.zh).length).toBeGreaterThan(8);
            expect(String(i.en).length).toBeGreaterThan(8);
            // An empty required cell has no value to quote; every other cell problem quotes what the cell held.
            if (i.header !== undefined && i.code !== 'REQUIRED_MISSING') expect(i).toHaveProperty('value');
          }
        }

        const actual = await rowOutcomes(t.wh, got.batchId, table);
        for (const [row, w] of Object.entries(want.rows)) {
          const a = actual.get(Number(row));
          expect({ row: Number(row), outcome: a?.outcome, errors: a?.errors, warnings: a?.warnings }).toEqual({
            row: Number(row),
            outcome: w.outcome,
            errors: [...(w.errors ?? [])].sort(),
            warnings: [...(w.warnings ?? [])].sort(),
          });
        }
      }
    });
  }
});
