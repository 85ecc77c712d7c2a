import { createHash } from 'node:crypto';
import type { Catalog } from '../../src/catalog/types.js';
import type { Row } from '../../src/types.js';

/**
 * Synthetic valid 行政处罚 rows, with key and hash set as the key stage would (the test's own stand-in:
 * key = decision number | authority USCC | subject, hash = sha256 over the catalog fields).
 */
export function penaltyRow(
  catalog: Catalog,
  batchId: string,
  rowNumber: number,
  n: number,
  over: Record<string, unknown> = {},
): Row {
  const values: Record<string, unknown> = {
    subject_name: `某某运输有限公司${n}`,
    subject_category: '法人及非法人组织',
    subject_uscc: `91230100MA${String(n).padStart(7, '0')}X`,
    legal_rep_name: '张三',
    decision_doc_no: `哈交罚〔2024〕${n}号`,
    violation_type: '超限运输',
    violation_facts: `车辆超限 ${n}`,
    legal_basis: '《公路安全保护条例》第三十三条',
    penalty_types: ['罚款'],
    penalty_content: '罚款2000元',
    fine_amount_wan_yuan: 0.2,
    decision_date: '2024-03-01',
    penalty_valid_until: '2025-03-01',
    penalising_authority: '哈尔滨市交通运输综合行政执法支队',
    penalising_authority_uscc: '11230100MB1234567X',
    source_unit: '哈尔滨市交通运输局',
    source_unit_uscc: '11230100001234567A',
    ...over,
  };
  return withKey(catalog, { prov: { batchId, file: 'f.xlsx', sheet: 'S1', rowNumber }, cells: [], values, issues: [] });
}

export function withKey(catalog: Catalog, row: Row): Row {
  const v = row.values;
  row.key = `${v.decision_doc_no}|${v.penalising_authority_uscc}|${v.subject_uscc}`;
  const h = createHash('sha256');
  for (const f of catalog.fields) h.update(`${f.name}=${JSON.stringify(v[f.name] ?? null)}\u0000`);
  row.hash = h.digest('hex');
  return row;
}
