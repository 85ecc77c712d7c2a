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

/** First characters of the placeholders: a number lookup before a string is hashed. */
const PLACEHOLDER_FIRST: ReadonlySet<number> = new Set([...PLACEHOLDERS].map((p) => p.charCodeAt(0)));

/** A placeholder for “empty” (length and first character checked first: hashing cells for a Set lookup is costly). */
export function isPlaceholder(t: string): boolean {
  return t.length <= PLACEHOLDER_MAX && PLACEHOLDER_FIRST.has(t.charCodeAt(0)) && PLACEHOLDERS.has(t);
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
  const t = trimEdges(s);
  return hasZeroWidth(t) ? t.replace(INNER_ZERO_WIDTH, '') : t;
}

/** cleanText for a string the caller knows has no zero-width character: only the edges are trimmed. */
export function trimEdges(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  if (isSpaceCode(s.charCodeAt(0)) || isSpaceCode(s.charCodeAt(n - 1)) || (n > 1 && s.charCodeAt(n - 1) === 0x2028)) {
    return s.replace(EDGE_SPACE, '');
  }
  return s;
}

// A regex test beats a charCodeAt scan for a small character class (measured on Node 20).
const ZERO_WIDTH_TEST = /[\u200b-\u200d\u2060\ufeff]/;
function hasZeroWidth(s: string): boolean {
  return ZERO_WIDTH_TEST.test(s);
}

/**
 * Characters of U+2000–U+303F (general punctuation, CJK symbols: 、。〔〕《》【】“”—…) that NFKC leaves
 * alone and that cannot combine with a neighbour (no marks), checked against this runtime's ICU once.
 */
const STABLE_LO = 0x2000;
const STABLE_HI = 0x303f;
const STABLE_PUNCT = (() => {
  const t = new Uint8Array(STABLE_HI - STABLE_LO + 1);
  const mark = /\p{M}/u;
  for (let c = STABLE_LO; c <= STABLE_HI; c++) {
    const ch = String.fromCharCode(c);
    if (ch.normalize('NFKC') === ch && !mark.test(ch)) t[c - STABLE_LO] = 1;
  }
  return t;
})();

/**
 * True when NFKC might change `s`. Printable ASCII, CJK Unified Ideographs (U+4E00–U+9FFF: no
 * decompositions, never combine) and the stable punctuation above are left alone by NFKC, and a string
 * made only of them is too; anything else (full-width forms, U+3000, marks, astral) goes to ICU.
 */
export function needsNfkc(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 126) continue;
    if (c >= 0x4e00 && c <= 0x9fff) continue;
    if (c >= STABLE_LO && c <= STABLE_HI && STABLE_PUNCT[c - STABLE_LO] === 1) continue;
    return true;
  }
  return false;
}

export function nfkc(s: string): string {
  return needsNfkc(s) ? s.normalize('NFKC') : s;
}

/** Only digits and upper-case ASCII letters: already what cleanCode returns (the common case). */
function isPlainCode(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 90 || (c > 57 && c < 65)) return false;
  }
  return true;
}

/** Whitespace, zero-width characters and every hyphen/dash (after NFKC). */
const CODE_NOISE = /[\s\u200b-\u200d\u2060\ufeff\-‐‑‒–—―−_]+/g;

/** A code cell as a validator wants it: NFKC, no whitespace/hyphens/dashes, upper-case. */
export function cleanCode(s: string): string {
  if (isPlainCode(s)) return s;
  let t = nfkc(s);
  CODE_NOISE.lastIndex = 0;
  t = t.replace(CODE_NOISE, '');
  return t.toUpperCase();
}

/**
 * Normalised bracket style: every bracket pair (〔〕［］[]【】（）()〈〉《》 excluded) becomes ( ). The
 * sets, as regexes: drop /[\s\u200b-\u200d\u2060\ufeff]/, open /[〔［[【（(〖{｛]/, close /[〕］\]】）)〗}｝]/.
 */
/** NFKC, no whitespace, brackets unified to ( ). */
export function unifyBrackets(s: string): string {
  const t = nfkc(s);
  // One pass, copying the unchanged runs between the characters to drop or replace.
  let out = '';
  let from = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    const r = bracketOrSpace(c);
    if (r === KEEP) continue;
    out += t.slice(from, i);
    if (r === OPEN) out += '(';
    else if (r === CLOSE) out += ')';
    from = i + 1;
  }
  return from === 0 ? t : out + t.slice(from);
}

const KEEP = 0;
const DROP = 1;
const OPEN = 2;
const CLOSE = 3;

/** What unifyBrackets does with one UTF-16 unit (the sets above; checked against them over the whole BMP). */
function bracketOrSpace(c: number): number {
  if (c < 0x80) {
    if (c === 32 || (c >= 9 && c <= 13)) return DROP;
    if (c === 0x5b || c === 0x7b) return OPEN; // [ {
    if (c === 0x5d || c === 0x7d) return CLOSE; // ] }
    return KEEP; // ( and ) stay as they are
  }
  switch (c) {
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x2060:
    case 0x3000:
    case 0xfeff:
      return DROP;
    case 0x3014: // 〔
    case 0xff3b: // ［
    case 0x3010: // 【
    case 0xff08: // （
    case 0x3016: // 〖
    case 0xff5b: // ｛
      return OPEN;
    case 0x3015: // 〕
    case 0xff3d: // ］
    case 0x3011: // 】
    case 0xff09: // ）
    case 0x3017: // 〗
    case 0xff5d: // ｝
      return CLOSE;
    default:
      return c >= 0x2000 && c <= 0x200d ? DROP : KEEP;
  }
}

/**
 * `s.toUpperCase()`, skipping the call when `s` has no lower-case ASCII letter and only characters
 * without case (other ASCII, CJK ideographs, general and CJK punctuation).
 */
export function upperCase(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      c < 0x80
        ? c >= 97 && c <= 122
        : !((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0x2000 && c <= 0x206f))
    )
      return s.toUpperCase();
  }
  return s;
}
