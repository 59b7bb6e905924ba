/**
 * The TYPE a transfer written ahead of its turn takes along
 * (lib/transfer-ahead.ts): whether it writes `TYPE I` or finds the server
 * in it already must follow the last TYPE written, not the last one
 * answered. Seen against netkit-ftpd in a tree download over an FtpPool:
 * a file, then a directory's listing, then a file, each written behind the
 * one in front; the first file's `200` to its TYPE I, read after the
 * listing's TYPE A had gone out, made the client believe the server was in
 * TYPE I, so the second file went without one and came in ASCII (a 31-byte
 * file arrived as 32 with a LF sent as CRLF).
 */
import { expect } from "chai";
import { patternFile } from "../../fixtures/server.js";
import { type FTP } from "../../lib/index.js";
import { useFixtures } from "./helpers.js";

/** vsftpd's welcome: a server known to leave commands unread during a transfer, so transfers are written ahead. */
const VSFTPD_WELCOME = "220 (vsFTPd 3.0.3)";

describe("the TYPE of transfers written ahead of their turn", function () {
  const fixtures = useFixtures();

  /** Every byte of `cmd` in binary, written ahead when its turn comes late. */
  async function fetch(ftp: FTP, cmd: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await ftp.retrbinary(cmd, (chunk) => void chunks.push(chunk), { commandWithEpsv: true, writeAhead: true });
    return Buffer.concat(chunks);
  }

  /** Every line of `cmd` in ASCII, written ahead likewise. */
  async function lines(ftp: FTP, cmd: string): Promise<string[]> {
    const out: string[] = [];
    await ftp.retrlines(cmd, (line) => void out.push(line), { commandWithEpsv: true, writeAhead: true });
    return out;
  }

  it("sends TYPE I again for a download written behind a text transfer whose TYPE A went out after the TYPE I in front of it", async function () {
    // Bytes that TYPE A changes: the fixture, as servers do, sends each LF as CRLF in ASCII.
    const binary = Buffer.from("one\ntwo\nthree\n".repeat(50));
    const srv = await fixtures.server({
      welcome: VSFTPD_WELCOME,
      files: { "/warm": patternFile(10), "/text": "x\ny\n", "/first": binary, "/second": binary },
    });
    const ftp = await fixtures.client(srv);
    // The session's first EPSV port is reached (so transfers go with their EPSV), and the server left in TYPE A.
    await ftp.retrbinary("RETR warm", () => undefined);
    expect(await lines(ftp, "RETR text")).to.deep.equal(["x", "y"]);

    const [first, text, second] = await Promise.all([fetch(ftp, "RETR first"), lines(ftp, "RETR text"), fetch(ftp, "RETR second")]);
    expect(first.equals(binary), "the first file's bytes").to.equal(true);
    expect(text).to.deep.equal(["x", "y"]);
    expect(second.equals(binary), "the second file's bytes, in TYPE I").to.equal(true);
    const types = srv.commands.filter((line) => /^(TYPE|RETR)/.test(line)).slice(-6);
    expect(types).to.deep.equal(["TYPE I", "RETR first", "TYPE A", "RETR text", "TYPE I", "RETR second"]);
    await ftp.quit();
  });
});
