/**
 * Amounts → 万元 without floating-point drift: the work is done in integer micro-万元
 * (1 micro-万元 = 0.01 元 = 1 分), so 元 → 万元 is exact and the result has at most 6 decimals.
 */
import { nfkc } from './cell-text.js';

export type MoneyUnit = '元' | '万元';

export type MoneyResult =
  | { ok: true; wan: number; unit: MoneyUnit; unitFromCell: boolean }
  | { ok: false; kind: 'unparseable' | 'chinese' | 'negative' };

const NOISE = /[\s,，_']|^(?:人民币|RMB|CNY)|^[¥￥]/gi;
const UNIT_SUFFIX = /(万元|万|元)(?:整|正)?$/;
const DECIMAL = /^(-?)(\d*)(?:\.(\d+))?$/;
const CHINESE_NUMERAL = /[零〇一二两三四五六七八九十百千万亿壹贰貳叁參肆伍陆陸柒捌玖拾佰仟]/;

const FAIL_UNPARSEABLE: MoneyResult = { ok: false, kind: 'unparseable' };
const FAIL_CHINESE: MoneyResult = { ok: false, kind: 'chinese' };
const FAIL_NEGATIVE: MoneyResult = { ok: false, kind: 'negative' };

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/** Takes `digits` digits of a fraction, rounding half up on the next one. */
function fracUnits(frac: string, digits: number): number {
  // `frac` is digits: padding it with zeros is multiplying by a power of ten (exact below 2^53).
  if (frac.length <= digits) return frac === '' ? 0 : Number(frac) * (POW10[digits - frac.length] as number);
  const head = Number(frac.slice(0, digits));
  return frac.charCodeAt(digits) >= 53 ? head + 1 : head;
}

/** micro-万元 of a decimal string in the given unit, or undefined when too large to be exact. */
function toMicro(int: string, frac: string, unit: MoneyUnit): number | undefined {
  const i = int === '' ? 0 : Number(int);
  const micro = unit === '万元' ? i * 1_000_000 + fracUnits(frac, 6) : i * 100 + fracUnits(frac, 2);
  return Number.isSafeInteger(micro) ? micro : undefined;
}

/**
 * For a cell of ASCII digits with at most one '.' that has a digit after it (`0.07`, `200`, `.5`): the
 * index of the '.', or the length when there is none; -1 for any other cell.
 */
function plainDecimal(s: string): number {
  const n = s.length;
  let dot = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (c !== 46 || dot !== n) return -1;
    dot = i;
  }
  return n === 0 || dot === n - 1 ? -1 : dot;
}

/**
 * Parses a money cell. `columnUnit` is the unit the header states, else the field's unit (万元).
 * A unit written in the cell (`2000元`, `0.2万元`) wins over the column's.
 */
export function parseMoney(cell: string | number, columnUnit: MoneyUnit): MoneyResult {
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return FAIL_UNPARSEABLE;
    if (cell < 0) return FAIL_NEGATIVE;
    const micro = Math.round(columnUnit === '万元' ? cell * 1_000_000 : cell * 100);
    if (!Number.isSafeInteger(micro)) return FAIL_UNPARSEABLE;
    return { ok: true, wan: micro / 1_000_000, unit: columnUnit, unitFromCell: false };
  }
  const plain = plainDecimal(cell);
  if (plain >= 0) {
    // Digits with at most one inner or leading '.': what DECIMAL accepts after NOISE removed nothing.
    const micro =
      plain === cell.length
        ? toMicro(cell, '', columnUnit)
        : toMicro(cell.slice(0, plain), cell.slice(plain + 1), columnUnit);
    if (micro === undefined) return FAIL_UNPARSEABLE;
    return { ok: true, wan: micro / 1_000_000, unit: columnUnit, unitFromCell: false };
  }
  let s = nfkc(cell).replace(NOISE, '');
  let unit = columnUnit;
  let unitFromCell = false;
  const u = UNIT_SUFFIX.exec(s);
  if (u) {
    unit = u[1] === '元' ? '元' : '万元';
    unitFromCell = true;
    s = s.slice(0, u.index);
  }
  const m = DECIMAL.exec(s);
  if (!m || (m[2] === '' && m[3] === undefined)) return CHINESE_NUMERAL.test(s) ? FAIL_CHINESE : FAIL_UNPARSEABLE;
  if (m[1] === '-') return FAIL_NEGATIVE;
  const micro = toMicro(m[2] ?? '', m[3] ?? '', unit);
  if (micro === undefined) return FAIL_UNPARSEABLE;
  return { ok: true, wan: micro / 1_000_000, unit, unitFromCell };
}

const AMOUNT_IN_TEXT = /(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万元|万|元)/g;

/** Amounts a penalty text mentions (`罚款2000元`, `罚款0.2万元`), as micro-万元 with the unit written. */
export function amountsInText(text: string): Array<{ micro: number; raw: number; unit: MoneyUnit }> {
  const out: Array<{ micro: number; raw: number; unit: MoneyUnit }> = [];
  const s = nfkc(text);
  AMOUNT_IN_TEXT.lastIndex = 0;
  for (let m = AMOUNT_IN_TEXT.exec(s); m !== null; m = AMOUNT_IN_TEXT.exec(s)) {
    const digits = m[1] as string;
    const num = digits.indexOf(',') === -1 ? digits : digits.replace(/,/g, '');
    // At most one '.' (the regex says so): what `num.split('.')` gives, without the array.
    const dot = num.indexOf('.');
    const int = dot === -1 ? num : num.slice(0, dot);
    const frac = dot === -1 ? '' : num.slice(dot + 1);
    const unit: MoneyUnit = m[2] === '元' ? '元' : '万元';
    const micro = toMicro(int, frac, unit);
    if (micro !== undefined) out.push({ micro, raw: Number(num), unit });
  }
  return out;
}
