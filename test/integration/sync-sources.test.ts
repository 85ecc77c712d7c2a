import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabaseSource } from '../../connectors/database/read-database.js';
import { openHttpSource } from '../../connectors/http/read-http.js';
import { GuijiError } from '../../src/errors.js';
import type { RawRecord, SyncRead, SyncWindow } from '../../src/source.js';
import type { DatabaseSourceConfig, HttpSourceConfig } from '../../src/source-config.js';
import type { Logger } from '../../src/types.js';

const PG_URL =
  process.env.GUIJI_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MYSQL_URL = process.env.GUIJI_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => quiet,
};

/** Runs `fn` and returns the GuijiError it throws. */
async function caught(fn: () => Promise<unknown>): Promise<GuijiError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof GuijiError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

async function readAll(read: SyncRead): Promise<RawRecord[][]> {
  const pages: RawRecord[][] = [];
  for await (const page of read.records) pages.push(page);
  return pages;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ─── database sources ─────────────────────────────────────────────────────────────────────────

/** One server the database reader is tested against: its own schema (PostgreSQL) or tables (MariaDB). */
interface Backend {
  client: DatabaseSourceConfig['client'];
  url: string;
  /** Creates a table of the test's shape and returns its name as the config would give it. */
  createTable(label: string): Promise<string>;
  /** Inserts rows (id, cursor text, decision number, name, date, amount, big number). */
  insert(table: string, rows: SourceRow[]): Promise<void>;
  exec(sql: string): Promise<void>;
  /** Cursor text as the database gives it back for a wall time with microseconds. */
  cursor(wall: string): string;
  dispose(): Promise<void>;
}

interface SourceRow {
  id: number;
  at: string;
  wsh?: string | null;
  name?: string | null;
  date?: string | null;
  amount?: string | null;
  big?: string | null;
}

async function probe(what: string, connect: () => Promise<() => Promise<void>>): Promise<boolean> {
  try {
    const close = await connect();
    await close();
    return true;
  } catch (e) {
    // With CI=true an unreachable server is a failure, never a skip.
    if (process.env.CI === 'true') throw new Error(`${what} is not reachable (CI=true): ${(e as Error).message}`);
    console.warn(`\n⚠ ${what} is not reachable (${(e as Error).message}): its sync-source tests are SKIPPED.\n`);
    return false;
  }
}

const pgUp = await probe(`PostgreSQL at ${PG_URL}`, async () => {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  return () => c.end();
});
const mysqlUp = await probe(`MariaDB at ${MYSQL_URL}`, async () => {
  const c = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
  return () => c.end();
});

const TABLE_SQL = (name: string, ts: string, text: string) =>
  `CREATE TABLE ${name} (id integer PRIMARY KEY, updated_at ${ts}, cf_wsh ${text}, xdr_mc ${text}, ` +
  `cf_jdrq date, fk_je numeric(18,6), big_no bigint)`;

async function postgresBackend(): Promise<Backend> {
  const schema = `t_sync_${suffix}`;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  // The admin session writes wall times in the zone the reader reads them in.
  await c.query(`SET TIME ZONE 'Asia/Shanghai'`);
  await c.query(`CREATE SCHEMA "${schema}"`);
  return {
    client: 'pg',
    url: PG_URL,
    async createTable(label) {
      const table = `${schema}.${label}`;
      await c.query(TABLE_SQL(`"${schema}"."${label}"`, 'timestamptz(6)', 'text'));
      return table;
    },
    async insert(table, rows) {
      for (const r of rows) {
        await c.query(`INSERT INTO ${table.replace(/(\w+)\.(\w+)/, '"$1"."$2"')} VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          r.id,
          r.at,
          r.wsh ?? null,
          r.name ?? null,
          r.date ?? null,
          r.amount ?? null,
          r.big ?? null,
        ]);
      }
    },
    async exec(sql) {
      await c.query(sql);
    },
    // PostgreSQL writes no trailing zeros of the fraction (nor a fraction of zero).
    cursor: (wall) => `${wall.replace(/0+$/, '').replace(/\.$/, '')}+08`,
    async dispose() {
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

async function mariadbBackend(): Promise<Backend> {
  const c = await mysql.createConnection({ uri: MYSQL_URL });
  const tables: string[] = [];
  return {
    client: 'mysql',
    url: MYSQL_URL,
    async createTable(label) {
      const table = `${label}_${suffix}`;
      await c.query(TABLE_SQL(`\`${table}\``, 'datetime(6)', 'varchar(200)'));
      tables.push(table);
      return table;
    },
    async insert(table, rows) {
      for (const r of rows) {
        await c.execute(`INSERT INTO \`${table}\` VALUES (?, ?, ?, ?, ?, ?, ?)`, [
          r.id,
          r.at,
          r.wsh ?? null,
          r.name ?? null,
          r.date ?? null,
          r.amount ?? null,
          r.big ?? null,
        ]);
      }
    },
    async exec(sql) {
      await c.query(sql);
    },
    cursor: (wall) => wall,
    async dispose() {
      for (const t of tables) await c.query(`DROP TABLE IF EXISTS \`${t}\``);
      await c.end();
    },
  };
}

const BACKENDS = [
  { name: 'postgres', up: pgUp, make: postgresBackend },
  { name: 'mariadb', up: mysqlUp, make: mariadbBackend },
] as const;

for (const backend of BACKENDS) {
  describe.skipIf(!backend.up)(`database source [${backend.name}]`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.make();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    const def = (table: string, over: Partial<DatabaseSourceConfig> = {}): DatabaseSourceConfig => ({
      name: 'county-db',
      type: 'database',
      client: db.client,
      url: db.url,
      table,
      cursor: 'updated_at',
      key: 'id',
      catalog: 'admin-penalty',
      county: '230184',
      fields: {
        decision_doc_no: 'cf_wsh',
        subject_name: 'xdr_mc',
        decision_date: 'cf_jdrq',
        fine_amount: 'fk_je',
        subject_id_no: 'big_no',
        // A second field bound to the same column: one cell, two bindings.
        penalising_authority: 'xdr_mc',
        penalty_valid_until: 'updated_at',
      },
      pageSize: 2000,
      ...over,
    });
    const open = (d: DatabaseSourceConfig, window: SyncWindow = { after: null }) =>
      openDatabaseSource(d, window, { logger: quiet });
    /** Reads a window and returns the ids (column 0 holds `W<id>`) and the pages' sizes. */
    async function ids(d: DatabaseSourceConfig, window: SyncWindow = { after: null }) {
      const read = await open(d, window);
      try {
        const pages = await readAll(read);
        const rows = pages.flat();
        expect(rows.map((r) => r.rowNumber)).toEqual(rows.map((_, i) => i + 1));
        return {
          upTo: read.upTo,
          sizes: pages.map((p) => p.length),
          ids: rows.map((r) => Number(String(r.cells[0]).slice(1))),
        };
      } finally {
        await read.close();
      }
    }
    /** A timestamp cell: the wall time as the database writes it (PostgreSQL drops trailing zeros). */
    const wall = (text: string) => db.cursor(text).replace(/\+08$/, '');
    const at = (second: number, micro = 0) =>
      `2024-03-01 10:00:${String(second).padStart(2, '0')}.${String(micro).padStart(6, '0')}`;

    it('reads the whole window in (cursor, key) order, with cells typed and dates as text', async () => {
      const table = await db.createTable('full');
      await db.insert(table, [
        {
          id: 3,
          at: at(3, 3),
          wsh: 'W3',
          name: '哈尔滨某某物流有限公司',
          date: '2024-02-29',
          amount: '12.500000',
          big: '42',
        },
        { id: 1, at: at(1, 1), wsh: 'W1', name: '张三', date: '2023-12-31', amount: null, big: '230184199001011234' },
        { id: 2, at: at(2, 2), wsh: 'W2' },
      ]);
      const read = await open(def(table));
      try {
        expect(read.headers).toEqual(['cf_wsh', 'xdr_mc', 'cf_jdrq', 'fk_je', 'big_no', 'updated_at']);
        expect(read.columns).toEqual([
          { index: 0, header: 'cf_wsh', field: 'decision_doc_no' },
          { index: 1, header: 'xdr_mc', field: 'subject_name' },
          { index: 2, header: 'cf_jdrq', field: 'decision_date' },
          { index: 3, header: 'fk_je', field: 'fine_amount' },
          { index: 4, header: 'big_no', field: 'subject_id_no' },
          { index: 1, header: 'xdr_mc', field: 'penalising_authority' },
          { index: 5, header: 'updated_at', field: 'penalty_valid_until' },
        ]);
        expect(read.upTo).toBe(db.cursor(at(3, 3)));
        const pages = await readAll(read);
        expect(pages).toEqual([
          [
            // An 18-digit number in a bigint stays text: a double would change its last digits.
            // Timestamps as wall time in Asia/Shanghai, as written: no offset, no shift.
            { rowNumber: 1, cells: ['W1', '张三', '2023-12-31', null, '230184199001011234', wall(at(1, 1))] },
            { rowNumber: 2, cells: ['W2', null, null, null, null, wall(at(2, 2))] },
            { rowNumber: 3, cells: ['W3', '哈尔滨某某物流有限公司', '2024-02-29', 12.5, 42, wall(at(3, 3))] },
          ],
        ]);
        expect(read.cursorOf?.(1)).toBe(db.cursor(at(1, 1)));
        expect(read.cursorOf?.(3)).toBe(db.cursor(at(3, 3)));
        expect(() => read.cursorOf?.(4)).toThrow(/only rows 1\.\.3/);
      } finally {
        await read.close();
      }
    });

    it('reads incrementally after a cursor', async () => {
      const table = await db.createTable('incr');
      await db.insert(
        table,
        [5, 4, 3, 2, 1].map((n) => ({ id: n, at: at(n, n), wsh: `W${n}` })),
      );
      const r = await ids(def(table), { after: db.cursor(at(3, 3)) });
      expect(r).toEqual({ upTo: db.cursor(at(5, 5)), sizes: [2], ids: [4, 5] });
      // Nothing above the last cursor: nothing to read, and upTo says so.
      expect(await ids(def(table), { after: db.cursor(at(5, 5)) })).toEqual({ upTo: null, sizes: [], ids: [] });
    });

    it('neither skips nor repeats rows sharing a cursor value across page boundaries', async () => {
      const table = await db.createTable('ties');
      const tie = at(7, 500);
      await db.insert(table, [
        ...[6, 2, 7, 4, 1, 5, 3].map((n) => ({ id: n, at: tie, wsh: `W${n}` })),
        { id: 9, at: at(1), wsh: 'W9' },
        { id: 8, at: at(9), wsh: 'W8' },
      ]);
      const all = await ids(def(table, { pageSize: 2 }));
      expect(all.ids).toEqual([9, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(all.sizes).toEqual([2, 2, 2, 2, 1]);
      // Starting exactly at the tied value excludes the whole tie.
      const after = await ids(def(table, { pageSize: 2 }), { after: db.cursor(tie) });
      expect(after.ids).toEqual([8]);
      // An upper bound at the tied value includes the whole tie and nothing above it.
      const upTo = await ids(def(table, { pageSize: 3 }), { after: db.cursor(at(1)), upTo: db.cursor(tie) });
      expect(upTo).toEqual({ upTo: db.cursor(tie), sizes: [3, 3, 1], ids: [1, 2, 3, 4, 5, 6, 7] });
    });

    it('round-trips microsecond cursors exactly', async () => {
      const table = await db.createTable('micro');
      await db.insert(table, [
        { id: 1, at: at(5, 1), wsh: 'W1' },
        { id: 2, at: at(5, 2), wsh: 'W2' },
        { id: 3, at: at(5, 999_999), wsh: 'W3' },
      ]);
      const first = await open(def(table, { pageSize: 1 }));
      const cursors: string[] = [];
      for await (const page of first.records) for (const r of page) cursors.push(first.cursorOf?.(r.rowNumber) ?? '');
      await first.close();
      expect(cursors).toEqual([at(5, 1), at(5, 2), at(5, 999_999)].map(db.cursor));
      expect(first.upTo).toBe(db.cursor(at(5, 999_999)));
      // A cursor 1 µs below the next row's is told apart from it.
      expect((await ids(def(table), { after: cursors[0] ?? '' })).ids).toEqual([2, 3]);
      expect((await ids(def(table), { after: cursors[1] ?? '' })).ids).toEqual([3]);
      expect((await ids(def(table), { after: first.upTo })).ids).toEqual([]);
    });

    it('fixes upTo at open: rows added later are not read, and the same window reads the same rows', async () => {
      const table = await db.createTable('fixed');
      await db.insert(
        table,
        [1, 2, 3].map((n) => ({ id: n, at: at(n), wsh: `W${n}` })),
      );
      const read = await open(def(table, { pageSize: 2 }));
      const upTo = read.upTo;
      expect(upTo).toBe(db.cursor(at(3)));
      // The source keeps changing after open: a new row above upTo, one at upTo's value with a higher key.
      await db.insert(table, [
        { id: 4, at: at(8), wsh: 'W4' },
        { id: 5, at: at(3), wsh: 'W5' },
      ]);
      const seen = (await readAll(read)).flat().map((r) => r.cells[0]);
      await read.close();
      expect(seen).toEqual(['W1', 'W2', 'W3', 'W5']);
      // A re-read of the same window (after a crash, say) sees the same rows.
      expect((await ids(def(table), { after: null, upTo })).ids).toEqual([1, 2, 3, 5]);
      // The next window starts at upTo and takes the new row.
      expect(await ids(def(table), { after: upTo })).toEqual({ upTo: db.cursor(at(8)), sizes: [1], ids: [4] });
    });

    it('reads an integer cursor', async () => {
      const table = await db.createTable('intcursor');
      await db.insert(
        table,
        [1, 2, 3].map((n) => ({ id: n, at: at(n), wsh: `W${n}` })),
      );
      const d = def(table, { cursor: 'id', key: 'id' });
      expect(await ids(d, { after: '1' })).toEqual({ upTo: '3', sizes: [2], ids: [2, 3] });
    });

    it('refuses bad identifiers before touching the database', async () => {
      const port = await closedPort();
      // An unreachable URL: had the reader connected, the error would be transient instead.
      const url = db.client === 'pg' ? `postgres://postgres@127.0.0.1:${port}/x` : `mysql://root@127.0.0.1:${port}/x`;
      for (const [over, path] of [
        [{ table: 'xzcf; DROP TABLE xzcf' }, '/sources/county-db/table'],
        [{ table: 'a.b.c' }, '/sources/county-db/table'],
        [{ cursor: 'updated_at" --' }, '/sources/county-db/cursor'],
        [{ key: '1id' }, '/sources/county-db/key'],
        [{ fields: { decision_doc_no: 'cf_wsh`' } }, '/sources/county-db/fields/decision_doc_no'],
      ] as const) {
        const e = await caught(() => open(def('xzcf', { url, ...over })));
        expect([e.kind, e.code, e.details.path]).toEqual(['config', 'SOURCE_BAD_IDENTIFIER', path]);
      }
    });

    it('reports a missing table or column as a config error, an unreachable server as transient', async () => {
      const table = await db.createTable('missing');
      const noTable = await caught(() => open(def(`${table}_nope`)));
      expect([noTable.kind, noTable.code]).toEqual(['config', 'SOURCE_DB_MISSING']);
      const noColumn = await caught(() => open(def(table, { fields: { decision_doc_no: 'cf_wsh_nope' } })));
      expect([noColumn.kind, noColumn.code]).toEqual(['config', 'SOURCE_DB_MISSING']);
      const port = await closedPort();
      const url = db.client === 'pg' ? `postgres://postgres@127.0.0.1:${port}/x` : `mysql://root@127.0.0.1:${port}/x`;
      const down = await caught(() => open(def(table, { url })));
      expect([down.kind, down.code]).toEqual(['transient', 'SOURCE_DB_UNAVAILABLE']);
      expect(down.zh).not.toContain(url);
    });

    it('refuses a NULL key rather than losing rows', async () => {
      const table = await db.createTable('nullkey');
      await db.insert(table, [{ id: 1, at: at(1), wsh: 'W1' }]);
      await db.exec(
        db.client === 'pg'
          ? `ALTER TABLE ${table.replace(/(\w+)\.(\w+)/, '"$1"."$2"')} ADD COLUMN alt_key integer`
          : `ALTER TABLE \`${table}\` ADD COLUMN alt_key integer`,
      );
      const read = await open(def(table, { key: 'alt_key' }));
      const e = await caught(() => readAll(read));
      await read.close();
      expect([e.kind, e.code]).toEqual(['config', 'SOURCE_KEY_NULL']);
    });
  });
}

// ─── HTTP sources ─────────────────────────────────────────────────────────────────────────────

describe('HTTP source', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;
  let server: Server;
  let base: string;
  let handler: Handler;
  let requests: URL[];
  let authorizations: Array<string | undefined>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', base);
      requests.push(url);
      authorizations.push(req.headers.authorization);
      // No keep-alive: a connection cut by one test must not be picked up by the next one's first request.
      res.setHeader('connection', 'close');
      handler(req, res, url);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    // Hanging responses of the timeout tests must not outlive them; give the client a moment to see
    // the sockets close, or the next test's first request meets a dead pooled socket (and retries).
    server.closeAllConnections();
    await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const items = Array.from({ length: 7 }, (_, i) => ({
    xkWsh: `XK-${i + 1}`,
    updated_at: `2024-03-0${i + 1} 10:00:00`,
    xdr: { mc: `单位${i + 1}` },
    tags: ['a', 'b'],
  }));

  /** A well-behaved API: pages of `data.list`, filtered by `since` when given. */
  const pagedApi: Handler = (_req, res, url) => {
    const page = Number(url.searchParams.get('page'));
    const size = Number(url.searchParams.get('size'));
    const since = url.searchParams.get('since');
    const list = items.filter((it) => since === null || it.updated_at > since).slice((page - 1) * size, page * size);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ code: 0, data: { list } }));
  };

  function def(over: Partial<HttpSourceConfig> = {}): HttpSourceConfig {
    return {
      name: 'city-api',
      type: 'http',
      url: `${base}/api/licences?apikey=s3cret-in-query`,
      itemsPath: 'data.list',
      paging: { pageParam: 'page', sizeParam: 'size', size: 3, firstPage: 1 },
      cursor: { field: 'updated_at', param: 'since' },
      headers: { Authorization: 'Bearer t0ken-secret' },
      timeoutMs: 2000,
      retries: 3,
      catalog: 'admin-license',
      county: '230100',
      fields: { decision_doc_no: 'xkWsh', subject_name: 'xdr.mc', remarks: 'tags' },
      ...over,
    };
  }
  const fast = { logger: quiet, backoff: { baseMs: 10, maxMs: 50 } };
  const open = (d: HttpSourceConfig, window: SyncWindow = { after: null }) => openHttpSource(d, window, fast);
  const reset = (h: Handler) => {
    handler = h;
    requests = [];
    authorizations = [];
  };
  /** The message and details of an error must not carry the query secret or the header value. */
  const expectNoSecrets = (e: GuijiError) => {
    const text = `${e.zh} ${e.message} ${JSON.stringify(e.details)}`;
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('t0ken');
  };

  it('reads pages until a short page, sending the configured headers', async () => {
    reset(pagedApi);
    const read = await open(def());
    expect(read.headers).toEqual(['xkWsh', 'xdr.mc', 'tags']);
    expect(read.columns).toEqual([
      { index: 0, header: 'xkWsh', field: 'decision_doc_no' },
      { index: 1, header: 'xdr.mc', field: 'subject_name' },
      { index: 2, header: 'tags', field: 'remarks' },
    ]);
    expect(read.upTo).toBeNull(); // known once the pages are read
    const pages = await readAll(read);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()[4]).toEqual({ rowNumber: 5, cells: ['XK-5', '单位5', 'a;b'] });
    expect(pages.flat().map((r) => r.rowNumber)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(read.upTo).toBe('2024-03-07 10:00:00');
    expect(
      requests.map((u) => [u.searchParams.get('page'), u.searchParams.get('size'), u.searchParams.get('since')]),
    ).toEqual([
      ['1', '3', null],
      ['2', '3', null],
      ['3', '3', null],
    ]);
    expect(requests.every((u) => u.searchParams.get('apikey') === 's3cret-in-query')).toBe(true);
    expect(authorizations).toEqual(Array(3).fill('Bearer t0ken-secret'));
  });

  it('stops at an empty page when the last page is full', async () => {
    reset(pagedApi);
    const read = await open(def({ paging: { pageParam: 'page', sizeParam: 'size', size: 7, firstPage: 1 } }));
    expect((await readAll(read)).map((p) => p.length)).toEqual([7]);
    expect(requests).toHaveLength(2);
  });

  it('asks for items after the cursor with `since`', async () => {
    reset(pagedApi);
    const read = await open(def(), { after: '2024-03-04 10:00:00' });
    const rows = (await readAll(read)).flat();
    expect(rows.map((r) => r.cells[0])).toEqual(['XK-5', 'XK-6', 'XK-7']);
    expect(rows.map((r) => r.rowNumber)).toEqual([1, 2, 3]);
    expect(requests[0]?.searchParams.get('since')).toBe('2024-03-04 10:00:00');
    expect(read.upTo).toBe('2024-03-07 10:00:00');
  });

  it('keeps a given upTo and skips items above it', async () => {
    reset(pagedApi);
    const read = await open(def(), { after: null, upTo: '2024-03-05 10:00:00' });
    const rows = (await readAll(read)).flat();
    expect(rows.map((r) => r.cells[0])).toEqual(['XK-1', 'XK-2', 'XK-3', 'XK-4', 'XK-5']);
    expect(read.upTo).toBe('2024-03-05 10:00:00');
  });

  it('retries a 503 (honouring Retry-After) and a 429, then succeeds', async () => {
    let calls = 0;
    reset((req, res, url) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { 'retry-after': '1' }).end('busy');
        return;
      }
      if (calls === 2) {
        res.writeHead(429).end();
        return;
      }
      pagedApi(req, res, url);
    });
    const started = Date.now();
    const read = await open(def({ paging: { pageParam: 'page', sizeParam: 'size', size: 10, firstPage: 1 } }));
    expect((await readAll(read)).flat()).toHaveLength(7);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(requests.map((u) => u.searchParams.get('page'))).toEqual(['1', '1', '1']);
  });

  it('does not sit out a Retry-After longer than a minute: fails as transient at once', async () => {
    reset((_req, res) => {
      res.writeHead(503, { 'retry-after': '3600' }).end();
    });
    const started = Date.now();
    const e = await caught(async () => readAll(await open(def())));
    expect([e.kind, e.code, e.details.status, e.details.attempts]).toEqual([
      'transient',
      'SOURCE_HTTP_UNAVAILABLE',
      503,
      1,
    ]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('times out a response that hangs, retries, then fails as transient', async () => {
    reset(() => {}); // never answers
    const e = await caught(async () => readAll(await open(def({ timeoutMs: 200, retries: 2 }))));
    expect([e.kind, e.code, e.details.attempts]).toEqual(['transient', 'SOURCE_HTTP_UNAVAILABLE', 3]);
    expect(requests).toHaveLength(3);
    expect(e.message).toContain(`${base}/api/licences`);
    expect(e.message).toContain('no answer within 200 ms');
    expectNoSecrets(e);
  });

  it('times out a body that stalls after the headers', async () => {
    reset((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data": {"list": [');
    });
    const e = await caught(async () => readAll(await open(def({ timeoutMs: 200, retries: 1 }))));
    expect([e.kind, e.code, e.details.attempts, e.details.status]).toEqual([
      'transient',
      'SOURCE_HTTP_UNAVAILABLE',
      2,
      200,
    ]);
    expect(requests).toHaveLength(2);
  });

  it('fails at once on a 404, with the URL and status and no secrets', async () => {
    reset((_req, res) => {
      res.writeHead(404).end('not here');
    });
    const e = await caught(async () => readAll(await open(def())));
    expect([e.kind, e.code, e.details.status]).toEqual(['config', 'SOURCE_HTTP_STATUS', 404]);
    expect(requests).toHaveLength(1);
    expect(e.message).toContain(`${base}/api/licences`);
    expect(e.zh).toContain('404');
    expectNoSecrets(e);
  });

  it('fails at once on malformed JSON', async () => {
    reset((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data": {"list": [ {"xkWsh": "XK-1",');
    });
    const e = await caught(async () => readAll(await open(def())));
    expect([e.kind, e.code, e.details.status, e.details.page]).toEqual(['input', 'SOURCE_HTTP_BAD_JSON', 200, 1]);
    expect(requests).toHaveLength(1);
    expectNoSecrets(e);
  });

  it('refuses a page without the items array, and an API that ignores paging', async () => {
    reset(pagedApi);
    const missing = await caught(async () => readAll(await open(def({ itemsPath: 'data.rows' }))));
    expect([missing.kind, missing.code, missing.details.path]).toEqual([
      'config',
      'SOURCE_HTTP_NO_ITEMS',
      '/sources/city-api/itemsPath',
    ]);
    reset((_req, res) => {
      res.end(JSON.stringify({ data: { list: items.slice(0, 3) } }));
    });
    const ignored = await caught(async () => readAll(await open(def())));
    expect([ignored.kind, ignored.code]).toEqual(['config', 'SOURCE_HTTP_PAGING_IGNORED']);
    expect(requests).toHaveLength(2);
  });

  it('keeps an item that is not an object as a rejected record', async () => {
    reset((_req, res) => {
      res.end(JSON.stringify([{ xkWsh: 'XK-1', updated_at: 5 }, 'oops', { xkWsh: 'XK-3', updated_at: 12 }]));
    });
    const read = await open(
      def({ itemsPath: '', paging: { pageParam: 'page', sizeParam: 'size', size: 10, firstPage: 1 } }),
    );
    const rows = (await readAll(read)).flat();
    expect(rows.map((r) => [r.rowNumber, r.cells[0], r.issues?.[0]?.code])).toEqual([
      [1, 'XK-1', undefined],
      [2, null, 'SOURCE_ITEM_NOT_OBJECT'],
      [3, 'XK-3', undefined],
    ]);
    // Numeric cursors compare as numbers: 12 > 5.
    expect(read.upTo).toBe('12');
  });
});
