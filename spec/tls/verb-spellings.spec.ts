/**
 * A line whose verb a server reads otherwise than the client did changed
 * protection behind FTP_TLS's back: proftpd splits words as a shell does
 * (quotes and backslashes removed, any whitespace a blank), so `"PROT" C`
 * is PROT C there, while the client saw the verb `"PROT"` and sent it as a
 * plain command (sendcmd, sendcmds, a transfer method's line): the server
 * went to clear data and the client went on with TLS, or the other way.
 * The fixture server here reads those spellings as such a server does.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

const SECRET = "the secret payload\n";

describe("FTP_TLS: verbs a server may read otherwise", () => {
  const fx = useTlsFixture();

  /** A server that reads `"PROT"`, `"CCC"`, `"REIN"` and a \v before PROT as their bare verbs, as proftpd's word splitting does. */
  async function shellWordServer(): Promise<FixtureServer> {
    const srv = await fx.start({ files: { "/secret.txt": SECRET } });
    for (const verb of ["PROT", "CCC", "REIN", "USER", "AUTH"]) {
      srv.handle(`"${verb}"`, (s, arg) => s.defaultHandler(verb, arg));
      srv.handle(`"${verb.slice(0, 2)}\\${verb.slice(2)}"`, (s, arg) => s.defaultHandler(verb, arg));
    }
    srv.handle("\vPROT", (s, arg) => s.defaultHandler("PROT", arg));
    return srv;
  }

  async function protectedClient(srv: FixtureServer): Promise<ReturnType<typeof fx.client>> {
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    return ftp;
  }

  async function expectProtectedDownload(srv: FixtureServer, ftp: ReturnType<typeof fx.client>): Promise<void> {
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
    expect(srv.lastSession?.state.prot).to.equal("P");
  }

  const quoted = ['"PROT" C', '"PR\\OT" C', '"CCC"', '"REIN"', '"USER" anonymous', '"AUTH" TLS'];

  for (const method of ["sendcmd", "voidcmd"] as const) {
    it(`${method} refuses a verb that is not letters and digits with a TypeError, sending nothing`, async () => {
      const srv = await shellWordServer();
      const ftp = await protectedClient(srv);
      const before = srv.commands.length;
      for (const line of quoted) {
        const { error } = await settle(ftp[method](line));
        expect(error, line).to.be.instanceOf(TypeError);
        expect(error, line).to.include({ code: "ERR_INVALID_ARG_VALUE" });
      }
      expect(srv.commands.slice(before)).to.deep.equal([]);
      await expectProtectedDownload(srv, ftp);
    });
  }

  it("sendcmds refuses them too, before anything is sent", async () => {
    const srv = await shellWordServer();
    const ftp = await protectedClient(srv);
    const before = srv.commands.length;
    for (const line of quoted) {
      const { error } = await settle(ftp.sendcmds(["NOOP", line]));
      expect(error, line).to.be.instanceOf(TypeError);
      expect(error, line).to.include({ code: "ERR_INVALID_ARG_VALUE" });
    }
    // A leading blank hides no verb either.
    const { error } = await settle(ftp.sendcmds([" PROT C"]));
    expect(error).to.be.instanceOf(TypeError);
    expect(srv.commands.slice(before)).to.deep.equal([]);
    await expectProtectedDownload(srv, ftp);
  });

  it("transfer methods refuse them, sending nothing", async () => {
    const srv = await shellWordServer();
    const ftp = await protectedClient(srv);
    const before = srv.commands.length;
    for (const line of quoted) {
      const { error } = await settle(ftp.retrbinary(line, () => undefined));
      expect(error, line).to.be.instanceOf(TypeError);
      expect(error, line).to.include({ code: "ERR_INVALID_ARG_VALUE" });
      expect(() => ftp.storbinary(line), line).to.throw(TypeError);
    }
    expect(srv.commands.slice(before)).to.deep.equal([]);
    await expectProtectedDownload(srv, ftp);
  });

  it("a verb after whitespace other than a space or tab is read as that verb: PROT C so sent is prot_c()", async () => {
    const srv = await shellWordServer();
    const ftp = await protectedClient(srv);
    expect(await ftp.sendcmd("\vPROT C")).to.match(/^200/);
    expect(srv.lastSession?.state.prot).to.equal("C");
    // The client knows: the download goes in the clear on both sides, as asked.
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
    const { error } = await settle(ftp.retrbinary("\vPROT P", () => undefined));
    expect(error).to.be.instanceOf(TypeError);
  });
});
