import { expect } from "chai";
import { FtpProtoError, FtpReplyError, parse150, parse227, parse229, parse257 } from "../../lib/index.js";
import { assertSafeArgument, parseMlsdLine, sanitize } from "../../lib/protocol.js";

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

describe("wire format helpers", function () {
  describe("parse227 (PASV)", function () {
    it("reads host and port from the six numbers", function () {
      expect(parse227("227 Entering Passive Mode (192,168,1,2,19,137).")).to.deep.equal({ host: "192.168.1.2", port: 19 * 256 + 137 });
    });

    it("finds the numbers without parentheses, as ftplib's regex search does", function () {
      expect(parse227("227 =10,0,0,1,4,1")).to.deep.equal({ host: "10.0.0.1", port: 1025 });
    });

    it("rejects a reply other than 227 with FtpReplyError and one without an address with FtpProtoError", function () {
      expect(thrown(() => parse227("200 PASV ok"))).to.be.instanceOf(FtpReplyError);
      expect(thrown(() => parse227("227 Entering Passive Mode"))).to.be.instanceOf(FtpProtoError);
    });
  });

  describe("parse229 (EPSV)", function () {
    it("reads the port between any repeated delimiter", function () {
      expect(parse229("229 Entering Extended Passive Mode (|||6446|)")).to.equal(6446);
      expect(parse229("229 Entering Extended Passive Mode (!!!6446!)")).to.equal(6446);
    });

    it("rejects malformed replies with FtpProtoError, other codes with FtpReplyError", function () {
      expect(thrown(() => parse229("229 Entering Extended Passive Mode (|||6446)"))).to.be.instanceOf(FtpProtoError);
      expect(thrown(() => parse229("229 Entering Extended Passive Mode |||6446|"))).to.be.instanceOf(FtpProtoError);
      expect(thrown(() => parse229("229 (||6446|)"))).to.be.instanceOf(FtpProtoError);
      expect(thrown(() => parse229("500 EPSV not understood"))).to.be.instanceOf(FtpReplyError);
    });
  });

  describe("parse257 (MKD, PWD)", function () {
    it("returns the quoted name with doubled quotes undone", function () {
      expect(parse257('257 "/a ""quoted"" dir" created')).to.equal('/a "quoted" dir');
      expect(parse257('257 "/" is the current directory')).to.equal("/");
    });

    it("returns '' when the reply does not quote a name, and rejects other codes", function () {
      expect(parse257("257 MKD command successful.")).to.equal("");
      expect(thrown(() => parse257('250 "/x"'))).to.be.instanceOf(FtpReplyError);
    });
  });

  describe("parse150", function () {
    it("reads the announced size, or null when there is none", function () {
      expect(parse150("150 Opening BINARY mode data connection for f (1234 bytes).")).to.equal(1234);
      expect(parse150("150 Opening BINARY mode data connection for f (1234 BYTES)")).to.equal(1234);
      expect(parse150("150 Here comes the directory listing.")).to.equal(null);
    });
  });

  describe("parseMlsdLine", function () {
    it("lower-cases fact names, keeps values and a name with spaces", function () {
      expect(parseMlsdLine("Type=file;Size=12;Modify=20200101000000;UNIX.mode=0644; name with spaces.txt")).to.deep.equal([
        "name with spaces.txt",
        { type: "file", size: "12", modify: "20200101000000", "unix.mode": "0644" },
      ]);
    });
  });

  describe("assertSafeArgument", function () {
    for (const bad of ["RETR a\r\nDELE b", "RETR a\nDELE b", "RETR a\rDELE b", "RETR a\0b"]) {
      it(`refuses ${JSON.stringify(bad)} with ERR_INVALID_ARG_VALUE`, function () {
        const error = thrown(() => assertSafeArgument(bad)) as TypeError & { code?: string };
        expect(error).to.be.instanceOf(TypeError);
        expect(error.code).to.equal("ERR_INVALID_ARG_VALUE");
      });
    }

    it("lets ordinary text through, spaces and non-ASCII included", function () {
      assertSafeArgument("STOR caf\u00e9 / r\u00e9sum\u00e9 (1).txt");
    });

    it("shows the refused text of a command, never of a password, an account or a PASS or ACCT line", function () {
      expect(thrown(() => assertSafeArgument("RETR a\nDELE b")).message).to.include("DELE b");
      for (const [text, what] of [
        ["hunter2\r\nDELE x", "password"],
        ["hunter2\0", "acct"],
        ["PASS hunter2\nDELE x", undefined],
        ["acct hunter2\r", undefined],
      ] as const) {
        const error = thrown(() => assertSafeArgument(text, what)) as TypeError & { code?: string };
        expect(error.code, text).to.equal("ERR_INVALID_ARG_VALUE");
        expect(error.message, text).to.include("CR, LF or NUL").and.not.include("hunter2");
      }
    });
  });

  describe("sanitize (debug output)", function () {
    it("masks the password as ftplib does and quotes like repr", function () {
      expect(sanitize("PASS secret")).to.equal("'PASS ******'");
      expect(sanitize("pass secret\r\n")).to.equal("'pass ******\\r\\n'");
      expect(sanitize("USER bob")).to.equal("'USER bob'");
    });
  });
});
