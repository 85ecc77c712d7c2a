import Papa from 'papaparse';
import type { CsvDialect } from './dialect.js';

/** A record the splitter could not split cleanly: an unterminated or stray quote. */
export type RecordProblem = 'quote' | undefined;

/** Receives each record in file order. */
export type RecordSink = (cells: string[], problem: RecordProblem) => void;

/**
 * Past this many characters of one unfinished record, an opening quote is taken as unterminated:
 * the record is cut at its first line break and reported, and the next line is parsed afresh.
 * Without it, one stray quote would swallow the rest of the file into a single cell.
 */
const MAX_PENDING_CHARS = 4 << 20;

/**
 * Splits decoded CSV text into records, chunk by chunk, with papaparse's synchronous Parser (the
 * incomplete last record of a chunk waits for the next one). Never drops text: what it cannot
 * parse comes out as records flagged with a problem, one per physical line, so the row numbers
 * of the records after it stay right.
 */
export class CsvSplitter {
  private readonly parser: Papa.Parser;
  /** One record per call, no fast path: only for a record with a quote problem. */
  private readonly single: Papa.Parser;
  private pending = '';

  private readonly config: Papa.ParseConfig;

  constructor(private readonly dialect: CsvDialect) {
    this.config = { delimiter: dialect.delimiter, newline: dialect.newline, quoteChar: '"' };
    this.parser = new Papa.Parser(this.config);
    this.single = new Papa.Parser({ ...this.config, preview: 1, fastMode: false });
  }

  /** Feeds more text; `final` on the last call (text may be ''). */
  feed(text: string, final: boolean, sink: RecordSink): void {
    let input = this.pending.length ? this.pending + text : text;
    this.pending = '';
    // The last record needs no line break to be complete.
    if (final && input.length && !input.endsWith(this.dialect.newline)) input += this.dialect.newline;
    for (;;) {
      const rest = this.complete(input, sink);
      if (rest === '') return;
      if (!final && rest.length <= MAX_PENDING_CHARS) {
        this.pending = rest;
        return;
      }
      // An opening quote that never closes (at the end of the file, or for megabytes).
      input = this.salvageLine(rest, sink);
    }
  }

  /**
   * Emits every complete record of `input`; returns the incomplete tail. A record with a quote
   * problem (rare) is re-read on its own; if its stray quote ran over line breaks, it is split
   * back into its physical lines, each reported, and parsing resumes on the next line.
   */
  private complete(input: string, sink: RecordSink): string {
    let text = input;
    for (;;) {
      const res = this.parser.parse(text, 0, true) as Papa.ParseResult<string[]>;
      const rows = res.data;
      let firstBad = -1;
      for (const e of res.errors) {
        if (e.type === 'Quotes' && e.row !== undefined && (firstBad < 0 || e.row < firstBad)) firstBad = e.row;
      }
      if (firstBad < 0) {
        for (let i = 0; i < rows.length; i++) sink(rows[i] as string[], undefined);
        return res.meta.cursor < text.length ? text.substring(res.meta.cursor) : '';
      }
      for (let i = 0; i < firstBad && i < rows.length; i++) sink(rows[i] as string[], undefined);
      if (firstBad > 0) {
        // Where the bad record starts: the end of the records before it.
        const before = new Papa.Parser({ ...this.config, preview: firstBad, fastMode: false });
        text = text.substring((before.parse(text, 0, true) as Papa.ParseResult<string[]>).meta.cursor);
      }
      const one = this.single.parse(text, 0, true) as Papa.ParseResult<string[]>;
      const row = one.data[0];
      if (!row) return text;
      const nl = this.dialect.newline;
      const firstBreak = text.indexOf(nl);
      if (firstBreak >= 0 && firstBreak + nl.length < one.meta.cursor) {
        text = this.salvageLine(text, sink);
      } else {
        sink(row, 'quote');
        text = text.substring(one.meta.cursor);
      }
      if (text === '') return '';
    }
  }

  /** Emits the first physical line of `text` as a flagged record split naively; returns the rest. */
  private salvageLine(text: string, sink: RecordSink): string {
    const at = text.indexOf(this.dialect.newline);
    const line = at < 0 ? text : text.substring(0, at);
    sink(line.split(this.dialect.delimiter), 'quote');
    return at < 0 ? '' : text.substring(at + this.dialect.newline.length);
  }
}
