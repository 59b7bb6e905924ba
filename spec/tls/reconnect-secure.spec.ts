/**
 * Every connection a `retry` client makes is secured as the first was:
 * AUTH TLS before USER and PASS, PBSZ 0 and PROT P before any transfer,
 * implicit TLS from the first byte. A reconnect whose AUTH TLS or PROT P
 * is refused fails the call typed and closes the client, never falling
 * back to a clear login or clear data; a keepalive never reconnects;
 * the CLI's retries are protected too.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { patternBytes, patternFile, patternMismatch, type FixtureServer, type Session } from "../../fixtures/server.js";
import { FtpClosedError, FtpPermError, FtpTempError, type FTP_TLS } from "../../lib/index.js";
import { useTlsFixture, settle } from "./tls-fixture.js";

const CLI = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));
const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };

/**
 * Notes where each connection's commands start in `srv.commands` (the
 * client here has one connection at a time); the function returned gives
 * each connection's commands, in order.
 */
function watchSessions(srv: FixtureServer): () => string[][] {
  const starts: number[] = [];
  srv.onConnect((s) => {
    starts.push(srv.commands.length);
    s.sendWelcome();
  });
  return () => starts.map((start, i) => srv.commands.slice(start, starts[i + 1]));
}

/**
 * The first RETR sends a third of f.bin (300,000 bytes) and drops the
 * connection; later ones are served whole. Gives the PROT level each RETR
 * found in force, in order.
 */
function cutFirstRetr(srv: FixtureServer): string[] {
  const prot: string[] = [];
  srv.handle("RETR", async (s: Session, arg) => {
    prot.push(s.state.prot);
    if (prot.length > 1) return s.defaultHandler("RETR", arg);
    s.reply(150, "Opening BINARY mode data connection for f.bin (300000 bytes).");
    const data = await s.openData();
    data.write(patternBytes(0, 100_000), () => data.end(() => s.drop()));
  });
  return prot;
}

/** Downloads f.bin through the stream form and checks it came whole, byte for byte. */
async function expectWholeFile(ftp: FTP_TLS): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of ftp.retrbinary("RETR f.bin")) chunks.push(chunk as Buffer);
  const data = Buffer.concat(chunks);
  expect(data.length).to.equal(300_000);
  expect(patternMismatch(data)).to.equal(-1);
}

describe("FTPS under `retry`: every new connection is secured before the login and any transfer", () => {
  const fx = useTlsFixture();

  /** A client that logs in by itself (AUTH TLS, USER, PASS, PBSZ 0, PROT P) under `retry`. */
  async function retryClient(srv: FixtureServer, extra: Parameters<typeof fx.client>[0] = {}): Promise<FTP_TLS> {
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000, retry: FAST, ...extra });
    await ftp.ready;
    return ftp;
  }

  for (const [code, text] of [
    [534, "Request denied for policy reasons."],
    [500, "Unknown command."],
    [502, "AUTH not supported."],
    [504, "Unknown AUTH type."],
  ] as const) {
    it(`a reconnect whose AUTH TLS gets ${code} fails the call with FtpPermError and closes the client: no USER in the clear`, async () => {
      const srv = await fx.start();
      const perSession = watchSessions(srv);
      const ftp = await retryClient(srv);
      srv.handle("AUTH", (s) => s.reply(code, text));
      srv.once("PWD", (s) => s.drop());
      const pwd = await settle(ftp.pwd());
      expect(pwd.error).to.be.instanceOf(FtpPermError);
      expect(pwd.error).to.include({ replyCode: code });
      expect(ftp.closed).to.equal(true);
      expect(perSession()[1]).to.deep.equal(["AUTH TLS"]);
      // Nothing reconnects later, in the clear or otherwise.
      expect((await settle(ftp.pwd())).error).to.be.instanceOf(FtpClosedError);
      expect(srv.sessions).to.have.length(2);
    });
  }

  it("a reconnect whose PROT P gets a 4xx is not used: the next attempt opens a new connection, and the download runs under PROT P", async () => {
    const srv = await fx.start({ files: { "/f.bin": patternFile(300_000) } });
    const perSession = watchSessions(srv);
    const ftp = await retryClient(srv);
    const prot = cutFirstRetr(srv);
    // The first reconnect's PROT P is refused for now; the next one's goes through.
    srv.once("PROT", (s) => s.reply(431, "Try again later."));
    await expectWholeFile(ftp);
    expect(prot).to.deep.equal(["P", "P"]);
    const sessions = perSession();
    expect(sessions).to.have.length(3);
    expect(sessions[1]).to.deep.equal(["AUTH TLS", "USER user", "PASS pass", "PBSZ 0", "PROT P"]);
  });

  it("a reconnect whose login gets a 4xx is not used: nothing runs on a connection that is not logged in", async () => {
    const srv = await fx.start();
    const perSession = watchSessions(srv);
    const ftp = await retryClient(srv);
    srv.once("PWD", (s) => s.drop());
    srv.once("PASS", (s) => s.reply(451, "Local error, try later."));
    expect(await ftp.pwd()).to.equal("/");
    const sessions = perSession();
    expect(sessions[1]).to.deep.equal(["AUTH TLS", "USER user", "PASS pass"]);
    expect(sessions[2].slice(0, 6)).to.deep.equal(["AUTH TLS", "USER user", "PASS pass", "PBSZ 0", "PROT P", "PWD"]);
  });

  it("a reconnect whose AUTH TLS gets a 4xx each time tries again, each time AUTH TLS first, and never sends USER", async () => {
    const srv = await fx.start();
    const perSession = watchSessions(srv);
    const ftp = await retryClient(srv);
    srv.handle("AUTH", (s) => s.reply(431, "Unable to accept security mechanism."));
    srv.once("PWD", (s) => s.drop());
    const pwd = await settle(ftp.pwd());
    expect(pwd.error).to.be.instanceOf(FtpTempError);
    expect(ftp.closed).to.equal(true);
    const later = perSession().slice(1);
    expect(later.length).to.be.greaterThan(1);
    for (const commands of later) expect(commands).to.deep.equal(["AUTH TLS"]);
  });

  it("a reconnect whose PROT P is refused fails the call and closes the client: a download queued behind it never runs", async () => {
    const srv = await fx.start({ files: { "/secret.txt": "the secret\n" } });
    const perSession = watchSessions(srv);
    const ftp = await retryClient(srv);
    srv.handle("PROT", (s) => s.reply(534, "Request denied for policy reasons."));
    srv.once("PWD", (s) => s.drop());
    const pwd = settle(ftp.pwd());
    const download = settle(ftp.retrbinary("RETR /secret.txt", () => undefined));
    expect((await pwd).error).to.include({ replyCode: 534 });
    expect((await download).error).to.be.instanceOf(FtpClosedError);
    expect(ftp.closed).to.equal(true);
    expect(perSession()[1]).to.deep.equal(["AUTH TLS", "USER user", "PASS pass", "PBSZ 0", "PROT P"]);
  });

  it("implicit FTPS: the new connection is TLS from the first byte and gets PBSZ 0 and PROT P before the resumed download", async () => {
    const srv = await fx.start({ tls: { implicit: true }, files: { "/f.bin": patternFile(300_000) } });
    const perSession = watchSessions(srv);
    const ftp = await retryClient(srv, { implicit: true });
    const prot = cutFirstRetr(srv);
    await expectWholeFile(ftp);
    expect(prot).to.deep.equal(["P", "P"]);
    const second = perSession()[1];
    expect(second.slice(0, 4)).to.deep.equal(["USER user", "PASS pass", "PBSZ 0", "PROT P"]);
    expect(srv.sessions[1].state.tls).to.equal(true);
  });

  it("the keepalive's NOOP on a dead connection reconnects nothing; the next call reconnects secured", async () => {
    const srv = await fx.start();
    const perSession = watchSessions(srv);
    const ftp = await retryClient(srv, { keepAlive: 50 });
    srv.sessions[0].drop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(srv.sessions).to.have.length(1);
    expect(await ftp.pwd()).to.equal("/");
    expect(perSession()[1].slice(0, 6)).to.deep.equal(["AUTH TLS", "USER user", "PASS pass", "PBSZ 0", "PROT P", "PWD"]);
  });

  it("the CLI's get over ftpes:// with --retry resumes on a connection secured again, PROT P before its RETR", async () => {
    const srv = await fx.start({ files: { "/f.bin": patternFile(300_000) } });
    const perSession = watchSessions(srv);
    const prot = cutFirstRetr(srv);
    const dir = mkdtempSync(join(tmpdir(), "ftpstream-reconnect-secure-"));
    try {
      const ca = join(dir, "ca.pem");
      writeFileSync(ca, fx.cert().cert);
      const url = `ftpes://user:pass@${srv.host}:${srv.port}/f.bin`;
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, "cat", url, "--ca", ca, "--quiet", "--retry", "2"], {
        encoding: "buffer",
        maxBuffer: 1 << 20,
      });
      expect(stdout.length).to.equal(300_000);
      expect(patternMismatch(stdout)).to.equal(-1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(prot).to.deep.equal(["P", "P"]);
    for (const commands of perSession()) {
      const verbs = commands.map((line) => line.split(" ")[0]);
      expect(verbs.slice(0, 5)).to.deep.equal(["AUTH", "USER", "PASS", "PBSZ", "PROT"]);
      expect(verbs.indexOf("RETR")).to.be.greaterThan(verbs.indexOf("PROT"));
    }
  });
});
