/**
 * The issue vocabulary of the stages: one stable code per problem, its severity, and builders for
 * the Chinese message a county clerk reads (what is wrong and how to fix it) and the English one
 * for logs. Stages never write message text themselves.
 */
import type { FieldDef } from '../src/catalog/types.js';
import type { Issue, Severity } from '../src/types.js';

/** Every code a stage may put on a row, with its severity. */
export const ISSUE_SEVERITY = {
  // clean
  ENCODING_DAMAGED: 'error',
  ID_PRECISION_LOST: 'error',
  CODE_STORED_AS_NUMBER: 'warning',
  DATE_UNPARSEABLE: 'error',
  DATE_INVALID: 'error',
  MONEY_UNPARSEABLE: 'error',
  MONEY_NEGATIVE: 'error',
  MONEY_UNIT_SUSPECT: 'warning',
  // normalize
  CODE_UNKNOWN: 'error',
  WRONG_COLUMN: 'error',
  SUBJECT_CATEGORY_MISMATCH: 'error',
  SUBJECT_CATEGORY_SUSPECT: 'warning',
  // validate
  REQUIRED_MISSING: 'error',
  USCC_FORMAT: 'error',
  USCC_CHECKSUM: 'error',
  ORG_CODE_CHECKSUM: 'error',
  ID_NUMBER_INVALID: 'error',
  TOO_LONG: 'error',
  VALUE_INVALID: 'error',
  DATE_IN_FUTURE: 'error',
  DATE_ORDER: 'error',
  USCC_PILOT_CHECKSUM: 'warning',
  USCC_ORG_CHECK: 'warning',
  SUBJECT_OUTSIDE_COUNTY: 'warning',
  // dedup (settled by the warehouse merge over the whole batch)
  DUPLICATE_DIFFERS: 'warning',
  // review round trip (a row carrying the hidden rejection id of an annotated workbook)
  REJECTION_ID_UNKNOWN: 'warning',
} as const satisfies Record<string, Severity>;

export type IssueCode = keyof typeof ISSUE_SEVERITY;

/** Where a value came from, as the clerk sees it. */
export interface Place {
  field: FieldDef;
  /** Header text in the file; undefined when the value came from the county defaults. */
  header: string | undefined;
  /** The original cell. */
  value: unknown;
}

function mk(code: IssueCode, p: Place, zh: string, en: string): Issue {
  const i: Issue = { code, severity: ISSUE_SEVERITY[code], field: p.field.name, zh, en };
  if (p.header !== undefined) i.header = p.header;
  if (p.value !== undefined && p.value !== null && p.value !== '') i.value = p.value;
  return i;
}

/** “‘处罚决定日期’列” or, for a value not read from a column, “数据项‘处罚决定日期’”. */
function where(p: Place): string {
  return p.header !== undefined ? `‘${displayHeader(p.header)}’列` : `数据项‘${p.field.title}’（县级默认配置）`;
}

function whereEn(p: Place): string {
  return p.header !== undefined
    ? `column "${displayHeader(p.header)}" (${p.field.name})`
    : `field ${p.field.name} (county default)`;
}

/** A cell as text for a message (dates from exceljs shown as dates, not as JS Date strings). */
export function show(v: unknown): string {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString().slice(0, 10);
  return String(v);
}

export const msg = {
  encodingDamaged: (p: Place): Issue =>
    mk(
      'ENCODING_DAMAGED',
      p,
      `${where(p)}的值“${show(p.value)}”含有乱码字符“�”，文件的编码被错误转换过。请用 Excel/WPS 另存为“CSV UTF-8”或 .xlsx 后重新上传；若文件是 GBK 编码，可用 --encoding gb18030 指定。`,
      `${whereEn(p)} contains U+FFFD (mis-decoded text); re-save as UTF-8 or pass --encoding`,
    ),

  idPrecisionLost: (p: Place, how: 'scientific' | 'number' | 'rounded'): Issue =>
    mk(
      'ID_PRECISION_LOST',
      p,
      how === 'rounded'
        ? `${where(p)}的值“${show(p.value)}”末三位是 000 且校验不通过：Excel 把长数字只保留了 15 位有效数字，后几位已丢失。请把该列设置为“文本”格式，再按原件重新录入完整号码。`
        : `${where(p)}的值“${show(p.value)}”被 Excel 当成了数字${how === 'scientific' ? '并显示为科学计数法' : ''}，超过 15 位的部分已丢失。请把该列设置为“文本”格式，再按原件重新录入完整号码（不要直接改回格式，丢失的数字无法恢复）。`,
      `${whereEn(p)}: Excel stored the code as a number (${how}); digits beyond 15 are lost`,
    ),

  codeStoredAsNumber: (p: Place, text: string): Issue =>
    mk(
      'CODE_STORED_AS_NUMBER',
      p,
      `${where(p)}的值“${text}”在 Excel 中是数字格式，开头的 0 可能已丢失。请把该列设置为“文本”格式并核对号码。`,
      `${whereEn(p)}: code stored as a number; leading zeros may be lost`,
    ),

  dateUnparseable: (p: Place): Issue =>
    mk(
      'DATE_UNPARSEABLE',
      p,
      `${where(p)}的值“${show(p.value)}”不是可识别的日期，请填写为 YYYY/MM/DD，例如 2019/10/10；长期有效请填 2099/12/31。`,
      `${whereEn(p)}: "${show(p.value)}" is not a date`,
    ),

  dateInvalid: (p: Place, reason: string): Issue =>
    mk(
      'DATE_INVALID',
      p,
      `${where(p)}的值“${show(p.value)}”不是有效日期（${reason}），请填写为 YYYY/MM/DD，例如 2019/10/10。`,
      `${whereEn(p)}: "${show(p.value)}" is not a valid date (${reason})`,
    ),

  moneyUnparseable: (p: Place, chineseNumerals: boolean): Issue =>
    mk(
      'MONEY_UNPARSEABLE',
      p,
      chineseNumerals
        ? `${where(p)}的值“${show(p.value)}”是中文大写金额，请改用阿拉伯数字填写，单位为万元，例如 2000 元填 0.2。`
        : `${where(p)}的值“${show(p.value)}”不是金额，请只填数字，单位为万元，例如 2000 元填 0.2。`,
      `${whereEn(p)}: "${show(p.value)}" is not an amount`,
    ),

  moneyNegative: (p: Place): Issue =>
    mk(
      'MONEY_NEGATIVE',
      p,
      `${where(p)}的值“${show(p.value)}”是负数，金额不能为负，请核对后填写。`,
      `${whereEn(p)}: negative amount`,
    ),

  moneyUnitSuspect: (p: Place, wan: number, why: string): Issue =>
    mk(
      'MONEY_UNIT_SUSPECT',
      p,
      `${where(p)}的值“${show(p.value)}”按万元计为 ${wan} 万元，${why}，可能误填成了“元”。本列单位是万元（2000 元应填 0.2），请核对。`,
      `${whereEn(p)}: ${wan} wan yuan looks like an amount in yuan`,
    ),

  codeUnknown: (p: Place, text: string, allowed: string[]): Issue =>
    mk(
      'CODE_UNKNOWN',
      p,
      `${where(p)}的值“${text}”不在“${p.field.title}”的可选值中，请改为以下之一：${allowed.join('、')}。`,
      `${whereEn(p)}: "${text}" is not one of ${allowed.join(', ')}`,
    ),

  wrongColumn: (p: Place, looksLike: string, target: string): Issue =>
    mk(
      'WRONG_COLUMN',
      p,
      `${where(p)}的值“${show(p.value)}”看起来是${looksLike}，不是“${p.field.title}”。请把它移到“${target}”列，并在本列填写正确的值（没有则留空）。`,
      `${whereEn(p)}: value looks like ${looksLike}; it belongs in ${target}`,
    ),

  categoryMismatch: (p: Place, category: string, usccTitle: string): Issue =>
    mk(
      'SUBJECT_CATEGORY_MISMATCH',
      p,
      `行政相对人类别为“${category}”，但填写了“${usccTitle}”。自然人没有统一社会信用代码：若相对人是企业或个体工商户，请改正类别；若是自然人，请清空该代码并填写证件类型和证件号码。`,
      `subject category "${category}" but a USCC is given`,
    ),

  categorySuspect: (p: Place, category: string, uscc: string, expected: string): Issue =>
    mk(
      'SUBJECT_CATEGORY_SUSPECT',
      p,
      `统一社会信用代码“${uscc}”表明相对人是${expected}，但行政相对人类别填的是“${category}”，请核对。`,
      `USCC ${uscc} suggests ${expected} but category is "${category}"`,
    ),

  requiredMissing: (p: Place, reason: string | undefined, absentColumn: boolean): Issue =>
    mk(
      'REQUIRED_MISSING',
      p,
      `${reason ? `${reason}必须填写“${p.field.title}”` : `“${p.field.title}”是必填项`}${
        absentColumn
          ? `，但文件中没有这一列。请增加“${p.field.title}”列（标准列名 ${p.field.column}）并填写。`
          : `，请在${where(p)}填写。`
      }`,
      `${p.field.name} is required${reason ? ' (conditional)' : ''}${absentColumn ? '; the column is absent' : ''}`,
    ),

  usccFormat: (p: Place, v: string): Issue =>
    mk(
      'USCC_FORMAT',
      p,
      `${where(p)}的值“${v}”不是统一社会信用代码：应为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z），第 3–8 位为行政区划码${
        v.length === 15 ? '。15 位数字可能是旧的工商注册号，请填入“工商注册号”列' : ''
      }。请按营业执照或登记证书核对。`,
      `${whereEn(p)}: "${v}" is not shaped like a USCC`,
    ),

  usccChecksum: (p: Place, v: string, expected: string | undefined): Issue =>
    mk(
      'USCC_CHECKSUM',
      p,
      `${where(p)}的值“${v}”校验位不正确${expected ? `（按前 17 位计算，第 18 位应为“${expected}”）` : ''}，通常是录入错误。请按营业执照或登记证书逐位核对。`,
      `${whereEn(p)}: USCC check character wrong`,
    ),

  orgCodeChecksum: (p: Place, v: string): Issue =>
    mk(
      'ORG_CODE_CHECKSUM',
      p,
      `${where(p)}的值“${v}”不是有效的组织机构代码：应为 8 位本体加 1 位校验码（如 59467239-9），校验不通过。请按组织机构代码证核对；已有统一社会信用代码的可留空。`,
      `${whereEn(p)}: organisation code invalid`,
    ),

  idNumberInvalid: (p: Place, v: string, reason: string): Issue =>
    mk(
      'ID_NUMBER_INVALID',
      p,
      `${where(p)}的值“${v}”不是有效的居民身份证号码（${reason}）。请按身份证逐位核对；若证件不是居民身份证，请改正证件类型。`,
      `${whereEn(p)}: resident ID invalid (${reason})`,
    ),

  tooLong: (p: Place, max: number, len: number): Issue =>
    mk(
      'TOO_LONG',
      p,
      `${where(p)}的内容有 ${len} 个字符，超过了“${p.field.title}”允许的 ${max} 个字符，请精简。`,
      `${whereEn(p)}: ${len} chars, max ${max}`,
    ),

  valueInvalid: (p: Place, detail: string): Issue =>
    mk(
      'VALUE_INVALID',
      p,
      `${where(p)}的值“${show(p.value)}”不符合“${p.field.title}”的要求（${detail}），请核对。`,
      `${whereEn(p)}: ${detail}`,
    ),

  dateInFuture: (p: Place, date: string, today: string): Issue =>
    mk(
      'DATE_IN_FUTURE',
      p,
      `${where(p)}的日期 ${date} 晚于今天（${today}），决定日期不能是将来的日期，请核对。`,
      `${whereEn(p)}: ${date} is after today ${today}`,
    ),

  dateOrder: (p: Place, from: FieldDef, fromDate: string, to: FieldDef, toDate: string): Issue =>
    mk(
      'DATE_ORDER',
      p,
      `“${from.title}”（${fromDate}）晚于“${to.title}”（${toDate}），前者不能晚于后者，请核对两个日期。`,
      `${from.name} ${fromDate} is after ${to.name} ${toDate}`,
    ),

  usccPilot: (p: Place, v: string): Issue =>
    mk(
      'USCC_PILOT_CHECKSUM',
      p,
      `${where(p)}的值“${v}”是 2015 年福建试点时期发放的代码，校验位按国标不通过但确实在用，已接收，请人工确认。`,
      `${whereEn(p)}: known pilot-region USCC that fails the check char`,
    ),

  usccOrgCheck: (p: Place, v: string): Issue =>
    mk(
      'USCC_ORG_CHECK',
      p,
      `${where(p)}的值“${v}”第 9–17 位（组织机构代码部分）校验不通过。少数真实代码如此，已接收，请核对营业执照。`,
      `${whereEn(p)}: organisation-code part fails GB 11714`,
    ),

  outsideCounty: (p: Place, v: string, division: string, divisionName: string | undefined, county: string): Issue =>
    mk(
      'SUBJECT_OUTSIDE_COUNTY',
      p,
      `相对人的统一社会信用代码“${v}”显示其登记机关在 ${division}${divisionName ? `（${divisionName}）` : ''}，不在本批次所属区县 ${county}。已接收，仅供核对：外地主体在本地受罚或办证属正常情况。`,
      `subject registered in ${division}, outside county ${county}`,
    ),
};

/** A header as a clerk reads it in a sentence: line breaks inside the cell (`罚款金额\n（万元）`) folded away. */
export function displayHeader(header: string): string {
  return header.replace(/\s*[\r\n]+\s*/g, '').trim();
}

/** Warning on a duplicate row whose content differed from the row that won (DESIGN.md §2). */
export function duplicateDiffers(winnerRow: number): Issue {
  return {
    code: 'DUPLICATE_DIFFERS',
    severity: ISSUE_SEVERITY.DUPLICATE_DIFFERS,
    value: winnerRow,
    zh: `本行与第 ${winnerRow} 行是同一条记录（决定文书号、机关和相对人相同）但内容不同，已按最后一行（第 ${winnerRow} 行）入库。如本行才是正确的，请修改第 ${winnerRow} 行后重新报送。`,
    en: `duplicate of row ${winnerRow} with different content; the last row (${winnerRow}) was loaded`,
  };
}

/** The hidden rejection id of a row names no open rejection of this catalog and county: a normal row. */
export function rejectionIdUnknown(id: number, header: string): Issue {
  return {
    code: 'REJECTION_ID_UNKNOWN',
    severity: ISSUE_SEVERITY.REJECTION_ID_UNKNOWN,
    header,
    value: id,
    zh: `本行的退回编号 ${id} 不存在、已处理，或不属于本区县的本类数据，本行已按普通数据导入，未关联任何退回记录。如本行是对退回数据的修改，请重新下载最新的退回数据表，在其中修改后报送。`,
    en: `rejection id ${id} is unknown, no longer open, or of another catalog or county; ingested as a normal row`,
  };
}
