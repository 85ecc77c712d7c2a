import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemasDir } from './catalog/paths.js';
import { configError } from './errors.js';
import type { ReferenceData } from './pipeline.js';

/** One current division (domain.md §4). */
export interface Division {
  name: string;
  level: 'province' | 'prefecture' | 'county';
  /** Code of the enclosing division; null for the province. */
  parent: string | null;
}

/** One name a code had, with the years it was valid (null = open). */
export interface HistoricalDivision {
  name: string;
  from: number | null;
  to: number | null;
}

/** A listed calendar day: `off` = statutory day off; `off: false` = make-up working day (调休). */
export interface Holiday {
  off: boolean;
  name: string;
}

/** date (YYYY-MM-DD) → listed day. Ordinary weekends are not listed. */
export type HolidayCalendar = ReadonlyMap<string, Holiday>;

/** Everything `schemas/reference/` holds; usable wherever a ReferenceData is expected. */
export interface LoadedReference extends ReferenceData {
  divisionInfo: ReadonlyMap<string, Division>;
  historicalNames: ReadonlyMap<string, readonly HistoricalDivision[]>;
  holidays: HolidayCalendar;
  /** First and last year the holiday calendar covers; outside it only weekends are days off. */
  holidayYears: readonly [number, number];
}

export interface LoadReferenceOptions {
  /** Folder holding divisions.json, divisions-historical.json and holidays.json; default `schemas/reference`. */
  dir?: string;
}

/** Reads the reference data written by `scripts/import-reference.mjs`. */
export function loadReference(opts: LoadReferenceOptions = {}): LoadedReference {
  const dir = opts.dir ?? join(schemasDir(), 'reference');
  const divisionInfo = new Map(Object.entries(readJson<Record<string, Division>>(dir, 'divisions.json')));
  const historicalNames = new Map(
    Object.entries(readJson<Record<string, HistoricalDivision[]>>(dir, 'divisions-historical.json')),
  );
  const holidays = new Map(Object.entries(readJson<Record<string, Holiday>>(dir, 'holidays.json')));

  const divisions = new Map<string, string>();
  for (const [code, d] of divisionInfo) divisions.set(code, d.name);
  const historicalDivisions = new Set<string>([...historicalNames.keys(), ...divisionInfo.keys()]);
  const years = [...holidays.keys()].map((d) => Number(d.slice(0, 4)));
  const holidayYears: [number, number] = years.length ? [Math.min(...years), Math.max(...years)] : [0, 0];
  return { divisions, historicalDivisions, divisionInfo, historicalNames, holidays, holidayYears };
}

/**
 * Whether a 6-digit code is a division we know: a current one, or (unless `historical: false`) one
 * that existed once — old ID numbers and USCCs keep the code of their time (domain.md §2.2, §4).
 */
export function isKnownDivision(code: string, ref: ReferenceData, opts: { historical?: boolean } = {}): boolean {
  if (ref.divisions.has(code)) return true;
  return opts.historical !== false && ref.historicalDivisions.has(code);
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a YYYY-MM-DD date; throws a RangeError for anything else. */
function dayNumber(date: string): number {
  const m = ISO_DATE.exec(date);
  if (m === null) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = t / DAY_MS;
  if (isoDate(d) !== date) throw new RangeError(`no such date: ${date}`);
  return d;
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function workingDay(day: number, date: string, holidays: HolidayCalendar): boolean {
  const listed = holidays.get(date);
  if (listed !== undefined) return !listed.off;
  const weekday = (day + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  return weekday !== 0 && weekday !== 6;
}

/**
 * A working day is Monday–Friday not listed as a day off, or a weekend day listed as a
 * make-up working day (domain.md §5).
 */
export function isWorkingDay(date: string, holidays: HolidayCalendar): boolean {
  return workingDay(dayNumber(date), date, holidays);
}

/**
 * The date `n` working days after `date`, counting from the next day (the common reading of
 * "within 7 working days after the decision", domain.md §5). `n = 0` returns `date`; a negative
 * `n` walks backwards.
 */
export function addWorkingDays(date: string, n: number, holidays: HolidayCalendar): string {
  if (!Number.isInteger(n)) throw new RangeError(`not a whole number of working days: ${n}`);
  let day = dayNumber(date);
  const step = n < 0 ? -1 : 1;
  let left = Math.abs(n);
  let current = date;
  while (left > 0) {
    day += step;
    current = isoDate(day);
    if (workingDay(day, current, holidays)) left--;
  }
  return current;
}

/** Working days after `from` up to and including `to` (0 when `to` ≤ `from`). */
export function workingDaysBetween(from: string, to: string, holidays: HolidayCalendar): number {
  const end = dayNumber(to);
  let count = 0;
  for (let day = dayNumber(from) + 1; day <= end; day++) if (workingDay(day, isoDate(day), holidays)) count++;
  return count;
}

function readJson<T>(dir: string, file: string): T {
  const path = join(dir, file);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw configError(
      'REFERENCE_UNREADABLE',
      `参考数据文件 ${path} 无法读取；请运行 node scripts/import-reference.mjs 重新生成`,
      `cannot read reference data ${path}: ${(e as Error).message}`,
      { file: path },
    );
  }
}
