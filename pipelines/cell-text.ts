/** Small text helpers shared by the stages (compiled once, allocation-free on the common path). */

/** Placeholders clerks write for “empty” (domain.md §7.4); `0` is one only in code columns. */
export const PLACEHOLDERS: ReadonlySet<string> = new Set([
  '/',
  '／',
  '\\',
  '无',
  '空',
  '-',
  '--',
  '---',
  '—',
  '——',
  '－',
  'null',
  'NULL',
  'Null',
  'N/A',
  'n/a',
  'NA',
  '#N/A',
  '暂无',
  '无数据',
]);

const PLACEHOLDER_MAX = Math.max(...[...PLACEHOLDERS].map((p) => p.length));

/** A placeholder for “empty” (length checked first: hashing long cells for a Set lookup is costly). */
export function isPlaceholder(t: string): boolean {
  return t.length <= PLACEHOLDER_MAX && PLACEHOLDERS.has(t);
}

const EDGE_SPACE = /^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$/g;
const INNER_ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;

function isSpaceCode(c: number): boolean {
  // ASCII whitespace, NBSP, U+3000, zero-width characters, BOM
  return (
    c <= 32 ||
    c === 0xa0 ||
    c === 0x3000 ||
    (c >= 0x200b && c <= 0x200d) ||
    c === 0x2060 ||
    c === 0xfeff ||
    c === 0x1680
  );
}

/** Trim whitespace incl. U+3000 and zero-width characters; remove zero-width characters inside. */
export function cleanText(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  let t = s;
  if (isSpaceCode(s.charCodeAt(0)) || isSpaceCode(s.charCodeAt(n - 1)) || (n > 1 && s.charCodeAt(n - 1) === 0x2028)) {
    t = s.replace(EDGE_SPACE, '');
  }
  if (hasZeroWidth(t)) t = t.replace(INNER_ZERO_WIDTH, '');
  return t;
}

const ZERO_WIDTH_TEST = /[\u200b-\u200d\u2060\ufeff]/;
function hasZeroWidth(s: string): boolean {
  return ZERO_WIDTH_TEST.test(s);
}

/** True when `s` has a character outside printable ASCII (so NFKC might change it). */
export function needsNfkc(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 126) return true;
  }
  return false;
}

export function nfkc(s: string): string {
  return needsNfkc(s) ? s.normalize('NFKC') : s;
}

/** Whitespace, zero-width characters and every hyphen/dash (after NFKC). */
const CODE_NOISE = /[\s\u200b-\u200d\u2060\ufeff\-‐‑‒–—―−_]+/g;

/** A code cell as a validator wants it: NFKC, no whitespace/hyphens/dashes, upper-case. */
export function cleanCode(s: string): string {
  let t = nfkc(s);
  CODE_NOISE.lastIndex = 0;
  t = t.replace(CODE_NOISE, '');
  return t.toUpperCase();
}

/** Normalised bracket style: every bracket pair (〔〕［］[]【】（）()〈〉《》 excluded) becomes ( ). */
const OPEN_BRACKETS = /[〔［[【（(〖{｛]/g;
const CLOSE_BRACKETS = /[〕］\]】）)〗}｝]/g;
const ALL_SPACE = /[\s\u200b-\u200d\u2060\ufeff]+/g;

/** NFKC, no whitespace, brackets unified to ( ). */
export function unifyBrackets(s: string): string {
  return nfkc(s).replace(ALL_SPACE, '').replace(OPEN_BRACKETS, '(').replace(CLOSE_BRACKETS, ')');
}
