/**
 * The 说明 sheet of an annotated workbook: what the file is, how to fix it and send it back, which
 * batches it covers and which rules the rows broke (with counts), in the clerk's words.
 */
import type ExcelJS from 'exceljs';
import { HEADER_FILL } from '../connectors/xlsx/write-template.js';
import { REJECTION_ID_HEADER } from '../pipelines/rejection-id.js';
import { ruleLabel } from './rule-labels.js';

export const GUIDE_SHEET = '说明';

export interface GuideBatch {
  batchId: string;
  file: string;
  sheet: string | null;
  catalogTitle: string;
  county: string | null;
  /** Name of the data sheet holding this batch's rows. */
  dataSheet: string;
  rows: number;
}

export interface RuleCount {
  code: string;
  /** Rows with at least one issue of this code. */
  rows: number;
  /** The message of the first such issue (ID numbers already masked). */
  example: string;
}

const HOW_TO = [
  '这是什么：本文件列出了报送数据中未通过校验、被退回的行（退回行），列的顺序与您报送的原文件相同。',
  '哪里有错：标红的单元格有问题。把鼠标移到单元格上（或右键“显示批注”）可以看到批注：哪里错了、应该怎么改。整行的问题写在该行第一个单元格的批注中。',
  '怎么修改：直接在本文件中改正标红的单元格；不需要改的单元格请保持原样。暂时无法改正的行可以整行删除，删除的行仍保留为“待处理”，不会丢失。',
  '身份证号等证件号码已脱敏（如 2301**********1234）：保持原样的脱敏号码按系统中的原值处理；若需要更正，请填写完整号码。',
  `不要删除或修改最后一列“${REJECTION_ID_HEADER}”（已隐藏）：系统靠它把修改后的行与原退回记录对应起来。不要删除表头行，不要调整列的顺序，不要插入标题行。`,
  '怎么交回：保存为 Excel 工作簿（.xlsx），然后任选一种方式重新报送：① 在数据复核页面点击“上传文件”；② 命令行 guiji ingest <文件名>；③ 放入本县区的收件箱文件夹。',
  '交回后：改对的行会入库，对应的退回记录自动标记为“已修正”；仍有错误的行会再次退回（不会重复产生新的退回记录），可以再次下载本文件继续修改。',
];

/** Writes the 说明 sheet (the writer commits it). */
export function writeGuide(
  sheet: ExcelJS.Worksheet,
  info: { generatedAt: string; batches: readonly GuideBatch[]; rules: readonly RuleCount[] },
): void {
  sheet.columns = [{ width: 28 }, { width: 36 }, { width: 14 }, { width: 14 }, { width: 12 }, { width: 12 }];
  const title = sheet.addRow(['退回数据修改说明']);
  title.font = { bold: true, size: 14 };
  title.commit();
  sheet.addRow([`生成时间：${info.generatedAt}`]).commit();
  sheet.addRow([]).commit();
  for (const line of HOW_TO) {
    const row = sheet.addRow([line]);
    row.alignment = { wrapText: false, vertical: 'top' };
    row.commit();
  }
  sheet.addRow([]).commit();

  heading(sheet, ['批次编号', '原文件', '原工作表', '信息目录', '区县代码', '退回行数', '所在工作表']);
  for (const b of info.batches) {
    sheet.addRow([b.batchId, b.file, b.sheet ?? '', b.catalogTitle, b.county ?? '', b.rows, b.dataSheet]).commit();
  }
  sheet.addRow([]).commit();

  heading(sheet, ['问题代码', '问题', '涉及行数', '示例说明']);
  for (const r of info.rules) sheet.addRow([r.code, ruleLabel(r.code) ?? '', r.rows, r.example]).commit();
}

function heading(sheet: ExcelJS.Worksheet, titles: string[]): void {
  const row = sheet.addRow(titles);
  row.eachCell((cell) => {
    cell.font = { bold: true };
    cell.fill = HEADER_FILL;
  });
  row.commit();
}
