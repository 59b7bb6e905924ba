/**
 * Lines sent by hand that change what is protected (AUTH, PROT, CCC, REIN)
 * keep FTP_TLS's idea of the connection in step with the server's, and a
 * login sent by hand never goes out on a control connection still in the
 * clear. A client that believed data was clear while the server had PROT P
 * sent uploads in the clear; one that believed PROT P after a REIN had
 * reset it let downloads cross the wire in the clear.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpClosedError, FtpError } from "../../lib/index.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

const SECRET = "the secret payload\n";

describe("FTP_TLS: security commands sent by hand", () => {
  const fx = useTlsFixture();

  async function server(): Promise<FixtureServer> {
    return fx.start({ files: { "/secret.txt": SECRET } });
  }

  /** A client connected and logged in by hand (AUTH TLS, no PROT yet). */
  async function loggedIn(srv: FixtureServer): Promise<ReturnType<typeof fx.client>> {
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    return ftp;
  }

  for (const method of ["sendcmd", "voidcmd"] as const) {
    it(`${method}("PROT P") protects the data connections after it: an upload goes over TLS, not in the clear`, async () => {
      const srv = await server();
      const ftp = await loggedIn(srv);
      await ftp[method]("PBSZ 0");
      expect(await ftp[method]("PROT P")).to.match(/^200/);
      expect(await ftp.storbinary("STOR /out.txt", Buffer.from(SECRET))).to.match(/^226/);
      expect(srv.vfs.get("/out.txt")?.toString()).to.equal(SECRET);
      expect(srv.lastSession?.state.prot).to.equal("P");
    });
  }

  it('sendcmd("PROT C") by hand is prot_c(): the download after it is in the clear, as asked', async () => {
    const srv = await server();
    const ftp = await loggedIn(srv);
    await ftp.prot_p();
    expect(await ftp.sendcmd("prot c")).to.match(/^200/);
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
  });

  it('a refused sendcmd("PROT P") closes the client, as prot_p(): a transfer queued behind it never runs in the clear', async () => {
    const srv = await server();
    srv.handle("PROT", (s) => s.reply(534, "Request denied for policy reasons."));
    const ftp = await loggedIn(srv);
    const prot = settle(ftp.sendcmd("PROT P"));
    const upload = settle(ftp.storbinary("STOR /out.txt", Buffer.from(SECRET)));
    expect((await prot).error).to.include({ replyCode: 534 });
    expect((await upload).error).to.be.instanceOf(FtpClosedError);
    expect(srv.commands.filter((line) => /^(STOR|EPSV|PASV|PORT|EPRT)/.test(line))).to.deep.equal([]);
  });

  it("refuses PROT S and PROT E before sending them: data would not be protected as the client believes", async () => {
    const srv = await server();
    const ftp = await loggedIn(srv);
    for (const line of ["PROT S", "PROT E", "PROT"]) {
      const { error } = await settle(ftp.sendcmd(line));
      expect(error, line).to.be.instanceOf(FtpError);
      expect(error).to.include({ code: "ERR_FTP_PROT_LEVEL" });
    }
    expect(srv.commands.filter((line) => line.startsWith("PROT"))).to.deep.equal([]);
    expect(await ftp.pwd()).to.equal("/");
  });

  it('sendcmd("AUTH TLS") by hand secures the control connection, so the login after it is encrypted', async () => {
    const srv = await server();
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    expect(await ftp.sendcmd("AUTH TLS")).to.match(/^234/);
    expect(ftp.secure).to.equal(true);
    expect(await ftp.sendcmd("USER user")).to.match(/^331/);
    expect(await ftp.sendcmd("PASS pass")).to.match(/^230/);
    expect(srv.lastSession?.state.tls).to.equal(true);
    expect(srv.commands.slice(0, 3)).to.deep.equal(["AUTH TLS", "USER user", "PASS pass"]);
  });

  it("refuses another AUTH mechanism by hand (AUTH SSL may turn PROT P on unasked), sending nothing", async () => {
    const srv = await server();
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    const { error } = await settle(ftp.sendcmd("AUTH SSL"));
    expect(error).to.be.instanceOf(FtpError);
    expect(error).to.include({ code: "ERR_FTP_AUTH_MECHANISM" });
    expect(srv.commands).to.deep.equal([]);
  });

  for (const line of ["USER s3cr3t-user", "PASS s3cr3t-pass", "ACCT s3cr3t-acct"]) {
    it(`refuses "${line.split(" ")[0]}" by hand while the control connection is in the clear, sending nothing`, async () => {
      const srv = await server();
      const ftp = fx.client({ timeout: 5000 });
      await ftp.connect(srv.host, srv.port);
      const { error } = await settle(ftp.sendcmd(line));
      expect(error).to.be.instanceOf(FtpError);
      expect(error).to.include({ code: "ERR_FTP_TLS_INACTIVE" });
      expect((error as Error).message).not.to.include("s3cr3t");
      expect(srv.commands).to.deep.equal([]);
    });
  }

  it("acct() is refused the same way before AUTH TLS", async () => {
    const srv = await server();
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    const { error } = await settle(ftp.acct("secret"));
    expect(error).to.include({ code: "ERR_FTP_TLS_INACTIVE" });
    expect(srv.commands).to.deep.equal([]);
  });

  it("sends a login by hand in the clear once the user chose that with login(..., secure = false)", async () => {
    const srv = await server();
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    expect(await ftp.login("user", "pass", "", false)).to.match(/^230/);
    expect(await ftp.sendcmd("USER user")).to.match(/^331/);
    expect(ftp.secure).to.equal(false);
  });

  it("REIN by hand: PROT P, which the server reset, is sent again before the next transfer, so the download is encrypted", async () => {
    const srv = await server();
    // As pyftpdlib: REIN logs out and resets data protection, the control connection stays TLS.
    srv.handle("REIN", (s) => {
      Object.assign(s.state, { user: null, loggedIn: false, prot: "C", pbsz: false });
      s.reply(220, "Ready for new user.");
    });
    const ftp = await loggedIn(srv);
    await ftp.prot_p();
    expect(await ftp.sendcmd("REIN")).to.match(/^220/);
    await ftp.login("user", "pass");
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
    const after = srv.commands.slice(srv.commands.indexOf("REIN"));
    // After the login, as on a first connect (see tls/rein-order).
    expect(after.slice(0, 5)).to.deep.equal(["REIN", "USER user", "PASS pass", "PBSZ 0", "PROT P"]);
  });

  it("REIN by hand: a server that then refuses PROT P (after the next login) gets the client closed, and no transfer runs", async () => {
    const srv = await server();
    srv.handle("REIN", (s) => {
      Object.assign(s.state, { user: null, loggedIn: false, prot: "C", pbsz: false });
      s.reply(220, "Ready for new user.");
    });
    const ftp = await loggedIn(srv);
    await ftp.prot_p();
    srv.handle("PROT", (s) => s.reply(503, "Login first."));
    expect(await ftp.sendcmd("REIN")).to.match(/^220/);
    const login = await settle(ftp.login("user", "pass"));
    expect(login.error).to.include({ replyCode: 503 });
    expect(ftp.closed).to.equal(true);
    const download = await settle(ftp.retrbinary("RETR /secret.txt", () => undefined));
    expect(download.error).to.be.instanceOf(FtpClosedError);
  });
});

describe("FTP_TLS: a new login on a protected session", () => {
  const fx = useTlsFixture();

  /** As pyftpdlib: USER from a logged-in session flushes the account, PBSZ and PROT with it. */
  async function flushingServer(): Promise<FixtureServer> {
    const srv = await fx.start({ files: { "/secret.txt": SECRET } });
    srv.handle("USER", async (s, arg) => {
      if (s.state.loggedIn) Object.assign(s.state, { prot: "C", pbsz: false });
      await s.defaultHandler("USER", arg);
    });
    return srv;
  }

  async function download(ftp: ReturnType<typeof fx.client>): Promise<string> {
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    return Buffer.concat(chunks).toString();
  }

  it("login() again sends PBSZ 0 and PROT P after it, so the next download is encrypted", async () => {
    const srv = await flushingServer();
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    const from = srv.commands.length;
    expect(await ftp.login("user", "pass")).to.match(/^230/);
    expect(srv.commands.slice(from)).to.deep.equal(["USER user", "PASS pass", "PBSZ 0", "PROT P"]);
    expect(await download(ftp)).to.equal(SECRET);
    expect(srv.lastSession?.state.prot).to.equal("P");
  });

  it("a login by hand (sendcmd USER, PASS) gets PBSZ 0 and PROT P after its 230", async () => {
    const srv = await flushingServer();
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    const from = srv.commands.length;
    expect(await ftp.sendcmd("USER user")).to.match(/^331/);
    expect(await ftp.sendcmd("PASS pass")).to.match(/^230/);
    expect(srv.commands.slice(from)).to.deep.equal(["USER user", "PASS pass", "PBSZ 0", "PROT P"]);
    expect(await download(ftp)).to.equal(SECRET);
  });

  it("a login after prot_c() sends no PROT: clear data stays as the user asked", async () => {
    const srv = await flushingServer();
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    await ftp.prot_c();
    const from = srv.commands.length;
    await ftp.login("user", "pass");
    expect(srv.commands.slice(from)).to.deep.equal(["USER user", "PASS pass"]);
    expect(await download(ftp)).to.equal(SECRET);
  });
});
