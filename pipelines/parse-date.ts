/**
 * Dates as county exports write them (domain.md §7.2) → `YYYY-MM-DD`.
 * Returns a tagged result instead of throwing; no Date allocation on the string path.
 */
import { nfkc } from './cell-text.js';

export type DateResult =
  | { ok: true; date: string | undefined } // undefined: an "empty date" sentinel
  | { ok: false; kind: 'unparseable' }
  | { ok: false; kind: 'invalid'; reason: string };

/** Long-term validity (长期/永久/无期限) is written as 2099-12-31 by convention. */
export const LONG_TERM = '2099-12-31';

const LONG_TERM_WORDS: ReadonlySet<string> = new Set(['长期', '永久', '无期限', '长期有效', '永久有效', '无固定期限']);

const SEP_DATE =
  /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$/;
const EPOCH_MS = /^\d{12,13}$/;
const SERIAL = /^\d{5}(?:\.\d+)?$/;

const DAY_MS = 86_400_000;
/** Days from 1970-01-01 back to 1899-12-30, the 1900 date system's day 0. */
const EXCEL_EPOCH_DAYS = -25_569;
/** Serial of 2099-12-31: the latest plausible date. Numeric strings below 10000 are not taken as serials. */
const SERIAL_MAX = 73_050;
const SERIAL_MIN_TEXT = 10_000;

const OK_EMPTY: DateResult = { ok: true, date: undefined };
const UNPARSEABLE: DateResult = { ok: false, kind: 'unparseable' };
const OK_LONG_TERM: DateResult = { ok: true, date: LONG_TERM };

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Checks a calendar date and applies the sentinels. */
export function ymd(y: number, m: number, d: number): DateResult {
  // Empty Excel dates: 1899-12-30/31 and Excel's own 1900-01-00.
  if ((y === 1899 && m === 12 && (d === 30 || d === 31)) || (y === 1900 && m === 1 && d === 0)) return OK_EMPTY;
  if (y === 9999 && m === 12 && d === 31) return OK_LONG_TERM;
  if (m < 1 || m > 12) return { ok: false, kind: 'invalid', reason: `没有 ${m} 月` };
  if (d < 1 || d > daysInMonth(y, m)) return { ok: false, kind: 'invalid', reason: `${y} 年 ${m} 月没有 ${d} 日` };
  if (y < 1900 || y > 2099) return { ok: false, kind: 'invalid', reason: `年份 ${y} 不合理` };
  return { ok: true, date: `${y}-${pad2(m)}-${pad2(d)}` };
}

/** Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm; no Date object). */
export function dateFromDays(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

function fromSerial(serial: number): DateResult {
  if (serial < 1) return OK_EMPTY; // 0 (1900-01-00) or a time without a date
  return check(dateFromDays(Math.floor(serial) + EXCEL_EPOCH_DAYS));
}

/** Epoch milliseconds, read as a date in Asia/Shanghai (UTC+8, no DST). */
function fromEpochMs(ms: number): DateResult {
  return check(dateFromDays(Math.floor((ms + 8 * 3_600_000) / DAY_MS)));
}

function check(iso: string): DateResult {
  return ymd(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)), Number(iso.slice(8, 10)));
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/**
 * The shape nearly every cell has, `YYYY-MM-DD` / `YYYY/MM/DD` / `YYYY.MM.DD`, read without a regex
 * (SEP_DATE reads it the same way); undefined for anything else.
 */
function plainDate(s: string): DateResult | undefined {
  if (s.length !== 10) return undefined;
  const sep = s.charCodeAt(4);
  if ((sep !== 45 && sep !== 47 && sep !== 46) || s.charCodeAt(7) !== sep) return undefined;
  const y0 = digit(s, 0);
  const y1 = digit(s, 1);
  const y2 = digit(s, 2);
  const y3 = digit(s, 3);
  const m0 = digit(s, 5);
  const m1 = digit(s, 6);
  const d0 = digit(s, 8);
  const d1 = digit(s, 9);
  if ((y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1) < 0) return undefined;
  // A file repeats its dates row after row: one result (and one date string) per calendar date.
  const key = (y0 * 1000 + y1 * 100 + y2 * 10 + y3) * 10_000 + (m0 * 10 + m1) * 100 + d0 * 10 + d1;
  let r = plainDates.get(key);
  if (r === undefined) {
    r = ymd(y0 * 1000 + y1 * 100 + y2 * 10 + y3, m0 * 10 + m1, d0 * 10 + d1);
    if (plainDates.size >= PLAIN_DATES_MAX) plainDates.clear();
    plainDates.set(key, r);
  }
  return r;
}

/** ymd's results by YYYYMMDD (a number key: no string to hash), bounded. */
const plainDates = new Map<number, DateResult>();
const PLAIN_DATES_MAX = 8192;

/** A string cell (already trimmed, not a placeholder). */
export function parseDateText(text: string): DateResult {
  const fast = plainDate(text);
  if (fast !== undefined) return fast;
  const s = nfkc(text);
  let m = SEP_DATE.exec(s);
  if (m) return ymd(Number(m[1]), Number(m[2]), Number(m[3]));
  m = COMPACT_DATE.exec(s);
  if (m) return ymd(Number(m[1]), Number(m[2]), Number(m[3]));
  if (LONG_TERM_WORDS.has(s)) return OK_LONG_TERM;
  if (EPOCH_MS.test(s)) return fromEpochMs(Number(s));
  if (SERIAL.test(s)) {
    const n = Number(s);
    if (n >= SERIAL_MIN_TEXT && n <= SERIAL_MAX) return fromSerial(n);
  }
  return UNPARSEABLE;
}

/**
 * A number cell: an Excel serial (1900 system), a YYYYMMDD typed as a number, or epoch milliseconds.
 */
export function parseDateNumber(n: number): DateResult {
  if (!Number.isFinite(n) || n < 0) return UNPARSEABLE;
  if (n <= SERIAL_MAX) return fromSerial(n);
  if (Number.isInteger(n) && n >= 19_000_101 && n <= 20_991_231) {
    return ymd(Math.floor(n / 10_000), Math.floor(n / 100) % 100, n % 100);
  }
  if (n >= 1e11 && n < 1e13) return fromEpochMs(n);
  return UNPARSEABLE;
}

/** exceljs delivers date cells as JS Dates at UTC midnight of the shown date: take the UTC date. */
export function parseDateObject(d: Date): DateResult {
  const t = d.getTime();
  if (Number.isNaN(t)) return UNPARSEABLE;
  return ymd(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}
