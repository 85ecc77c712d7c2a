/** 组织机构代码 (GB 11714-1997): an 8-symbol body (0–9, A–Z) and a check char (domain.md §2.3). */

const WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;

/**
 * Char code of the check character of the 8 symbols of `s` from `at`, or -1 when one is not [0-9A-Z]
 * (the caller has checked that they exist). Reads in place: no 8-character slice per call.
 */
export function orgCodeCheckCode(s: string, at: number): number {
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = s.charCodeAt(at + i);
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 65 && c <= 90) v = c - 55;
    else return -1;
    sum += v * (WEIGHTS[i] as number);
  }
  const r = 11 - (sum % 11);
  return r === 10 ? 88 : r === 11 ? 48 : 48 + r; // 'X', '0', '1'…'9'
}

/** Check character of an 8-symbol body, or undefined when the body is not 8 of [0-9A-Z]. */
export function orgCodeCheckChar(body8: string): string | undefined {
  if (body8.length !== 8) return undefined;
  const c = orgCodeCheckCode(body8, 0);
  return c < 0 ? undefined : String.fromCharCode(c);
}

/** True when `s` is 9 symbols (hyphen already removed) whose last one is the GB 11714 check char. */
export function isValidOrgCode(s: string): boolean {
  if (s.length !== 9) return false;
  const c = orgCodeCheckCode(s, 0);
  return c >= 0 && c === s.charCodeAt(8);
}
