/**
 * Line handling for ASCII transfers, on Buffers so multi-byte characters
 * are never cut and nothing is decoded twice.
 *  - LineSplitter: bytes → lines, ending in CRLF, LF or a lone CR (the
 *    universal newlines ftplib's text-mode reader uses), endings stripped.
 *  - CrlfEncoder: bytes → the same bytes with every line ending CRLF, as
 *    ftplib's storlines sends them.
 */
import { Transform, TransformCallback, TransformOptions } from "node:stream";
import { FtpError } from "./errors.js";
import { codecFor, TextCodec } from "./text-codec.js";

const LF = 0x0a;
const CR = 0x0d;

export interface LineSplitterOptions extends Omit<TransformOptions, "encoding"> {
  /** The lines' encoding: `utf8` (default), a Node Buffer encoding or a WHATWG label; bytes that do not decode are kept as escapes (see text-codec.ts). */
  encoding?: string;
  /** Bytes one line may take before the stream errors (ftplib's maxline). */
  maxLine?: number;
}

/** A Transform from bytes to lines (strings, object mode). */
export class LineSplitter extends Transform {
  private readonly codec: TextCodec;
  private readonly maxLine: number;
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** The previous chunk ended in CR: a LF at the start of this one belongs to it. */
  private afterCr = false;
  /** Lines pushed so far. */
  private pushed = 0;
  private unterminated: number | undefined;

  /**
   * The number (1 for the first) of the last line when the bytes ended
   * without its line ending, once they have ended; undefined otherwise.
   * A reader that counts the lines it takes knows that one for what it is:
   * every server ends each listing line, so one without its ending is a
   * data connection cut mid-line (a name cut short, the names after it
   * missing), which a 226 may still follow.
   */
  get unterminatedLine(): number | undefined {
    return this.unterminated;
  }

  constructor(options: LineSplitterOptions = {}) {
    const { encoding, maxLine, ...rest } = options;
    super({ ...rest, readableObjectMode: true, writableObjectMode: false });
    this.codec = codecFor(encoding);
    this.maxLine = maxLine ?? 8192;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    if (this.afterCr && chunk.length > 0) {
      this.afterCr = false;
      if (chunk[0] === LF) start = 1;
    }
    // Where the next CR and LF are, searched again only once passed: a
    // chunk of LF-only lines has no CR, and looking for one from every line
    // start would scan the rest of the chunk once per line.
    let lf = -2;
    let cr = -2;
    while (start < chunk.length) {
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) break;
      this.emitLine(chunk, start, end);
      if (chunk[end] === CR) {
        if (end + 1 === chunk.length) this.afterCr = true;
        else if (chunk[end + 1] === LF) start = end + 2;
        else start = end + 1;
        if (this.afterCr) start = chunk.length;
      } else {
        start = end + 1;
      }
    }
    if (start < chunk.length) {
      this.partialLength += chunk.length - start;
      if (this.partialLength > this.maxLine) {
        callback(new FtpError(`line longer than ${this.maxLine} bytes`, "ERR_FTP_LINE_TOO_LONG"));
        return;
      }
      this.partial.push(chunk.subarray(start));
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // A last line without a line ending is still a line (unterminatedLine says which).
    if (this.partialLength > 0) this.emitLine(Buffer.alloc(0), 0, 0, true);
    callback();
  }

  private emitLine(chunk: Buffer, start: number, end: number, unterminated = false): void {
    let bytes = chunk.subarray(start, end);
    if (this.partialLength > 0) {
      bytes = Buffer.concat([...this.partial, bytes]);
      this.partial = [];
      this.partialLength = 0;
    }
    if (bytes.length > this.maxLine) {
      this.destroy(new FtpError(`line longer than ${this.maxLine} bytes`, "ERR_FTP_LINE_TOO_LONG"));
      return;
    }
    this.pushed++;
    // Set before the push: whoever reads this line sees it.
    if (unterminated) this.unterminated = this.pushed;
    this.push(this.codec.decode(bytes));
  }
}

/**
 * Stateful LF → CRLF conversion with ftplib's storlines rules: a LF not
 * preceded by CR gains one; a last line without an ending gains CRLF (or
 * LF after a trailing CR).
 */
export class CrlfEncoder {
  private lastByte = -1;

  convert(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    let missing = 0;
    let at = chunk.indexOf(LF);
    while (at !== -1) {
      const before = at === 0 ? this.lastByte : chunk[at - 1];
      if (before !== CR) missing++;
      at = chunk.indexOf(LF, at + 1);
    }
    const previous = this.lastByte;
    this.lastByte = chunk[chunk.length - 1]!;
    if (missing === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + missing);
    let written = 0;
    let from = 0;
    at = chunk.indexOf(LF);
    while (at !== -1) {
      const before = at === 0 ? previous : chunk[at - 1];
      if (before !== CR) {
        written += chunk.copy(out, written, from, at);
        out[written++] = CR;
        from = at;
      }
      at = chunk.indexOf(LF, at + 1);
    }
    chunk.copy(out, written, from);
    return out;
  }

  /** Bytes to send at the end so the last line is terminated. */
  flush(): Buffer {
    if (this.lastByte === -1 || this.lastByte === LF) return Buffer.alloc(0);
    return this.lastByte === CR ? Buffer.from([LF]) : Buffer.from([CR, LF]);
  }
}
