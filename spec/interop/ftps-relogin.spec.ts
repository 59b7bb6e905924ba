/**
 * FTPS on real servers after a new login or a REIN: data stays encrypted.
 * pyftpdlib flushes PBSZ and PROT with the account on a USER from a
 * logged-in session and on REIN (its control connection stays TLS), so a
 * client that did not send PROT P again had the server send the next
 * download in the clear. vsftpd, proftpd and pure-ftpd keep PROT over a
 * new login and have no REIN (502/500). PROT P sent by hand with
 * sendcmd() protects what follows, as prot_p() does.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { TLSSocket } from "node:tls";
import { FTP_TLS, FtpPermError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { TLS_SUPPORT } from "./servers.js";

const CONTENT = "encrypted after a new login\n";

describeServers(
  "interop FTPS: a new login or REIN keeps data protected",
  (kind) => TLS_SUPPORT[kind].filter((tls) => tls === "explicit").map((tls) => ({ label: `${tls} FTPS`, tls })),
  ({ kind, server }) => {
    const clients: FTP_TLS[] = [];

    before(async () => {
      await fs.writeFile(path.join(server().home, "relogin.txt"), CONTENT);
    });

    afterEach(() => {
      for (const ftp of clients.splice(0)) ftp.close();
    });

    async function protectedClient(): Promise<FTP_TLS> {
      const s = server();
      const ftp = new FTP_TLS({ host: s.host, port: s.port, user: s.user, password: s.password, timeout: 10_000, tls: { ca: s.ca } });
      clients.push(ftp);
      await ftp.ready;
      return ftp;
    }

    async function download(ftp: FTP_TLS): Promise<string> {
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR relogin.txt", (chunk) => void chunks.push(chunk));
      return Buffer.concat(chunks).toString();
    }

    it("a second login(), where the server takes it, is followed by an encrypted download", async () => {
      const s = server();
      const ftp = await protectedClient();
      // pure-ftpd refuses a second login ("530 You're already logged in") and keeps the session as it was.
      await ftp.login(s.user, s.password).catch((error: unknown) => {
        if (!(kind === "pure-ftpd" && error instanceof FtpPermError)) throw error;
      });
      expect(await download(ftp)).to.equal(CONTENT);
      await ftp.quit();
    });

    it("PBSZ 0 and PROT P sent by hand protect the upload and download after them", async () => {
      const s = server();
      const ftp = new FTP_TLS({ timeout: 10_000, tls: { ca: s.ca } });
      clients.push(ftp);
      await ftp.connect(s.host, s.port);
      await ftp.login(s.user, s.password);
      await ftp.sendcmd("PBSZ 0");
      expect(await ftp.sendcmd("PROT P")).to.match(/^200/);
      expect(await ftp.storbinary("STOR by-hand.txt", Buffer.from(CONTENT))).to.match(/^2\d\d/);
      expect(await fs.readFile(path.join(s.home, "by-hand.txt"), "utf8")).to.equal(CONTENT);
      const [socket] = await ftp.ntransfercmd("RETR by-hand.txt");
      expect(socket).to.be.instanceOf(TLSSocket);
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      await ftp.voidresp();
      expect(Buffer.concat(chunks).toString()).to.equal(CONTENT);
      await ftp.quit();
    });

    it("REIN, where the server has it, then a login: the download is encrypted", async () => {
      const s = server();
      const ftp = await protectedClient();
      const rein = await ftp.sendcmd("REIN").then(
        (reply) => reply,
        (error: unknown) => error,
      );
      if (kind === "pyftpdlib") {
        expect(rein).to.match(/^2\d\d/);
        await ftp.login(s.user, s.password);
      } else {
        expect(rein).to.be.instanceOf(FtpPermError);
      }
      expect(ftp.secure).to.equal(true);
      expect(await download(ftp)).to.equal(CONTENT);
      await ftp.quit();
    });
  },
);
