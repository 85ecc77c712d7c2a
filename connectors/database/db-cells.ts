/**
 * Source database values → cells, without losing digits or shifting dates: the drivers are told to hand
 * dates and timestamps over as the text the server wrote (never a JS Date in the machine's zone), and
 * big integers and decimals as text, which become numbers only when that loses nothing.
 */
import pg from 'pg';
import type { CellValue } from '../../src/types.js';

/** Numbers with at most this many significant digits survive a trip through a double unchanged. */
const SAFE_DIGITS = 15;
const DECIMAL = /^-?(\d+)(?:\.(\d+))?$/;

/** `'12.50'` → 12.5; an 18-digit ID held in a bigint stays a string (a double would change it). */
export function exactNumber(text: string): number | string {
  const m = DECIMAL.exec(text);
  if (!m) return text;
  const digits = `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '');
  const n = Number(text);
  return digits.length <= SAFE_DIGITS && Math.abs(n) < 1e21 ? n : text;
}

/** A value as a driver returned it (after the type settings below) → a cell. */
export function toCell(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return exactNumber(v.toString());
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  // Not produced with the type settings below; kept explicit rather than shifted by the machine's zone.
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => (x === null || x === undefined ? '' : String(toCell(x)))).join(';');
  return JSON.stringify(v);
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;
const PG_DATE = 1082;
const PG_TIME = 1083;
const PG_TIMESTAMP = 1114;
const PG_TIMESTAMPTZ = 1184;
const PG_INTERVAL = 1186;
const PG_TIMETZ = 1266;
const TRAILING_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)$/;

const identity = (s: string) => s;

/**
 * node-postgres type parsers for one connection: dates and timestamps as the server's text (ISO,
 * DateStyle set per session); a timestamp with time zone loses its offset suffix, leaving the wall time
 * in the session's zone, which the clean stage reads as a date; int8 and numeric as exact numbers.
 */
export const pgCellTypes = {
  getTypeParser(oid: number, format?: string) {
    switch (oid) {
      case PG_DATE:
      case PG_TIME:
      case PG_TIMESTAMP:
      case PG_INTERVAL:
      case PG_TIMETZ:
        return identity;
      case PG_TIMESTAMPTZ:
        return (s: string) => s.replace(TRAILING_OFFSET, '');
      case PG_INT8:
      case PG_NUMERIC:
        return exactNumber;
      default:
        return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
    }
  },
};

/** mysql2's field descriptor, as much as `mysqlTypeCast` needs. */
interface MysqlField {
  type: string;
  string(): string | null;
}

/** mysql2 `typeCast`: DECIMAL and BIGINT as exact numbers (dates already arrive as text via `dateStrings`). */
export function mysqlTypeCast(field: MysqlField, next: () => unknown): unknown {
  if (field.type === 'NEWDECIMAL' || field.type === 'DECIMAL' || field.type === 'LONGLONG') {
    const s = field.string();
    return s === null ? null : exactNumber(s);
  }
  return next();
}

/**
 * The fixed UTC offset (`+08:00`) of a zone now. MariaDB sessions use it rather than the zone's name:
 * the name needs the server's time-zone tables, and a fixed offset keeps TIMESTAMP cursors as text
 * stable from one run to the next (zones with daylight saving would not be).
 */
export function fixedOffset(timeZone: string, at = new Date()): string {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-]\d{2}:\d{2})$/.exec(name);
  return m?.[1] ?? '+00:00';
}
