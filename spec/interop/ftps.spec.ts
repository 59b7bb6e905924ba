/**
 * Issue 5 against real servers: explicit FTPS with PROT P on vsftpd
 * (require_ssl_reuse=YES), proftpd (mod_tls, session reuse required),
 * pyftpdlib (TLS_FTPHandler) and pure-ftpd; implicit FTPS on vsftpd and
 * proftpd. Passive and active, TLS 1.2 and 1.3. Bytes are compared with what
 * is on disk; session reuse is checked on the data socket itself (and, for
 * proftpd, in its TLS log).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TLSSocket, type SecureVersion } from "node:tls";
import { FTP_TLS, FtpPermError } from "../../lib/index.js";
import { collect, endOf, readCheckedPrefix, settles, sha256 } from "./stream-checks.js";
import { describeServers, type ServerVariant } from "./describe-server.js";
import { SAMPLE_FILES, TLS_SUPPORT, type RealServer, type ServerKind } from "./servers.js";

const MiB = 1024 * 1024;
const VERSIONS: SecureVersion[] = ["TLSv1.2", "TLSv1.3"];

const VARIANTS = (kind: ServerKind): ServerVariant[] => TLS_SUPPORT[kind].map((tls): ServerVariant => ({ label: `${tls} FTPS`, tls }));

/**
 * Whether the server resumes the control connection's TLS session on data
 * connections. vsftpd and proftpd require it (a fresh session gets "522
 * SSL connection failed: session reuse required" / "450"); pure-ftpd does not
 * require it and, under TLS 1.3, does not resume at all (no session tickets).
 */
const RESUMES = (kind: ServerKind, version: SecureVersion): boolean => !(kind === "pure-ftpd" && version === "TLSv1.3");

describeServers("interop FTPS", VARIANTS, ({ kind, variant, server }) => {
  const clients: FTP_TLS[] = [];
  let big: Buffer;

  async function client(passive: boolean, version?: SecureVersion, s: RealServer = server()): Promise<FTP_TLS> {
    const ftp = new FTP_TLS({
      timeout: 20_000,
      implicit: s.tls === "implicit",
      tls: { ca: s.ca, minVersion: version, maxVersion: version },
    });
    clients.push(ftp);
    await ftp.connect(s.host, s.port);
    expect(await ftp.login(s.user, s.password)).to.match(/^230/);
    expect(ftp.secure).to.equal(true); // login secured the control connection first
    expect(await ftp.prot_p()).to.match(/^200/);
    ftp.setPasv(passive);
    return ftp;
  }

  const home = (...parts: string[]): string => path.join(server().home, ...parts);

  before(async () => {
    const block = randomBytes(MiB);
    big = Buffer.concat(Array.from({ length: 64 }, () => block));
    await fs.writeFile(home("big.bin"), big);
  });

  afterEach(() => {
    for (const ftp of clients.splice(0)) ftp.close();
  });

  for (const passive of [true, false]) {
    const mode = passive ? "passive" : "active";
    for (const version of VERSIONS) {
      it(`${mode}, ${version}: 10 MiB up and down under PROT P, on a resumed TLS session`, async () => {
        const ftp = await client(passive, version);
        const data = randomBytes(10 * MiB);
        const name = `tls-${mode}-${version}.bin`;
        await pipeline(Readable.from([data]), ftp.storbinary(`STOR ${name}`));
        expect(sha256(await fs.readFile(home(name)))).to.equal(sha256(data));
        const back = await collect(ftp.retrbinary(`RETR ${name}`));
        expect(back.length).to.equal(data.length);
        expect(sha256(back)).to.equal(sha256(data));

        // The raw data socket: encrypted, in the version asked for, and a
        // resumption of the control connection's session. ntransfercmd hands
        // the socket over while its handshake may still run, so look once
        // the first bytes arrive.
        await ftp.voidcmd("TYPE I");
        const [sock] = await ftp.ntransfercmd("RETR sample.bin");
        expect(sock).to.be.instanceOf(TLSSocket);
        const tlsSock = sock as TLSSocket;
        let reused: boolean | undefined;
        let protocol: string | null | undefined;
        tlsSock.once("data", () => {
          reused = tlsSock.isSessionReused();
          protocol = tlsSock.getProtocol();
        });
        expect(await collect(tlsSock)).to.deep.equal(SAMPLE_FILES["sample.bin"]);
        expect(await ftp.voidresp()).to.match(/^2\d\d/);
        expect(protocol).to.equal(version);
        if (RESUMES(kind, version)) {
          expect(reused, "data connection reused the TLS session").to.equal(true);
        }
        await ftp.quit();
      });
    }

    it(`${mode}: lists over an encrypted data connection (MLSD, or LIST where there is none)`, async () => {
      const s = server();
      const ftp = await client(passive);
      const names = (await fs.readdir(home())).sort();
      if (s.supportsMlsd) {
        const seen: string[] = [];
        for await (const [name, facts] of ftp.mlsd("", ["type", "size"])) {
          if (facts.type === "cdir" || facts.type === "pdir") continue;
          seen.push(name);
          const stat = await fs.stat(home(name));
          if (stat.isFile()) expect(Number(facts.size), name).to.equal(stat.size);
        }
        expect(seen.sort()).to.deep.equal(names);
      } else {
        const error = await (async () => {
          for await (const entry of ftp.mlsd()) void entry;
        })().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(FtpPermError);
      }
      const listed: string[] = [];
      for await (const entry of ftp.list()) listed.push(entry.name);
      expect(listed.sort()).to.deep.equal(names);
      await ftp.quit();
    });

    it(`${mode}: abort an encrypted download half-way, then continue`, async () => {
      const ftp = await client(passive);
      const download = ftp.retrbinary("RETR big.bin");
      const failed = endOf(download);
      await readCheckedPrefix(download, big, 4 * MiB);
      expect(await ftp.abort()).to.match(/^(225|226|426)/);
      // It did not get everything, so it must not look like success; and it
      // must settle at all, whatever order the server's 426/226 come in.
      expect(await settles(failed, "the download stream after abort()")).to.be.instanceOf(Error);
      expect(await ftp.pwd()).to.equal("/");
      const data = randomBytes(100_000);
      await ftp.storbinary("STOR after-abort.bin", data);
      expect(await fs.readFile(home("after-abort.bin"))).to.deep.equal(data);
      expect(await collect(ftp.retrbinary("RETR after-abort.bin"))).to.deep.equal(data);
      await ftp.quit();
    });
  }

  if (variant.tls === "explicit") {
    it("prot_c() goes back to clear data connections", async () => {
      const ftp = await client(true);
      expect(await ftp.prot_c()).to.match(/^200/);
      await ftp.voidcmd("TYPE I");
      const [sock] = await ftp.ntransfercmd("RETR sample.bin");
      expect(sock).to.not.be.instanceOf(TLSSocket);
      expect(await collect(sock)).to.deep.equal(SAMPLE_FILES["sample.bin"]);
      await ftp.voidresp();
      await ftp.quit();
    });

    // proftpd and pure-ftpd do CCC; vsftpd and pyftpdlib answer 500.
    const hasCcc = kind === "proftpd" || kind === "pure-ftpd";
    it(`ccc() ${hasCcc ? "clears the control connection; data stays encrypted" : "is refused with 500 and the client stays secure and usable"}`, async () => {
      const ftp = await client(true);
      if (hasCcc) {
        expect(await ftp.ccc()).to.match(/^200/);
        expect(ftp.secure).to.equal(false);
        expect(await ftp.pwd()).to.equal("/");
        await ftp.voidcmd("TYPE I");
        const [sock] = await ftp.ntransfercmd("RETR sample.bin");
        expect(sock).to.be.instanceOf(TLSSocket);
        expect(await collect(sock)).to.deep.equal(SAMPLE_FILES["sample.bin"]);
        await ftp.voidresp();
      } else {
        const error = await ftp.ccc().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(FtpPermError);
        expect((error as FtpPermError).replyCode).to.equal(500);
        expect(ftp.secure).to.equal(true);
        expect(await ftp.pwd()).to.equal("/");
      }
      await ftp.quit();
    });
  }

  it("refuses the self-signed certificate unless told to trust it", async () => {
    const s = server();
    const strict = new FTP_TLS({ timeout: 20_000, implicit: s.tls === "implicit" });
    clients.push(strict);
    const error = await (async () => {
      await strict.connect(s.host, s.port);
      await strict.login(s.user, s.password);
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, "an untrusted certificate was accepted").to.be.instanceOf(Error);
    expect(String((error as Error).message)).to.match(/self[- ]signed/i);

    // Opting out works, and the session is really encrypted.
    const lax = new FTP_TLS({ timeout: 20_000, implicit: s.tls === "implicit", tls: { rejectUnauthorized: false } });
    clients.push(lax);
    await lax.connect(s.host, s.port);
    expect(await lax.login(s.user, s.password)).to.match(/^230/);
    expect(lax.secure).to.equal(true);
    await lax.prot_p();
    expect(await collect(lax.retrbinary("RETR hello.txt"))).to.deep.equal(SAMPLE_FILES["hello.txt"]);
    await lax.quit();
  });

  if (kind === "proftpd") {
    it("proftpd's TLS log shows every data connection reused the session", async () => {
      const ftp = await client(true);
      await ftp.storbinary("STOR log-check.bin", randomBytes(1000));
      await collect(ftp.retrbinary("RETR log-check.bin"));
      await ftp.nlst();
      await ftp.quit();
      const tlsLog = server().logFiles.find((f) => f.endsWith("tls.log"));
      expect(tlsLog, "proftpd TLS log").to.be.a("string");
      const log = await fs.readFile(tlsLog as string, "utf8");
      expect(log).to.include("client reused TLS session for data connection");
      expect(log).to.not.match(/did not reuse|session reuse required/i);
    });
  }
});
