import { describe, expect, it } from 'vitest';
import type { CsvDialect } from '../../../connectors/csv/dialect.js';
import { byteScanSafe, scanRecordBounds } from '../../../connectors/csv/record-bounds.js';

const LF: CsvDialect = { delimiter: ',', newline: '\n' };
const CRLF: CsvDialect = { delimiter: ',', newline: '\r\n' };
const CR: CsvDialect = { delimiter: ';', newline: '\r' };

function scan(text: string | Buffer, dialect = LF) {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return scanRecordBounds(buf, buf.length, dialect);
}

describe('scanRecordBounds', () => {
  it('counts records and stops after the last complete one', () => {
    const text = 'a,b\n1,2\n3,';
    expect(scan(text)).toEqual({ end: 8, records: 2, irregular: false });
  });

  it('counts empty lines as records (the splitter numbers them too)', () => {
    expect(scan('\n\na,b\n')).toEqual({ end: 6, records: 3, irregular: false });
  });

  it('does not end a record at a line break inside quotes, doubled quotes included', () => {
    const text = '"x\ny","he said ""hi""\n",3\n4,5,6\n';
    expect(scan(text)).toEqual({ end: Buffer.byteLength(text), records: 2, irregular: false });
  });

  it('treats a quote inside an unquoted field as text', () => {
    expect(scan('a"b,c\n1,2\n')).toEqual({ end: 10, records: 2, irregular: false });
  });

  it('leaves a quoted field that runs past the buffer for the next one', () => {
    expect(scan('a,b\n"open\nstill open')).toEqual({ end: 4, records: 1, irregular: false });
    // The closing quote is the last byte: what follows it is not known yet.
    expect(scan('a,b\n"x"')).toEqual({ end: 4, records: 1, irregular: false });
  });

  it('reports a closing quote followed by anything but a delimiter or line break as irregular', () => {
    expect(scan('a,b\n"x" ,y\n1,2\n')).toEqual({ end: 4, records: 1, irregular: true });
    expect(scan('"x"y,z\n')).toEqual({ end: 0, records: 0, irregular: true });
  });

  it('CRLF: only CR LF ends a record; a lone LF or CR is text', () => {
    const text = 'a,b\r\nc\nd,e\rf\r\n"q\r\n",1\r\n';
    expect(scan(text, CRLF)).toEqual({ end: Buffer.byteLength(text), records: 3, irregular: false });
    // After a closing quote, a lone LF is not this file's line break.
    expect(scan('"x"\ny\r\n', CRLF)).toEqual({ end: 0, records: 0, irregular: true });
    // A CR at the very end may be the first half of the line break.
    expect(scan('a,b\r\n"x"\r', CRLF)).toEqual({ end: 5, records: 1, irregular: false });
  });

  it('CR-only files and other delimiters', () => {
    expect(scan('a;"b;c"\r1;2\r', CR)).toEqual({ end: 12, records: 2, irregular: false });
  });

  it('finds record ends in GB18030 bytes without decoding them', () => {
    const iconvLike = Buffer.from([
      // "处罚,罚款\n" in GB18030: 处 B4A6 罚 B7A3 , 罚 B7A3 款 BFEE \n
      0xb4, 0xa6, 0xb7, 0xa3, 0x2c, 0xb7, 0xa3, 0xbf, 0xee, 0x0a, 0x31, 0x2c, 0x32,
    ]);
    expect(scan(iconvLike)).toEqual({ end: 10, records: 1, irregular: false });
    expect(byteScanSafe('gb18030')).toBe(true);
    expect(byteScanSafe('utf-8')).toBe(true);
    expect(byteScanSafe('utf-16le')).toBe(false);
    expect(byteScanSafe('big5')).toBe(false);
  });
});
