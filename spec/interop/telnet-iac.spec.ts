/**
 * Byte 0xFF (Telnet IAC) in commands, against every real server. RFC 959
 * runs the control connection as Telnet, where 0xFF starts a Telnet
 * command and a literal 0xFF is sent doubled. A windows-1251 "я" (or
 * latin1 "ÿ", or an escaped byte on UTF-8) is 0xFF. Measured here, with
 * a file whose name holds 0xFF ("отчёт-я.txt": ... 2D FF 2E 74 78 74) and
 * a decoy named as a Telnet reader would see it (0xFF and the "." after
 * it dropped: "отчёт-txt"):
 *
 * | server                  | 0xFF sent raw                         | 0xFF sent doubled (FF FF)          | 0xFF in its replies (257)  |
 * |-------------------------|---------------------------------------|------------------------------------|----------------------------|
 * | vsftpd 3.0.3            | the name given                        | a name with two 0xFF (550, or made)| doubled (FF FF)            |
 * | proftpd 1.3.8           | the name given                        | the name given                     | as is                      |
 * | pure-ftpd 1.0.50        | the name given                        | a name with two 0xFF (550, or made)| as is                      |
 * | GNU inetutils ftpd 2.4  | a different name: FF and next byte go | the name given                     | as is                      |
 * | netkit ftpd 0.17        | a different name: FF and next byte go | the name given                     | as is                      |
 * | pyftpdlib 1.5.7         | U+FFFD (EF BF BD): no such name/made  | two U+FFFD                         | (none reached)             |
 * | Twisted 22.4            | "ÿ" stored as UTF-8 C3 BF: made/550   | two "ÿ" (C3 BF C3 BF)              | as is                      |
 * | ftp-srv 4.6.3           | U+FFFD (EF BF BD): no such name/made  | two U+FFFD                         | (none reached)             |
 *
 * On inetutils and netkit a raw `DELE отчёт-я.txt` deletes the decoy, and
 * `MKD m<FF>n` makes "m". No spelling reaches a 0xFF name on pyftpdlib,
 * Twisted or ftp-srv (they read commands as UTF-8 or latin1 text), and
 * listings (data connections) carry 0xFF as is everywhere.
 *
 * ftpstream's default (`telnetIac: "auto"`) goes by the welcome: raw for
 * vsftpd and pure-ftpd (and vsftpd's doubled replies made single), doubled
 * for proftpd, GNU inetutils and BSD ftpd, and for any other server a
 * command holding 0xFF is refused (FtpError ERR_FTP_TELNET_IAC) before it
 * is sent: here pyftpdlib, Twisted and ftp-srv, where it would act on a
 * name other than the one given.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import { Readable } from "node:stream";
import { FTP } from "../../lib/index.js";
import { codecFor } from "../../lib/text-codec.js";
import { describeServers } from "./describe-server.js";
import type { ServerKind } from "./servers.js";

const cp1251 = (text: string): Buffer => codecFor("windows-1251").encode(text);
/** "я" is 0xFF in windows-1251. */
const TARGET = "отчёт-я.txt";
/** TARGET as a Telnet reader takes it raw: 0xFF and the "." after it dropped. */
const DECOY = "отчёт-txt";
const DIR = "папка-я";

/** What SIZE of TARGET reaches with each spelling, as measured: its size, the decoy's, or nothing (550). */
type Reached = "target" | "decoy" | "nothing";
const MEASURED: Record<ServerKind, { raw: Reached; double: Reached; auto: "raw" | "double" | "refuse" }> = {
  vsftpd: { raw: "target", double: "nothing", auto: "raw" },
  proftpd: { raw: "target", double: "target", auto: "double" },
  "pure-ftpd": { raw: "target", double: "nothing", auto: "raw" },
  pyftpdlib: { raw: "nothing", double: "nothing", auto: "refuse" },
  "inetutils-ftpd": { raw: "decoy", double: "target", auto: "double" },
  "netkit-ftpd": { raw: "decoy", double: "target", auto: "double" },
  twisted: { raw: "nothing", double: "nothing", auto: "refuse" },
  "ftp-srv": { raw: "nothing", double: "nothing", auto: "refuse" },
};

describeServers(
  "interop byte 0xFF (Telnet IAC)",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    const measured = MEASURED[kind];
    let owner: { uid: number; gid: number };
    const onDisk = (name: string): Buffer => Buffer.concat([Buffer.from(`${server().home}/`), cp1251(name)]);
    const exists = (name: string): Promise<boolean> =>
      fs.stat(onDisk(name)).then(
        () => true,
        () => false,
      );
    /** The names in the home beyond the samples (and a chrooted server's bin, lib), as hex. */
    const names = async (): Promise<string[]> =>
      (await fs.readdir(Buffer.from(server().home), { encoding: "buffer" })).map((name) => name.toString("hex")).sort();
    const connect = (telnetIac?: "raw" | "double"): Promise<FTP> => {
      const s = server();
      return FTP.create({
        host: s.host,
        port: s.port,
        user: s.user,
        password: s.password,
        timeout: 20_000,
        encoding: "windows-1251",
        telnetIac,
      });
    };

    before(async () => {
      const stat = await fs.stat(server().home);
      owner = { uid: stat.uid, gid: stat.gid };
    });

    beforeEach(async () => {
      for (const [name, content] of [
        [TARGET, "target"],
        [DECOY, "decoy"],
      ]) {
        await fs.writeFile(onDisk(name), content);
        await fs.chown(onDisk(name), owner.uid, owner.gid);
      }
      await fs.mkdir(onDisk(DIR), { recursive: true });
      await fs.chown(onDisk(DIR), owner.uid, owner.gid);
    });

    afterEach(async () => {
      for (const name of [TARGET, DECOY, DIR, "новый-я.txt", "итог-я.txt", "каталог-я"]) {
        await fs.rm(onDisk(name), { recursive: true, force: true });
      }
    });

    it(`reaches with 0xFF sent raw: ${measured.raw}; sent doubled: ${measured.double}`, async () => {
      const sizes: Record<Reached, number | null> = { target: 6, decoy: 5, nothing: null };
      for (const mode of ["raw", "double"] as const) {
        const ftp = await connect(mode);
        try {
          const size = await ftp.size(TARGET).catch(() => null);
          expect(size, mode).to.equal(sizes[measured[mode]]);
        } finally {
          ftp.close();
        }
      }
    });

    if (measured.auto === "refuse") {
      it("by default refuses every command holding 0xFF before sending it (FtpError ERR_FTP_TELNET_IAC), and nothing on disk changes", async () => {
        const before = await names();
        const calls: Array<(ftp: FTP) => Promise<unknown>> = [
          (ftp) => ftp.size(TARGET),
          (ftp) => ftp.delete(TARGET),
          (ftp) => ftp.retrbinary(`RETR ${TARGET}`, () => undefined),
          (ftp) => ftp.storbinary("STOR новый-я.txt", Readable.from([Buffer.from("new")])),
          (ftp) => ftp.mkd("каталог-я"),
          (ftp) => ftp.rename("hello.txt", "итог-я.txt"),
          (ftp) => ftp.cwd(DIR),
        ];
        // A client each: a transfer is refused after its PASV, and Twisted answers the next command with
        // "550 Requested action not taken: internal server error" (and the next PASV with that 550, then a 227).
        for (const call of calls) {
          const ftp = await connect();
          try {
            const error = await call(ftp).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(error, `${String(call)}: ${String(error)}`).to.have.property("code", "ERR_FTP_TELNET_IAC");
          } finally {
            ftp.close();
          }
        }
        expect(await names()).to.deep.equal(before);
      });
    } else {
      it(`by default (${measured.auto}) reads, writes, renames and deletes the very name given, and pwd() gives a 0xFF directory back as it is`, async () => {
        const ftp = await connect();
        try {
          expect(await ftp.size(TARGET)).to.equal(6);
          const chunks: Buffer[] = [];
          await ftp.retrbinary(`RETR ${TARGET}`, (chunk) => chunks.push(chunk));
          expect(Buffer.concat(chunks).toString()).to.equal("target");

          await ftp.storbinary("STOR новый-я.txt", Readable.from([Buffer.from("new")]));
          expect(await fs.readFile(onDisk("новый-я.txt"), "utf8")).to.equal("new");
          await ftp.rename("новый-я.txt", "итог-я.txt");
          expect(await exists("новый-я.txt")).to.equal(false);
          expect(await fs.readFile(onDisk("итог-я.txt"), "utf8")).to.equal("new");

          await ftp.mkd("каталог-я");
          expect((await fs.stat(onDisk("каталог-я"))).isDirectory()).to.equal(true);

          await ftp.cwd(DIR);
          expect(await ftp.pwd()).to.equal(`/${DIR}`);
          await ftp.cwd("/");

          await ftp.delete(TARGET);
          expect(await exists(TARGET)).to.equal(false);
          expect(await fs.readFile(onDisk(DECOY), "utf8")).to.equal("decoy");
        } finally {
          ftp.close();
        }
      });
    }
  },
);
