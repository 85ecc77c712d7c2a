import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import { configError, internalError } from '../../src/errors.js';
import type { RawRecord, SyncRead, SyncWindow } from '../../src/source.js';
import { COLUMN_NAME, type DatabaseSourceConfig, TABLE_NAME } from '../../src/source-config.js';
import type { ColumnBinding, Logger } from '../../src/types.js';
import { fixedOffset, mysqlTypeCast, pgCellTypes, toCell } from './db-cells.js';
import { mapDatabaseError } from './db-errors.js';

export type { SyncRead, SyncWindow } from '../../src/source.js';

export interface DatabaseReadOptions {
  logger: Logger;
  /**
   * Zone whose wall time a timestamp with a time zone becomes as a cell (the date a clerk means);
   * default Asia/Shanghai. Cursor values do not depend on it on PostgreSQL (their text carries the offset).
   */
  timeZone?: string;
}

const CURSOR_ALIAS = 'guiji_cursor';
const KEY_ALIAS = 'guiji_key';
const cellAlias = (i: number) => `c${i}`;

interface Dialect {
  /** SQL of an expression giving a column's value as text, `??` being the column. */
  asText: string;
  client: 'pg' | 'mysql2';
}

const DIALECTS: Record<DatabaseSourceConfig['client'], Dialect> = {
  pg: { asText: '??::text', client: 'pg' },
  mysql: { asText: 'CAST(?? AS CHAR)', client: 'mysql2' },
};

/**
 * Opens a database source for one sync window: the rows with `after < cursor <= upTo`, ordered by
 * (cursor, key), read in pages of `pageSize` by keyset pagination on (cursor, key), so rows sharing a
 * cursor value across a page boundary are neither skipped nor repeated.
 *
 * - `upTo` is `window.upTo` when given, else fixed here as the greatest cursor above `after`: re-reading
 *   the same window after a crash sees the same rows however the source has grown. Null when there is
 *   nothing to read. Rows whose cursor is NULL are never read.
 * - Cursor values travel as exact text (cast in the database, bound back as text): no lost microseconds,
 *   no time-zone shift. A committed cursor `c` means "every row with cursor ≤ c is loaded": commit a row's
 *   `cursorOf` only when the rows after it have a greater cursor (or at the window's end, `upTo`).
 * - `cursorOf(rowNumber)` answers for the rows of the page last yielded.
 * - Identifiers are checked against strict patterns (config error) and quoted by knex; values are bound.
 *   Connection failures are transient errors, a missing table or column a config error.
 */
export async function openDatabaseSource(
  def: DatabaseSourceConfig,
  window: SyncWindow,
  opts: DatabaseReadOptions,
): Promise<SyncRead> {
  checkIdentifiers(def);
  const dialect = DIALECTS[def.client];
  const log = opts.logger.child({ source: def.name });
  const headers = [...new Set(Object.values(def.fields))];
  const columns: ColumnBinding[] = Object.entries(def.fields).map(([field, column]) => ({
    index: headers.indexOf(column),
    header: column,
    field,
  }));
  const knex = makeKnex(def, opts.timeZone ?? 'Asia/Shanghai', log);
  const after = window.after;
  const select = [
    ...headers.map((h, i) => knex.raw('?? as ??', [h, cellAlias(i)])),
    knex.raw(`${dialect.asText} as ??`, [def.cursor, CURSOR_ALIAS]),
    knex.raw(`${dialect.asText} as ??`, [def.key, KEY_ALIAS]),
  ];
  let upTo: string | null;
  try {
    // Fail at open, not mid-batch, when the table or a configured column is missing.
    await knex.select(select).from(def.table).limit(0);
    upTo = window.upTo ?? (await maxCursor(knex, def, dialect, after));
  } catch (e) {
    await knex.destroy().catch(() => {});
    throw mapDatabaseError(e, def);
  }
  log.info({ after, upTo }, 'database source opened');

  let page: { first: number; cursors: string[] } = { first: 1, cursors: [] };

  async function* pages(bound: string): AsyncGenerator<RawRecord[]> {
    let last: { cursor: string; key: string } | null = null;
    let rowNumber = 0;
    for (;;) {
      const q = knex.select(select).from(def.table).where(def.cursor, '<=', bound);
      if (last) {
        const { cursor, key } = last;
        q.andWhere((w) =>
          w.where(def.cursor, '>', cursor).orWhere((t) => t.where(def.cursor, '=', cursor).andWhere(def.key, '>', key)),
        );
      } else if (after !== null) {
        q.andWhere(def.cursor, '>', after);
      }
      let rows: Array<Record<string, unknown>>;
      try {
        rows = await q.orderBy([def.cursor, def.key]).limit(def.pageSize);
      } catch (e) {
        throw mapDatabaseError(e, def);
      }
      if (rows.length === 0) return;
      const records: RawRecord[] = [];
      const cursors: string[] = [];
      for (const row of rows) {
        const key = row[KEY_ALIAS];
        if (key === null || key === undefined) throw nullKey(def);
        cursors.push(String(row[CURSOR_ALIAS]));
        records.push({ rowNumber: ++rowNumber, cells: headers.map((_, i) => toCell(row[cellAlias(i)])) });
      }
      const tail = rows[rows.length - 1] as Record<string, unknown>;
      last = { cursor: String(tail[CURSOR_ALIAS]), key: String(tail[KEY_ALIAS]) };
      page = { first: records[0]?.rowNumber ?? rowNumber + 1, cursors };
      log.debug({ rows: records.length, through: rowNumber }, 'database source page');
      yield records;
      if (rows.length < def.pageSize) return;
    }
  }

  let closed = false;
  return {
    headers,
    columns,
    upTo,
    records: {
      [Symbol.asyncIterator]: () => (upTo === null ? empty() : pages(upTo)),
    },
    cursorOf(rowNumber: number): string {
      const cursor = page.cursors[rowNumber - page.first];
      if (cursor === undefined) {
        throw internalError(
          'CURSOR_ROW_NOT_IN_PAGE',
          `内部错误：第 ${rowNumber} 行不在当前页中，无法取得其游标。`,
          `cursorOf(${rowNumber}): only rows ${page.first}..${page.first + page.cursors.length - 1} of the page last yielded are known`,
        );
      }
      return cursor;
    },
    async close() {
      if (closed) return;
      closed = true;
      await knex.destroy();
    },
  };
}

async function* empty(): AsyncGenerator<RawRecord[]> {}

function makeKnex(def: DatabaseSourceConfig, timeZone: string, log: Logger): Knex {
  // knex's own warnings (a failed connection attempt, say) go to our logger, not the console.
  const knexLog = {
    warn: (message: unknown) => log.warn({ knex: String(message) }, 'database source: knex warning'),
    error: (message: unknown) => log.error({ knex: String(message) }, 'database source: knex error'),
    deprecate: (message: unknown) => log.debug({ knex: String(message) }, 'database source: knex deprecation'),
    debug: (message: unknown) => log.debug({ knex: message }, 'database source: knex debug'),
  };
  if (def.client === 'pg') {
    return knexFactory({
      log: knexLog,
      client: 'pg',
      connection: { connectionString: def.url, types: pgCellTypes, connectionTimeoutMillis: 10_000 },
      acquireConnectionTimeout: 15_000,
      pool: {
        min: 0,
        max: 1,
        // ISO text for dates whatever the server's default; timestamptz cells in the zone clerks mean.
        afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
          conn.query(
            "SELECT set_config('TimeZone', $1, false), set_config('DateStyle', 'ISO, YMD', false)",
            [timeZone],
            (err: Error | null) => done(err, conn),
          );
        },
      },
    });
  }
  return knexFactory({
    log: knexLog,
    client: 'mysql2',
    connection: {
      uri: def.url,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      typeCast: mysqlTypeCast,
      connectTimeout: 10_000,
    } as Knex.MySql2ConnectionConfig,
    acquireConnectionTimeout: 15_000,
    pool: {
      min: 0,
      max: 1,
      afterCreate: (conn: MysqlConn, done: (err: Error | null, conn: MysqlConn) => void) => {
        conn.query('SET time_zone = ?', [fixedOffset(timeZone)], (err: Error | null) => done(err, conn));
      },
    },
  });
}

interface MysqlConn {
  query(sql: string, values: unknown[], cb: (err: Error | null) => void): void;
}

async function maxCursor(
  knex: Knex,
  def: DatabaseSourceConfig,
  dialect: Dialect,
  after: string | null,
): Promise<string | null> {
  const q = knex
    .select(knex.raw(`${dialect.asText.replace('??', 'max(??)')} as ??`, [def.cursor, CURSOR_ALIAS]))
    .from(def.table);
  if (after !== null) q.where(def.cursor, '>', after);
  const rows: Array<Record<string, unknown>> = await q;
  const v = rows[0]?.[CURSOR_ALIAS];
  return v === null || v === undefined ? null : String(v);
}

/** Refuses an identifier outside the strict patterns before any SQL is built (config can be built by hand). */
function checkIdentifiers(def: DatabaseSourceConfig): void {
  const bad = (path: string, value: string) =>
    configError(
      'SOURCE_BAD_IDENTIFIER',
      `数据源 ${def.name} 的 ${path}“${value}”不是合规的表名或列名（字母或下划线开头，只含字母、数字、下划线，最长 63 个字符）。`,
      `source ${def.name}: ${path} ${JSON.stringify(value)} is not a valid identifier`,
      { path: `/sources/${def.name}/${path}`, source: def.name },
    );
  if (!TABLE_NAME.test(def.table)) throw bad('table', def.table);
  if (!COLUMN_NAME.test(def.cursor)) throw bad('cursor', def.cursor);
  if (!COLUMN_NAME.test(def.key)) throw bad('key', def.key);
  for (const [field, column] of Object.entries(def.fields)) {
    if (!COLUMN_NAME.test(column)) throw bad(`fields/${field}`, column);
  }
  if (!Number.isInteger(def.pageSize) || def.pageSize < 1) {
    throw configError(
      'SOURCE_BAD_PAGE_SIZE',
      `数据源 ${def.name} 的 pageSize 应为正整数。`,
      `source ${def.name}: pageSize must be a positive integer`,
      { path: `/sources/${def.name}/pageSize` },
    );
  }
}

function nullKey(def: DatabaseSourceConfig) {
  return configError(
    'SOURCE_KEY_NULL',
    `数据源 ${def.name}：键列 ${def.key} 有空值，无法分页读取。请换一个唯一且非空的列作为 key。`,
    `source ${def.name}: key column ${def.key} holds NULL; it must be unique and not null`,
    { path: `/sources/${def.name}/key`, source: def.name },
  );
}
