import { describe, expect, it } from 'vitest';
import type { CsvDialect } from '../../../connectors/csv/dialect.js';
import { byteScanSafe, scanRecordBounds, scanRecordSlices } from '../../../connectors/csv/record-bounds.js';

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

/**
 * The rules of scanRecordBounds walked byte by byte (how it was first written): the oracle for the
 * faster scan, which jumps between quotes and line breaks with indexOf.
 */
function byteByByte(buf: Uint8Array, dialect: CsvDialect) {
  const delim = dialect.delimiter.charCodeAt(0);
  const crlf = dialect.newline === '\r\n';
  const eol = dialect.newline === '\r' ? 0x0d : 0x0a;
  let end = 0;
  let records = 0;
  let i = 0;
  let fieldStart = true;
  while (i < buf.length) {
    const c = buf[i] as number;
    if (fieldStart && c === 0x22) {
      let j = i + 1;
      while (j < buf.length && !(buf[j] === 0x22 && buf[j + 1] !== 0x22)) j += buf[j] === 0x22 ? 2 : 1;
      if (j >= buf.length - 1) return { end, records, irregular: false };
      const after = buf[j + 1];
      if (after === delim) i = j + 2;
      else if (after === eol && !crlf) {
        records++;
        end = i = j + 2;
      } else if (crlf && after === 0x0d && j + 2 >= buf.length) return { end, records, irregular: false };
      else if (crlf && after === 0x0d && buf[j + 2] === 0x0a) {
        records++;
        end = i = j + 3;
      } else return { end, records, irregular: true };
      fieldStart = true;
      continue;
    }
    fieldStart = false;
    if (c === delim) fieldStart = true;
    else if (c === eol && (!crlf || buf[i - 1] === 0x0d)) {
      records++;
      end = i + 1;
      fieldStart = true;
    }
    i++;
  }
  return { end, records, irregular: false };
}

describe('scanRecordBounds against a byte-by-byte walk', () => {
  it('agrees on random texts of quotes, delimiters, line breaks and CJK bytes, in every dialect', () => {
    let seed = 20261127;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const pieces = ['a', '中', ',', ';', '"', '""', '\n', '\r', '\r\n', 'x,y', '"q"'];
    for (const dialect of [LF, CRLF, CR]) {
      for (let n = 0; n < 3000; n++) {
        let text = '';
        const len = next() % 40;
        for (let k = 0; k < len; k++) text += pieces[next() % pieces.length];
        const buf = Buffer.from(text, 'utf8');
        expect(scanRecordBounds(buf, buf.length, dialect), JSON.stringify(text)).toEqual(byteByByte(buf, dialect));
      }
    }
  });
});

describe('scanRecordSlices', () => {
  const texts: Array<[string, CsvDialect]> = [
    ['a,b\n1,2\n3,', LF],
    ['\n\na,b\n', LF],
    ['"x\ny","he said ""hi""\n",3\n4,5,6\n', LF],
    ['a,b\n"x" ,y\n1,2\n', LF],
    ['a,b\r\nc\nd,e\rf\r\n"q\r\n",1\r\n', CRLF],
    ['a;"b;c"\r1;2\r', CR],
    [`${'x'.repeat(40)},"${'long\n'.repeat(12)}"\n1,2\n3,4\n"unfinished`, LF],
  ];

  it('finds what one scan finds, window by window, for any window size', () => {
    for (const [text, dialect] of texts) {
      const buf = Buffer.from(text, 'utf8');
      const whole = scanRecordBounds(buf, buf.length, dialect);
      for (let size = 1; size <= buf.length + 1; size++) {
        const { slices, ...bounds } = scanRecordSlices(buf, buf.length, dialect, size);
        expect(bounds, `${JSON.stringify(text)} in windows of ${size}`).toEqual(whole);
        // Every slice ends at a record end, in order, the last at the end of the complete records.
        expect(slices.at(-1) ?? 0).toBe(whole.end);
        let from = 0;
        for (const end of slices) {
          expect(end).toBeGreaterThan(from);
          expect(scanRecordBounds(buf.subarray(from, end), end - from, dialect).end).toBe(end - from);
          from = end;
        }
      }
    }
  });

  it('cuts a long buffer into pieces of about the window (a record longer than it is one piece)', () => {
    const row = '张三,91350100M000100Y0A,闽交罚〔2024〕1号\n'; // 51 bytes
    const buf = Buffer.from(row.repeat(100) + `"${'长'.repeat(100)}"\n` + row.repeat(10), 'utf8');
    const { slices, records } = scanRecordSlices(buf, buf.length, LF, 256);
    expect(records).toBe(111);
    const sizes = slices.map((end, i) => end - (slices[i - 1] ?? 0));
    expect(sizes.slice(0, 19).every((n) => n > 256 - Buffer.byteLength(row) && n <= 256)).toBe(true);
    expect(Math.max(...sizes)).toBeGreaterThan(300); // the 303-byte quoted record
  });
});
