/**
 * clean: cells → typed values per catalog field (`row.values`). Collects every cell problem of a
 * row at once. Per-field work is planned once per (catalog, columns) by makeCleaner.
 */
import type { FieldDef } from '../src/catalog/types.js';
import { isValidResidentId, isValidUscc } from '../src/identifiers/index.js';
import { hasError, plannedStage, type Stage, type StageContext, type StageReport } from '../src/pipeline.js';
import type { CellValue, Issue, Row } from '../src/types.js';
import { cleanCode, cleanText, isPlaceholder, needsNfkc, nfkc, trimEdges } from './cell-text.js';
import { msg, type Place } from './messages.js';
import { type DateResult, parseDateNumber, parseDateObject, parseDateText } from './parse-date.js';
import { amountsInText, type MoneyUnit, parseMoney } from './parse-money.js';

/** The field whose text is cross-checked against money amounts (双公示 处罚内容). */
const PENALTY_CONTENT_FIELD = 'penalty_content';
/** A fine of 100 万元 or more is implausible for a county transport office: probably written in 元. */
const SUSPECT_WAN = 100;

const SCIENTIFIC = /^[+-]?\d+(?:\.\d+)?E\+?\d+$/i;
const ALL_ZERO_CODE = /^0+X?$/;
const ROUNDED_18 = /^\d{15}000$/;
const LIST_SEPARATORS = /[;；、，,/／]+/;
/** Fixed lengths of formatted codes: a shorter number cell has probably lost leading zeros. */
const FORMAT_LENGTH: Readonly<Record<string, number>> = { uscc: 18, 'org-code': 9, 'resident-id': 18 };

/** One column feeding one field. */
interface Source {
  index: number;
  header: string | undefined;
  unit: MoneyUnit | undefined;
  /** Constant cell from the county defaults (when the field has no column). */
  constant?: string;
}

interface FieldPlan {
  field: FieldDef;
  sources: Source[];
}

/**
 * What clean returns for one cell: the value (undefined = empty); issues go to the row. `text` is a
 * string cell already through cleanText (the row loop does that once); undefined for other cells.
 */
type CellCleaner = (
  cell: CellValue,
  text: string | undefined,
  src: Source,
  plan: FieldPlan,
  issues: Issue[],
) => unknown;

function place(plan: FieldPlan, src: Source, cell: unknown): Place {
  return { field: plan.field, header: src.header, value: cell };
}

function cellText(cell: CellValue): string {
  if (typeof cell === 'string') return cell;
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? '' : cell.toISOString().slice(0, 10);
  return String(cell);
}

const cleanTextCell: CellCleaner = (cell, text) => {
  const t = text ?? cleanText(cellText(cell as NonNullable<CellValue>));
  return t === '' || isPlaceholder(t) ? undefined : t;
};

const cleanCodeCell: CellCleaner = (cell, text, src, plan, issues) => {
  if (typeof cell === 'number') {
    // Excel keeps 15 significant digits: a 16+ digit number has already lost its tail.
    if (!Number.isSafeInteger(cell) || Math.abs(cell) >= 1e15) {
      issues.push(msg.idPrecisionLost(place(plan, src, cell), 'number'));
      return undefined;
    }
    const text = String(cell);
    if (cell === 0) return undefined;
    const expected = plan.field.format ? FORMAT_LENGTH[plan.field.format] : undefined;
    if (expected !== undefined && text.length < expected) {
      issues.push(msg.codeStoredAsNumber(place(plan, src, cell), text));
    }
    return text;
  }
  const t = text ?? cleanText(cellText(cell as NonNullable<CellValue>));
  if (t === '' || t === '0' || isPlaceholder(t)) return undefined;
  const code = cleanCode(t);
  // Cheap first-character/length checks guard the regexes (most codes pass none of them).
  if (code === '' || (code.charCodeAt(0) === 48 && ALL_ZERO_CODE.test(code))) return undefined;
  if (code.indexOf('E') !== -1 && SCIENTIFIC.test(code)) {
    issues.push(msg.idPrecisionLost(place(plan, src, cell), 'scientific'));
    return undefined;
  }
  if (
    code.length === 18 &&
    endsWith000(code) &&
    ROUNDED_18.test(code) &&
    !isValidResidentId(code) &&
    !isValidUscc(code)
  ) {
    issues.push(msg.idPrecisionLost(place(plan, src, cell), 'rounded'));
    return undefined;
  }
  return code;
};

function dateIssue(r: DateResult, cell: CellValue, src: Source, plan: FieldPlan, issues: Issue[]): string | undefined {
  if (r.ok) return r.date;
  const p = place(plan, src, cell);
  issues.push(r.kind === 'invalid' ? msg.dateInvalid(p, r.reason) : msg.dateUnparseable(p));
  return undefined;
}

const cleanDateCell: CellCleaner = (cell, text, src, plan, issues) => {
  if (typeof cell === 'number') return dateIssue(parseDateNumber(cell), cell, src, plan, issues);
  if (cell instanceof Date) return dateIssue(parseDateObject(cell), cell, src, plan, issues);
  const t = text ?? cleanText(String(cell));
  if (t === '' || isPlaceholder(t)) return undefined;
  return dateIssue(parseDateText(t), cell, src, plan, issues);
};

/** money cleaner; also records whether the unit was 万元 without the cell saying so (for the 元 check). */
function makeMoneyCell(unitChecks: string[]): CellCleaner {
  return (cell, text, src, plan, issues) => {
    let input: string | number;
    if (typeof cell === 'number') input = cell;
    else {
      const t = text ?? cleanText(cellText(cell as NonNullable<CellValue>));
      if (t === '' || isPlaceholder(t)) return undefined;
      input = t;
    }
    const r = parseMoney(input, src.unit ?? plan.field.unit ?? '万元');
    if (!r.ok) {
      const p = place(plan, src, cell);
      issues.push(r.kind === 'negative' ? msg.moneyNegative(p) : msg.moneyUnparseable(p, r.kind === 'chinese'));
      return undefined;
    }
    if (r.unit === '万元' && !r.unitFromCell && !unitChecks.includes(plan.field.name)) unitChecks.push(plan.field.name);
    return r.wan;
  };
}

const cleanEnumCell: CellCleaner = (cell, text) => {
  const t = text ?? cleanText(cellText(cell as NonNullable<CellValue>));
  return t === '' || isPlaceholder(t) ? undefined : t;
};

/** A list separator (the LIST_SEPARATORS set). */
const HAS_LIST_SEPARATOR = /[;；、，,/／]/;

/** enum-list: the pieces of one cell; several columns are concatenated by the caller. */
const cleanEnumListCell: CellCleaner = (cell, text) => {
  const t = text ?? cleanText(cellText(cell as NonNullable<CellValue>));
  if (t === '' || isPlaceholder(t)) return undefined;
  // One value (the common cell): NFKC would change nothing and there is nothing to split; t is clean.
  if (!HAS_LIST_SEPARATOR.test(t) && !needsNfkc(t)) return [t];
  const out: string[] = [];
  for (const piece of nfkc(t).split(LIST_SEPARATORS)) {
    const p = cleanText(piece);
    if (p !== '' && !isPlaceholder(p)) out.push(p);
  }
  return out.length > 0 ? out : undefined;
};

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** U+FFFD or a zero-width character: one test per cell, and the common cell has neither. */
const RARE_CHAR = /[\u200b-\u200d\u2060\ufeff\ufffd]/;

/** The last three characters are `000` (checked before the ROUNDED_18 regex). */
function endsWith000(code: string): boolean {
  const n = code.length;
  return code.charCodeAt(n - 1) === 48 && code.charCodeAt(n - 2) === 48 && code.charCodeAt(n - 3) === 48;
}

/** Builds a row's values object from its values per plan and the bit set of the filled ones. */
type ValuesFactory = (outs: readonly unknown[], filled: number) => Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Distinct sets of filled fields given their own constructor; past this, objects are filled one by one. */
const MAX_SHAPES = 512;

/**
 * Values objects with the filled fields only, in plan order, each set of filled fields made by its own
 * generated constructor: every store in it sees one shape (adding a property by a computed name to
 * objects of dozens of shapes is a slow megamorphic store), and the object is allocated with room for
 * exactly its properties. Undefined when the field names do not fit (more than 30, or not identifiers).
 */
function valuesFactory(names: readonly string[]): ValuesFactory | undefined {
  if (names.length > 30 || !names.every((n) => IDENTIFIER.test(n))) return undefined;
  const ctors = new Map<number, new (outs: readonly unknown[]) => Record<string, unknown>>();
  const Overflow = class RowValues {};
  return (outs, filled) => {
    let C = ctors.get(filled);
    if (C === undefined) {
      if (ctors.size >= MAX_SHAPES) {
        const v = new Overflow() as Record<string, unknown>;
        for (let i = 0; i < names.length; i++) if (filled & (1 << i)) v[names[i] as string] = outs[i];
        return v;
      }
      const body = names.map((n, i) => (filled & (1 << i) ? `this.${n} = o[${i}];` : '')).join('');
      C = new Function('o', body) as unknown as new (outs: readonly unknown[]) => Record<string, unknown>;
      ctors.set(filled, C);
    }
    return new C(outs);
  };
}

/** Plans the clean stage for one (catalog, columns, defaults) and returns it as a batch function. */
export function makeCleaner(ctx: StageContext): (rows: Row[]) => StageReport {
  const { catalog } = ctx;
  /** Money fields of the current row to check for 元 (an array: a Set allocates on every clear). */
  const moneyUnitChecks: string[] = [];
  const amountsOf = makeAmountsMemo();
  const moneyCell = makeMoneyCell(moneyUnitChecks);
  const plans: Array<{ plan: FieldPlan; clean: CellCleaner; list: boolean }> = [];

  for (const field of catalog.fields) {
    const sources: Source[] = [];
    for (const b of ctx.columns) {
      if (b.field === field.name) sources.push({ index: b.index, header: b.header, unit: b.unit });
    }
    if (sources.length === 0) {
      const d = ctx.defaults[field.name] ?? (field.countyDefault ? ctx.defaults[field.countyDefault] : undefined);
      if (d === undefined) continue;
      sources.push({ index: -1, header: undefined, unit: undefined, constant: d });
    }
    const clean =
      field.clean === 'code'
        ? cleanCodeCell
        : field.clean === 'date'
          ? cleanDateCell
          : field.clean === 'money'
            ? moneyCell
            : field.clean === 'enum'
              ? cleanEnumCell
              : field.clean === 'enum-list'
                ? cleanEnumListCell
                : cleanTextCell;
    plans.push({ plan: { field, sources }, clean, list: field.clean === 'enum-list' });
  }
  const contentField = catalog.byName.get(PENALTY_CONTENT_FIELD) ? PENALTY_CONTENT_FIELD : undefined;
  // A row's values as an instance of a class of this plan: V8 then gives the ~30 properties room inside
  // the object, where a `{}` reallocates its property store again and again (≈3× slower to fill).
  const Values = class RowValues {};
  const makeValues = valuesFactory(plans.map((p) => p.plan.field.name));
  /** The current row's value per plan (undefined = empty), when makeValues builds the object. */
  const outs: unknown[] = new Array(plans.length).fill(undefined);

  return (rows) => {
    const t0 = performance.now();
    let rejected = 0;
    let warnings = 0;
    for (const row of rows) {
      if (hasError(row)) continue; // e.g. a ragged CSV record: already rejected by the reader
      const before = row.issues.length;
      let values = row.values;
      // A fresh row gets its values object at the end, in one go (makeValues); else the values are added.
      const fresh = isEmpty(values) && makeValues !== undefined;
      if (!fresh && isEmpty(values)) {
        values = new Values() as Record<string, unknown>;
        row.values = values;
      }
      let filled = 0;
      const issues = row.issues;
      moneyUnitChecks.length = 0;
      for (let f = 0; f < plans.length; f++) {
        const { plan, clean, list } = plans[f] as (typeof plans)[number];
        let out: unknown;
        for (const src of plan.sources) {
          const cell = src.constant ?? row.cells[src.index];
          if (cell === undefined || cell === null || cell === '') continue;
          let text: string | undefined;
          if (typeof cell === 'string') {
            if (RARE_CHAR.test(cell)) {
              if (cell.indexOf('\uFFFD') !== -1) {
                issues.push(msg.encodingDamaged(place(plan, src, cell)));
                continue;
              }
              text = cleanText(cell);
            } else text = trimEdges(cell);
          }
          const v = clean(cell, text, src, plan, issues);
          if (v === undefined) continue;
          if (list) out = out === undefined ? v : (out as string[]).concat(v as string[]);
          else if (out === undefined) out = v; // several columns for one scalar field: the first non-empty wins
        }
        if (fresh) {
          outs[f] = out;
          if (out !== undefined) filled |= 1 << f;
        } else if (out !== undefined) values[plan.field.name] = out;
      }
      if (fresh) row.values = (makeValues as ValuesFactory)(outs, filled);
      if (moneyUnitChecks.length > 0) checkMoneyUnits(row, moneyUnitChecks, contentField, plans, amountsOf);
      for (let i = before; i < issues.length; i++) {
        if ((issues[i] as Issue).severity === 'warning') warnings++;
      }
      if (hasError(row)) rejected++;
    }
    return { rows, counts: { rows: rows.length, rejected, warnings }, ms: performance.now() - t0 };
  };
}

/**
 * Longest text a memo keeps as it is. A longer cell may be a slice of a whole decoded megabyte of the
 * file (V8 slices strings of 13 characters or more), which a memo entry would keep alive.
 */
const MEMO_KEY_FLAT = 12;

/** A memo key that keeps only its own characters alive (see MEMO_KEY_FLAT). */
function ownCopy(s: string): string {
  // Slicing a concatenation flattens it into a new string first: the slice's parent is that copy.
  return s.length <= MEMO_KEY_FLAT ? s : `\u0000${s}`.slice(1);
}

type Amount = ReturnType<typeof amountsInText>[number];

/** amountsInText with a bounded memo: penalty texts are written from templates and repeat. */
function makeAmountsMemo(): (text: string) => readonly Amount[] {
  const seen = new Map<string, readonly Amount[]>();
  return (text) => {
    let a = seen.get(text);
    if (a === undefined) {
      a = amountsInText(text);
      if (seen.size >= 4096) seen.clear();
      seen.set(ownCopy(text), a);
    }
    return a;
  };
}

/**
 * A 万元 value that looks like 元: equal to an amount the penalty text gives in 元 (and not to the
 * same amount in 万元), or ≥ 100 万元 with no amount in the text that confirms it.
 */
function checkMoneyUnits(
  row: Row,
  fields: readonly string[],
  contentField: string | undefined,
  plans: Array<{ plan: FieldPlan }>,
  amountsOf: (text: string) => readonly Amount[],
): void {
  const content = contentField ? row.values[contentField] : undefined;
  const amounts = typeof content === 'string' ? amountsOf(content) : [];
  for (const name of fields) {
    const wan = row.values[name];
    if (typeof wan !== 'number' || wan === 0) continue;
    const micro = Math.round(wan * 1_000_000);
    let confirmed = false;
    let asYuan: number | undefined;
    for (const a of amounts) {
      if (a.micro === micro) confirmed = true;
      else if (a.unit === '元' && a.raw === wan) asYuan = a.raw;
    }
    if (confirmed) continue;
    let why: string | undefined;
    if (asYuan !== undefined) why = `而处罚内容写的是“${asYuan}元”（即 ${asYuan / 10_000} 万元）`;
    else if (wan >= SUSPECT_WAN) why = `即 ${micro / 100} 元，对县级交通运输处罚明显过大`;
    if (why === undefined) continue;
    const entry = plans.find((p) => p.plan.field.name === name);
    if (!entry) continue;
    const src = entry.plan.sources[0] as Source;
    const cell = src.constant ?? row.cells[src.index];
    row.issues.push(msg.moneyUnitSuspect(place(entry.plan, src, cell), wan, why));
  }
}

/** The clean stage (plans once per context and caches the plan). */
export const clean: Stage = plannedStage(makeCleaner);
