/**
 * Cuts a worksheet's inflated XML into pieces of whole rows: only what lies between `<sheetData…>` and
 * `</sheetData>` (the rest holds no cell values), each piece ending at a `</row>` once it has reached
 * the wanted size. `</row>` cannot occur inside text (XML escapes `<`), and both cut points are ASCII,
 * so a piece never splits a UTF-8 character. Each piece owns its ArrayBuffer, so it can be transferred.
 */
const OPEN = Buffer.from('<sheetData');
const ROW_END = Buffer.from('</row>');
const BODY_END = Buffer.from('</sheetData>');

export interface Piece {
  buf: Buffer;
  len: number;
}

export class SheetPieceCutter {
  private state: 'head' | 'body' | 'done' = 'head';
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly pieceBytes: number) {}

  /** Adds inflated bytes; returns a piece when one is complete. */
  push(chunk: Buffer): Piece | undefined {
    if (this.state === 'done') return undefined;
    if (this.state === 'head') {
      const rest = this.findBody(chunk);
      if (!rest) return undefined;
      chunk = rest;
    }
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size < this.pieceBytes) return undefined;
    const b = this.joined();
    const end = b.indexOf(BODY_END);
    if (end >= 0) {
      this.state = 'done';
      return { buf: b, len: end };
    }
    const cut = b.lastIndexOf(ROW_END);
    if (cut < 0) {
      // one row larger than a piece: keep collecting
      this.parts = [b];
      return undefined;
    }
    const tail = Buffer.from(b.subarray(cut + ROW_END.length));
    this.parts = [tail];
    this.size = tail.length;
    return { buf: b, len: cut + ROW_END.length };
  }

  /** The last piece at the end of the entry. Throws if the XML ends inside <sheetData>. */
  end(): Piece | undefined {
    if (this.state !== 'body') return undefined;
    this.state = 'done';
    const b = this.joined();
    const end = b.indexOf(BODY_END);
    if (end < 0) throw new Error('worksheet XML ends inside <sheetData> (file truncated?)');
    return end > 0 ? { buf: b, len: end } : undefined;
  }

  /** In the head: looks for `<sheetData…>`; returns what follows it, if found. */
  private findBody(chunk: Buffer): Buffer | undefined {
    const b = this.parts.length ? Buffer.concat([...this.parts, chunk]) : chunk;
    this.parts = [];
    const s = b.indexOf(OPEN);
    const gt = s >= 0 ? b.indexOf('>', s) : -1;
    if (gt < 0) {
      // keep only what could still become `<sheetData…>`
      const keep = s >= 0 ? b.subarray(s) : b.subarray(Math.max(0, b.length - OPEN.length));
      this.parts = [Buffer.from(keep)];
      return undefined;
    }
    if (b[gt - 1] === 0x2f) {
      this.state = 'done'; // <sheetData/>
      return undefined;
    }
    this.state = 'body';
    return b.subarray(gt + 1);
  }

  private joined(): Buffer {
    const b = Buffer.allocUnsafeSlow(this.size); // its own ArrayBuffer, so it can be transferred
    let o = 0;
    for (const p of this.parts) {
      p.copy(b, o);
      o += p.length;
    }
    this.parts = [];
    return b;
  }
}
