/**
 * A transfer method given a line that is no transfer but changes what is
 * protected or who is logged in (PROT C, REIN, AUTH TLS, CCC, PBSZ, USER,
 * PASS, ACCT) refuses it before anything is sent: sent as a transfer's
 * command it got its 2xx, the transfer failed, and the server had gone to
 * clear data (or logged out) behind the client's back, so the next
 * download crossed the wire in the clear.
 */
import { expect } from "chai";
import { Writable } from "node:stream";
import type { FixtureServer } from "../../fixtures/server.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

const SECRET = "the secret payload\n";

describe("FTPS: transfer methods refuse lines that change protection or login", () => {
  const fx = useTlsFixture();

  async function protectedClient(): Promise<{ srv: FixtureServer; ftp: ReturnType<typeof fx.client> }> {
    const srv = await fx.start({ files: { "/secret.txt": SECRET } });
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    return { srv, ftp };
  }

  const lines = ["PROT C", "prot c", " PROT C", "REIN", "AUTH TLS", "CCC", "PBSZ 0", "USER anonymous", "PASS s3cr3t", "ACCT s3cr3t"];

  const forms: Array<[string, (ftp: ReturnType<typeof fx.client>, line: string) => Promise<unknown>]> = [
    ["retrbinary (callback)", (ftp, line) => ftp.retrbinary(line, () => undefined)],
    ["retrbinary (Writable)", (ftp, line) => ftp.retrbinary(line, new Writable({ write: (_c, _e, done) => done() }))],
    ["retrlines (callback)", (ftp, line) => ftp.retrlines(line, () => undefined)],
    ["storbinary (source)", (ftp, line) => ftp.storbinary(line, Buffer.from(SECRET))],
    ["storlines (source)", (ftp, line) => ftp.storlines(line, Buffer.from(SECRET))],
    ["ntransfercmd", (ftp, line) => ftp.ntransfercmd(line)],
    ["transfercmd", (ftp, line) => ftp.transfercmd(line)],
  ];

  for (const [form, call] of forms) {
    it(`${form} rejects each with a TypeError, sending nothing; the next download is still encrypted`, async () => {
      const { srv, ftp } = await protectedClient();
      const before = srv.commands.length;
      for (const line of lines) {
        const { error } = await settle(call(ftp, line));
        expect(error, line).to.be.instanceOf(TypeError);
        expect(error, line).to.include({ code: "ERR_INVALID_ARG_VALUE" });
        expect((error as Error).message, line).not.to.include("s3cr3t");
      }
      expect(srv.commands.slice(before)).to.deep.equal([]);
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
      expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
      expect(srv.lastSession?.state.prot).to.equal("P");
    });
  }

  it("the stream forms throw at the call, as for any bad argument", async () => {
    const { srv, ftp } = await protectedClient();
    for (const line of ["PROT C", "REIN"]) {
      expect(() => ftp.retrbinary(line), line).to.throw(TypeError);
      expect(() => ftp.retrlines(line), line).to.throw(TypeError);
      expect(() => ftp.storbinary(line), line).to.throw(TypeError);
      expect(() => ftp.storlines(line), line).to.throw(TypeError);
    }
    expect(await ftp.pwd()).to.equal("/");
    expect(srv.commands.filter((line) => /^(PROT C|REIN)/.test(line))).to.deep.equal([]);
  });
});
