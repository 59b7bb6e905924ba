/**
 * FTPS means protected data, against real servers: FTP_TLS.connect with an
 * ftpes:// or ftps:// URL ends with PBSZ 0 and PROT P, so the download that
 * follows runs over an encrypted data connection. vsftpd is then made to
 * refuse clear data (force_local_data_ssl=YES, its setting for "FTPS or
 * nothing"): a client that opted out of PROT P is refused, the URL client
 * is served.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { TLSSocket } from "node:tls";
import { FTP_TLS, FtpPermError, FtpTempError } from "../../lib/index.js";
import { describeServers, type ServerVariant } from "./describe-server.js";
import { SAMPLE_FILES, TLS_SUPPORT, type RealServer } from "./servers.js";
import { collect } from "./stream-checks.js";

// vsftpd's suite turns force_local_data_ssl on: a server of its own, which no other suite is given.
const VARIANTS = (kind: keyof typeof TLS_SUPPORT): ServerVariant[] =>
  TLS_SUPPORT[kind].map((tls): ServerVariant => ({ label: `${tls} FTPS`, tls, ownServer: kind === "vsftpd" }));

/** The server's URL with its login: ftps:// for implicit FTPS, ftpes:// for AUTH TLS. */
function urlOf(s: RealServer): string {
  const scheme = s.tls === "implicit" ? "ftps" : "ftpes";
  return `${scheme}://${encodeURIComponent(s.user)}:${encodeURIComponent(s.password)}@${s.host}:${s.port}/`;
}

/**
 * Sets force_local_data_ssl=YES in the running vsftpd's configuration and
 * has it read the file again (a standalone vsftpd reloads on SIGHUP; each
 * new session is forked with the new settings). The process is found by
 * its exact command line, the configuration file this suite's server was
 * started with.
 */
async function forceDataTls(s: RealServer): Promise<void> {
  const conf = path.join(path.dirname(s.home), "etc", "vsftpd.conf");
  const text = await fs.readFile(conf, "utf8");
  if (!text.includes("force_local_data_ssl=NO")) throw new Error(`${conf} has no force_local_data_ssl=NO to turn on`);
  await fs.writeFile(conf, text.replace("force_local_data_ssl=NO", "force_local_data_ssl=YES"), { mode: 0o600 });
  const pids: number[] = [];
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await fs.readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const [binary, file] = args.split("\0");
    if (file === conf && binary.endsWith("vsftpd")) pids.push(Number(entry));
  }
  // The listener is the oldest: the lowest pid of those started with this file.
  if (pids.length === 0) throw new Error(`no vsftpd running with ${conf}`);
  process.kill(Math.min(...pids), "SIGHUP");
}

describeServers("interop FTPS URL connect protects data", VARIANTS, ({ kind, variant, server }) => {
  const clients: FTP_TLS[] = [];
  afterEach(() => {
    for (const ftp of clients.splice(0)) ftp.close();
  });

  async function connect(protectData?: boolean): Promise<FTP_TLS> {
    const s = server();
    const ftp = await FTP_TLS.connect(urlOf(s), { tls: { ca: s.ca }, timeout: 20_000, protectData });
    clients.push(ftp);
    return ftp;
  }

  /** The data socket of a RETR of sample.bin, read whole: TLS or not, and its bytes. */
  async function rawDownload(ftp: FTP_TLS): Promise<{ tls: boolean; data: Buffer }> {
    await ftp.voidcmd("TYPE I");
    const [sock] = await ftp.ntransfercmd("RETR sample.bin");
    const data = await collect(sock);
    await ftp.voidresp();
    return { tls: sock instanceof TLSSocket, data };
  }

  it("a download right after FTP_TLS.connect(url) runs over an encrypted data connection", async () => {
    const ftp = await connect();
    expect(await collect(ftp.retrbinary("RETR sample.bin"))).to.deep.equal(SAMPLE_FILES["sample.bin"]);
    const raw = await rawDownload(ftp);
    expect(raw.tls, "the data connection is TLS").to.equal(true);
    expect(raw.data).to.deep.equal(SAMPLE_FILES["sample.bin"]);
    await ftp.quit();
  });

  // Under implicit FTPS proftpd protects data without being asked (no PROT
  // P needed): a client that opted out would wait on a clear socket that
  // the server speaks TLS on. The opt-out is for AUTH TLS servers.
  if (variant.tls === "explicit") {
    it("protectData: false leaves the data connection in the clear", async () => {
      const ftp = await connect(false);
      const raw = await rawDownload(ftp);
      expect(raw.tls).to.equal(false);
      expect(raw.data).to.deep.equal(SAMPLE_FILES["sample.bin"]);
      await ftp.quit();
    });
  }

  if (kind === "vsftpd") {
    describe("with force_local_data_ssl=YES", () => {
      before(async () => {
        await forceDataTls(server());
      });

      it("refuses a clear download and serves the URL client's encrypted one", async () => {
        // The reload takes effect for sessions forked after it: try until a
        // clear download is refused, which proves the setting is in force.
        let refused: unknown;
        for (let tries = 0; tries < 50 && !refused; tries++) {
          const clear = await connect(false);
          refused = await collect(clear.retrbinary("RETR sample.bin")).then(
            () => undefined,
            (error: unknown) => error,
          );
          clear.close();
          if (!refused) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(refused, "vsftpd refused data in the clear").to.satisfy(
          (e: unknown) => e instanceof FtpPermError || e instanceof FtpTempError,
        );
        expect(String((refused as Error).message)).to.match(/522|encrypt/i);

        const ftp = await connect();
        expect(await collect(ftp.retrbinary("RETR sample.bin"))).to.deep.equal(SAMPLE_FILES["sample.bin"]);
        await ftp.quit();
      });
    });
  }
});
