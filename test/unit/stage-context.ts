/** Test helpers for the stage tests: a StageContext on the real catalogs and reference data. */
import { loadCatalogs } from '../../src/catalog/load.js';
import type { StageContext } from '../../src/pipeline.js';
import { loadReference } from '../../src/reference.js';
import type { CellValue, ColumnBinding, CountyDefaults, Row } from '../../src/types.js';

export const catalogs = loadCatalogs();
export const reference = loadReference();

/** Valid codes computed by hand (python, independent of src/identifiers). */
export const CODES = {
  /** 双鸭山市交通运输局-style authority, division 230500. */
  cityAuthority: '11230500MB1D01234E',
  /** 集贤县 authority, division 230521. */
  countyAuthority: '11230521MB1D04566U',
  /** an individual business in 集贤县. */
  individual: '92230521MA1AB2C34U',
  /** a company in 集贤县. */
  company: '91230521MA1CD4E516',
  /** a company in Beijing 朝阳区. */
  beijingCompany: '91110105MA0XY6Y725',
  /** a resident of 集贤县. */
  residentId: '230521198503154211',
} as const;

/** [header, field, unit?] per column, in file order. */
export type ColumnSpec = [string, string] | [string, string, '元' | '万元'];

/** The 21 columns of a typical county penalty export (new template, Chinese headers). */
export const PENALTY_COLUMNS: ColumnSpec[] = [
  ['行政相对人名称', 'subject_name'],
  ['行政相对人类别', 'subject_category'],
  ['统一社会信用代码', 'subject_uscc'],
  ['组织机构代码', 'subject_org_code'],
  ['法定代表人', 'legal_rep_name'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
  ['行政处罚决定书文号', 'decision_doc_no'],
  ['违法行为类型', 'violation_type'],
  ['违法事实', 'violation_facts'],
  ['处罚依据', 'legal_basis'],
  ['处罚类别', 'penalty_types'],
  ['处罚内容', 'penalty_content'],
  ['罚款金额（万元）', 'fine_amount_wan_yuan', '万元'],
  ['处罚决定日期', 'decision_date'],
  ['处罚有效期', 'penalty_valid_until'],
  ['公示截止期', 'publication_end_date'],
  ['处罚机关', 'penalising_authority'],
  ['处罚机关统一社会信用代码', 'penalising_authority_uscc'],
  ['数据来源单位', 'source_unit'],
  ['数据来源单位统一社会信用代码', 'source_unit_uscc'],
];

export function makeCtx(
  catalogId: string,
  spec: ColumnSpec[],
  opts: { county?: string; today?: string; defaults?: CountyDefaults } = {},
): StageContext {
  const columns: ColumnBinding[] = spec.map(([header, field, unit], index) =>
    unit ? { index, header, field, unit } : { index, header, field },
  );
  return {
    catalog: catalogs.get(catalogId),
    county: opts.county ?? '230521',
    today: opts.today ?? '2025-06-30',
    headers: spec.map(([h]) => h),
    columns,
    defaults: opts.defaults ?? {},
    reference,
  };
}

/** A row whose cells are given by field name (unlisted fields stay empty). */
export function rowOf(spec: ColumnSpec[], byField: Record<string, CellValue>, rowNumber = 2): Row {
  const cells: CellValue[] = spec.map(([, field]) => (field in byField ? (byField[field] as CellValue) : null));
  return { prov: { batchId: 'b1', file: 'jixian-2019.csv', rowNumber }, cells, values: {}, issues: [] };
}

/** A clean 双鸭山-style penalty row (domain.md §1.4 sample), as a county would type it. */
export function goodPenalty(): Record<string, CellValue> {
  return {
    subject_name: '集贤县顺达运输有限公司',
    subject_category: '法人及非法人组织',
    subject_uscc: CODES.company,
    legal_rep_name: '王建国',
    decision_doc_no: '集交罚〔2019〕第0123号',
    violation_type: '未按规定携带道路运输证',
    violation_facts: '2019年10月8日，当事人驾驶车辆从事道路货物运输时未随车携带道路运输证。',
    legal_basis: '《中华人民共和国道路运输条例》第六十八条',
    penalty_types: '罚款',
    penalty_content: '罚款2000元',
    fine_amount_wan_yuan: '0.2',
    decision_date: '2019-10-10',
    penalty_valid_until: '2019-10-17',
    publication_end_date: '2020-10-17',
    penalising_authority: '集贤县交通运输局',
    penalising_authority_uscc: CODES.countyAuthority,
    source_unit: '集贤县交通运输局',
    source_unit_uscc: CODES.countyAuthority,
  };
}

export function codes(row: Row): string[] {
  return row.issues.map((i) => i.code).sort();
}

/** Deterministic PRNG (mulberry32), so a randomised test's failure can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
