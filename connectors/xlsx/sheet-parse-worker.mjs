// Worker thread of parallel-sheet.ts: parses pieces of a worksheet's <sheetData> (cut at </row>) with
// saxes and returns compact typed arrays. Plain JavaScript on purpose: a Worker cannot load a .ts file on
// Node 20, and this file runs unchanged from the sources (vitest) and from dist/ (copied by
// scripts/after-build.mjs).
//
// The cell rules copy exceljs 4.4 lib/stream/xlsx/worksheet-reader.js so values do not change; the few
// quirks (formula results, inline rich text, row styles) are resolved the same way on the main thread.
//
// In:  {kind:'init', styleCode: Int8Array (1 date numFmt, 0 other, -1 no such style), date1904}
//      {kind:'piece', id, buf: ArrayBuffer (transferred), len}
// Out: {id, meta: ArrayBuffer, metaLen, nums: ArrayBuffer, numsLen, extras} or {id, error}
//      meta per row: [numsIndexOfRowNumber, nCells, (col, type, idx) * nCells]. Keep the type codes in
//      step with parallel-sheet.ts.
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

// exceljs's own XML parser (a dependency of exceljs, not of ours).
const { SaxesParser } = createRequire(createRequire(import.meta.url).resolve('exceljs'))('saxes');

const T_SS = 0; // idx: shared-string index (-1: not a number)
const T_NUM = 1; // idx: nums
const T_DATE = 2; // idx: nums (epoch ms)
const T_BOOL = 3; // idx: 0/1
const T_STR = 4; // idx: extras (inline string, t="str")
const T_ERR = 5; // idx: extras
const T_FORMULA = 6; // idx: extras [formula text, result]
const T_FORMULA_NO_V = 7; // idx: extras [formula text]

let styleCode = new Int8Array(0);
let date1904 = false;
const decoder = new TextDecoder('utf-8');

/** exceljs utils.xmlDecode: exceljs decodes again what saxes already decoded (`&amp;lt;` → `<`). */
function xmlDecode(text) {
  if (text.indexOf('&') === -1) return text;
  return text.replace(/&([a-z]*);/g, (c) => {
    switch (c) {
      case '&lt;':
        return '<';
      case '&gt;':
        return '>';
      case '&amp;':
        return '&';
      case '&apos;':
        return "'";
      case '&quot;':
        return '"';
      default:
        return c;
    }
  });
}

/** exceljs colCache: column letters A–Z (with `$`) of a cell reference; 0 if it has none. */
function columnOf(ref) {
  let col = 0;
  for (let i = 0; i < ref.length; i++) {
    const ch = ref.charCodeAt(i);
    if (ch >= 65 && ch <= 90) col = col * 26 + (ch - 64);
    else if (ch !== 36) break;
  }
  return col;
}

function parsePiece(u8) {
  let meta = new Int32Array(Math.max(1024, u8.length >> 3));
  let m = 0;
  let nums = new Float64Array(Math.max(256, u8.length >> 5));
  let n = 0;
  const extras = [];
  const growMeta = () => {
    const x = new Int32Array(meta.length * 2);
    x.set(meta);
    meta = x;
  };
  const pushNum = (v) => {
    if (n === nums.length) {
      const x = new Float64Array(nums.length * 2);
      x.set(nums);
      nums = x;
    }
    nums[n] = v;
    return n++;
  };

  let inRow = false;
  let rowDate = false;
  let rowStart = 0;
  let nCells = 0;
  let rowNumber = Number.NaN;
  let inC = false;
  let cRef;
  let cS = 0;
  let cT;
  let hasF = false;
  let hasV = false;
  let fText = '';
  let vText = '';
  // exceljs appends text to the last opened <f>/<v>/<is>/<t> until the cell closes (never reset at its
  // close tag), so text after </v> inside the cell counts too.
  let current = 0;

  const p = new SaxesParser();
  p.on('opentag', (node) => {
    switch (node.name) {
      case 'row': {
        const a = node.attributes;
        rowNumber = parseInt(a.r, 10); // exceljs: NaN when r is missing
        rowDate = false;
        if (a.s) rowDate = styleCode[parseInt(a.s, 10)] === 1;
        if (m + 2 > meta.length) growMeta();
        rowStart = m;
        meta[m++] = pushNum(rowNumber);
        meta[m++] = 0;
        nCells = 0;
        inRow = true;
        break;
      }
      case 'c':
        if (inRow) {
          const a = node.attributes;
          inC = true;
          cRef = a.r;
          cS = parseInt(a.s, 10);
          cT = a.t;
          hasF = false;
          hasV = false;
          current = 0;
        }
        break;
      case 'f':
        if (inC) {
          hasF = true;
          fText = '';
          current = 1;
        }
        break;
      case 'v':
      case 'is':
      case 't':
        // each <t> of rich inline text starts the value again: exceljs keeps the last run only
        if (inC) {
          hasV = true;
          vText = '';
          current = 2;
        }
        break;
    }
  });
  p.on('text', (t) => {
    if (current === 2) vText += t;
    else if (current === 1) fText += t;
  });
  p.on('closetag', (node) => {
    switch (node.name) {
      case 'row':
        if (inRow) {
          meta[rowStart + 1] = nCells;
          inRow = false;
        }
        break;
      case 'c': {
        if (!inC) break;
        inC = false;
        current = 0;
        // exceljs fails on a cell without a usable reference (colCache.decodeAddress)
        const col = typeof cRef === 'string' ? columnOf(cRef) : 0;
        if (col === 0) throw new Error(`cell without a column reference in row ${rowNumber}`);
        let type = -1;
        let idx = 0;
        if (hasF) {
          idx = extras.length;
          extras.push(fText);
          if (hasV) {
            type = T_FORMULA;
            extras.push(cT === 'str' ? xmlDecode(vText) : parseFloat(vText));
          } else type = T_FORMULA_NO_V;
        } else if (hasV) {
          switch (cT) {
            case 's':
              type = T_SS;
              idx = parseInt(vText, 10);
              if (!(idx >= 0 && idx <= 0x7fffffff)) idx = -1;
              break;
            case 'inlineStr':
            case 'str':
              type = T_STR;
              idx = extras.length;
              extras.push(xmlDecode(vText));
              break;
            case 'e':
              type = T_ERR;
              idx = extras.length;
              extras.push(vText);
              break;
            case 'b':
              type = T_BOOL;
              idx = parseInt(vText, 10) !== 0 ? 1 : 0;
              break;
            default: {
              // a cell's own style counts only if s is truthy and exists; otherwise the row's style
              let date = rowDate;
              if (cS) {
                const code = styleCode[cS];
                if (code !== undefined && code >= 0) date = code === 1;
              }
              const v = parseFloat(vText);
              if (date) {
                type = T_DATE;
                // exceljs utils.excelToDate, same arithmetic
                idx = pushNum(Math.round((v - 25569 + (date1904 ? 1462 : 0)) * 24 * 3600 * 1000));
              } else {
                type = T_NUM;
                idx = pushNum(v);
              }
            }
          }
        }
        if (type >= 0) {
          if (m + 3 > meta.length) growMeta();
          meta[m++] = col;
          meta[m++] = type;
          meta[m++] = idx;
          nCells++;
        }
        break;
      }
    }
  });
  let error = null;
  p.on('error', (e) => {
    error ??= e;
  });
  p.write('<sheetData>');
  if (!error) p.write(decoder.decode(u8));
  if (!error) p.write('</sheetData>');
  if (!error) p.close();
  if (error) throw new Error(`${error.message} (worksheet XML near row ${rowNumber})`);
  return { meta, m, nums, n, extras };
}

parentPort?.on('message', (msg) => {
  if (msg.kind === 'init') {
    styleCode = msg.styleCode;
    date1904 = msg.date1904;
    return;
  }
  let r;
  try {
    r = parsePiece(new Uint8Array(msg.buf, 0, msg.len));
  } catch (e) {
    parentPort.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  parentPort.postMessage(
    { id: msg.id, meta: r.meta.buffer, metaLen: r.m, nums: r.nums.buffer, numsLen: r.n, extras: r.extras },
    [r.meta.buffer, r.nums.buffer],
  );
});
