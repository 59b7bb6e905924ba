/**
 * Issue 14: features(), ensureDir, removeDir/clearDir, lastMod/setLastMod
 * and stat against the real servers, checked on disk. Which commands each
 * server gets differs (seen in the debug log): MFMT and MLST where FEAT
 * lists them (proftpd, pure-ftpd, pyftpdlib); on vsftpd, which has
 * neither, the two-argument MDTM, SIZE + MDTM, and PWD/CWD for a check.
 * Issue 24: inetutils and netkit ftpd, Twisted and ftp-srv set no times at
 * all ("mtime kept" in LACKS: no MFMT, MDTM only reads, no SITE UTIME), so
 * setLastMod rejects there with ERR_FTP_UNSUPPORTED and the file keeps its
 * time; netkit has no FEAT, so features() is empty.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { FTP, FtpError, FtpPermError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { lacks, type ServerKind } from "./servers.js";

/**
 * What each server's FEAT lists (checked below against the real FEAT):
 * MFMT, MLST, MDTM and SIZE, and REST's parameter (undefined: no REST line).
 * ftp-srv and Twisted list no REST (ftp-srv has REST all the same; Twisted
 * has none). netkit ftpd answers FEAT 500: nothing is listed.
 */
const HAS: Record<ServerKind, { MFMT: boolean; MLST: boolean; MDTM: boolean; REST: string | undefined }> = {
  vsftpd: { MFMT: false, MLST: false, MDTM: true, REST: "STREAM" },
  proftpd: { MFMT: true, MLST: true, MDTM: true, REST: "STREAM" },
  "pure-ftpd": { MFMT: true, MLST: true, MDTM: true, REST: "STREAM" },
  pyftpdlib: { MFMT: true, MLST: true, MDTM: true, REST: "STREAM" },
  "inetutils-ftpd": { MFMT: false, MLST: false, MDTM: true, REST: "STREAM" },
  "netkit-ftpd": { MFMT: false, MLST: false, MDTM: false, REST: undefined },
  twisted: { MFMT: false, MLST: false, MDTM: true, REST: undefined },
  "ftp-srv": { MFMT: false, MLST: false, MDTM: true, REST: undefined },
};

/** ftp-srv's MDTM gives milliseconds ("213 20261206070223.944"); the others whole seconds. */
const MDTM_MILLISECONDS: readonly ServerKind[] = ["ftp-srv"];

describeServers(
  "remote operations",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    const clients: FTP[] = [];
    let sent: string[] = [];

    async function client(): Promise<FTP> {
      const s = server();
      // Level 1 logs each command: which ones went out is part of what is checked.
      const ftp = new FTP({ timeout: 20_000, debugLevel: 1, logger: (line) => sent.push(line) });
      clients.push(ftp);
      await ftp.connect(s.host, s.port);
      await ftp.login(s.user, s.password);
      sent = [];
      return ftp;
    }

    /** Commands sent since login, as the debug log shows them ("MKD a/b"). */
    const commands = (): string[] => sent.filter((line) => line.startsWith("*cmd* ")).map((line) => line.slice(7, -1));
    const home = (...parts: string[]): string => path.join(server().home, ...parts);

    afterEach(() => {
      for (const ftp of clients.splice(0)) ftp.close();
    });

    const feat = lacks(kind, "FEAT")
      ? "no FEAT (500): none"
      : `MFMT ${HAS[kind].MFMT ? "offered" : "absent"}, MLST ${HAS[kind].MLST ? "offered" : "absent"}`;
    it(`features() reads FEAT once: ${feat}`, async () => {
      const ftp = await client();
      const features = await ftp.features();
      if (lacks(kind, "FEAT")) expect(features.size).to.equal(0);
      expect(features.has("MDTM") && features.has("SIZE")).to.equal(HAS[kind].MDTM);
      expect(features.get("REST")).to.equal(HAS[kind].REST);
      expect(features.has("MFMT")).to.equal(HAS[kind].MFMT);
      expect(features.has("MLST")).to.equal(HAS[kind].MLST);
      await ftp.features();
      expect(commands().filter((c) => c === "FEAT")).to.have.length(1);
    });

    it("ensureDir makes every missing level, resolves when it exists, and leaves the working directory", async () => {
      const ftp = await client();
      await ftp.cwd("sub");
      await ftp.ensureDir("made/a/b");
      await ftp.ensureDir("/sub/made/a/b");
      await ftp.ensureDir("/sub/made");
      expect((await fs.stat(home("sub", "made", "a", "b"))).isDirectory()).to.equal(true);
      expect(await ftp.pwd()).to.equal("/sub");
      const below = await ftp.ensureDir("/hello.txt/x").then(
        () => expect.fail("ensureDir below a file succeeded"),
        (e: unknown) => e,
      );
      expect(below).to.be.instanceOf(FtpPermError);
      expect(await ftp.pwd()).to.equal("/sub");
    });

    it("removeDir removes a tree made over FTP; clearDir keeps the directory", async () => {
      const ftp = await client();
      await ftp.ensureDir("/tree/x/y");
      await ftp.ensureDir("/tree/empty");
      await ftp.storbinary("STOR /tree/a.txt", "a");
      await ftp.storbinary("STOR /tree/x/y/b.txt", "b");
      await ftp.clearDir("/tree/x");
      expect(await fs.readdir(home("tree", "x"))).to.deep.equal([]);
      await ftp.removeDir("/tree");
      expect(await fs.readdir(home())).to.not.include("tree");
    });

    const setsTimes = !lacks(kind, "mtime kept");
    it(`lastMod and stat give the time on disk; setLastMod ${setsTimes ? "changes it" : "rejects with ERR_FTP_UNSUPPORTED and leaves it"}`, async () => {
      const ftp = await client();
      const onDisk = (await fs.stat(home("hello.txt"))).mtime;
      // Whole seconds from the nanoseconds: Node rounds a stat's Date to the nearest millisecond, so
      // a file at 12.9996 s has an mtime of 13.000 s, while the server's MDTM says 12 (failed 1 run in 10).
      const precision = MDTM_MILLISECONDS.includes(kind) ? 1 : 1000;
      const diskMs = precision === 1 ? onDisk.getTime() : Number((await fs.stat(home("hello.txt"), { bigint: true })).mtimeNs / 1_000_000n);
      expect((await ftp.lastMod("hello.txt")).getTime()).to.equal(Math.floor(diskMs / precision) * precision);
      const when = new Date("2021-02-03T04:05:06Z");
      if (setsTimes) {
        await ftp.setLastMod("hello.txt", when);
        expect((await fs.stat(home("hello.txt"))).mtime.toISOString()).to.equal(when.toISOString());
        expect((await ftp.lastMod("hello.txt")).toISOString()).to.equal(when.toISOString());
        const setter = commands().find((c) => /^(MFMT|MDTM \d{14} |SITE UTIME)/.test(c));
        expect(setter).to.equal(HAS[kind].MFMT ? "MFMT 20210203040506 hello.txt" : "MDTM 20210203040506 hello.txt");
      } else {
        // MDTM reads "20210203040506 hello.txt" as a name (550), SITE UTIME is unknown, hello.txt's own MDTM answers.
        const refused = await ftp.setLastMod("hello.txt", when).then(
          () => expect.fail("setLastMod succeeded on a server that sets no times"),
          (e: unknown) => e,
        );
        expect(refused).to.be.instanceOf(FtpError).and.not.instanceOf(FtpPermError);
        expect(refused).to.include({ code: "ERR_FTP_UNSUPPORTED" });
        expect(commands().filter((c) => /^(MFMT|MDTM|SITE)/.test(c))).to.deep.equal([
          "MDTM hello.txt",
          "MDTM 20210203040506 hello.txt",
          "SITE UTIME 20210203040506 hello.txt",
          "MDTM hello.txt",
        ]);
        expect((await fs.stat(home("hello.txt"))).mtime.getTime()).to.equal(onDisk.getTime());
      }
      const modified = setsTimes ? when : new Date(Math.floor(diskMs / precision) * precision);

      expect(await ftp.stat("hello.txt")).to.deep.include({ name: "hello.txt", type: "file", size: 12, modified });
      if (lacks(kind, "SIZE dir")) {
        // Twisted and ftp-srv answer SIZE /sub with 213 4096 and MDTM /sub with a time: stat's
        // SIZE + MDTM fallback (no MLST) reads what the server says; isDirectory (CWD) knows better.
        expect(await ftp.stat("/sub")).to.deep.include({ name: "sub", type: "file", size: 4096 });
        expect(await ftp.isDirectory("/sub")).to.equal(true);
      } else expect(await ftp.stat("/sub")).to.deep.include({ name: "sub", type: "dir" });
      expect(commands().some((c) => c.startsWith("MLST"))).to.equal(HAS[kind].MLST);
      const missing = await ftp.stat("nope.txt").then(
        () => expect.fail("stat of a missing file succeeded"),
        (e: unknown) => e,
      );
      expect(missing).to.be.instanceOf(FtpPermError);
      const noTime = await ftp.lastMod("nope.txt").then(
        () => expect.fail("lastMod of a missing file succeeded"),
        (e: unknown) => e,
      );
      expect(noTime).to.be.instanceOf(FtpPermError);
    });
  },
);
