/**
 * A burst of commands (sendcmds, lastMods: the tree transfers ask their
 * times so) holding a line the connection refuses to send (a name whose
 * bytes hold 0xFF where the telnetIac handling is "refuse") is refused
 * whole before anything is written. The lines before the refused one went
 * out and their replies were never read: every later command of the
 * client read the reply of the one before it (a RETR failed with "200
 * Switching to Binary mode", PWD answered with an MDTM's 213).
 */
import { expect } from "chai";
import { FtpError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { rejectsWith } from "../faults/helpers.js";

/** "ÿ" is byte 0xFF in latin1, the fixture's command encoding too. */
const IAC_PATH = "/r/\u00ff.txt";

describe("a command burst holding a line the connection refuses to send", () => {
  const fx = useFixtures();

  for (const [name, burst] of [
    ["sendcmds", ["MDTM /r/ok.txt", `MDTM ${IAC_PATH}`, "NOOP"]],
    ["lastMods", ["/r/ok.txt", IAC_PATH]],
  ] as const) {
    it(`${name}: rejects with ERR_FTP_TELNET_IAC, nothing sent, and the session stays in step`, async () => {
      const srv = await fx.server({ commandEncoding: "latin1", files: { "/r/ok.txt": "o", [IAC_PATH]: "y" } });
      const ftp = await fx.client(srv, { encoding: "latin1" });
      const before = srv.commands.length;
      const call = name === "sendcmds" ? ftp.sendcmds([...burst]) : ftp.lastMods([...burst]);
      const error = await rejectsWith(call, FtpError);
      expect(error.code).to.equal("ERR_FTP_TELNET_IAC");
      expect(srv.commands.slice(before)).to.deep.equal([]);
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR /r/ok.txt", (chunk: Buffer) => chunks.push(chunk));
      expect(Buffer.concat(chunks).toString()).to.equal("o");
      expect(await ftp.pwd()).to.equal("/");
    });
  }
});
