import { configError, inputError } from '../../src/errors.js';
import type { RawRecord, SyncRead, SyncWindow } from '../../src/source.js';
import type { HttpSourceConfig } from '../../src/source-config.js';
import type { CellValue, ColumnBinding, Issue, Logger } from '../../src/types.js';
import { type Backoff, DEFAULT_BACKOFF, displayUrl, fetchText } from './http-retry.js';

export interface HttpReadOptions {
  logger: Logger;
  /** Delays between retries (tests shorten them). */
  backoff?: Partial<Backoff>;
}

/**
 * Opens a paged HTTP JSON source for one sync window. Nothing is requested until `records` is iterated;
 * each iteration reads the pages again from `paging.firstPage`.
 *
 * - Pages are requested with `?<pageParam>=n&<sizeParam>=size` until a page has fewer items than `size`
 *   (or none); with a cursor configured and `window.after` set, also `&<cursor.param>=<after>`.
 * - `upTo` is a getter: `window.upTo` when given (items with a greater cursor are then skipped, so a
 *   re-read sees the same window), else the greatest cursor value among the items read so far — final
 *   once `records` has been iterated to the end. Null without a cursor or without items. Cursor values
 *   compare as numbers when both are numeric, else as strings (ISO timestamps in one format sort right).
 * - Each request has its own timeout; network errors, timeouts, 429 and 5xx are retried with
 *   exponential backoff and jitter (Retry-After honoured), then fail as transient. Other 4xx and a
 *   missing items array are config errors, a body that is not JSON an input error. Messages show the
 *   URL without credentials or query; header values never appear.
 * - No `cursorOf`: an API's pages need not be in cursor order, so only `upTo` is a safe commit point.
 */
export async function openHttpSource(
  def: HttpSourceConfig,
  window: SyncWindow,
  opts: HttpReadOptions,
): Promise<SyncRead> {
  const log = opts.logger.child({ source: def.name });
  const backoff: Backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const shown = displayUrl(def.url);
  const headers = [...new Set(Object.values(def.fields))];
  const columns: ColumnBinding[] = Object.entries(def.fields).map(([field, path]) => ({
    index: headers.indexOf(path),
    header: path,
    field,
  }));
  const fixedUpTo = window.upTo ?? null;
  let greatest: string | null = null;

  async function* pages(): AsyncGenerator<RawRecord[]> {
    const { pageParam, sizeParam, size, firstPage } = def.paging;
    greatest = null;
    let rowNumber = 0;
    let skipped = 0;
    let previousBody: string | undefined;
    for (let pageNo = firstPage; ; pageNo++) {
      const url = new URL(def.url);
      url.searchParams.set(pageParam, String(pageNo));
      url.searchParams.set(sizeParam, String(size));
      if (def.cursor && window.after !== null) url.searchParams.set(def.cursor.param, window.after);
      const details = { source: def.name, page: pageNo };
      const { status, body } = await fetchText(url, {
        shown,
        headers: def.headers,
        timeoutMs: def.timeoutMs,
        retries: def.retries,
        backoff,
        logger: log,
        details,
      });
      const items = itemsOf(parseJson(body, shown, status, details), def, shown, details);
      if (items.length > 0 && body === previousBody) {
        throw configError(
          'SOURCE_HTTP_PAGING_IGNORED',
          `接口 ${shown} 的第 ${pageNo} 页与上一页完全相同，接口似乎不认分页参数 ${pageParam}/${sizeParam}，请核对配置中的 paging。`,
          `GET ${shown}: page ${pageNo} repeats the previous page; paging parameters ${pageParam}/${sizeParam} seem ignored`,
          { ...details, url: shown },
        );
      }
      previousBody = body;
      const records: RawRecord[] = [];
      for (const item of items) {
        const cursor = def.cursor ? cursorText(valueAt(item, def.cursor.field)) : null;
        if (cursor !== null && fixedUpTo !== null && compareCursors(cursor, fixedUpTo) > 0) {
          skipped++;
          continue;
        }
        if (cursor !== null && (greatest === null || compareCursors(cursor, greatest) > 0)) greatest = cursor;
        records.push(toRecord(item, ++rowNumber, headers));
      }
      log.debug({ page: pageNo, items: items.length, through: rowNumber }, 'http source page');
      if (records.length > 0) yield records;
      if (items.length < size) break;
    }
    log.info({ rows: rowNumber, skippedAboveUpTo: skipped, upTo: fixedUpTo ?? greatest }, 'http source read');
  }

  return {
    headers,
    columns,
    get upTo() {
      return fixedUpTo ?? greatest;
    },
    records: { [Symbol.asyncIterator]: () => pages() },
    async close() {},
  };
}

function parseJson(body: string, shown: string, status: number, details: Record<string, unknown>): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw inputError(
      'SOURCE_HTTP_BAD_JSON',
      `接口 ${shown}（HTTP ${status}，第 ${details.page} 页）返回的内容不是有效的 JSON：${(e as Error).message}`,
      `GET ${shown} (HTTP ${status}, page ${details.page}): body is not valid JSON: ${(e as Error).message}`,
      { ...details, url: shown, status },
    );
  }
}

function itemsOf(json: unknown, def: HttpSourceConfig, shown: string, details: Record<string, unknown>): unknown[] {
  const items = valueAt(json, def.itemsPath);
  if (Array.isArray(items)) return items;
  if (items === null) return []; // `"list": null` is how some APIs say "no more"
  throw configError(
    'SOURCE_HTTP_NO_ITEMS',
    `接口 ${shown} 第 ${details.page} 页的 ${def.itemsPath || '（根）'} 处${items === undefined ? '没有数据' : '不是数组'}，请核对配置中的 itemsPath。`,
    `GET ${shown} page ${details.page}: ${def.itemsPath || '(root)'} is ${items === undefined ? 'missing' : 'not an array'}`,
    { ...details, url: shown, path: `/sources/${def.name}/itemsPath` },
  );
}

/** The value at a dot path (`data.list`, `a.0.b`); '' is the value itself; undefined when absent. */
export function valueAt(value: unknown, path: string): unknown {
  if (path === '') return value;
  let v = value;
  for (const seg of path.split('.')) {
    if (Array.isArray(v) && /^\d+$/.test(seg)) v = v[Number(seg)];
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, seg)) {
      v = (v as Record<string, unknown>)[seg];
    } else return undefined;
  }
  return v;
}

function toRecord(item: unknown, rowNumber: number, headers: string[]): RawRecord {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    const issue: Issue = {
      code: 'SOURCE_ITEM_NOT_OBJECT',
      severity: 'error',
      value: JSON.stringify(item),
      zh: `接口返回的第 ${rowNumber} 条数据不是对象，无法读取字段。`,
      en: `item ${rowNumber} is not a JSON object`,
    };
    return { rowNumber, cells: headers.map(() => null), issues: [issue] };
  }
  return { rowNumber, cells: headers.map((h) => jsonCell(valueAt(item, h))) };
}

function jsonCell(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) {
    return v.filter((x) => x !== null).join(';');
  }
  return JSON.stringify(v);
}

function cursorText(v: unknown): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/** Numeric when both are numbers (integers exactly, as BigInt), else by UTF-16 code units. */
export function compareCursors(a: string, b: string): number {
  if (INTEGER.test(a) && INTEGER.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (DECIMAL.test(a) && DECIMAL.test(b)) return Math.sign(Number(a) - Number(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
