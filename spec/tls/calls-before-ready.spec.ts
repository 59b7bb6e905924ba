/**
 * A client given `host` and `user` connects and logs in by itself ("at
 * once", `ready` settling when done). A call made right after the
 * constructor, without waiting for `ready`, runs after all of that: after
 * the login, and on FTP_TLS after AUTH TLS and PROT P too, so it never goes
 * out unauthenticated or in the clear. When the login fails, such a call
 * rejects with the login's error; when AUTH TLS is refused, the client is
 * closed and neither the call nor USER/PASS is sent.
 */
import { expect } from "chai";
import { TLSSocket } from "node:tls";
import type { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpClosedError, FtpPermError, type FtpOptions } from "../../lib/index.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

/** What each PWD saw: whether the session had logged in, its control connection was TLS, and PROT. */
interface Seen {
  loggedIn: boolean;
  secure: boolean;
  prot: string;
}

/** Notes what the server's session was when PWD came, then answers it as usual. */
function watchPwd(srv: FixtureServer): Seen[] {
  const seen: Seen[] = [];
  srv.handle("PWD", async (s, arg) => {
    seen.push({ loggedIn: Boolean(s.state.loggedIn), secure: s.socket instanceof TLSSocket, prot: s.state.prot });
    await s.defaultHandler("PWD", arg);
  });
  return seen;
}

/** The verbs the server was sent, in order. */
const verbs = (srv: FixtureServer): string[] => srv.commands.map((line) => line.split(" ")[0].toUpperCase());

describe("a client that connects and logs in by itself: calls made before `ready`", () => {
  const fx = useTlsFixture();
  const plain: FTP[] = [];
  afterEach(() => {
    for (const ftp of plain.splice(0)) ftp.close();
  });

  /** A plain FTP client that connects and logs in by itself. */
  function ftpClient(srv: FixtureServer, options: FtpOptions = {}): FTP {
    const ftp = new FTP({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000, ...options });
    plain.push(ftp);
    return ftp;
  }

  for (const pipelining of [false, true]) {
    it(`FTP${pipelining ? " (pipelining)" : ""}: a call made before ready runs after USER and PASS`, async () => {
      const srv = await fx.start();
      const seen = watchPwd(srv);
      const ftp = ftpClient(srv, { pipelining });
      const pwd = ftp.pwd();
      await ftp.ready;
      expect(await pwd).to.equal("/");
      expect(verbs(srv)).to.deep.equal(["USER", "PASS", "PWD"]);
      expect(seen).to.deep.equal([{ loggedIn: true, secure: false, prot: "C" }]);
    });
  }

  it("FTP: when the login fails, a call made before ready rejects with the login's error and is never sent", async () => {
    const srv = await fx.start();
    srv.handle("PASS", (s) => s.reply(530, "Login incorrect."));
    const ftp = ftpClient(srv);
    const pwd = settle(ftp.pwd());
    const ready = await settle(ftp.ready);
    expect(ready.error).to.be.instanceOf(FtpPermError);
    expect((await pwd).error).to.equal(ready.error);
    expect(verbs(srv)).to.deep.equal(["USER", "PASS"]);
    // A call made after `ready` settled runs as usual (the connection is still open).
    expect(await ftp.voidcmd("NOOP")).to.match(/^200/);
  });

  it("FTP_TLS (explicit): a call and a download made before ready run after AUTH TLS, the login and PROT P", async () => {
    const srv = await fx.start({ files: { "/a.txt": "secret\n" } });
    const seen = watchPwd(srv);
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    const pwd = ftp.pwd();
    const chunks: Buffer[] = [];
    const download = ftp.retrbinary("RETR /a.txt", (chunk) => void chunks.push(chunk));
    await ftp.ready;
    expect(await pwd).to.equal("/");
    await download;
    expect(Buffer.concat(chunks).toString()).to.equal("secret\n");
    expect(verbs(srv).slice(0, 6)).to.deep.equal(["AUTH", "USER", "PASS", "PBSZ", "PROT", "PWD"]);
    expect(seen).to.deep.equal([{ loggedIn: true, secure: true, prot: "P" }]);
  });

  it("FTP_TLS (implicit): a call made before ready runs after the login and PROT P, and no AUTH TLS is sent", async () => {
    const srv = await fx.start({ tls: { implicit: true } });
    const seen = watchPwd(srv);
    const ftp = fx.client({ implicit: true, host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    const pwd = ftp.pwd();
    await ftp.ready;
    expect(await pwd).to.equal("/");
    expect(verbs(srv)).to.deep.equal(["USER", "PASS", "PBSZ", "PROT", "PWD"]);
    expect(seen).to.deep.equal([{ loggedIn: true, secure: true, prot: "P" }]);
  });

  it("FTP_TLS login() by hand: a call made without waiting for it comes after the login, not between AUTH TLS and USER", async () => {
    const srv = await fx.start();
    const seen = watchPwd(srv);
    const ftp = fx.client({ timeout: 5000 });
    const connected = ftp.connect(srv.host, srv.port);
    const login = ftp.login("user", "pass");
    const pwd = ftp.pwd();
    await connected;
    await login;
    expect(await pwd).to.equal("/");
    expect(verbs(srv)).to.deep.equal(["AUTH", "USER", "PASS", "PWD"]);
    expect(seen).to.deep.equal([{ loggedIn: true, secure: true, prot: "C" }]);
  });

  it("FTP_TLS: AUTH TLS refused closes the client; neither USER, PASS nor a call made before ready is sent", async () => {
    const srv = await fx.start();
    srv.handle("AUTH", (s) => s.reply(534, "Request denied for policy reasons."));
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    const pwd = settle(ftp.pwd());
    const ready = await settle(ftp.ready);
    expect(ready.error).to.be.instanceOf(FtpPermError);
    expect((await pwd).error).to.be.instanceOf(FtpClosedError);
    expect(ftp.closed).to.equal(true);
    expect(verbs(srv)).to.deep.equal(["AUTH"]);
  });
});
