/**
 * Short Chinese names of the rules a row can fail, for the review page's facets ("按规则筛选").
 * The full message a clerk reads stays on each issue (pipelines/messages.ts); this is only the label.
 */
import type { ISSUE_SEVERITY } from '../pipelines/messages.js';

type ErrorCode = {
  [K in keyof typeof ISSUE_SEVERITY]: (typeof ISSUE_SEVERITY)[K] extends 'error' ? K : never;
}[keyof typeof ISSUE_SEVERITY];

/** Every error code of the stages must have a label (a new code fails the typecheck until it has one). */
const STAGE_LABELS = {
  ENCODING_DAMAGED: '文字乱码（编码错误）',
  ID_PRECISION_LOST: '长号码被 Excel 截断',
  DATE_UNPARSEABLE: '日期无法识别',
  DATE_INVALID: '日期不存在',
  MONEY_UNPARSEABLE: '金额无法识别',
  MONEY_NEGATIVE: '金额为负数',
  CODE_UNKNOWN: '不在可选值中',
  WRONG_COLUMN: '填错了列',
  SUBJECT_CATEGORY_MISMATCH: '相对人类别与代码矛盾',
  REQUIRED_MISSING: '必填项为空',
  USCC_FORMAT: '统一社会信用代码格式错误',
  USCC_CHECKSUM: '统一社会信用代码校验位错误',
  ORG_CODE_CHECKSUM: '组织机构代码无效',
  ID_NUMBER_INVALID: '身份证号码无效',
  TOO_LONG: '内容超长',
  VALUE_INVALID: '值不符合要求',
  DATE_IN_FUTURE: '日期晚于今天',
  DATE_ORDER: '日期先后顺序错误',
} as const satisfies Record<ErrorCode, string>;

/** Problems the readers put on a record (connectors/csv, connectors/http). */
const READER_LABELS: Readonly<Record<string, string>> = {
  ROW_RAGGED: '列数与表头不一致',
  CSV_MALFORMED: '引号不成对，无法分列',
  SOURCE_ITEM_NOT_OBJECT: '接口返回的记录格式错误',
};

/** The label of a rule code, or undefined for a code this table does not know. */
export function ruleLabel(code: string): string | undefined {
  return (STAGE_LABELS as Readonly<Record<string, string>>)[code] ?? READER_LABELS[code];
}
