/**
 * validate: the catalog's JSON Schema (ajv, all errors) plus the cross-field rules that JSON Schema
 * cannot say (dates against today and each other, check characters that only warn, the county).
 */
import type { ErrorObject } from 'ajv';
import { makeCatalogAjv } from '../src/catalog/load.js';
import { compileQuickCheck } from '../src/catalog/quick-check.js';
import type { Catalog, FieldDef } from '../src/catalog/types.js';
import { internalError } from '../src/errors.js';
import {
  isPilotUscc,
  isUsccShape,
  isValidResidentId,
  isValidUscc,
  residentIdBirthDate,
  usccCheckChar,
  usccOrgCodeConsistent,
  usccRegistrationDivision,
} from '../src/identifiers/index.js';
import { hasError, plannedStage, type Stage, type StageContext, type StageReport } from '../src/pipeline.js';
import type { Issue, Row } from '../src/types.js';
import { msg, type Place } from './messages.js';
import { headerOf } from './normalize.js';

/** Keywords that only report that a sub-schema failed; the failing leaf is reported by itself. */
const WRAPPER_KEYWORDS: ReadonlySet<string> = new Set(['if', 'allOf', 'then', 'else', 'not', 'oneOf']);

/** Whether `county` (a 6-digit code; xx00 / xx0000 for a prefecture / province office) covers `division`. */
export function countyCovers(county: string, division: string): boolean {
  if (county === division) return true;
  if (county.endsWith('0000')) return division.startsWith(county.slice(0, 2));
  if (county.endsWith('00')) return division.startsWith(county.slice(0, 4));
  // A county's subject may be registered by the prefecture's office (xxxx00) or its 市辖区 code (xxxx01):
  // the USCC cannot tell which county then, so it is not flagged.
  const pref = county.slice(0, 4);
  return division === `${pref}00` || division === `${pref}01`;
}

/**
 * The yes/no check of each catalog, compiled once per thread: the generated quick check (see
 * catalog/quick-check.ts), or ajv's first-error validator (CatalogAjvOptions.fast) for a schema it
 * cannot compile.
 */
const fastValidators = new WeakMap<Catalog, (record: unknown) => boolean>();
function fastValidator(catalog: Catalog): (record: unknown) => boolean {
  let f = fastValidators.get(catalog);
  if (!f) {
    f =
      compileQuickCheck(catalog.schema, makeCatalogAjv().formats) ??
      makeCatalogAjv({ fast: true }).compile(catalog.schema);
    fastValidators.set(catalog, f);
  }
  return f;
}

/** Plans the validate stage once per context. */
export function makeValidator(ctx: StageContext): (rows: Row[]) => StageReport {
  const { catalog, today } = ctx;
  const headers = headerOf(ctx.columns);
  const place = (field: FieldDef, value: unknown): Place => ({ field, header: headers.get(field.name), value });
  const field = (name: string): FieldDef => {
    const f = catalog.byName.get(name);
    if (!f) throw internalError('CATALOG_FIELD_MISSING', `目录缺少字段 ${name}`, `catalog has no field ${name}`);
    return f;
  };
  const usccFields = catalog.fields.filter((f) => f.format === 'uscc');
  const subjectUscc = catalog.byName.get(catalog.subject.uscc);
  const decision = catalog.byName.get(catalog.decisionDate);
  const dateOrder = catalog.dateOrder.map(([a, b]) => [field(a), field(b)] as const);
  const reasons = conditionReasons(catalog);
  const quick = fastValidator(catalog);
  const covered = coverageOf(ctx.county);

  return (rows) => {
    const t0 = performance.now();
    let rejected = 0;
    let warnings = 0;
    for (const row of rows) {
      if (hasError(row)) continue;
      const issues = row.issues;
      const before = issues.length;
      const v = row.values;
      // clean sets only non-empty catalog fields, so the values are the record ajv checks (no copy).
      // The fast validator accepts only what the full one accepts; the full one names every error.
      const schemaOk = quick(v);
      if (!schemaOk && !catalog.validate(v)) {
        const seen = new Set<string>();
        for (const e of catalog.validate.errors ?? []) {
          const issue = mapAjvError(e, v);
          if (!issue) continue;
          const k = `${issue.code}\u001f${issue.field ?? ''}`;
          if (seen.has(k)) continue;
          seen.add(k);
          issues.push(issue);
        }
      }
      crossFieldRules(v, issues, schemaOk);
      for (let i = before; i < issues.length; i++) if ((issues[i] as Issue).severity === 'warning') warnings++;
      if (hasError(row)) rejected++;
    }
    return { rows, counts: { rows: rows.length, rejected, warnings }, ms: performance.now() - t0 };
  };

  function mapAjvError(e: ErrorObject, record: Record<string, unknown>): Issue | undefined {
    if (WRAPPER_KEYWORDS.has(e.keyword)) return undefined;
    if (e.keyword === 'required') {
      const name = (e.params as { missingProperty: string }).missingProperty;
      const f = field(name);
      return msg.requiredMissing(place(f, undefined), reasons.get(e.schemaPath), !headers.has(name));
    }
    const segs = e.instancePath.split('/');
    const name = segs[1] ?? '';
    const f = catalog.byName.get(name);
    if (!f) {
      throw internalError(
        'VALIDATE_UNMAPPED',
        `校验结果无法对应到字段：${e.instancePath} ${e.message ?? ''}`,
        `ajv error not on a catalog field: ${e.keyword} at "${e.instancePath}" (${e.schemaPath})`,
      );
    }
    const value = record[name];
    // ajv gives no `data` unless verbose: find the offending item (e.g. /penalty_types/1) ourselves.
    const data = segs.length > 2 && Array.isArray(value) ? value[Number(segs[2])] : value;
    const p = place(f, value);
    const text = String(data);
    switch (e.keyword) {
      case 'format': {
        const format = (e.params as { format: string }).format;
        if (format === 'uscc') {
          return isUsccShape(text)
            ? msg.usccChecksum(p, text, usccCheckChar(text.slice(0, 17)))
            : msg.usccFormat(p, text);
        }
        if (format === 'org-code') return msg.orgCodeChecksum(p, text);
        if (format === 'resident-id') return msg.idNumberInvalid(p, text, residentIdReason(text, today));
        return msg.valueInvalid(p, `格式应为 ${format}`);
      }
      case 'maxLength':
        return msg.tooLong(p, (e.params as { limit: number }).limit, [...text].length);
      case 'enum':
      case 'const':
      case 'anyOf':
      case 'pattern':
        if (f.codeTable || e.keyword !== 'pattern') {
          return msg.codeUnknown(place(f, data), text, allowedOf(f, catalog));
        }
        return msg.valueInvalid(p, `格式不符合 ${(e.params as { pattern: string }).pattern}`);
      case 'false schema':
        // The only forbidden property in 双公示: a USCC for a 自然人 (normally caught by normalize).
        return msg.valueInvalid(p, '按行政相对人类别，此项必须为空');
      case 'minimum':
      case 'exclusiveMinimum':
        return msg.valueInvalid(p, `不能小于 ${(e.params as { limit: number }).limit}`);
      case 'additionalProperties':
        throw internalError(
          'VALIDATE_EXTRA_PROPERTY',
          '内部错误：校验对象含有目录以外的字段',
          `record has a property outside the catalog: ${JSON.stringify(e.params)}`,
        );
      default:
        return msg.valueInvalid(p, e.message ?? e.keyword);
    }
  }

  /** `schemaOk`: the quick check accepted the record, so every string in a uscc-format field is a valid USCC. */
  function crossFieldRules(v: Record<string, unknown>, issues: Issue[], schemaOk: boolean): void {
    if (decision) {
      const d = v[decision.name];
      if (typeof d === 'string' && d > today) issues.push(msg.dateInFuture(place(decision, d), d, today));
    }
    for (const [from, to] of dateOrder) {
      const a = v[from.name];
      const b = v[to.name];
      if (typeof a === 'string' && typeof b === 'string' && a > b) {
        issues.push(msg.dateOrder(place(to, b), from, a, to, b));
      }
    }
    for (const f of usccFields) {
      const u = v[f.name];
      if (typeof u !== 'string' || !(schemaOk || isValidUscc(u))) continue;
      if (isPilotUscc(u)) issues.push(msg.usccPilot(place(f, u), u));
      else if (!usccOrgCodeConsistent(u)) issues.push(msg.usccOrgCheck(place(f, u), u));
    }
    if (subjectUscc && ctx.county) {
      const u = v[subjectUscc.name];
      if (typeof u === 'string' && ((schemaOk && subjectUscc.format === 'uscc') || isValidUscc(u)) && !covered(u)) {
        const division = usccRegistrationDivision(u) as string;
        issues.push(
          msg.outsideCounty(place(subjectUscc, u), u, division, ctx.reference.divisions.get(division), ctx.county),
        );
      }
    }
  }
}

/**
 * `countyCovers(county, division of uscc)` for one county, planned once: the division (positions 3–8
 * of a valid USCC) is compared in place instead of sliced out of every row's code.
 */
function coverageOf(county: string): (uscc: string) => boolean {
  if (county.length !== 6) return (u) => countyCovers(county, u.slice(2, 8));
  if (county.endsWith('0000')) {
    const province = county.slice(0, 2);
    return (u) => u.startsWith(province, 2);
  }
  if (county.endsWith('00')) {
    const prefecture = county.slice(0, 4);
    return (u) => u.startsWith(prefecture, 2);
  }
  const prefectureOffice = `${county.slice(0, 4)}00`;
  const cityDistricts = `${county.slice(0, 4)}01`;
  return (u) => u.startsWith(county, 2) || u.startsWith(prefectureOffice, 2) || u.startsWith(cityDistricts, 2);
}

function residentIdReason(s: string, today: string): string {
  if (s.length !== 18 && s.length !== 15) return `应为 18 位，实为 ${s.length} 位`;
  const birth = residentIdBirthDate(s);
  if (birth === undefined) return s.length === 15 || /^\d{17}/.test(s) ? '出生日期不存在' : '含有非数字字符';
  if (s.length === 18 && (birth < '1900-01-01' || birth > today)) return `出生日期 ${birth} 不合理`;
  if (!isValidResidentId(s, today)) return '校验码不正确';
  return '格式不正确';
}

function allowedOf(f: FieldDef, catalog: Catalog): string[] {
  const t = f.codeTable ? catalog.codeTables.get(f.codeTable) : undefined;
  if (!t) return [];
  const out = Object.keys(t.values);
  if (t.freeTextPrefix) out.push(`${t.freeTextPrefix}（具体名称）`);
  return out;
}

/**
 * For each conditional `required` (an `allOf[i].then.required`), the reason a clerk reads,
 * derived from its `if`: “行政相对人类别为“自然人”时”, “处罚类别含“罚款”时”.
 * Keyed by the ajv schemaPath of the `required` keyword.
 */
export function conditionReasons(catalog: Catalog): Map<string, string> {
  const out = new Map<string, string>();
  const allOf = catalog.schema.allOf;
  if (!Array.isArray(allOf)) return out;
  allOf.forEach((branch: unknown, i) => {
    if (!isObject(branch) || !isObject(branch.if)) return;
    const reason = describeIf(branch.if, catalog);
    if (reason) out.set(`#/allOf/${i}/then/required`, reason);
  });
  return out;
}

function describeIf(cond: Record<string, unknown>, catalog: Catalog): string | undefined {
  const props = cond.properties;
  if (!isObject(props)) return undefined;
  const parts: string[] = [];
  const required = Array.isArray(cond.required) ? (cond.required as string[]) : [];
  for (const [name, s] of Object.entries(props)) {
    const title = catalog.byName.get(name)?.title ?? name;
    if (!isObject(s)) {
      // `{ "x": true }` with x required: the condition is that x is filled in.
      if (s === true && required.includes(name)) parts.push(`填写了“${title}”`);
      continue;
    }
    const values = (x: Record<string, unknown>): string | undefined =>
      'const' in x
        ? `“${String(x.const)}”`
        : Array.isArray(x.enum)
          ? x.enum.map((e) => `“${e}”`).join('或')
          : undefined;
    if (isObject(s.contains)) {
      const v = values(s.contains);
      if (v) parts.push(`“${title}”含${v}`);
    } else {
      const v = values(s);
      if (v) parts.push(`“${title}”为${v}`);
    }
  }
  return parts.length > 0 ? `${parts.join('且')}时` : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The validate stage (plans once per context). */
export const validate: Stage = plannedStage(makeValidator);
