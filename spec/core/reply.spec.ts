import { expect } from "chai";
import { FtpProtoError, ReplyParser, type Reply } from "../../lib/index.js";

/** Feeds `bytes` to a fresh parser cut at `cuts` and returns every reply. */
function parseIn(bytes: Buffer, cuts: number[], options: ConstructorParameters<typeof ReplyParser>[0] = {}): Reply[] {
  const parser = new ReplyParser(options);
  const replies: Reply[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    replies.push(...parser.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return replies;
}

function parseAll(text: string | Buffer, options?: ConstructorParameters<typeof ReplyParser>[0]): Reply[] {
  return parseIn(Buffer.from(text), [], options);
}

function protoErrorOf(action: () => unknown): FtpProtoError {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(FtpProtoError);
    return error as FtpProtoError;
  }
  throw new Error("expected an FtpProtoError");
}

const CONVERSATION =
  "220-Welcome to the fixture\r\n" +
  "220-  second line, with 230 inside\r\n" +
  "220 ready\r\n" +
  "150 Opening BINARY mode data connection (12 bytes).\r\n" +
  "226 Transfer complete.\r\n" +
  "211-Features:\r\n EPSV\r\n MLST type*;size*;\r\n211 End\r\n" +
  '257 "/caf\u00e9" is the current directory\r\n' +
  "200\r\n";

describe("reply parser", function () {
  it("parses a single-line reply into code, lines and text", function () {
    expect(parseAll("200 NOOP ok.\r\n")).to.deep.equal([{ code: 200, lines: ["200 NOOP ok."], text: "200 NOOP ok." }]);
  });

  it("joins a multi-line reply with \\n and ends it only at the same code followed by a space", function () {
    const replies = parseAll("230-Hello\r\n230-more\r\n150 not the end\r\n 230 not either\r\n230 done\r\n");
    expect(replies).to.deep.equal([
      {
        code: 230,
        lines: ["230-Hello", "230-more", "150 not the end", " 230 not either", "230 done"],
        text: "230-Hello\n230-more\n150 not the end\n 230 not either\n230 done",
      },
    ]);
  });

  it("returns a 1xx preliminary reply and the final reply as two replies", function () {
    const replies = parseAll("150 Here it comes.\r\n226 Transfer complete.\r\n");
    expect(replies.map((r) => r.code)).to.deep.equal([150, 226]);
    expect(replies[0].text).to.equal("150 Here it comes.");
  });

  it("accepts a bare code and a line ending in LF alone", function () {
    expect(parseAll("200\r\n331 Password?\n").map((r) => r.text)).to.deep.equal(["200", "331 Password?"]);
  });

  it("returns nothing until a line is complete", function () {
    const parser = new ReplyParser();
    expect(parser.push(Buffer.from("220 hal"))).to.deep.equal([]);
    expect(parser.inReply).to.equal(true);
    expect(parser.push(Buffer.from("f\r"))).to.deep.equal([]);
    expect(parser.push(Buffer.from("\n")).map((r) => r.text)).to.deep.equal(["220 half"]);
    expect(parser.inReply).to.equal(false);
  });

  it("yields the same replies however the bytes are chunked: byte by byte and at every single cut", function () {
    const bytes = Buffer.from(CONVERSATION, "utf8");
    const whole = parseIn(bytes, []);
    expect(whole.map((r) => r.code)).to.deep.equal([220, 150, 226, 211, 257, 200]);
    expect(whole[4].text).to.equal('257 "/caf\u00e9" is the current directory');
    const byteByByte = parseIn(
      bytes,
      Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
    );
    expect(byteByByte).to.deep.equal(whole);
    for (let cut = 1; cut < bytes.length; cut++) expect(parseIn(bytes, [cut]), `cut at ${cut}`).to.deep.equal(whole);
    for (let cut = 1; cut + 7 < bytes.length; cut += 3) {
      expect(parseIn(bytes, [cut, cut + 2, cut + 7]), `cuts at ${cut}`).to.deep.equal(whole);
    }
  });

  it("decodes UTF-8 by default, even with a character split across chunks, and honours another encoding", function () {
    const bytes = Buffer.from("550 caf\u00e9 \u2603\r\n", "utf8");
    const split = bytes.indexOf(0xc3) + 1;
    expect(parseIn(bytes, [split])[0].text).to.equal("550 caf\u00e9 \u2603");
    expect(parseAll(Buffer.from("550 caf\u00e9\r\n", "latin1"), { encoding: "latin1" })[0].text).to.equal("550 caf\u00e9");
  });

  it("accepts a line of maxline characters counting its line end as one, as ftplib does, and refuses one byte more", function () {
    // ftplib reads replies in text mode: CRLF becomes "\n", so 8191 characters plus CRLF pass and 8192 do not.
    const longest = "200 " + "x".repeat(8191 - 4) + "\r\n";
    expect(parseAll(longest)[0].text).to.have.length(8191);
    const tooLong = "200 " + "x".repeat(8192 - 4) + "\r\n";
    const error = protoErrorOf(() => parseAll(tooLong));
    expect(error.message).to.match(/longer than 8192/);
  });

  it("refuses an overlong line before its end arrives, so an endless line cannot grow memory", function () {
    const parser = new ReplyParser({ maxLine: 100 });
    expect(parser.push(Buffer.from("200 " + "x".repeat(90)))).to.deep.equal([]);
    protoErrorOf(() => parser.push(Buffer.from("x".repeat(20))));
  });

  it("refuses a multi-line reply longer than maxReply in all", function () {
    const parser = new ReplyParser({ maxReply: 1000 });
    parser.push(Buffer.from("211-start\r\n"));
    const error = protoErrorOf(() => {
      for (let i = 0; i < 100; i++) parser.push(Buffer.from(` line ${i} ${"y".repeat(20)}\r\n`));
    });
    expect(error.message).to.match(/multi-line reply longer than 1000/);
  });

  for (const line of ["hello world", "600 no such class", "", " 200 indented", "SSH-2.0-OpenSSH_9.2"]) {
    it(`refuses a line that is not a reply: ${JSON.stringify(line)}`, function () {
      const error = protoErrorOf(() => parseAll(line + "\r\n"));
      expect(error.message).to.match(/not an FTP reply/);
    });
  }

  it("stays failed after an error: the byte stream is out of sync", function () {
    const parser = new ReplyParser();
    const first = protoErrorOf(() => parser.push(Buffer.from("garbage\r\n")));
    const again = protoErrorOf(() => parser.push(Buffer.from("200 fine\r\n")));
    expect(again).to.equal(first);
  });
});
