import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCatalogs } from '../../src/catalog/load.js';
import { canonicalSqlType } from '../../src/warehouse/ddl.js';
import { describeEachWarehouse, openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';

const catalogs = loadCatalogs().list;

const LINEAGE = [
  ['subject_key', 'text'],
  ['content_hash', 'text'],
  ['version', 'integer'],
  ['county', 'text'],
  ['batch_id', 'text'],
  ['source_file', 'text'],
  ['source_sheet', 'text'],
  ['source_row', 'integer'],
  ['first_loaded_at', 'timestamp with time zone'],
  ['updated_at', 'timestamp with time zone'],
];

describeEachWarehouse('warehouse schema matches the catalogs', (kind) => {
  let t: TestWarehouse;
  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'schema');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  async function columnsOf(table: string): Promise<Array<[string, string]>> {
    const res = await t.wh.knex.raw(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
       WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [table],
    );
    return (res.rows as Array<{ name: string; type: string }>).map((r) => [r.name, r.type]);
  }

  it('has a catalog to check', () => {
    expect(catalogs.map((c) => c.id).sort()).toEqual(expect.arrayContaining(['admin-license', 'admin-penalty']));
  });

  for (const catalog of catalogs) {
    it(`${catalog.id}: table ${catalog.table} has exactly the catalog's fields, typed as the catalog says`, async () => {
      const fields = catalog.fields.map((f) => [f.name, canonicalSqlType(f.sqlType)]);
      expect(await columnsOf(catalog.table)).toEqual([['record_key', 'text'], ...fields, ...LINEAGE]);
      expect(await columnsOf(`${catalog.table}_history`)).toEqual([
        ['record_key', 'text'],
        ...fields,
        ...LINEAGE,
        ['superseded_at', 'timestamp with time zone'],
        ['superseded_by_batch', 'text'],
      ]);
      const staging = await columnsOf(`${catalog.table}_staging`);
      expect(staging.slice(8)).toEqual(fields);
    });

    it(`${catalog.id}: record keys compare byte by byte (COLLATE "C") in all three tables`, async () => {
      for (const table of [catalog.table, `${catalog.table}_history`, `${catalog.table}_staging`]) {
        const res = await t.wh.knex.raw(
          `SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
           WHERE a.attrelid = to_regclass(?) AND a.attname = 'record_key'`,
          [table],
        );
        expect([table, res.rows[0]?.collname]).toEqual([table, 'C']);
      }
    });

    it(`${catalog.id}: the staging index's batch_id compares byte by byte (COLLATE "C")`, async () => {
      const res = await t.wh.knex.raw(
        `SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
         WHERE a.attrelid = to_regclass(?) AND a.attname = 'batch_id'`,
        [`${catalog.table}_staging`],
      );
      expect(res.rows[0]?.collname).toBe('C');
    });
  }

  it.runIf(kind === 'pglite')(
    'the embedded warehouse keeps 32 MB of shared buffers in the process heap, not 128',
    async () => {
      const res = await t.wh.knex.raw("SELECT current_setting('shared_buffers') AS sb");
      expect(res.rows[0].sb).toBe('32MB');
    },
  );

  it('spells the catalog types the way the server does', () => {
    // The canonicaliser must agree with format_type() for every type the catalogs use.
    expect(canonicalSqlType('numeric(18, 6)')).toBe('numeric(18,6)');
    expect(canonicalSqlType('varchar(200)')).toBe('character varying(200)');
    expect(canonicalSqlType('text[]')).toBe('text[]');
    expect(() => canonicalSqlType('text; drop table x')).toThrow();
  });
});
