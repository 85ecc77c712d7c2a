/**
 * Adjustments to exceljs's streaming writer (exceljs 4.4, lib/stream/xlsx/) that keep an annotated
 * workbook flat in memory and readable. They touch its internals, so each checks they are there and
 * otherwise leaves exceljs as it is (the workbook stays correct, only heavier or with small note boxes).
 *
 * 1. Back-pressure on the sheet. exceljs hands each sheet's XML to the zip without ever waiting, so when
 *    compressing (or the reader) is slower than producing rows, the XML piles up in memory. The sheet part
 *    is a plain stream here, piped by the zip like any other, and `settle()` waits while it is full.
 * 2. Notes spilled to disk. A zip is written one entry at a time, and a sheet's notes (xl/commentsN.xml
 *    and its VML drawing) are produced while the sheet itself is still being written: exceljs holds them
 *    in memory until the sheet's entry is done — about 0.7 kB per note, so memory grows with the rows.
 *    They go to a temporary file instead, added to the zip once complete.
 * 3. Note boxes sized to their text. exceljs draws every note 2 columns × 4 rows, which shows about 30
 *    Chinese characters of a message three times as long; the box is made tall enough for its text.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type ExcelJS from 'exceljs';

interface WriterInternals {
  _openStream(name: string): NodeJS.WritableStream;
  zip: { append(source: NodeJS.ReadableStream, opts: { name: string }): void };
}

const SHEET_PART = /(?:^|\/)xl\/worksheets\/sheet\d+\.xml$/;
const NOTE_PARTS = /(?:^|\/)xl\/(?:comments\d+\.xml|drawings\/vmlDrawing\d+\.vml)$/;
// How much of a sheet's XML may wait for the zip before rows stop being produced.
const SHEET_BUFFER = 1 << 20;

/** A sheet part: a stream the zip pipes with back-pressure. exceljs writes its own string buffers to it. */
class SheetPart extends PassThrough {
  constructor() {
    super({ highWaterMark: SHEET_BUFFER });
    // What exceljs's own part stream announces once written (the workbook waits for it on commit).
    this.on('finish', () => this.emit('zipped'));
  }

  override write(
    chunk: unknown,
    encoding?: BufferEncoding | ((error: Error | null | undefined) => void),
    cb?: (error: Error | null | undefined) => void,
  ): boolean {
    // exceljs writes strings, Buffers and its StringBuf (whose toBuffer() returns a fresh copy).
    const data = isStringBuf(chunk) ? chunk.toBuffer() : chunk;
    return typeof encoding === 'function'
      ? super.write(data, encoding)
      : super.write(data, encoding as BufferEncoding, cb);
  }
}

function isStringBuf(v: unknown): v is { toBuffer(): Buffer } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Buffer.isBuffer(v) &&
    typeof (v as { toBuffer?: unknown }).toBuffer === 'function'
  );
}

export interface StreamingAdapter {
  /** Resolves when no sheet part is over its buffer (the zip has caught up). */
  settle(): Promise<void>;
  /** Resolves once every spilled part is in the zip's queue; call after the last sheet is committed. */
  flushed(): Promise<void>;
  /** Removes the temporary files. */
  dispose(): Promise<void>;
}

export async function adaptStreamingWriter(workbook: ExcelJS.stream.xlsx.WorkbookWriter): Promise<StreamingAdapter> {
  const internals = workbook as unknown as WriterInternals;
  if (typeof internals._openStream !== 'function' || typeof internals.zip?.append !== 'function') {
    return { settle: async () => {}, flushed: async () => {}, dispose: async () => {} };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'guiji-notes-'));
  const original = internals._openStream.bind(workbook);
  const pending: Promise<void>[] = [];
  const sheets = new Set<SheetPart>();
  let n = 0;
  internals._openStream = (name: string) => {
    if (SHEET_PART.test(name)) {
      const part = new SheetPart();
      sheets.add(part);
      part.on('finish', () => sheets.delete(part));
      internals.zip.append(part, { name });
      return part;
    }
    if (!NOTE_PARTS.test(name)) return original(name);
    const file = path.join(dir, `part-${++n}`);
    const out = createWriteStream(file);
    pending.push(
      new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        out.on('close', () => {
          internals.zip.append(createReadStream(file), { name });
          resolve();
        });
      }),
    );
    return out;
  };
  return {
    settle: async () => {
      for (const part of sheets) if (part.writableNeedDrain) await once(part, 'drain');
    },
    flushed: async () => {
      await Promise.all(pending);
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

interface NoteModel {
  ref: string;
  anchor?: { left: number; top: number; right: number; bottom: number };
  note?: { texts?: Array<{ text?: string }> };
}

interface SheetInternals {
  _sheetCommentsWriter?: { addComments(comments: NoteModel[]): void };
}

// A box 3 columns wide holds about this many Chinese characters a line (columns are ~14 characters).
const CHARS_PER_LINE = 20;
const MAX_NOTE_ROWS = 30;

/** Makes each note box of a streamed sheet tall enough for its text (3 columns wide, right of the cell). */
export function sizeNotesToText(sheet: ExcelJS.Worksheet): void {
  const writer = (sheet as unknown as SheetInternals)._sheetCommentsWriter;
  if (typeof writer?.addComments !== 'function') return;
  const add = writer.addComments.bind(writer);
  writer.addComments = (comments) => {
    for (const c of comments) {
      const m = /^([A-Z]+)(\d+)$/.exec(c.ref);
      if (!m || c.anchor) continue;
      const col = [...(m[1] as string)].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0);
      const row = Number(m[2]);
      const text = (c.note?.texts ?? []).map((t) => t.text ?? '').join('');
      const lines = text.split('\n').reduce((k, line) => k + Math.max(1, Math.ceil(line.length / CHARS_PER_LINE)), 0);
      // Anchor units: 0-based column and row indexes, as exceljs's own default box (one row above the cell).
      const top = Math.max(row - 2, 0);
      c.anchor = { left: col, top, right: col + 3, bottom: top + Math.min(MAX_NOTE_ROWS, Math.max(4, lines + 1)) };
    }
    add(comments);
  };
}
