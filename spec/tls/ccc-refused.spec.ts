/**
 * CCC refused: ccc() rejects typed, and the control connection stays
 * TLS, so nothing the user sends after it, a login by hand included,
 * goes in the clear; data stays protected, and a reconnect under `retry`
 * sends no CCC of its own. Only a CCC that got its 200 lets a login by
 * hand go in the clear (the user chose that).
 */
import { expect } from "chai";
import { FtpPermError } from "../../lib/index.js";
import { leaks, makeHostile, NO_LEAK, UPLOAD_SECRET } from "./hostile-paths.js";
import { settle, useTlsFixture } from "./tls-fixture.js";

describe("FTPS: a refused CCC leaves everything encrypted", () => {
  const fx = useTlsFixture();

  for (const [code, text] of [
    [534, "Request denied for policy reasons."],
    [500, "Unknown command."],
  ] as const) {
    it(`CCC answered ${code}: FtpPermError, the control connection stays TLS, and a login by hand, a transfer and a reconnect are encrypted`, async () => {
      const srv = await fx.start({ files: { "/f.txt": "the file\n" } });
      // Hostile on no connection: only the watch is wanted.
      const watch = makeHostile(srv, "clear data", () => false);
      srv.handle("CCC", (s) => s.reply(code, text));
      const ftp = fx.client({
        host: srv.host,
        port: srv.port,
        user: "user",
        password: "pass",
        timeout: 3000,
        retry: { attempts: 2, minDelay: 1, maxDelay: 5 },
      });
      await ftp.ready;
      const cleared = await settle(ftp.ccc());
      expect(cleared.error).to.be.instanceOf(FtpPermError);
      expect(ftp.secure).to.equal(true);
      await ftp.sendcmd("USER user");
      await ftp.sendcmd("PASS pass");
      await ftp.storbinary("STOR /up.txt", Buffer.from(UPLOAD_SECRET));
      // A reconnect: AUTH TLS, the login, PBSZ and PROT again, and no CCC.
      srv.sessions[0].drop();
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR /f.txt", (chunk) => void chunks.push(chunk));
      expect(Buffer.concat(chunks).toString()).to.equal("the file\n");
      expect(leaks(watch)).to.deep.equal(NO_LEAK);
      expect(srv.commands.filter((line) => line === "CCC")).to.deep.equal(["CCC"]);
      expect(srv.sessions).to.have.length(2);
    });
  }
});
