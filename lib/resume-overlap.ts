/**
 * Resuming a download under the `retry` option without splicing two
 * versions of a file: the resumed RETR starts a little before the bytes
 * already delivered (REST at held − overlap), and those first bytes must
 * equal the last ones delivered. A file replaced meanwhile (by one of the
 * same size, which the size checks cannot tell) differs there, and the
 * download fails instead of ending with half of each version.
 */

/**
 * The most bytes a resumed download asks for again to compare: the
 * overlap is min(bytes delivered, this). 16 KiB is a few packets; it
 * catches any replacement whose bytes differ anywhere in it, which a
 * different version of a file almost always does, not only one with a
 * different size.
 */
export const RESUME_OVERLAP = 16 * 1024;

/**
 * The last `window` bytes delivered, copied into a ring: a chunk may be a
 * slab the data reader fills again (data.ts), so it cannot be kept by
 * reference. Each chunk costs a copy of at most `window` bytes.
 */
export class DeliveredTail {
  private readonly ring: Buffer;
  /** Where the next byte goes in the ring. */
  private at = 0;
  /** Bytes held, at most `window`. */
  private held = 0;

  constructor(readonly window = RESUME_OVERLAP) {
    // Unzeroed: last() reads only bytes add() wrote.
    this.ring = Buffer.allocUnsafe(window);
  }

  /** Bytes held: the overlap a resume can check. */
  get length(): number {
    return this.held;
  }

  add(chunk: Buffer): void {
    const window = this.window;
    const bytes = chunk.length >= window ? chunk.subarray(chunk.length - window) : chunk;
    const first = Math.min(bytes.length, window - this.at);
    bytes.copy(this.ring, this.at, 0, first);
    if (first < bytes.length) bytes.copy(this.ring, 0, first);
    this.at = (this.at + bytes.length) % window;
    this.held = Math.min(window, this.held + bytes.length);
  }

  /** A copy of the last `count` bytes held (no more than length). */
  last(count: number): Buffer {
    count = Math.min(count, this.held);
    const out = Buffer.alloc(count);
    const start = (this.at - count + this.window) % this.window;
    const first = Math.min(count, this.window - start);
    this.ring.copy(out, 0, start, start + first);
    if (first < count) this.ring.copy(out, first, 0, count - first);
    return out;
  }
}

/**
 * The tail for a download whose server announced `size` bytes (or null):
 * no bigger than the file, so that a tree of small files does not take
 * RESUME_OVERLAP bytes for each. A size that lies only makes the overlap
 * smaller (the size checks then fail the download anyway).
 */
export function tailFor(size: number | null): DeliveredTail {
  return new DeliveredTail(Math.max(1, Math.min(RESUME_OVERLAP, size ?? RESUME_OVERLAP)));
}

/**
 * The first bytes of a resumed attempt, compared with `expected` (the
 * bytes delivered before, from the REST offset on) and not delivered
 * again.
 */
export class OverlapCheck {
  /** Bytes of `expected` matched so far. */
  private matched = 0;

  constructor(readonly expected: Buffer) {}

  /** Every byte of the overlap came and matched: what comes next is new. */
  get done(): boolean {
    return this.matched === this.expected.length;
  }

  /** Where the REST of the attempt is, relative to the bytes held: how many come again. */
  get length(): number {
    return this.expected.length;
  }

  /**
   * Compares the start of `chunk` with the overlap bytes still due:
   * returns the rest of `chunk` past the overlap (empty if all of it was
   * overlap), or undefined if a byte differs (the file is another
   * version).
   */
  take(chunk: Buffer): Buffer | undefined {
    const count = Math.min(chunk.length, this.expected.length - this.matched);
    if (count > 0 && chunk.compare(this.expected, this.matched, this.matched + count, 0, count) !== 0) return undefined;
    this.matched += count;
    return count === chunk.length ? chunk.subarray(chunk.length) : chunk.subarray(count);
  }
}
