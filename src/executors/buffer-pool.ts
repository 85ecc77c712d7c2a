/**
 * Megabyte buffers used again and again while a large file streams through: the reader's chunks of file
 * bytes and the stage threads' COPY output come back here once consumed, instead of being freed and
 * allocated anew per chunk (a fresh megabyte is a fresh set of pages to fault in: 35 % fewer page faults
 * and ~5 % less CPU on a 1M-row CSV, bench/CHOICES.md). Buffers travel between threads by transfer, so one
 * pool on the reading thread serves all of them.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** `keep`: buffers held at most (the rest are freed); a few more than the chunks in flight. */
  constructor(private readonly keep = 8) {}

  /** A free buffer of at least `minBytes`, or undefined (then the caller allocates). */
  take(minBytes: number): ArrayBuffer | undefined {
    const i = this.free.findIndex((b) => b.byteLength >= minBytes);
    return i < 0 ? undefined : this.free.splice(i, 1)[0];
  }

  /** Returns a buffer nothing reads any more. Detached (transferred) or shared buffers are ignored. */
  give(buffer: ArrayBufferLike | undefined): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
    if (this.free.length < this.keep) this.free.push(buffer);
    else releaseBuffer(buffer);
  }

  /** Buffers waiting to be used again. */
  get size(): number {
    return this.free.length;
  }
}

/** `bytes` bytes to write into: from the pool when it has a buffer that large, else new. */
export function pooledBytes(pool: BufferPool | undefined, bytes: number): Buffer {
  const ab = pool?.take(bytes);
  return ab ? Buffer.from(ab, 0, bytes) : Buffer.allocUnsafeSlow(bytes);
}

/**
 * Frees a buffer's memory now rather than at the next full collection: a buffer that lived through a
 * chunk's work is in the old generation, and its megabyte would wait for a mark-compact (external memory
 * piled up by tens of MB). Transferring it hands the memory to a new, young buffer, which the next
 * scavenge frees; the old one is left detached (zero length). Only for buffers nothing reads afterwards.
 */
export function releaseBuffer(buffer: ArrayBufferLike): void {
  if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) structuredClone(buffer, { transfer: [buffer] });
}
