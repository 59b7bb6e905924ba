/**
 * After a 2xx to REIN (the session logged out, data protection reset, as
 * pyftpdlib does), PBSZ 0 and PROT P go again after the next login, in the
 * order of a first connect (AUTH TLS, USER, PASS, PBSZ, PROT). Sent at
 * once, before the login, a server that takes them only from a logged-in
 * session (`503 Login first`) refused them and the client was closed,
 * though it would have protected data after the login.
 */
import { expect } from "chai";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { FtpClosedError } from "../../lib/index.js";
import { settle, useTlsFixture } from "./tls-fixture.js";

const SECRET = "the secret payload\n";

describe("FTP_TLS: REIN, then PBSZ and PROT after the next login (T)", () => {
  const fx = useTlsFixture();

  /** A server with REIN (pyftpdlib's reset) that takes PBSZ and PROT only once logged in. */
  async function loginFirstServer(): Promise<FixtureServer> {
    const srv = await fx.start({ files: { "/secret.txt": SECRET } });
    srv.handle("REIN", (s: Session) => {
      Object.assign(s.state, { user: null, loggedIn: false, prot: "C", pbsz: false });
      s.reply(220, "Ready for new user.");
    });
    for (const verb of ["PBSZ", "PROT"]) {
      srv.handle(verb, async (s: Session, arg: string) => {
        if (!s.state.loggedIn) return s.reply(503, "Login with USER first.");
        await s.defaultHandler(verb, arg);
      });
    }
    return srv;
  }

  async function protectedClient(srv: FixtureServer): Promise<ReturnType<typeof fx.client>> {
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    return ftp;
  }

  for (const how of ["login()", "USER and PASS by hand"] as const) {
    it(`sends them after the login that follows (${how}), and the download is encrypted`, async () => {
      const srv = await loginFirstServer();
      const ftp = await protectedClient(srv);
      expect(await ftp.sendcmd("REIN")).to.match(/^220/);
      expect(ftp.closed, "closed after REIN").to.equal(false);
      if (how === "login()") {
        await ftp.login("user", "pass");
      } else {
        await ftp.sendcmd("USER user");
        await ftp.sendcmd("PASS pass");
      }
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
      expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
      const after = srv.commands.slice(srv.commands.indexOf("REIN"));
      expect(after.slice(0, 5)).to.deep.equal(["REIN", "USER user", "PASS pass", "PBSZ 0", "PROT P"]);
      expect(srv.lastSession?.state.prot).to.equal("P");
    });
  }

  it("under `retry`, a connection lost between REIN and the login: the new one gets PBSZ and PROT P after that login too", async () => {
    const srv = await loginFirstServer();
    const ftp = fx.client({
      host: srv.host,
      port: srv.port,
      user: "user",
      password: "pass",
      timeout: 5000,
      retry: { attempts: 2, minDelay: 1, maxDelay: 5 },
    });
    await ftp.ready;
    expect(await ftp.sendcmd("REIN")).to.match(/^220/);
    srv.sessions[0].drop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Logged out when it was lost: the new connection is not logged in again, so nothing protects data before the login.
    await ftp.login("user", "pass");
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
    const second = srv.sessions[1];
    expect(second?.state.prot, "the new connection's PROT").to.equal("P");
    const after = srv.commands.slice(srv.commands.lastIndexOf("AUTH TLS"));
    expect(after.slice(0, 5)).to.deep.equal(["AUTH TLS", "USER user", "PASS pass", "PBSZ 0", "PROT P"]);
  });

  it("a server that refuses PROT P after that login gets the client closed, and no transfer runs", async () => {
    const srv = await loginFirstServer();
    const ftp = await protectedClient(srv);
    await ftp.sendcmd("REIN");
    srv.handle("PROT", (s: Session) => s.reply(534, "Request denied for policy reasons."));
    const login = await settle(ftp.login("user", "pass"));
    expect(login.error).to.include({ replyCode: 534 });
    expect(ftp.closed).to.equal(true);
    const download = await settle(ftp.retrbinary("RETR /secret.txt", () => undefined));
    expect(download.error).to.be.instanceOf(FtpClosedError);
    expect(srv.commands.filter((line) => /^RETR\b/.test(line))).to.deep.equal([]);
  });
});
