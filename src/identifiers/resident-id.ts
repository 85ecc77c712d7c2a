/**
 * 公民身份号码 (GB 11643-1999): 18 characters (17 digits + check char 0–9/X) or the first-generation
 * 15 digits (YYMMDD in the 1900s, no check char). Domain.md §2.2.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK = '10X98765432';

function allDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Check char for the first 17 digits, or undefined when they are not 17 digits. */
export function residentIdCheckChar(first17: string): string | undefined {
  if (first17.length !== 17 || !allDigits(first17, 0, 17)) return undefined;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * (WEIGHTS[i] as number);
  return CHECK[sum % 11];
}

/** A real calendar date (proleptic Gregorian). */
function isRealDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const dim =
    m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
  return d <= dim;
}

const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
let todayCache = '';
let todayUntil = 0;

/** Today as YYYY-MM-DD in UTC+8 (Asia/Shanghai has no DST), computed once per day: ajv calls this per row. */
function todayShanghai(): string {
  const now = Date.now();
  if (now >= todayUntil) {
    const local = now + SHANGHAI_OFFSET_MS;
    todayCache = new Date(local).toISOString().slice(0, 10);
    todayUntil = local - (local % DAY_MS) + DAY_MS - SHANGHAI_OFFSET_MS;
  }
  return todayCache;
}

/**
 * Birth date (YYYY-MM-DD) encoded in an 18- or 15-digit number, or undefined when the shape is wrong
 * or the date is not a real calendar date. Bounds (1900, today) are checked by isValidResidentId.
 */
export function residentIdBirthDate(s: string): string | undefined {
  let y: number;
  let m: number;
  let d: number;
  if (s.length === 18 && allDigits(s, 0, 17)) {
    y = Number(s.slice(6, 10));
    m = Number(s.slice(10, 12));
    d = Number(s.slice(12, 14));
  } else if (s.length === 15 && allDigits(s, 0, 15)) {
    y = 1900 + Number(s.slice(6, 8));
    m = Number(s.slice(8, 10));
    d = Number(s.slice(10, 12));
  } else return undefined;
  if (!isRealDate(y, m, d)) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` → YYYYMMDD as a number, or -1 for any other string. */
function dateNumber(s: string): number {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return -1;
  let n = 0;
  for (let i = 0; i < 10; i++) {
    if (i === 4 || i === 7) continue;
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Digits of `s` from `from` to `to` as a number (the caller has checked they are digits). */
function digitsAt(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

let lastToday = '';
let lastTodayNumber = -1;

/**
 * True for a well-formed resident ID: 18 chars with a real birth date in [1900-01-01, today] and the
 * right check char, or 15 digits with a real YYMMDD date. `today` (YYYY-MM-DD) defaults to the date
 * in Asia/Shanghai; the stages pass ctx.today.
 */
export function isValidResidentId(s: string, today?: string): boolean {
  if (s.length !== 18) return s.length === 15 && residentIdBirthDate(s) !== undefined;
  // The 18-digit form without building the birth date string (this runs for every ID of every row).
  if (!allDigits(s, 0, 17)) return false;
  const y = digitsAt(s, 6, 10);
  const m = digitsAt(s, 10, 12);
  const d = digitsAt(s, 12, 14);
  if (!isRealDate(y, m, d) || y < 1900) return false;
  const t = today ?? todayShanghai();
  if (t !== lastToday) {
    lastToday = t;
    lastTodayNumber = dateNumber(t);
  }
  if (lastTodayNumber >= 0) {
    if (y * 10_000 + m * 100 + d > lastTodayNumber) return false;
  } else if ((residentIdBirthDate(s) as string) > t) return false; // an odd `today`: compare as text
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (s.charCodeAt(i) - 48) * (WEIGHTS[i] as number);
  return CHECK.charCodeAt(sum % 11) === s.charCodeAt(17);
}

/** The 18-digit form of a valid 15-digit number (`19` inserted, check char appended), else undefined. */
export function upgradeResidentId15(s: string): string | undefined {
  if (s.length !== 15 || residentIdBirthDate(s) === undefined) return undefined;
  const first17 = `${s.slice(0, 6)}19${s.slice(6)}`;
  return first17 + (residentIdCheckChar(first17) as string);
}

/**
 * Masks an ID number for public output and logs: first 4 and last 4 kept (`2307**********2288`).
 * Numbers of 8 characters or fewer keep only their first and last character, so nothing useful leaks.
 */
export function maskIdNumber(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  if (n <= 2) return '*'.repeat(n);
  if (n <= 8) return s[0] + '*'.repeat(n - 2) + s[n - 1];
  return s.slice(0, 4) + '*'.repeat(n - 8) + s.slice(n - 4);
}
