import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sniffFile } from '../../../connectors/sniff.js';
import type { GuijiError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'guiji-sniff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const REAL = '/work/shared/reference/real-templates';

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function sniffError(path: string): Promise<GuijiError> {
  try {
    await sniffFile(path);
  } catch (e) {
    return e as GuijiError;
  }
  throw new Error(`sniffFile(${path}) did not throw`);
}

describe('sniffFile', () => {
  it('recognises an .xlsx by its zip bytes', async () => {
    expect(await sniffFile(join(REAL, 'zj-xzcf.xlsx'))).toEqual({ kind: 'xlsx' });
  });

  it('refuses legacy .xls (OLE2) with how to re-save as .xlsx, whatever the extension', async () => {
    for (const p of [join(REAL, 'zj-xzcf.xls'), join(REAL, 'js-CF_Template.xls')]) {
      const e = await sniffError(p);
      expect(e.code).toBe('FILE_NOT_XLSX');
      expect(e.kind).toBe('input');
      expect(e.exitCode).toBe(2);
      expect(e.zh).toContain('另存为');
      expect(e.zh).toContain('Excel 工作簿 (*.xlsx)');
    }
  });

  it('refuses HTML posing as Excel (with BOM and leading blanks)', async () => {
    const html = file(
      '导出.xlsx',
      '\uFEFF\r\n  <html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><table><tr><td>行政相对人名称</td></tr></table></body></html>',
    );
    const e = await sniffError(html);
    expect(e.code).toBe('FILE_NOT_XLSX');
    expect(e.zh).toContain('HTML');
    expect(e.details.file).toBe('导出.xlsx');
    expect((await sniffError(file('t.xls', '<table border=1><tr><td>a</td></tr></table>'))).code).toBe('FILE_NOT_XLSX');
  });

  it('refuses XML Spreadsheet 2003', async () => {
    const xml = file(
      'x.xls',
      '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>',
    );
    const e = await sniffError(xml);
    expect(e.code).toBe('FILE_NOT_XLSX');
    expect(e.zh).toContain('XML');
  });

  it('says an empty file is empty and other binaries unreadable', async () => {
    expect((await sniffError(file('empty.csv', ''))).code).toBe('FILE_EMPTY');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    expect((await sniffError(file('pic.xlsx', png))).code).toBe('FILE_UNREADABLE');
    expect((await sniffError(join(dir, 'missing.csv'))).code).toBe('FILE_UNREADABLE');
  });

  it('takes text as CSV, noting a UTF-16 byte-order mark', async () => {
    expect(await sniffFile(file('a.csv', '行政相对人名称,处罚机关\n'))).toEqual({ kind: 'csv' });
    expect(await sniffFile(file('b.csv', '\uFEFFa,b\n'))).toEqual({ kind: 'csv', bom: 'utf-8' });
    const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('名称\t机关\r\n', 'utf16le')]);
    expect(await sniffFile(file('c.txt', u16))).toEqual({ kind: 'csv', bom: 'utf-16le' });
  });
});
