/**
 * Property specs for the reply parser (fast-check). The parser is bytes in,
 * replies out, with no sockets, so it is driven directly:
 *  - any chunking of a stream of valid replies parses to the same replies;
 *  - arbitrary bytes, arbitrarily chunked, behave exactly as a small byte
 *    model of ftplib's rules says: the same replies, and an FtpProtoError
 *    (never anything else) at the same chunk — in particular as soon as a
 *    line passes maxLine bytes or a multi-line reply passes maxReply bytes,
 *    so what the parser holds is bounded by maxLine + maxReply;
 *  - after an error it stays failed.
 */
import { expect } from "chai";
import { randomFillSync } from "node:crypto";
import fc from "fast-check";
import { FtpProtoError, ReplyParser } from "../../lib/index.js";
import type { Reply } from "../../lib/index.js";

const LF = 0x0a;
const CR = 0x0d;

/** What the model expects from one push: the replies, or an error. */
type Step = { replies: string[] } | { error: true };

/**
 * The reference for decoding a reply line: UTF-8 with each byte that
 * starts no character escaped as U+DC80+ (Python's surrogateescape), found
 * by trying TextDecoder on one to four bytes: independent of the parser's
 * own byte-level check.
 */
function escapingDecode(bytes: Buffer): string {
  const strict = new TextDecoder("utf-8", { fatal: true });
  let text = "";
  for (let at = 0; at < bytes.length;) {
    let taken = 0;
    for (let length = 1; length <= 4 && at + length <= bytes.length && taken === 0; length++) {
      try {
        text += strict.decode(bytes.subarray(at, at + length));
        taken = length;
      } catch {
        // not a whole character (yet)
      }
    }
    if (taken === 0) {
      text += String.fromCharCode(0xdc00 + bytes[at]);
      taken = 1;
    }
    at += taken;
  }
  return text;
}

/**
 * The byte model: lines end at LF (a CR before it is dropped); a reply
 * starts with `[1-5]dd` then space, `-` or the end of the line; `ddd-`
 * opens a multi-line reply that ends at a line of the same code followed by
 * a space or nothing (RFC 959 4.2). A line over `maxLine` bytes (CR included, LF not), or
 * a multi-line reply over `maxReply` bytes (every byte of its lines, line
 * ends included), is an error, detected in the chunk that crosses the limit.
 */
class ByteModel {
  private line: number[] = [];
  private pending: Buffer[] = [];
  private pendingCode = "";
  private pendingBytes = 0;
  private failed = false;

  constructor(
    private readonly maxLine: number,
    private readonly maxReply: number,
  ) {}

  /** Bytes held now: the unfinished line and the lines of an unfinished reply. */
  get held(): number {
    return this.line.length + this.pendingBytes;
  }

  push(chunk: Uint8Array): Step {
    if (this.failed) return { error: true };
    const replies: string[] = [];
    for (const byte of chunk) {
      if (byte !== LF) {
        this.line.push(byte);
        if (this.line.length > this.maxLine) return this.fail();
        continue;
      }
      const raw = Buffer.from(this.line);
      this.line = [];
      const content = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
      const ascii = content.toString("latin1");
      if (this.pending.length > 0) {
        this.pendingBytes += raw.length + 1;
        if (this.pendingBytes > this.maxReply) return this.fail();
        this.pending.push(content);
        if (ascii.startsWith(this.pendingCode) && (ascii.length === 3 || ascii[3] === " ")) {
          replies.push(this.pending.map(escapingDecode).join("\n"));
          this.pending = [];
          this.pendingBytes = 0;
        }
        continue;
      }
      if (!/^[1-5][0-9][0-9](?:[ -]|$)/.test(ascii)) return this.fail();
      if (ascii[3] === "-") {
        this.pending = [content];
        this.pendingCode = ascii.slice(0, 3);
        this.pendingBytes = raw.length + 1;
        if (this.pendingBytes > this.maxReply) return this.fail();
        continue;
      }
      replies.push(escapingDecode(content));
    }
    return { replies };
  }

  private fail(): Step {
    this.failed = true;
    this.line = [];
    this.pending = [];
    this.pendingBytes = 0;
    return { error: true };
  }
}

/** Runs one push, returning the replies' texts or the error it threw. */
function pushParser(parser: ReplyParser, chunk: Uint8Array): { replies: string[] } | { thrown: unknown } {
  try {
    return { replies: parser.push(Buffer.from(chunk)).map((reply: Reply) => reply.text) };
  } catch (error) {
    return { thrown: error };
  }
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point <= from) continue;
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

// ---------------------------------------------------------------- generators

const code = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 99 })).map(([a, b]) => `${a}${String(b).padStart(2, "0")}`);
/** Reply text: any Unicode without CR or LF. */
const text = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, " "));
const lineEnd = fc.constantFrom("\r\n", "\n");

/** One valid reply as wire text and the text the parser must return. */
const validReply = fc.oneof(
  fc.record({ code, first: text, end: lineEnd }).map(({ code: c, first, end }) => ({
    wire: `${c} ${first}${end}`,
    expected: `${c} ${first}`,
  })),
  fc
    .record({
      code,
      first: text,
      middle: fc.array(text, { maxLength: 5 }),
      last: text,
      ends: fc.array(lineEnd, { minLength: 7, maxLength: 7 }),
    })
    .map(({ code: c, first, middle, last, ends }) => {
      // A middle line may be anything except the reply's own end: the same code then a space or nothing.
      const safe = middle.map((line) => (line.startsWith(c) && (line.length === 3 || line[3] === " ") ? ` ${line}` : line));
      const lines = [`${c}-${first}`, ...safe, `${c} ${last}`];
      return { wire: lines.map((line, i) => line + ends[i % ends.length]).join(""), expected: lines.join("\n") };
    }),
);

/** Bytes biased towards what makes replies: digits, '-', ' ', CR, LF, and multi-byte UTF-8. */
const replyishByte = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(..."0123456789- \r\n".split("").map((c) => c.charCodeAt(0))) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const replyishBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.array(replyishByte, { maxLength: 300 }).map((a) => Uint8Array.from(a)),
  fc
    .array(fc.oneof(fc.constantFrom("211-", "211 ", "200 ok\r\n", "€", "\u{1F600}", "\r\n", "\n"), text), { maxLength: 60 })
    .map((parts) => new Uint8Array(Buffer.from(parts.join(""), "utf8"))),
);

describe("reply parser properties (fast-check)", function () {
  it("parses any chunking of a stream of valid replies into the same replies", () => {
    fc.assert(
      fc.property(fc.array(validReply, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 30 }), (replies, cuts) => {
        const bytes = new Uint8Array(Buffer.from(replies.map((r) => r.wire).join(""), "utf8"));
        const parser = new ReplyParser();
        const parsed: Reply[] = [];
        for (const chunk of chunked(bytes, cuts)) parsed.push(...parser.push(Buffer.from(chunk)));
        expect(parsed.map((r) => r.text)).to.deep.equal(replies.map((r) => r.expected));
        expect(parsed.map((r) => r.code)).to.deep.equal(replies.map((r) => Number(r.expected.slice(0, 3))));
        expect(parser.inReply).to.equal(false);
      }),
      { numRuns: 500 },
    );
  });

  it("parses one byte at a time exactly as all at once", () => {
    fc.assert(
      fc.property(fc.array(validReply, { minLength: 1, maxLength: 5 }), (replies) => {
        const bytes = Buffer.from(replies.map((r) => r.wire).join(""), "utf8");
        const whole = new ReplyParser().push(bytes);
        const parser = new ReplyParser();
        const single: Reply[] = [];
        for (let i = 0; i < bytes.length; i++) single.push(...parser.push(bytes.subarray(i, i + 1)));
        expect(single).to.deep.equal(whole);
      }),
      { numRuns: 200 },
    );
  });

  it("matches the byte model on arbitrary bytes: same replies, FtpProtoError (only) at the same chunk, held bytes bounded", () => {
    fc.assert(
      fc.property(
        fc.array(replyishBytes, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 4, max: 64 }),
        fc.integer({ min: 8, max: 256 }),
        (chunks, maxLine, maxReply) => {
          const parser = new ReplyParser({ maxLine, maxReply });
          const model = new ByteModel(maxLine, maxReply);
          let failure: unknown;
          for (const chunk of chunks) {
            const expected = model.push(chunk);
            const actual = pushParser(parser, chunk);
            if ("error" in expected) {
              expect(actual, `chunk ${JSON.stringify(Buffer.from(chunk).toString("latin1"))}`).to.have.property("thrown");
              const thrown = (actual as { thrown: unknown }).thrown;
              expect(thrown).to.be.instanceOf(FtpProtoError);
              if (failure) expect(thrown, "the same error once failed").to.equal(failure);
              failure = thrown;
            } else {
              if ("thrown" in actual) expect.fail(`unexpected ${String(actual.thrown)}`);
              expect(actual.replies).to.deep.equal(expected.replies);
              expect(model.held).to.be.at.most(maxLine + maxReply);
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("never throws anything but FtpProtoError on random bytes, and stays failed after the first", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 10 }), (chunks) => {
        const parser = new ReplyParser();
        let failure: unknown;
        for (const chunk of chunks) {
          const actual = pushParser(parser, chunk);
          if ("thrown" in actual) {
            expect(actual.thrown).to.be.instanceOf(FtpProtoError);
            if (failure) expect(actual.thrown).to.equal(failure);
            failure = actual.thrown;
          } else {
            expect(failure, "a push after a failure must throw").to.equal(undefined);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("errors by maxLine on an endless line of random bytes (default limits)", () => {
    // 3 MiB of random bytes without LF, in 1000-byte chunks.
    const parser = new ReplyParser();
    const chunk = Buffer.alloc(1000);
    let fed = 0;
    let thrown: unknown;
    while (fed < 3 * 1024 * 1024) {
      randomFillSync(chunk);
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === LF) chunk[i] = 0x20;
      fed += chunk.length;
      try {
        parser.push(chunk);
      } catch (error) {
        thrown = error;
        break;
      }
    }
    expect(thrown).to.be.instanceOf(FtpProtoError);
    expect(fed).to.be.at.most(8192 + chunk.length);
  });

  for (const [what, char] of [
    ["ASCII", "x"],
    ["3-byte UTF-8 (€)", "€"],
    ["4-byte UTF-8 (emoji)", "\u{1F600}"],
    ["invalid UTF-8", "\xff"],
  ] as const) {
    it(`errors by maxReply on a multi-line reply that never ends, its lines in ${what} (default limits)`, () => {
      // "211-start\r\n", then lines of ~8000 bytes of `char`, forever.
      const parser = new ReplyParser();
      const unit = char === "\xff" ? Buffer.from([0xff]) : Buffer.from(char, "utf8");
      const line = Buffer.concat([Buffer.from(" "), Buffer.alloc(Math.floor(8000 / unit.length) * unit.length, unit), Buffer.from("\r\n")]);
      let fed = 0;
      let thrown: unknown;
      try {
        parser.push(Buffer.from("211-start\r\n"));
        fed = 11;
        while (fed < 16 * 1024 * 1024) {
          fed += line.length;
          parser.push(line);
        }
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(FtpProtoError);
      expect(fed, "bytes fed before the error").to.be.at.most(1024 * 1024 + line.length);
    });
  }
});
