/**
 * FTPS means protected data: a client that connects and logs in by itself
 * (an ftpes:// or ftps:// URL, FTP_TLS.create, an FtpPool of such clients)
 * ends with PBSZ 0 and PROT P before any transfer, so file data never goes
 * in the clear unless the caller says `protectData: false`.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pipeline } from "node:stream/promises";
import type { FixtureServer } from "../../fixtures/server.js";
import { FTP_TLS, FtpPool } from "../../lib/index.js";
import { useTlsFixture } from "./tls-fixture.js";

const CLI = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));

async function download(ftp: FTP_TLS, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  await pipeline(
    ftp.retrbinary(`RETR ${path}`),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(chunks).toString();
}

describe("FTPS URLs protect data: PBSZ 0 and PROT P after login", () => {
  const fx = useTlsFixture();

  /** A server that notes, for each RETR, whether that session had PROT P in force. */
  async function server(implicit: boolean): Promise<{ srv: FixtureServer; protAtRetr: string[] }> {
    const srv = await fx.start({ tls: { implicit }, files: { "/pub/a.txt": "secret\n" } });
    const protAtRetr: string[] = [];
    srv.handle("RETR", async (s, arg) => {
      protAtRetr.push(s.state.prot);
      await s.defaultHandler("RETR", arg);
    });
    return { srv, protAtRetr };
  }

  for (const [scheme, implicit] of [
    ["ftpes", false],
    ["ftps", true],
  ] as const) {
    it(`${scheme}:// connect ends logged in with PBSZ 0 and PROT P, before the download, which is encrypted`, async () => {
      const { srv, protAtRetr } = await server(implicit);
      const ftp = fx.track(await FTP_TLS.connect(`${scheme}://user:pass@${srv.host}:${srv.port}/pub`, { tls: { ca: fx.cert().cert } }));
      const login = implicit ? ["USER user", "PASS pass"] : ["AUTH TLS", "USER user", "PASS pass"];
      expect(srv.commands.slice(0, login.length + 2)).to.deep.equal([...login, "PBSZ 0", "PROT P"]);
      expect(await download(ftp, "a.txt")).to.equal("secret\n");
      expect(protAtRetr).to.deep.equal(["P"]);
      expect(srv.commands.indexOf("PROT P")).to.be.below(srv.commands.findIndex((line) => line.startsWith("RETR")));
    });
  }

  it("FTP_TLS.create with a host and user protects data too", async () => {
    const { srv, protAtRetr } = await server(false);
    const ftp = fx.track(
      await FTP_TLS.create({ host: srv.host, port: srv.port, user: "user", password: "pass", tls: { ca: fx.cert().cert } }),
    );
    expect(await download(ftp, "/pub/a.txt")).to.equal("secret\n");
    expect(protAtRetr).to.deep.equal(["P"]);
  });

  it("leaves data in the clear only when asked: protectData false sends no PBSZ or PROT", async () => {
    const { srv, protAtRetr } = await server(false);
    const url = `ftpes://user:pass@${srv.host}:${srv.port}/`;
    const ftp = fx.track(await FTP_TLS.connect(url, { tls: { ca: fx.cert().cert }, protectData: false }));
    expect(ftp.secure).to.equal(true);
    expect(await download(ftp, "/pub/a.txt")).to.equal("secret\n");
    expect(srv.commands.filter((line) => line.startsWith("PBSZ") || line.startsWith("PROT"))).to.deep.equal([]);
    expect(protAtRetr).to.deep.equal(["C"]);
  });

  it("connect() and login() by hand keep ftplib's rule: data is protected after prot_p()", async () => {
    const { srv } = await server(false);
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    expect(srv.commands).to.deep.equal(["AUTH TLS", "USER user", "PASS pass"]);
  });

  it("fails the connect when the server refuses PROT P, before any transfer", async () => {
    const { srv } = await server(false);
    srv.handle("PROT", (s) => s.reply(534, "Request denied for policy reasons."));
    const error = await FTP_TLS.connect(`ftpes://user:pass@${srv.host}:${srv.port}/`, { tls: { ca: fx.cert().cert } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { replyCode?: unknown }).replyCode).to.equal(534);
    expect(srv.commands.some((line) => line.startsWith("RETR") || line.startsWith("LIST"))).to.equal(false);
  });

  it("an FtpPool of URL clients protects every client's data", async () => {
    const { srv, protAtRetr } = await server(false);
    const url = `ftpes://user:pass@${srv.host}:${srv.port}/`;
    const pool = new FtpPool({ size: 2, connect: () => FTP_TLS.connect(url, { tls: { ca: fx.cert().cert } }) });
    try {
      await Promise.all([1, 2, 3, 4].map(() => pool.use((ftp) => download(ftp as FTP_TLS, "/pub/a.txt"))));
    } finally {
      await pool.close();
    }
    expect(protAtRetr).to.deep.equal(["P", "P", "P", "P"]);
    expect(srv.commands.filter((line) => line === "PROT P")).to.have.length(2);
  });

  it("the CLI's cat over ftpes:// sends PROT P once, before the encrypted download", async () => {
    const { srv, protAtRetr } = await server(false);
    const dir = mkdtempSync(join(tmpdir(), "ftpstream-url-prot-"));
    try {
      const ca = join(dir, "ca.pem");
      writeFileSync(ca, fx.cert().cert);
      const url = `ftpes://user:pass@${srv.host}:${srv.port}/pub/a.txt`;
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, "cat", url, "--ca", ca, "--quiet"]);
      expect(stdout).to.equal("secret\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(srv.commands.filter((line) => line === "PBSZ 0" || line === "PROT P")).to.deep.equal(["PBSZ 0", "PROT P"]);
    expect(protAtRetr).to.deep.equal(["P"]);
  });
});
