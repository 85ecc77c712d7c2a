/** 组织机构代码 (GB 11714-1997): an 8-symbol body (0–9, A–Z) and a check char (domain.md §2.3). */

const WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;

/** Check character of an 8-symbol body, or undefined when the body is not 8 of [0-9A-Z]. */
export function orgCodeCheckChar(body8: string): string | undefined {
  if (body8.length !== 8) return undefined;
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = body8.charCodeAt(i);
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 65 && c <= 90) v = c - 55;
    else return undefined;
    sum += v * (WEIGHTS[i] as number);
  }
  const r = 11 - (sum % 11);
  return r === 10 ? 'X' : r === 11 ? '0' : String(r);
}

/** True when `s` is 9 symbols (hyphen already removed) whose last one is the GB 11714 check char. */
export function isValidOrgCode(s: string): boolean {
  return s.length === 9 && orgCodeCheckChar(s.slice(0, 8)) === s[8];
}
