/**
 * clean: cells → typed values per catalog field (`row.values`). Collects every cell problem of a
 * row at once. Per-field work is planned once per (catalog, columns) by makeCleaner.
 */
import type { FieldDef } from '../src/catalog/types.js';
import { isValidResidentId, isValidUscc } from '../src/identifiers/index.js';
import { hasError, plannedStage, type Stage, type StageContext, type StageReport } from '../src/pipeline.js';
import type { CellValue, Issue, Row } from '../src/types.js';
import { cleanCode, cleanText, isPlaceholder, nfkc } from './cell-text.js';
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

/** What clean returns for one cell: the value (undefined = empty); issues go to the row. */
type CellCleaner = (cell: CellValue, src: Source, plan: FieldPlan, issues: Issue[]) => unknown;

function place(plan: FieldPlan, src: Source, cell: unknown): Place {
  return { field: plan.field, header: src.header, value: cell };
}

function cellText(cell: CellValue): string {
  if (typeof cell === 'string') return cell;
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? '' : cell.toISOString().slice(0, 10);
  return String(cell);
}

const cleanTextCell: CellCleaner = (cell) => {
  const t = cleanText(cellText(cell as NonNullable<CellValue>));
  return t === '' || isPlaceholder(t) ? undefined : t;
};

const cleanCodeCell: CellCleaner = (cell, src, plan, issues) => {
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
  const t = cleanText(cellText(cell as NonNullable<CellValue>));
  if (t === '' || t === '0' || isPlaceholder(t)) return undefined;
  const code = cleanCode(t);
  // Cheap first-character/length checks guard the regexes (most codes pass none of them).
  if (code === '' || (code.charCodeAt(0) === 48 && ALL_ZERO_CODE.test(code))) return undefined;
  if (code.indexOf('E') !== -1 && SCIENTIFIC.test(code)) {
    issues.push(msg.idPrecisionLost(place(plan, src, cell), 'scientific'));
    return undefined;
  }
  if (code.length === 18 && ROUNDED_18.test(code) && !isValidResidentId(code) && !isValidUscc(code)) {
    issues.push(msg.idPrecisionLost(place(plan, src, cell), 'rounded'));
    return undefined;
  }
  return code;
};

function dateIssue(r: DateResult, p: Place, issues: Issue[]): string | undefined {
  if (r.ok) return r.date;
  issues.push(r.kind === 'invalid' ? msg.dateInvalid(p, r.reason) : msg.dateUnparseable(p));
  return undefined;
}

const cleanDateCell: CellCleaner = (cell, src, plan, issues) => {
  if (typeof cell === 'number') return dateIssue(parseDateNumber(cell), place(plan, src, cell), issues);
  if (cell instanceof Date) return dateIssue(parseDateObject(cell), place(plan, src, cell), issues);
  const t = cleanText(String(cell));
  if (t === '' || isPlaceholder(t)) return undefined;
  return dateIssue(parseDateText(t), place(plan, src, cell), issues);
};

/** money cleaner; also records whether the unit was 万元 without the cell saying so (for the 元 check). */
function makeMoneyCell(unitChecks: Set<string>): CellCleaner {
  return (cell, src, plan, issues) => {
    let input: string | number;
    if (typeof cell === 'number') input = cell;
    else {
      const t = cleanText(cellText(cell as NonNullable<CellValue>));
      if (t === '' || isPlaceholder(t)) return undefined;
      input = t;
    }
    const r = parseMoney(input, src.unit ?? plan.field.unit ?? '万元');
    if (!r.ok) {
      const p = place(plan, src, cell);
      issues.push(r.kind === 'negative' ? msg.moneyNegative(p) : msg.moneyUnparseable(p, r.kind === 'chinese'));
      return undefined;
    }
    if (r.unit === '万元' && !r.unitFromCell) unitChecks.add(plan.field.name);
    return r.wan;
  };
}

const cleanEnumCell: CellCleaner = (cell) => {
  const t = cleanText(cellText(cell as NonNullable<CellValue>));
  return t === '' || isPlaceholder(t) ? undefined : t;
};

/** enum-list: the pieces of one cell; several columns are concatenated by the caller. */
const cleanEnumListCell: CellCleaner = (cell) => {
  const t = cleanText(cellText(cell as NonNullable<CellValue>));
  if (t === '' || isPlaceholder(t)) return undefined;
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

function hasReplacementChar(cell: CellValue): boolean {
  return typeof cell === 'string' && cell.indexOf('\uFFFD') !== -1;
}

/** Plans the clean stage for one (catalog, columns, defaults) and returns it as a batch function. */
export function makeCleaner(ctx: StageContext): (rows: Row[]) => StageReport {
  const { catalog } = ctx;
  const moneyUnitChecks = new Set<string>();
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

  return (rows) => {
    const t0 = performance.now();
    let rejected = 0;
    let warnings = 0;
    for (const row of rows) {
      if (hasError(row)) continue; // e.g. a ragged CSV record: already rejected by the reader
      const before = row.issues.length;
      let values = row.values;
      if (isEmpty(values)) {
        values = new Values() as Record<string, unknown>;
        row.values = values;
      }
      const issues = row.issues;
      moneyUnitChecks.clear();
      for (const { plan, clean, list } of plans) {
        let out: unknown;
        for (const src of plan.sources) {
          const cell = src.constant ?? row.cells[src.index];
          if (cell === undefined || cell === null || cell === '') continue;
          if (hasReplacementChar(cell)) {
            issues.push(msg.encodingDamaged(place(plan, src, cell)));
            continue;
          }
          const v = clean(cell, src, plan, issues);
          if (v === undefined) continue;
          if (list) out = out === undefined ? v : (out as string[]).concat(v as string[]);
          else if (out === undefined) out = v; // several columns for one scalar field: the first non-empty wins
        }
        if (out !== undefined) values[plan.field.name] = out;
      }
      if (moneyUnitChecks.size > 0) checkMoneyUnits(row, moneyUnitChecks, contentField, plans);
      for (let i = before; i < issues.length; i++) {
        if ((issues[i] as Issue).severity === 'warning') warnings++;
      }
      if (hasError(row)) rejected++;
    }
    return { rows, counts: { rows: rows.length, rejected, warnings }, ms: performance.now() - t0 };
  };
}

/**
 * A 万元 value that looks like 元: equal to an amount the penalty text gives in 元 (and not to the
 * same amount in 万元), or ≥ 100 万元 with no amount in the text that confirms it.
 */
function checkMoneyUnits(
  row: Row,
  fields: Set<string>,
  contentField: string | undefined,
  plans: Array<{ plan: FieldPlan }>,
): void {
  const content = contentField ? row.values[contentField] : undefined;
  const amounts = typeof content === 'string' ? amountsInText(content) : [];
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
