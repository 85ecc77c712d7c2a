/**
 * normalize: enum cells → canonical code-table values; the subject's category made consistent with
 * its codes (an ID number or org code in the USCC column, a 自然人 with a USCC, …).
 */
import { makeCodeListLookup, makeCodeLookup } from '../src/catalog/code-tables.js';
import type { FieldDef } from '../src/catalog/types.js';
import { isValidOrgCode, isValidResidentId, isValidUscc } from '../src/identifiers/index.js';
import { hasError, plannedStage, type Stage, type StageContext, type StageReport } from '../src/pipeline.js';
import type { ColumnBinding, Issue, Row } from '../src/types.js';
import { msg, type Place } from './messages.js';

/** Canonical subject categories of the 双公示 code table. */
export const CATEGORY = {
  natural: '自然人',
  individualBusiness: '个体工商户',
  organisation: '法人及非法人组织',
} as const;

interface EnumPlan {
  field: FieldDef;
  one?: (text: string) => string | undefined;
  list?: (text: string) => { values: string[]; unknown: string[] };
  allowed: string[];
  freeTextHint?: string;
}

/** Bound cache per lookup: a county file repeats a handful of spellings, NFKC per cell is the cost. */
const MEMO_MAX = 2048;
function memo<T>(f: (text: string) => T): (text: string) => T {
  const m = new Map<string, T>();
  return (text) => {
    let r = m.get(text);
    if (r === undefined && !m.has(text)) {
      r = f(text);
      if (m.size >= MEMO_MAX) m.clear();
      m.set(text, r);
    }
    return r as T;
  };
}

/** First binding of each field: the header a message names. */
export function headerOf(columns: readonly ColumnBinding[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of columns) if (!m.has(c.field)) m.set(c.field, c.header);
  return m;
}

/** Plans the normalize stage once per context. */
export function makeNormalizer(ctx: StageContext): (rows: Row[]) => StageReport {
  const { catalog } = ctx;
  const headers = headerOf(ctx.columns);
  const place = (field: FieldDef, value: unknown): Place => ({ field, header: headers.get(field.name), value });

  const enums: EnumPlan[] = [];
  for (const field of catalog.fields) {
    if (field.clean !== 'enum' && field.clean !== 'enum-list') continue;
    const table = field.codeTable ? catalog.codeTables.get(field.codeTable) : undefined;
    if (!table) continue; // the loader guarantees it; a catalog without it has nothing to map
    const allowed = Object.keys(table.values);
    if (table.freeTextPrefix) allowed.push(`${table.freeTextPrefix}（具体名称）`);
    const plan: EnumPlan = { field, allowed };
    if (field.clean === 'enum') plan.one = memo(makeCodeLookup(table));
    else plan.list = memo(makeCodeListLookup(table));
    enums.push(plan);
  }

  const s = catalog.subject;
  const fUscc = catalog.byName.get(s.uscc);
  const fCategory = catalog.byName.get(s.category);
  const fIdNo = catalog.byName.get(s.idNo);
  const fOrg = catalog.fields.find((f) => f.format === 'org-code');

  return (rows) => {
    const t0 = performance.now();
    let rejected = 0;
    let warnings = 0;
    for (const row of rows) {
      if (hasError(row)) continue;
      const v = row.values;
      const issues = row.issues;
      const before = issues.length;
      for (const e of enums) {
        const raw = v[e.field.name];
        if (raw === undefined) continue;
        if (e.one) {
          const text = raw as string;
          const hit = e.one(text);
          if (hit === undefined) issues.push(msg.codeUnknown(place(e.field, text), text, e.allowed));
          else v[e.field.name] = hit;
        } else if (e.list) {
          const r = e.list((raw as string[]).join('；'));
          for (const u of r.unknown) issues.push(msg.codeUnknown(place(e.field, u), u, e.allowed));
          if (r.unknown.length === 0) v[e.field.name] = r.values.slice(); // the memo shares r between rows
        }
      }
      checkSubject(row, issues);
      for (let i = before; i < issues.length; i++) if ((issues[i] as Issue).severity === 'warning') warnings++;
      if (hasError(row)) rejected++;
    }
    return { rows, counts: { rows: rows.length, rejected, warnings }, ms: performance.now() - t0 };
  };

  /** Codes in the wrong column and categories that contradict the codes (domain.md §7.4). */
  function checkSubject(row: Row, issues: Issue[]): void {
    const v = row.values;
    const uscc = fUscc ? (v[fUscc.name] as string | undefined) : undefined;
    const usccValid = uscc !== undefined && isValidUscc(uscc);
    if (fUscc && uscc !== undefined && !usccValid) {
      if (uscc.length === 18 && isValidResidentId(uscc, ctx.today)) {
        issues.push(msg.wrongColumn(place(fUscc, uscc), '居民身份证号码', fIdNo?.title ?? '证件号码'));
      } else if (uscc.length === 9 && isValidOrgCode(uscc)) {
        issues.push(msg.wrongColumn(place(fUscc, uscc), '组织机构代码', fOrg?.title ?? '组织机构代码'));
      }
    }
    if (fOrg) {
      const org = v[fOrg.name] as string | undefined;
      if (org !== undefined && org.length === 18 && isValidUscc(org)) {
        issues.push(msg.wrongColumn(place(fOrg, org), '统一社会信用代码', fUscc?.title ?? '统一社会信用代码'));
      }
    }
    if (fIdNo) {
      const id = v[fIdNo.name] as string | undefined;
      if (id !== undefined && id.length === 18 && isValidUscc(id) && !isValidResidentId(id, ctx.today)) {
        issues.push(msg.wrongColumn(place(fIdNo, id), '统一社会信用代码', fUscc?.title ?? '统一社会信用代码'));
      }
    }
    if (!fCategory || !fUscc) return;
    const category = v[fCategory.name];
    if (typeof category !== 'string' || uscc === undefined) return;
    if (category === CATEGORY.natural) {
      issues.push(msg.categoryMismatch(place(fCategory, category), category, fUscc.title));
      return;
    }
    if (!usccValid) return;
    // Position 1–2 = 92: registered by market regulation as an individual business (GB 32100).
    const isIndividual = uscc.startsWith('92');
    if (isIndividual && category !== CATEGORY.individualBusiness) {
      issues.push(msg.categorySuspect(place(fCategory, category), category, uscc, CATEGORY.individualBusiness));
    } else if (!isIndividual && category === CATEGORY.individualBusiness) {
      issues.push(msg.categorySuspect(place(fCategory, category), category, uscc, CATEGORY.organisation));
    }
  }
}

/** The normalize stage (plans once per context). */
export const normalize: Stage = plannedStage(makeNormalizer);
