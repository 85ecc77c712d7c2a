import type { Catalog } from '../catalog/types.js';
import { internalError } from '../errors.js';
import { ident } from './ident.js';

/** The three tables a catalog owns: current records, every earlier version, and the load staging area. */
export interface CatalogTables {
  main: string;
  history: string;
  staging: string;
}

export function catalogTables(catalog: Catalog): CatalogTables {
  const t = catalog.table;
  // Checked here so every later use can trust them.
  ident(t);
  ident(`${t}_history`);
  ident(`${t}_staging`);
  return { main: t, history: `${t}_history`, staging: `${t}_staging` };
}

/** A column: its name and its type as PostgreSQL's `format_type()` spells it. */
export interface ColumnDef {
  name: string;
  sqlType: string;
  /**
   * Compared byte by byte (COLLATE "C"): identifiers in an index, never sorted for people. Under the
   * database's collation every index probe and insert pays for a linguistic comparison (migrations 008, 009).
   */
  bytewise?: true;
}

/** Columns every catalog table has besides the catalog's fields (key, hash, version, county, lineage). */
export const META_COLUMNS: readonly ColumnDef[] = [
  { name: 'subject_key', sqlType: 'text' },
  { name: 'content_hash', sqlType: 'text' },
  { name: 'version', sqlType: 'integer' },
  { name: 'county', sqlType: 'text' },
  { name: 'batch_id', sqlType: 'text' },
  { name: 'source_file', sqlType: 'text' },
  { name: 'source_sheet', sqlType: 'text' },
  { name: 'source_row', sqlType: 'integer' },
  { name: 'first_loaded_at', sqlType: 'timestamp with time zone' },
  { name: 'updated_at', sqlType: 'timestamp with time zone' },
];

const RESERVED = new Set([
  'record_key',
  'row_number',
  'superseded_at',
  'superseded_by_batch',
  ...META_COLUMNS.map((c) => c.name),
]);

// Scalar types both PostgreSQL 15 and PGlite have, spelled as format_type() prints them.
const SCALARS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^text$/, () => 'text'],
  [/^(?:varchar|character varying)\((\d{1,5})\)$/, (m) => `character varying(${m[1]})`],
  [/^(?:char|character|bpchar)\((\d{1,5})\)$/, (m) => `character(${m[1]})`],
  [/^date$/, () => 'date'],
  [/^(?:numeric|decimal)\((\d{1,3}),\s*(\d{1,3})\)$/, (m) => `numeric(${m[1]},${m[2]})`],
  [/^(?:numeric|decimal)$/, () => 'numeric'],
  [/^(?:integer|int|int4)$/, () => 'integer'],
  [/^(?:bigint|int8)$/, () => 'bigint'],
  [/^(?:smallint|int2)$/, () => 'smallint'],
  [/^(?:boolean|bool)$/, () => 'boolean'],
  [/^(?:double precision|float8)$/, () => 'double precision'],
  [/^(?:timestamptz|timestamp with time zone)$/, () => 'timestamp with time zone'],
];

/**
 * A catalog's SQL type in the canonical spelling of `format_type()` (so the conformance test can compare
 * it with the live table). Only an allow-list of types is accepted: the type text ends up in DDL.
 */
export function canonicalSqlType(sqlType: string): string {
  const t = sqlType.trim().toLowerCase().replace(/\s+/g, ' ');
  const isArray = t.endsWith('[]');
  const base = isArray ? t.slice(0, -2).trim() : t;
  for (const [re, out] of SCALARS) {
    const m = re.exec(base);
    if (m) return isArray ? `${out(m)}[]` : out(m);
  }
  throw internalError(
    'BAD_SQL_TYPE',
    `目录中的字段类型“${sqlType}”不受支持，请修改目录文件。`,
    `unsupported sqlType ${JSON.stringify(sqlType)}`,
    { sqlType },
  );
}

/** The catalog's field columns (checked names, canonical types), in catalog order. */
export function fieldColumns(catalog: Catalog): ColumnDef[] {
  return catalog.fields.map((f) => {
    ident(f.name);
    if (RESERVED.has(f.name)) {
      throw internalError(
        'RESERVED_COLUMN',
        `目录 ${catalog.id} 的字段名“${f.name}”与数据仓库的系统列重名，请改名。`,
        `catalog ${catalog.id}: field ${f.name} collides with a warehouse column`,
      );
    }
    return { name: f.name, sqlType: canonicalSqlType(f.sqlType) };
  });
}

/** Every column of the catalog's main table, in order. The history table adds superseded_at/superseded_by_batch. */
export function mainColumns(catalog: Catalog): ColumnDef[] {
  return [{ name: 'record_key', sqlType: 'text', bytewise: true }, ...fieldColumns(catalog), ...META_COLUMNS];
}

/** Columns of the staging table, in the order COPY sends them. */
export function stagingColumns(catalog: Catalog): ColumnDef[] {
  return [
    // The first column of the staging index, written by every COPY: compared byte by byte.
    { name: 'batch_id', sqlType: 'text', bytewise: true },
    { name: 'row_number', sqlType: 'integer' },
    { name: 'record_key', sqlType: 'text', bytewise: true },
    { name: 'content_hash', sqlType: 'text' },
    { name: 'subject_key', sqlType: 'text' },
    { name: 'county', sqlType: 'text' },
    { name: 'source_file', sqlType: 'text' },
    { name: 'source_sheet', sqlType: 'text' },
    ...fieldColumns(catalog),
  ];
}

const NOT_NULL = new Set(['record_key', 'content_hash', 'version', 'batch_id', 'row_number']);

function columnSql(c: ColumnDef): string {
  let s = `${ident(c.name)} ${c.sqlType}`;
  if (c.bytewise) s += ' COLLATE "C"';
  if (NOT_NULL.has(c.name)) s += ' NOT NULL';
  if (c.name === 'first_loaded_at' || c.name === 'updated_at') s += ' NOT NULL DEFAULT now()';
  return s;
}

/**
 * The DDL that creates a catalog's tables, as literal statements (one per string: PGlite's extended
 * protocol takes one statement at a time). `scripts/gen-migration.mjs` writes them into a reviewed
 * migration; the schema conformance test checks the live tables against the catalog.
 *
 * Staging is UNLOGGED (both PostgreSQL and PGlite accept it): it holds only rows of batches in flight,
 * which a crash makes us re-stage anyway, so WAL for it is wasted work.
 */
export function catalogDdl(catalog: Catalog): string[] {
  const t = catalogTables(catalog);
  const main = mainColumns(catalog);
  const cols = (list: ColumnDef[]) => list.map((c) => `  ${columnSql(c)}`).join(',\n');
  const history: ColumnDef[] = [
    ...main,
    { name: 'superseded_at', sqlType: 'timestamp with time zone' },
    { name: 'superseded_by_batch', sqlType: 'text' },
  ];
  return [
    `CREATE TABLE ${ident(t.main)} (\n${cols(main)},\n  PRIMARY KEY (record_key)\n)`,
    `CREATE TABLE ${ident(t.history)} (\n${cols(history)},\n  PRIMARY KEY (record_key, version)\n)`,
    `CREATE UNLOGGED TABLE ${ident(t.staging)} (\n${cols(stagingColumns(catalog))}\n)`,
    // (batch_id, row_number): staging arrives in row order, so this index grows at its right edge (cheap
    // during COPY) and serves both the idempotent re-stage delete and the merge's row-range chunks.
    `CREATE INDEX ${ident(`${t.staging}_batch_row_idx`)} ON ${ident(t.staging)} (batch_id, row_number)`,
  ];
}

/** The statements that undo `catalogDdl`. */
export function catalogDropDdl(catalog: Catalog): string[] {
  const t = catalogTables(catalog);
  return [t.staging, t.history, t.main].map((name) => `DROP TABLE IF EXISTS ${ident(name)}`);
}
