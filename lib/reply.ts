/**
 * Reply parsing: bytes in, complete FTP replies out. Knows nothing of
 * sockets, so every chunking of the same bytes yields the same replies.
 */
import { FtpLimitError, FtpProtoError } from "./errors.js";
import { codecFor, TextCodec } from "./text-codec.js";

/** One complete reply from the server. */
export interface Reply {
  /** The three-digit reply code. */
  code: number;
  /** Every line of the reply, line endings stripped. */
  lines: string[];
  /** The lines joined with `\n`, as ftplib's `getresp()` returns them. */
  text: string;
}

export interface ReplyParserOptions {
  /** Bytes one line may take, ftplib's `maxline`; default {@link DEFAULT_MAX_LINE}. */
  maxLine?: number;
  /** Bytes one multi-line reply may take in all, line ends included; default {@link DEFAULT_MAX_REPLY}. */
  maxReply?: number;
  /** The encoding of replies: `utf8` (default), a Node Buffer encoding or a WHATWG label (see text-codec.ts). */
  encoding?: string;
}

const LF = 0x0a;
const CR = 0x0d;
const ZERO = 0x30;

/**
 * The code of a line that starts a reply (`/^[1-5]\d\d(?:[ -]|$)/`), or
 * -1: checked by character, since it runs on every reply line and a
 * regex and a slice for the number cost more than the rest of the parse.
 */
function replyCodeOf(line: string): number {
  if (line.length < 3 || (line.length > 3 && line[3] !== " " && line[3] !== "-")) return -1;
  const a = line.charCodeAt(0) - ZERO;
  const b = line.charCodeAt(1) - ZERO;
  const c = line.charCodeAt(2) - ZERO;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  return a * 100 + b * 10 + c;
}

/**
 * Bytes one reply line may take (ftplib's `maxline`), counted before its
 * end arrives: a line that never ends costs at most this much.
 */
export const DEFAULT_MAX_LINE = 8192;

/**
 * Bytes one multi-line reply may take in all (1 MiB). Real replies are far
 * smaller (FEAT, HELP: a few KiB; STAT of a directory: its listing).
 */
export const DEFAULT_MAX_REPLY = 1024 * 1024;

/**
 * Lines one multi-line reply may have. Each line is a string and an array
 * slot in the heap, about 30 bytes more than its text: 1 MiB of two-byte
 * lines took 11 MiB of heap, held until the reply ends. With this bound a
 * pending reply holds at most about 3 MiB; it only binds on lines shorter
 * than 16 bytes on average, which no real reply (a directory's STAT) has.
 */
export const MAX_REPLY_LINES = 65_536;

/**
 * A reply past one of the parser's bounds: an FtpLimitError (`limit`
 * "replyLine", "replyBytes" or "replyLines") that still answers
 * `instanceof FtpProtoError`, as it did before the limits had their own
 * class: the control stream is out of step and the connection is closed.
 */
function replyLimit(limit: string, max: number, message: string): FtpLimitError {
  const error = new FtpLimitError(limit, max, message);
  Object.defineProperty(error, Symbol.for("ftpstream.FtpProtoError"), { value: true });
  return error;
}

/**
 * Incremental reply parser. `push()` takes any chunk and returns the replies
 * it completed; the first invalid input makes it throw `FtpProtoError` and
 * it stays failed (the stream is out of sync and cannot be trusted). What
 * it holds between pushes is bounded: one unfinished line (maxLine bytes)
 * and one unfinished multi-line reply (maxReply bytes, MAX_REPLY_LINES
 * lines); past either it throws an FtpLimitError that is also an
 * FtpProtoError.
 */
export class ReplyParser {
  private readonly maxLine: number;
  private readonly maxReply: number;
  private readonly codec: TextCodec;
  /** Bytes of the line not yet terminated. */
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Lines of a multi-line reply still waiting for its last line. */
  private pending: string[] = [];
  private pendingCode = "";
  private pendingBytes = 0;
  private failure: FtpProtoError | FtpLimitError | undefined;

  constructor(options: ReplyParserOptions = {}) {
    this.maxLine = options.maxLine ?? DEFAULT_MAX_LINE;
    this.maxReply = options.maxReply ?? DEFAULT_MAX_REPLY;
    this.codec = codecFor(options.encoding);
  }

  /** True while a reply has started but is not complete. */
  get inReply(): boolean {
    return this.partialLength > 0 || this.pending.length > 0;
  }

  /** Bytes held of a line or multi-line reply not yet complete (at most maxLine + maxReply). */
  get heldBytes(): number {
    return this.partialLength + (this.pending.length > 0 ? this.pendingBytes : 0);
  }

  push(chunk: Buffer): Reply[] {
    if (this.failure) throw this.failure;
    const replies: Reply[] = [];
    let start = 0;
    try {
      for (;;) {
        const newline = chunk.indexOf(LF, start);
        if (newline === -1) {
          this.keepPartial(chunk.subarray(start));
          break;
        }
        // maxReply counts raw bytes, line ends included: the decoded
        // string's length undercounts multi-byte UTF-8 up to 3 times.
        const size = this.partialLength + (newline - start) + 1;
        const line = this.takeLine(chunk, start, newline);
        start = newline + 1;
        const reply = this.acceptLine(line, size);
        if (reply) replies.push(reply);
      }
    } catch (error) {
      this.failure = error as FtpProtoError | FtpLimitError;
      this.partial = [];
      this.partialLength = 0;
      this.pending = [];
      this.pendingBytes = 0;
      throw error;
    }
    return replies;
  }

  private keepPartial(rest: Buffer): void {
    if (rest.length === 0) return;
    this.partialLength += rest.length;
    if (this.partialLength > this.maxLine) {
      throw replyLimit("replyLine", this.maxLine, `reply line longer than ${this.maxLine} bytes`);
    }
    // Copy: the caller may reuse its chunk, and a slice would pin it.
    this.partial.push(Buffer.from(rest));
  }

  private takeLine(chunk: Buffer, start: number, newline: number): string {
    let bytes = chunk;
    let from = start;
    let to = newline;
    if (this.partialLength > 0) {
      bytes = Buffer.concat([...this.partial, chunk.subarray(start, newline)]);
      from = 0;
      to = bytes.length;
      this.partial = [];
      this.partialLength = 0;
    }
    if (to - from > this.maxLine) {
      throw replyLimit("replyLine", this.maxLine, `reply line longer than ${this.maxLine} bytes`);
    }
    // Decoded straight from the chunk: no Buffer view made per line.
    return this.codec.decode(bytes, from, to > from && bytes[to - 1] === CR ? to - 1 : to);
  }

  private acceptLine(line: string, size: number): Reply | undefined {
    if (this.pending.length > 0) {
      this.pendingBytes += size;
      if (this.pendingBytes > this.maxReply) {
        throw replyLimit("replyBytes", this.maxReply, `multi-line reply longer than ${this.maxReply} bytes`);
      }
      if (this.pending.length >= MAX_REPLY_LINES) {
        throw replyLimit("replyLines", MAX_REPLY_LINES, `multi-line reply of more than ${MAX_REPLY_LINES} lines`);
      }
      this.pending.push(line);
      // RFC 959 4.2: the reply ends at a line of the same code followed by
      // a space (or nothing); lines in between may be anything, a message
      // file's "2500 users" too. ftplib ends it at any character but '-'
      // after the code, and so ended a 250- reply at that line: its real
      // last line was then read as the reply to the next command.
      if (line.startsWith(this.pendingCode) && (line.length === 3 || line[3] === " ")) {
        const lines = this.pending;
        this.pending = [];
        return { code: Number(this.pendingCode), lines, text: lines.join("\n") };
      }
      return undefined;
    }
    const code = replyCodeOf(line);
    if (code < 0) {
      throw new FtpProtoError(`not an FTP reply: ${JSON.stringify(line.slice(0, 80))}`, line);
    }
    if (line[3] === "-") {
      this.pending = [line];
      this.pendingCode = line.slice(0, 3);
      this.pendingBytes = size;
      if (this.pendingBytes > this.maxReply) {
        throw replyLimit("replyBytes", this.maxReply, `multi-line reply longer than ${this.maxReply} bytes`);
      }
      return undefined;
    }
    return { code, lines: [line], text: line };
  }
}
