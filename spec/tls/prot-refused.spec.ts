/**
 * Once data protection was asked for, no transfer runs in the clear: a
 * server that refuses PBSZ or PROT P gets a closed client (every transfer
 * after it fails with a typed error before any data connection), and a
 * transfer asked for without waiting for `ready` runs after PROT P.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpClosedError, FtpPermError } from "../../lib/index.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

describe("FTPS: no clear-text data once protection was asked for", () => {
  const fx = useTlsFixture();

  /** A server with a file, noting for each data connection opened whether PROT P was in force, and what was stored. */
  async function server(): Promise<{ srv: FixtureServer; protAtTransfer: string[] }> {
    const srv = await fx.start({ files: { "/secret.txt": "the secret\n" } });
    const protAtTransfer: string[] = [];
    for (const verb of ["RETR", "STOR"]) {
      srv.handle(verb, async (s, arg) => {
        protAtTransfer.push(s.state.prot);
        await s.defaultHandler(verb, arg);
      });
    }
    return { srv, protAtTransfer };
  }

  for (const verb of ["PBSZ", "PROT"]) {
    it(`a client that logs in by itself and is refused ${verb} is closed: later transfers fail before any data connection`, async () => {
      const { srv, protAtTransfer } = await server();
      srv.handle(verb, (s) => s.reply(534, "Request denied for policy reasons."));
      const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
      const ready = await settle(ftp.ready);
      expect(ready.error, "ready").to.be.instanceOf(FtpPermError);
      expect((ready.error as FtpPermError).replyCode).to.equal(534);
      expect(ftp.closed, "closed").to.equal(true);
      const download = await settle(ftp.retrbinary("RETR /secret.txt", () => undefined));
      const upload = await settle(ftp.storbinary("STOR /out.txt", Buffer.from("more secret\n")));
      expect(download.error, "download").to.be.instanceOf(FtpClosedError);
      expect(upload.error, "upload").to.be.instanceOf(FtpClosedError);
      expect(protAtTransfer).to.deep.equal([]);
      expect(srv.vfs.get("/out.txt")).to.equal(undefined);
    });
  }

  it("prot_p() refused: a transfer queued behind it without waiting fails with FtpClosedError, never runs in the clear", async () => {
    const { srv, protAtTransfer } = await server();
    srv.handle("PROT", (s) => s.reply(534, "Request denied for policy reasons."));
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    // A careless caller: the transfer is queued behind prot_p() without waiting for it.
    const protP = settle(ftp.prot_p());
    const download = settle(ftp.retrbinary("RETR /secret.txt", () => undefined));
    expect((await protP).error).to.be.instanceOf(FtpPermError);
    expect((await download).error).to.be.instanceOf(FtpClosedError);
    expect(ftp.closed).to.equal(true);
    expect(protAtTransfer).to.deep.equal([]);
    expect(srv.commands.some((line) => line.startsWith("RETR"))).to.equal(false);
  });

  it("a download asked for before `ready`, on a server that serves files before the login, runs after PROT P, encrypted", async () => {
    const { srv, protAtTransfer } = await server();
    // A server that serves files before the login (and so before AUTH TLS and PROT P).
    srv.onConnect((s) => {
      s.state.loggedIn = true;
      s.sendWelcome();
    });
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    const chunks: Buffer[] = [];
    const download = ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    await ftp.ready;
    await download;
    // The download waited for the whole of the connect unit (see calls-before-ready.spec).
    expect(protAtTransfer).to.deep.equal(["P"]);
    expect(Buffer.concat(chunks).toString()).to.equal("the secret\n");
  });
});
