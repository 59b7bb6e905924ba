/**
 * A session whose EPSV ports were reached takes its later transfers'
 * addresses in one step (data.ts, openPassive's usual case). An EPSV
 * answered otherwise there still ends as it did before that case had a
 * path of its own: a refusal (4xx/5xx) or a reply that is not a 229 sends
 * the client to PASV for the rest of the session, the transfer going
 * through; a malformed 229 is the transfer's FtpProtoError, no PASV.
 */
import { expect } from "chai";
import { FtpProtoError, type FTP } from "../../lib/index.js";
import { patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { afterLogin, collect, Harness, rejection } from "./helpers.js";

const FILES = { "/f.bin": patternFile(50_000) };

function dataCommands(srv: FixtureServer): string[] {
  return afterLogin(srv).filter((line) => /^(EPSV|PASV|RETR)\b/.test(line));
}

async function download(ftp: FTP): Promise<void> {
  const data = await collect(ftp.retrbinary("RETR /f.bin"));
  expect(data.length).to.equal(50_000);
  expect(patternMismatch(data)).to.equal(-1);
}

describe("EPSV answered otherwise after a session's EPSV port was reached", function () {
  this.timeout(5000);
  const harness = new Harness();
  afterEach(() => harness.close());

  const FALLBACKS: Array<{ name: string; code: number; text: string }> = [
    { name: "refused with a 500", code: 500, text: "EPSV not understood." },
    { name: "refused with a 425", code: 425, text: "Unable to build data connection." },
    { name: "answered with a 200, not a 229", code: 200, text: "EPSV ALL ok." },
  ];
  for (const { name, code, text } of FALLBACKS) {
    it(`${name}: the download goes over PASV, and PASV stays`, async () => {
      const srv = await harness.server({ files: FILES });
      const ftp = await harness.client(srv, { timeout: 2000 });
      await download(ftp);
      srv.once("EPSV", (s) => s.reply(code, text));
      await download(ftp);
      await download(ftp);
      expect(dataCommands(srv)).to.deep.equal(["EPSV", "RETR /f.bin", "EPSV", "PASV", "RETR /f.bin", "PASV", "RETR /f.bin"]);
      expect(await ftp.pwd()).to.equal("/");
    });
  }

  it("a malformed 229 fails the download with FtpProtoError, no PASV, and the client goes on", async () => {
    const srv = await harness.server({ files: FILES });
    const ftp = await harness.client(srv, { timeout: 2000 });
    await download(ftp);
    srv.once("EPSV", (s) => s.reply(229, "Entering Extended Passive Mode (|||x|)"));
    const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
    expect(error).to.be.instanceOf(FtpProtoError);
    await download(ftp);
    expect(dataCommands(srv)).to.deep.equal(["EPSV", "RETR /f.bin", "EPSV", "EPSV", "RETR /f.bin"]);
  });
});
