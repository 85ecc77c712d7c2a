import ExcelJS from 'exceljs';
import type { Catalog, CodeTable, FieldDef } from '../../src/catalog/types.js';

/** Options for {@link writeTemplate}. */
export interface TemplateOptions {
  /** Division code of the county the template is for (shown in the instructions). */
  county?: string;
  /** County defaults by field name (e.g. source_unit): shown to the clerk as what to fill in. */
  defaults?: Record<string, string>;
}

/** Rows below the header that get formats and drop-downs: a county file rarely has more. */
export const TEMPLATE_ROWS = 2000;
/** Name of the instructions sheet. */
export const INSTRUCTIONS_SHEET = '填写说明';
/** Name of the hidden sheet holding the drop-down lists. */
export const LISTS_SHEET = '代码表';

export const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFDDEBF7' } };
const REQUIRED_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFCE4D6' } };
export const DATE_FORMAT = 'yyyy/mm/dd';
const MONEY_FORMAT = '0.000000';
// Excel shows "####" for a text-formatted cell over 255 characters, so long free text stays General.
const TEXT_FORMAT_MAX_LENGTH = 255;

type Requirement = { kind: 'required' } | { kind: 'conditional'; when: string[] } | { kind: 'optional' };

/**
 * Write the Excel template a county fills in for one catalog: a data sheet named after the catalog
 * title with the header row (required items marked `*`, the standard column code in each header's
 * note), text format on code columns so Excel cannot turn IDs into `2.30102E+17`, date and money
 * formats, drop-downs from the code tables, and a `填写说明` sheet with one row per item.
 */
export async function writeTemplate(catalog: Catalog, outPath: string, opts: TemplateOptions = {}): Promise<void> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'guiji';
  workbook.title = `${catalog.title}数据填报模板`;
  const requirements = describeRequirements(catalog);

  // Tab order: data first (opens on it), instructions, the hidden lists last.
  const data = workbook.addWorksheet(catalog.title, { views: [{ state: 'frozen', ySplit: 1 }] });
  const instructions = workbook.addWorksheet(INSTRUCTIONS_SHEET);
  const listRefs = writeLists(workbook.addWorksheet(LISTS_SHEET, { state: 'hidden' }), catalog);

  const header = data.getRow(1);
  catalog.fields.forEach((field, i) => {
    const col = data.getColumn(i + 1);
    col.width = columnWidth(field);
    const cell = header.getCell(i + 1);
    cell.value = headerTitle(field);
    cell.note = headerNote(field, requirements.get(field.name), opts.defaults?.[field.name]);
    cell.font = { bold: true };
    cell.fill = field.required ? REQUIRED_FILL : HEADER_FILL;
    cell.alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
    cell.border = { bottom: { style: 'thin' } };
    formatDataCells(data, field, i + 1, listRefs);
  });
  header.height = 36;

  writeInstructions(instructions, catalog, requirements, opts);
  await workbook.xlsx.writeFile(outPath);
}

/** Header text: title, `*` for required items, the unit for money when the title lacks it. */
export function headerTitle(field: FieldDef): string {
  const unit = field.unit && !field.title.includes(field.unit) ? `（${field.unit}）` : '';
  return `${field.required ? '*' : ''}${field.title}${unit}`;
}

function headerNote(field: FieldDef, req: Requirement | undefined, countyDefault: string | undefined): string {
  const lines = [field.column, requirementText(req), formatText(field)];
  if (countyDefault) lines.push(`本县填写：${countyDefault}`);
  return lines.join('\n');
}

function columnWidth(field: FieldDef): number {
  if (field.clean === 'date') return 14;
  if (field.clean === 'money') return 16;
  if (field.clean === 'code') return 22;
  if ((field.maxLength ?? 0) > 500) return 40;
  return Math.min(30, Math.max(12, field.title.length * 2 + 2));
}

/** Text format keeps codes (and short text such as 文号) exactly as typed. */
export function isTextFormatted(field: FieldDef): boolean {
  if (field.clean === 'code' || field.clean === 'enum' || field.clean === 'enum-list') return true;
  return field.clean === 'text' && (field.maxLength ?? Number.POSITIVE_INFINITY) <= TEXT_FORMAT_MAX_LENGTH;
}

function formatDataCells(sheet: ExcelJS.Worksheet, field: FieldDef, col: number, listRefs: Map<string, ListRef>): void {
  const numFmt =
    field.clean === 'date'
      ? DATE_FORMAT
      : field.clean === 'money'
        ? MONEY_FORMAT
        : isTextFormatted(field)
          ? '@'
          : undefined;
  // A column style alone is not applied by every office suite to cells that do not exist yet, so
  // the cells of the data rows carry the format themselves.
  if (numFmt) {
    sheet.getColumn(col).numFmt = numFmt;
    for (let r = 2; r <= TEMPLATE_ROWS + 1; r++) sheet.getCell(r, col).numFmt = numFmt;
  }
  const letter = sheet.getColumn(col).letter;
  const range = `${letter}2:${letter}${TEMPLATE_ROWS + 1}`;
  const validation = fieldValidation(field, listRefs);
  if (validation) (sheet as unknown as WithValidations).dataValidations.add(range, validation);
}

interface WithValidations {
  dataValidations: { add(address: string, validation: ExcelJS.DataValidation): void };
}

function fieldValidation(field: FieldDef, listRefs: Map<string, ListRef>): ExcelJS.DataValidation | undefined {
  if (field.clean === 'money') {
    return {
      type: 'decimal',
      operator: 'greaterThanOrEqual',
      formulae: [0],
      allowBlank: true,
      showErrorMessage: true,
      errorStyle: 'warning',
      errorTitle: '金额',
      error: `请填写数字，单位${field.unit ?? '万元'}（2000元填 0.2）`,
    };
  }
  const list = field.codeTable ? listRefs.get(field.codeTable) : undefined;
  if (!list) return undefined;
  const multi = field.clean === 'enum-list';
  return {
    type: 'list',
    formulae: [list.ref],
    allowBlank: true,
    showInputMessage: true,
    promptTitle: field.title,
    prompt: multi ? '从列表选择；多个值请手工输入，用英文分号;分隔' : '请从下拉列表中选择',
    showErrorMessage: true,
    // Several values or a free-text 其他-… are legal, so those columns warn instead of refusing.
    errorStyle: multi || list.freeText ? 'warning' : 'stop',
    errorTitle: field.title,
    error: multi ? '多个值用英文分号;分隔，每个值须为列表中的值' : '请从下拉列表中选择',
  };
}

/** A drop-down's source: an absolute range on the lists sheet; free text (其他-…) allowed or not. */
interface ListRef {
  ref: string;
  freeText: boolean;
}

/** One column per code table used by the catalog; returns code table id → its list. */
function writeLists(sheet: ExcelJS.Worksheet, catalog: Catalog): Map<string, ListRef> {
  const refs = new Map<string, ListRef>();
  let col = 0;
  for (const field of catalog.fields) {
    const id = field.codeTable;
    if (!id || refs.has(id)) continue;
    const table = catalog.codeTables.get(id);
    if (!table) continue;
    col++;
    const values = Object.keys(table.values);
    // Not the bare title: a row of catalog titles here would look like a header to the reader.
    sheet.getCell(1, col).value = `${table.title}可选值`;
    values.forEach((v, i) => {
      const cell = sheet.getCell(i + 2, col);
      cell.numFmt = '@';
      cell.value = v;
    });
    const letter = sheet.getColumn(col).letter;
    refs.set(id, {
      ref: `'${LISTS_SHEET}'!$${letter}$2:$${letter}$${values.length + 1}`,
      freeText: table.freeTextPrefix !== undefined,
    });
  }
  return refs;
}

// ---- requirements, read from the catalog's JSON Schema ----

interface SchemaRule {
  if?: { properties?: Record<string, SchemaCondition>; required?: string[] };
  then?: { required?: string[]; not?: { required?: string[] } };
}
interface SchemaCondition {
  const?: unknown;
  enum?: unknown[];
  contains?: { const?: unknown; enum?: unknown[] };
}

/** Field name → required / conditional (with the conditions in Chinese) / optional. */
export function describeRequirements(catalog: Catalog): Map<string, Requirement> {
  const when = new Map<string, string[]>();
  const forbidden = new Map<string, string[]>();
  const rules = (catalog.schema.allOf as SchemaRule[] | undefined) ?? [];
  for (const rule of rules) {
    const condition = conditionText(catalog, rule.if);
    if (!condition) continue;
    for (const name of rule.then?.required ?? []) push(when, name, condition);
    for (const name of rule.then?.not?.required ?? []) push(forbidden, name, condition);
  }
  const out = new Map<string, Requirement>();
  for (const field of catalog.fields) {
    const conds = when.get(field.name);
    const nots = (forbidden.get(field.name) ?? []).map((c) => `${c}时不填`);
    if (field.required) out.set(field.name, { kind: 'required' });
    else if (conds) out.set(field.name, { kind: 'conditional', when: [...conds.map((c) => `${c}时必填`), ...nots] });
    else out.set(field.name, { kind: 'optional' });
  }
  return out;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function conditionText(catalog: Catalog, cond: SchemaRule['if']): string | undefined {
  if (!cond) return undefined;
  const parts: string[] = [];
  for (const [name, c] of Object.entries(cond.properties ?? {})) {
    const title = catalog.byName.get(name)?.title ?? name;
    if (c.const !== undefined) parts.push(`${title}为「${String(c.const)}」`);
    else if (c.enum) parts.push(`${title}为${c.enum.map((v) => `「${String(v)}」`).join('或')}`);
    else if (c.contains?.const !== undefined) parts.push(`${title}含「${String(c.contains.const)}」`);
    else if (c.contains?.enum) parts.push(`${title}含${c.contains.enum.map((v) => `「${String(v)}」`).join('或')}`);
  }
  if (parts.length === 0) {
    // `if: { required: [x] }` alone means "when x is filled in".
    const filled = (cond.required ?? []).map((n) => catalog.byName.get(n)?.title ?? n);
    if (filled.length > 0) parts.push(`填写了${filled.join('、')}`);
  }
  return parts.length > 0 ? `当${parts.join('且')}` : undefined;
}

function requirementText(req: Requirement | undefined): string {
  if (!req || req.kind === 'optional') return '选填';
  if (req.kind === 'required') return '必填';
  return `条件必填：${req.when.join('；')}`;
}

// ---- instructions sheet ----

function formatText(field: FieldDef): string {
  const personal = field.personal ? '；仅共享不公示' : '';
  switch (field.clean) {
    case 'date':
      return `日期，格式 YYYY/MM/DD（如 2024/03/15）；长期有效填 2099/12/31${personal}`;
    case 'money':
      return `数字，单位${field.unit ?? '万元'}，最多6位小数（2000元填 0.2），不带“元”字${personal}`;
    case 'enum':
      return `从下拉列表选择一个值${personal}`;
    case 'enum-list':
      return `从可选值中选择，可填多个，用英文分号;分隔（如 警告;罚款）${personal}`;
    case 'code': {
      const what =
        field.format === 'uscc'
          ? '18位统一社会信用代码'
          : field.format === 'org-code'
            ? '9位组织机构代码（可带连字符，如 59467239-9）'
            : field.format === 'resident-id' || field.personal
              ? '证件号码（身份证18位，末位可为X）'
              : '代码';
      return `${what}，以文本格式填写，勿用科学计数法${personal}`;
    }
    default:
      return `文本${field.maxLength ? `，不超过${field.maxLength}个字` : ''}${personal}`;
  }
}

function choicesText(table: CodeTable | undefined): string {
  if (!table) return '';
  return Object.entries(table.values)
    .map(([value, spellings]) => {
      // Numeric canonical codes (当前状态 1/2) mean nothing to a clerk without their word.
      const word = /^\d+$/.test(value) ? spellings.find((s) => !/^\d+$/.test(s)) : undefined;
      return word ? `${value}（${word}）` : value;
    })
    .join('；')
    .concat(table.freeTextPrefix ? `；或「${table.freeTextPrefix}名称」` : '');
}

const GENERAL_NOTES = [
  '1. 保留第一行表头，不要修改、删除或调换表头；不要在表头上方插入标题行。',
  '2. 每行填写一条记录；不要合并单元格，不要插入小计、空行或备注行。',
  '3. 带 * 的列为必填项；“条件必填”的列在说明的条件成立时必填。',
  '4. 日期一律按 YYYY/MM/DD 填写；长期有效填 2099/12/31。',
  '5. 金额单位为万元，保留最多6位小数（例如罚款2000元填 0.2）。',
  '6. 统一社会信用代码、组织机构代码、证件号码、文书号等代码列已设为文本格式，请勿改为数值格式，以免长数字变成科学计数法。',
  '7. 有下拉列表的列请从列表中选择；处罚类别等可填多个值的列用英文分号;分隔。',
  '8. 保存为 Excel 工作簿（.xlsx），不要另存为 .xls、.csv 或网页格式。',
];

function writeInstructions(
  sheet: ExcelJS.Worksheet,
  catalog: Catalog,
  requirements: Map<string, Requirement>,
  opts: TemplateOptions,
): void {
  sheet.columns = [
    { header: '序号', width: 6 },
    { header: '数据项', width: 30 },
    { header: '标准字段', width: 16 },
    { header: '是否必填', width: 28 },
    { header: '格式要求', width: 48 },
    { header: '可选值', width: 48 },
  ];
  const head = sheet.getRow(1);
  head.font = { bold: true };
  head.fill = HEADER_FILL;
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
  catalog.fields.forEach((field, i) => {
    const defaultValue = opts.defaults?.[field.name];
    const format = formatText(field) + (defaultValue ? `；本县填写：${defaultValue}` : '');
    const table = field.codeTable ? catalog.codeTables.get(field.codeTable) : undefined;
    const row = sheet.addRow([
      i + 1,
      headerTitle(field),
      field.column,
      requirementText(requirements.get(field.name)),
      format,
      choicesText(table),
    ]);
    row.alignment = { vertical: 'top', wrapText: true };
  });
  sheet.addRow([]);
  sheet.addRow(['', '填写注意事项']).font = { bold: true };
  const notes = opts.county
    ? [...GENERAL_NOTES, `9. 本模板适用于行政区划代码 ${opts.county} 的报送单位。`]
    : GENERAL_NOTES;
  for (const note of notes) sheet.addRow(['', note]);
}
