import { expect } from "chai";
import { Readable } from "node:stream";
import { LineSplitter } from "../../lib/index.js";
import { CrlfEncoder } from "../../lib/lines.js";

/** Every way of cutting `bytes` that matters here: whole, byte by byte, and at each single cut. */
function chunkings(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes], Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
  for (let cut = 1; cut < bytes.length; cut++) ways.push([bytes.subarray(0, cut), bytes.subarray(cut)]);
  return ways;
}

async function split(chunks: Buffer[], options: ConstructorParameters<typeof LineSplitter>[0] = {}): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of Readable.from(chunks).pipe(new LineSplitter(options))) lines.push(line as string);
  return lines;
}

function encode(chunks: Buffer[]): Buffer {
  const encoder = new CrlfEncoder();
  return Buffer.concat([...chunks.map((chunk) => encoder.convert(chunk)), encoder.flush()]);
}

// Expected values are what CPython's ftplib gives: retrlines reads in text
// mode with universal newlines; storlines' rule is "not ending in CRLF:
// drop a trailing CR or LF, add CRLF".
const RETRLINES_CASES: Array<[string, string[]]> = [
  ["a\r\nb\nc\rd", ["a", "b", "c", "d"]],
  ["a\r\n\r\nb\r\n", ["a", "", "b"]],
  ["x\r", ["x"]],
  ["\n", [""]],
  ["caf\u00e9 \u2603\r\n", ["caf\u00e9 \u2603"]],
  ["a\r\r\nb", ["a", "", "b"]],
  ["last line without newline", ["last line without newline"]],
  ["", []],
];

const STORLINES_CASES: Array<[string, string]> = [
  ["a\nb\n", "a\r\nb\r\n"],
  ["a\r\nb", "a\r\nb\r\n"],
  ["a\rb\n", "a\rb\r\n"],
  ["a\r", "a\r\n"],
  ["", ""],
  ["\n\n", "\r\n\r\n"],
  ["x\r\r\n", "x\r\r\n"],
  ["one\ntwo\r\nthree", "one\r\ntwo\r\nthree\r\n"],
  ["\r\n\n\r", "\r\n\r\n\r\n"],
];

describe("line splitting (retrlines)", function () {
  for (const [input, expected] of RETRLINES_CASES) {
    it(`splits ${JSON.stringify(input)} into ${JSON.stringify(expected)} however it is chunked`, async function () {
      for (const chunks of chunkings(Buffer.from(input, "utf8"))) {
        expect(await split(chunks), JSON.stringify(chunks.map(String))).to.deep.equal(expected);
      }
    });
  }

  it("decodes with the configured encoding", async function () {
    expect(await split([Buffer.from("caf\u00e9\r\n", "latin1")], { encoding: "latin1" })).to.deep.equal(["caf\u00e9"]);
  });

  it("errors instead of buffering a line longer than maxLine", async function () {
    const error = await split([Buffer.from("y".repeat(50)), Buffer.from("y".repeat(60))], { maxLine: 100 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: unknown },
    );
    expect(error?.code).to.equal("ERR_FTP_LINE_TOO_LONG");
  });
});

describe("CRLF encoding (storlines)", function () {
  for (const [input, expected] of STORLINES_CASES) {
    it(`sends ${JSON.stringify(input)} as ${JSON.stringify(expected)} however it is chunked`, function () {
      for (const chunks of chunkings(Buffer.from(input, "utf8"))) {
        expect(encode(chunks).toString("utf8"), JSON.stringify(chunks.map(String))).to.equal(expected);
      }
    });
  }
});
