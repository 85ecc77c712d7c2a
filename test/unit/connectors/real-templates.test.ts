import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../../connectors/open-source.js';
import { loadCatalogs } from '../../../src/catalog/load.js';
import type { Catalog } from '../../../src/catalog/types.js';
import type { GuijiError } from '../../../src/errors.js';
import type { MatchedSheet, RawRecord } from '../../../src/source.js';

/** Templates real provincial systems hand out (see their README): recognised, or refused with a reason. */
const REAL = '/work/shared/reference/real-templates';
let catalogs: Catalog[];
beforeAll(() => {
  catalogs = loadCatalogs().list;
});

async function only(file: string): Promise<{ sheet: MatchedSheet; records: RawRecord[] }> {
  const sheets: { sheet: MatchedSheet; records: RawRecord[] }[] = [];
  for await (const ev of openSource(join(REAL, file), catalogs)) {
    if (ev.kind !== 'sheet') continue;
    const records: RawRecord[] = [];
    for await (const chunk of ev.sheet.records) records.push(...chunk);
    sheets.push({ sheet: ev.sheet, records });
  }
  expect(sheets.length).toBe(1);
  return sheets[0] as { sheet: MatchedSheet; records: RawRecord[] };
}

const bindings = (s: MatchedSheet) => Object.fromEntries(s.columns.map((c) => [c.header, c.field]));

describe('real templates', () => {
  it('js-XK_Template.xlsx: old-template column codes bind to the licence catalog', async () => {
    const { sheet, records } = await only('js-XK_Template.xlsx');
    expect(sheet.catalog.id).toBe('admin-license');
    expect(sheet.sheet).toBe('双公示');
    expect(sheet.headerRow).toBe(1);
    expect(bindings(sheet)).toEqual({
      XK_WSH: 'decision_doc_no',
      XK_XMMC: 'decision_doc_title',
      XK_SPLB: 'licence_category',
      XK_NR: 'licence_content',
      XK_XDR: 'subject_name',
      XK_XDR_SHXYM: 'subject_uscc',
      XK_XDR_ZDM: 'subject_org_code',
      XK_XDR_GSDJ: 'subject_business_reg_no',
      XK_XDR_SWDJ: 'subject_tax_reg_no',
      XK_XDR_SFZ: 'subject_id_no',
      XK_FR: 'legal_rep_name',
      XK_JDRQ: 'decision_date',
      XK_JZQ: 'valid_to',
      XK_XZJG: 'issuing_authority',
      XK_ZT: 'status',
      BZ: 'remarks',
    });
    expect(sheet.unmatched).toEqual(['XK_BM', 'DFBM', 'SJC', 'XK_SYFW']);
    expect(records).toEqual([]);
  });

  it('zj-xzcf.xlsx: header in row 2 from column B binds to the penalty catalog', async () => {
    const { sheet, records } = await only('zj-xzcf.xlsx');
    expect(sheet.catalog.id).toBe('admin-penalty');
    expect(sheet.headerRow).toBe(2);
    expect(sheet.columns[0]).toEqual({ index: 1, header: '处罚决定书文号', field: 'decision_doc_no' });
    expect(bindings(sheet)).toEqual({
      处罚决定书文号: 'decision_doc_no',
      处罚决定书签发日期: 'decision_date',
      违法行为类型: 'violation_type',
      处罚种类: 'penalty_types',
      处罚机关: 'penalising_authority',
      企业名称: 'subject_name',
      注册号: 'subject_business_reg_no',
      统一社会信用代码: 'subject_uscc',
    });
    expect(records.map((r) => r.rowNumber)).toEqual([3]);
    expect(records[0]?.cells[1]).toBe('环处字[2016]0413号');
    expect(records[0]?.cells[2]).toEqual(new Date(Date.UTC(2016, 3, 13)));
  });

  it('zj-xzxk.xlsx: the licence template binds to the licence catalog', async () => {
    const { sheet, records } = await only('zj-xzxk.xlsx');
    expect(sheet.catalog.id).toBe('admin-license');
    expect(sheet.headerRow).toBe(2);
    expect(bindings(sheet)).toEqual({
      许可文件编号: 'decision_doc_no',
      许可文件名称: 'decision_doc_title',
      有效期自: 'valid_from',
      有效期至: 'valid_to',
      许可机关: 'issuing_authority',
      登记状态: 'status',
      企业名称: 'subject_name',
      注册号: 'subject_business_reg_no',
      统一社会信用代码: 'subject_uscc',
    });
    expect(records[0]?.cells[1]).toBe(201312142);
  });

  it.each(['zj-xzcf.xls', 'js-CF_Template.xls'])(
    '%s (legacy BIFF) is refused with how to save as .xlsx',
    async (file) => {
      let error: GuijiError | undefined;
      try {
        for await (const _ of openSource(join(REAL, file), catalogs)) {
          // nothing is yielded
        }
      } catch (e) {
        error = e as GuijiError;
      }
      expect(error?.code).toBe('FILE_NOT_XLSX');
      expect(error?.exitCode).toBe(2);
      expect(error?.zh).toContain('另存为');
      expect(error?.details.file).toBe(file);
    },
  );
});
