/**
 * AUTH TLS's 234 is the last clear-text byte the client may take: whatever
 * follows it before the TLS handshake was never protected (a man in the
 * middle injects there, as in the STARTTLS injections of CVE-2011-0411),
 * and read after the handshake it would pass for part of the protected
 * replies. Such bytes make the upgrade fail, loudly, with FtpProtoError,
 * and the client is closed before USER or PASS goes out.
 */
import { expect } from "chai";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { FTP_TLS, FtpProtoError } from "../../lib/index.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

describe("FTPS: clear text after the 234 to AUTH TLS", () => {
  const fx = useTlsFixture();

  /** A server whose AUTH TLS answer is `answer` (the 234 and what it injects after it), then a real TLS handshake. */
  async function server(answer: string): Promise<FixtureServer> {
    const srv = await fx.start({ files: { "/secret.txt": "the secret\n" } });
    srv.handle("AUTH", async (s: Session) => {
      s.send(answer);
      await s.startTls();
    });
    return srv;
  }

  const injections = [
    ["the start of a reply line", "234 Proceed.\r\n230-"],
    ["a whole reply", "234 Proceed.\r\n230 Login successful.\r\n"],
    ["the first line of a multi-line reply", "234 Proceed.\r\n230-Welcome\r\n"],
  ] as const;

  for (const [what, answer] of injections) {
    it(`login() by hand fails with FtpProtoError on ${what} after the 234, and closes the client before USER`, async () => {
      const srv = await server(answer);
      const ftp = fx.client({ timeout: 5000 });
      await ftp.connect(srv.host, srv.port);
      const login = await settle(ftp.login("user", "pass"));
      expect(login.error, "login").to.be.instanceOf(FtpProtoError);
      expect((login.error as Error).message).to.match(/after the 234/);
      expect(ftp.closed, "closed").to.equal(true);
      expect(srv.commands.filter((line) => /^(USER|PASS)\b/.test(line))).to.deep.equal([]);
    });
  }

  it("a client that logs in by itself fails `ready` the same way, and a download asked for before it never runs", async () => {
    const srv = await server("234 Proceed.\r\n230 Login successful.\r\n");
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    const download = settle(ftp.retrbinary("RETR /secret.txt", () => undefined));
    const ready = await settle(ftp.ready);
    expect(ready.error, "ready").to.be.instanceOf(FtpProtoError);
    expect((await download).error, "download").to.be.instanceOf(Error);
    expect(ftp.closed, "closed").to.equal(true);
    expect(srv.commands).to.deep.equal(["AUTH TLS"]);
  });

  it("auth() fails the same way on an injected reply", async () => {
    const srv = await server("234 Proceed.\r\n200 Fine.\r\n");
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    const auth = await settle(ftp.auth());
    expect(auth.error, "auth").to.be.instanceOf(FtpProtoError);
    expect(ftp.closed, "closed").to.equal(true);
  });

  it("a reconnect under `retry` fails the call with it, sending no USER on the new connection", async () => {
    const srv = await fx.start({ files: { "/secret.txt": "the secret\n" } });
    let auths = 0;
    srv.handle("AUTH", async (s: Session) => {
      // The first connection's AUTH TLS goes well; the reconnect's has a reply injected after its 234.
      s.send(++auths === 1 ? "234 Proceed.\r\n" : "234 Proceed.\r\n230 Login successful.\r\n");
      await s.startTls();
    });
    // The first PWD drops the connection: the client reconnects under `retry`.
    srv.once("PWD", (s: Session) => s.drop());
    const ftp = fx.client({
      host: srv.host,
      port: srv.port,
      user: "user",
      password: "pass",
      timeout: 5000,
      retry: { attempts: 3, minDelay: 1, maxDelay: 5 },
    });
    await ftp.ready;
    const pwd = await settle(ftp.pwd());
    expect(pwd.error, "pwd").to.be.instanceOf(FtpProtoError);
    expect(auths).to.equal(2);
    expect(srv.commands.filter((line) => /^USER\b/.test(line))).to.have.length(1);
  });

  it("a 234 alone, the handshake after it, logs in and downloads as before", async () => {
    const srv = await server("234 Proceed.\r\n");
    const ftp = fx.client({ timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
    expect(Buffer.concat(chunks).toString()).to.equal("the secret\n");
    expect(ftp).to.be.instanceOf(FTP_TLS);
  });
});
