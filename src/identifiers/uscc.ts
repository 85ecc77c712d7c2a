/**
 * 统一社会信用代码 (USCC, GB 32100-2015): 18 symbols of a 31-symbol alphabet, the check char at
 * position 18 (domain.md §2.1).
 */

import { orgCodeCheckChar, orgCodeCheckCode } from './org-code.js';

/** Digits and upper-case letters without I, O, S, V, Z; each symbol's value is its index. */
const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
/** 3^(i−1) mod 31 for i = 1..17. */
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

/** symbol code point → value, −1 when outside the alphabet (ASCII only). */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/**
 * Early pilot codes (Fujian/Xiamen 2015) that are real and in use but fail the GB 32100 check
 * character. They are accepted; the validate stage warns about them.
 */
const PILOT_CODES: ReadonlySet<string> = new Set([
  '91350100M0001TGQXM',
  '91350211M0000XUF46',
  '91350203M0001FUE2P',
  '91350211M00013FA1N',
  '91350203M0001QAY9B',
]);

/** Index in ALPHABET of the check character for the first 17 symbols of `s`, or -1 when one is outside it. */
function checkIndex(s: string): number {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (VALUE[c] as number) : -1;
    if (v < 0) return -1;
    sum += v * (WEIGHTS[i] as number);
  }
  return (31 - (sum % 31)) % 31;
}

/** Check character for the first 17 symbols, or undefined when they are not 17 alphabet symbols. */
export function usccCheckChar(first17: string): string | undefined {
  if (first17.length !== 17) return undefined;
  const i = checkIndex(first17);
  return i < 0 ? undefined : ALPHABET[i];
}

/** 18 alphabet symbols with a 6-digit division code at positions 3–8 (the check char not tested). */
export function isUsccShape(s: string): boolean {
  if (s.length !== 18) return false;
  for (let i = 0; i < 18; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (VALUE[c] as number) < 0) return false;
    if (i >= 2 && i < 8 && (c < 48 || c > 57)) return false;
  }
  return true;
}

/** What every pilot code starts with: a cheap test before the set is hashed. */
const PILOT_PREFIX = [...PILOT_CODES].reduce((prefix, code) => {
  let n = 0;
  while (n < prefix.length && prefix[n] === code[n]) n++;
  return prefix.slice(0, n);
});

/** One of the known pilot-region codes that fail the check char but are real (domain.md §2.1). */
export function isPilotUscc(s: string): boolean {
  return s.startsWith(PILOT_PREFIX) && PILOT_CODES.has(s);
}

/** True when `s` (already cleaned: upper-case, no spaces) is a valid USCC or a known pilot code. */
export function isValidUscc(s: string): boolean {
  // The shape and the check character in one pass, no slice: every stage asks this of every code.
  if (!isUsccShape(s)) return false;
  return ALPHABET.charCodeAt(checkIndex(s)) === s.charCodeAt(17) || isPilotUscc(s);
}

/** 登记管理机关行政区划码: positions 3–8 of a USCC-shaped code, else undefined. */
export function usccRegistrationDivision(s: string): string | undefined {
  return isUsccShape(s) ? s.slice(2, 8) : undefined;
}

/**
 * Whether positions 9–17 (主体标识码) satisfy GB 11714. A mismatch is a warning only: a few real
 * codes fail it (domain.md §2.1).
 */
export function usccOrgCodeConsistent(s: string): boolean {
  if (s.length < 17) return orgCodeCheckChar(s.slice(8, 16)) === s[16];
  return orgCodeCheckCode(s, 8) === s.charCodeAt(16);
}
