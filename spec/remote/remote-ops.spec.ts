import { expect } from "chai";
import type { Socket } from "node:net";
import { defaultFeatures, FIXTURE_MTIME } from "../../fixtures/server.js";
import { FtpError, FtpLimitError, FtpListingError, FtpPathError, FtpPermError, FtpProtoError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

/** Resolves once `socket` drains or closes, leaving no listener behind. */
function writable(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off("drain", done).off("close", done);
      resolve();
    };
    socket.on("drain", done).on("close", done);
  });
}

/** The fixture's FEAT lines without some of them: a server that lacks those extensions. */
function featuresWithout(...names: string[]): string[] {
  return defaultFeatures(false).filter((line) => !names.includes(line.split(" ")[0]));
}

describe("remote operations", function () {
  const fixtures = useFixtures();

  describe("features()", function () {
    it("maps each FEAT line's name, upper-cased, to its parameters as given", async function () {
      const srv = await fixtures.server({ features: ["mdtm", "MLST type*;size*;modify*;", "REST STREAM", "UTF8"] });
      const ftp = await fixtures.client(srv);
      const features = await ftp.features();
      expect([...features]).to.deep.equal([
        ["MDTM", ""],
        ["MLST", "type*;size*;modify*;"],
        ["REST", "STREAM"],
        ["UTF8", ""],
      ]);
    });

    it("sends no FEAT at login, one on first need, and none again until the next login or REIN", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(srv.commands.filter((c) => c === "FEAT")).to.have.length(0);
      const first = await ftp.features();
      first.clear(); // the caller's copy: the cache is untouched
      expect((await ftp.features()).has("MLST")).to.equal(true);
      expect(srv.commands.filter((c) => c === "FEAT")).to.have.length(1);
      await ftp.login("user", "pass");
      await ftp.features();
      expect(srv.commands.filter((c) => c === "FEAT")).to.have.length(2);
      srv.handle("REIN", (s) => s.reply(220, "Ready for new user."));
      await ftp.sendcmd("REIN");
      await ftp.login("user", "pass");
      await ftp.features();
      expect(srv.commands.filter((c) => c === "FEAT")).to.have.length(3);
    });

    it("is empty when the server has no FEAT", async function () {
      const srv = await fixtures.server();
      srv.handle("FEAT", (s) => s.reply(502, "Command not implemented."));
      const ftp = await fixtures.client(srv);
      expect((await ftp.features()).size).to.equal(0);
    });

    it("asks a UTF8 server for OPTS UTF8 ON, and takes a refusal as UTF-8 already (pure-ftpd, pyftpdlib)", async function () {
      const srv = await fixtures.server();
      srv.handle("OPTS", (s) => s.reply(501, "Invalid argument."));
      const ftp = await fixtures.client(srv);
      await ftp.features();
      expect(commandsAfterLogin(srv)).to.deep.equal(["FEAT", "OPTS UTF8 ON"]);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("does not send OPTS UTF8 ON when the encoding is not utf8, nor to a server without UTF8", async function () {
      const latin = await fixtures.server();
      await (await fixtures.client(latin, { encoding: "latin1" })).features();
      expect(commandsAfterLogin(latin)).to.deep.equal(["FEAT"]);
      const plain = await fixtures.server({ features: featuresWithout("UTF8") });
      await (await fixtures.client(plain)).features();
      expect(commandsAfterLogin(plain)).to.deep.equal(["FEAT"]);
    });

    it("uses PASV, not EPSV, on a server whose FEAT lists no EPSV", async function () {
      const srv = await fixtures.server({ features: featuresWithout("EPSV"), files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      await ftp.features();
      await ftp.retrbinary("RETR a.txt", () => undefined);
      expect(commandsAfterLogin(srv)).to.include("PASV").and.not.include("EPSV");
    });

    it("lets list() go straight to LIST once FEAT said there is no MLST", async function () {
      const srv = await fixtures.server({ features: featuresWithout("MLST"), files: { "/d/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      await ftp.features();
      const names: string[] = [];
      for await (const entry of ftp.list("/d")) names.push(entry.name);
      expect(names).to.deep.equal(["a.txt"]);
      expect(commandsAfterLogin(srv).filter((c) => c.startsWith("MLSD"))).to.deep.equal([]);
    });
  });

  describe("ensureDir()", function () {
    it("creates every missing level of a relative path and leaves the working directory where it was", async function () {
      const srv = await fixtures.server({ files: { "/home/": "" } });
      const ftp = await fixtures.client(srv);
      await ftp.cwd("/home");
      await ftp.ensureDir("a/b/c");
      expect(srv.vfs.isDir("/home/a/b/c")).to.equal(true);
      expect(await ftp.pwd()).to.equal("/home");
      expect(commandsAfterLogin(srv).filter((c) => c.startsWith("CWD"))).to.deep.equal(["CWD /home"]);
    });

    it("creates an absolute path with one MKD when its parent exists", async function () {
      const srv = await fixtures.server({ files: { "/x/y/": "" } });
      const ftp = await fixtures.client(srv);
      await ftp.ensureDir("/x/y/z");
      expect(srv.vfs.isDir("/x/y/z")).to.equal(true);
      expect(commandsAfterLogin(srv)).to.deep.equal(["MKD /x/y/z"]);
    });

    it("resolves for a directory that exists, checked with MLST", async function () {
      const srv = await fixtures.server({ files: { "/x/y/": "" } });
      const ftp = await fixtures.client(srv);
      await ftp.ensureDir("/x/y/");
      await ftp.ensureDir("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["MKD /x/y", "FEAT", "OPTS UTF8 ON", "MLST /x/y"]);
    });

    it("without MLST (vsftpd), checks an existing directory with CWD there and back in one step", async function () {
      const srv = await fixtures.server({ features: featuresWithout("MLST"), files: { "/w/": "", "/x/y/": "" } });
      const ftp = await fixtures.client(srv);
      await ftp.cwd("/w");
      await Promise.all([ftp.ensureDir("/x/y"), ftp.pwd().then((dir) => expect(dir).to.equal("/w"))]);
      expect(commandsAfterLogin(srv).filter((c) => c.startsWith("CWD"))).to.deep.equal(["CWD /w", "CWD /x/y", "CWD /w"]);
      expect(await ftp.pwd()).to.equal("/w");
    });

    it("rejects with the server's FtpPermError when a level is a file", async function () {
      const srv = await fixtures.server({ files: { "/f": "file" } });
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.ensureDir("/f/sub"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ response: "550 Create directory operation failed." });
    });
  });

  describe("isDirectory()", function () {
    for (const mlst of [true, false]) {
      it(`tells a directory from a file and a missing path ${mlst ? "with MLST" : "with CWD there and back (no MLST)"}, leaving the working directory as it was`, async function () {
        const srv = await fixtures.server({
          files: { "/d/a.txt": "a", "/d/sub/": "" },
          ...(mlst ? {} : { features: featuresWithout("MLST") }),
        });
        const ftp = await fixtures.client(srv);
        await ftp.cwd("/d");
        expect(await ftp.isDirectory("/d/sub")).to.equal(true);
        expect(await ftp.isDirectory("sub")).to.equal(true);
        expect(await ftp.isDirectory("/d/a.txt")).to.equal(false);
        expect(await ftp.isDirectory("/nope")).to.equal(false);
        expect(await ftp.pwd()).to.equal("/d");
      });
    }
  });

  describe("removeDir() and clearDir()", function () {
    const tree = { "/t/a.txt": "a", "/t/sub/b.txt": "b", "/t/sub/deeper/c.txt": "c", "/t/empty/": "" };

    it("removeDir removes files, directories depth-first, then the directory", async function () {
      const srv = await fixtures.server({ files: tree });
      const ftp = await fixtures.client(srv);
      await ftp.removeDir("/t");
      expect(srv.vfs.exists("/t")).to.equal(false);
    });

    it('clearDir empties a directory (the working one with "") and keeps it', async function () {
      const srv = await fixtures.server({ files: tree });
      const ftp = await fixtures.client(srv);
      await ftp.cwd("/t");
      await ftp.clearDir("");
      expect(srv.vfs.isDir("/t")).to.equal(true);
      expect(srv.vfs.list("/t")).to.deep.equal([]);
    });

    it("works over LIST when the server has no MLSD", async function () {
      const srv = await fixtures.server({ files: tree, features: featuresWithout("MLST") });
      const ftp = await fixtures.client(srv);
      await ftp.removeDir("t");
      expect(srv.vfs.exists("/t")).to.equal(false);
    });

    it("deletes nothing when the listing names an entry that is not one path segment", async function () {
      const srv = await fixtures.server({ files: { "/t/a.txt": "a", "/t/unlisted.txt": "u", "/keep.txt": "k" } });
      srv.handle("MLSD", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData("type=file;size=1; a.txt\r\ntype=file;size=1; ../keep.txt\r\n");
        s.reply(226, "Directory send OK.");
      });
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.removeDir("/t"));
      expect(error).to.be.instanceOf(FtpPathError);
      expect(error).to.include({ code: "ERR_FTP_BAD_PATH", reason: "separator" });
      expect(srv.vfs.exists("/keep.txt")).to.equal(true);
      expect(srv.vfs.exists("/t/a.txt")).to.equal(true);
      expect(commandsAfterLogin(srv).filter((c) => c.startsWith("DELE") || c.startsWith("RMD"))).to.deep.equal([]);
    });

    it("deletes nothing when the listing holds a line that could not be read", async function () {
      const srv = await fixtures.server({ features: ["EPSV", "SIZE"], files: { "/t/a.txt": "a", "/t/maerz.txt": "m" } });
      srv.handle("LIST", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData("-rw-r--r-- 1 ftp ftp 1 Nov 10 12:00 a.txt\r\n-rw-r--r-- 1 ftp ftp 1 Brumaire 10 12:00 maerz.txt\r\n");
        s.reply(226, "Directory send OK.");
      });
      const ftp = await fixtures.client(srv);
      for (const remove of [() => ftp.removeDir("/t"), () => ftp.clearDir("/t")]) {
        const error = await rejectionOf(remove());
        expect(error).to.be.instanceOf(FtpListingError);
      }
      expect(srv.vfs.exists("/t/a.txt")).to.equal(true);
      expect(commandsAfterLogin(srv).filter((c) => c.startsWith("DELE") || c.startsWith("RMD"))).to.deep.equal([]);
    });

    it("refuses a path that climbs, in any spelling, before anything is sent", async function () {
      const srv = await fixtures.server({ files: { "/data/x/a.txt": "a", "/keep.txt": "k" } });
      const ftp = await fixtures.client(srv);
      const before = commandsAfterLogin(srv).length;
      const paths = ["..", "/data/..", "../x", "/data/x/../..", "x/..\\..", "..\\", "/data/.. ", "/data/...", "/data/%2e%2e", "/data/.%2E"];
      for (const path of paths) {
        for (const remove of [() => ftp.removeDir(path), () => ftp.clearDir(path)]) {
          const error = await rejectionOf(remove());
          expect(error, path).to.be.instanceOf(FtpPathError);
          expect(error, path).to.include({ code: "ERR_FTP_BAD_PATH", reason: "climbs" });
        }
      }
      expect(commandsAfterLogin(srv).slice(before)).to.deep.equal([]);
      expect(srv.vfs.exists("/keep.txt")).to.equal(true);
    });

    it("refuses to remove the root or the working directory itself", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      for (const path of ["/", "", "."]) {
        expect(await rejectionOf(ftp.removeDir(path))).to.include({ code: "ERR_FTP_BAD_PATH" });
      }
      expect(srv.vfs.exists("/a.txt")).to.equal(true);
    });
  });

  describe("lastMod() and setLastMod()", function () {
    it("lastMod reads MDTM as a UTC Date", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      expect((await ftp.lastMod("a.txt")).toISOString()).to.equal(FIXTURE_MTIME.toISOString());
    });

    it("keeps the fraction of a second the server gives, to the millisecond", async function () {
      const srv = await fixtures.server();
      srv.handle("MDTM", (s) => s.reply(213, "20240102030405.1239"));
      const ftp = await fixtures.client(srv);
      expect((await ftp.lastMod("a.txt")).toISOString()).to.equal("2024-01-02T03:04:05.123Z");
    });

    it("rejects a 550 with FtpPermError and a reply that is not a time with FtpProtoError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(await rejectionOf(ftp.lastMod("missing.txt"))).to.be.instanceOf(FtpPermError);
      srv.handle("MDTM", (s) => s.reply(213, "yesterday"));
      expect(await rejectionOf(ftp.lastMod("a.txt"))).to.be.instanceOf(FtpProtoError);
    });

    it("setLastMod sends MFMT where FEAT offers it", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      await ftp.setLastMod("a.txt", new Date("2021-02-03T04:05:06.789Z"));
      expect(srv.vfs.stat("/a.txt")!.mtime.toISOString()).to.equal("2021-02-03T04:05:06.000Z");
      expect(commandsAfterLogin(srv)).to.include("MFMT 20210203040506 a.txt");
    });

    it("without MFMT, sets it with the two-argument MDTM (vsftpd)", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" }, features: featuresWithout("MFMT") });
      const ftp = await fixtures.client(srv);
      await ftp.setLastMod("a.txt", new Date("2021-02-03T04:05:06Z"));
      expect((await ftp.lastMod("a.txt")).toISOString()).to.equal("2021-02-03T04:05:06.000Z");
      expect(commandsAfterLogin(srv).filter((c) => /^(MFMT|SITE)/.test(c))).to.deep.equal([]);
    });

    it("falls back to SITE UTIME when MDTM reads instead of setting (pure-ftpd without MFMT)", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a", "/20210203040506 a.txt": "odd" }, features: featuresWithout("MFMT") });
      srv.handle("MDTM", (s) => s.reply(213, "20240115123456"));
      const ftp = await fixtures.client(srv);
      await ftp.setLastMod("a.txt", new Date("2021-02-03T04:05:06Z"));
      expect(srv.vfs.stat("/a.txt")!.mtime.toISOString()).to.equal("2021-02-03T04:05:06.000Z");
      expect(commandsAfterLogin(srv)).to.include("SITE UTIME 20210203040506 a.txt");
    });

    it("rejects with MDTM's refusal when the server has no SITE UTIME either", async function () {
      const srv = await fixtures.server({ features: featuresWithout("MFMT") });
      srv.handle("SITE", (s) => s.reply(500, "Unknown SITE command."));
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.setLastMod("missing.txt", new Date()));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ response: "550 Could not set file modification time." });
    });

    it("rejects with ERR_FTP_UNSUPPORTED when MDTM reads '<time> <path>' as a name and SITE UTIME is unknown (inetutils ftpd, Twisted, ftp-srv)", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" }, features: featuresWithout("MFMT") });
      // As inetutils ftpd: MDTM only reads, so the time is taken as part of the name.
      srv.handle("MDTM", (s, arg) => {
        const st = s.vfs.stat(s.resolvePath(arg));
        if (st?.type !== "file") return s.reply(550, `${arg}: No such file or directory`);
        s.reply(213, "20240115123456");
      });
      srv.handle("SITE", (s, arg) => s.reply(500, `'SITE ${arg}': command not recognized`));
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.setLastMod("a.txt", new Date("2021-02-03T04:05:06Z")));
      expect(error).to.be.instanceOf(FtpError).and.not.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_UNSUPPORTED", response: "550 20210203040506 a.txt: No such file or directory" });
      expect(commandsAfterLogin(srv).filter((c) => /^(MFMT|MDTM|SITE)/.test(c))).to.deep.equal([
        "MDTM 20210203040506 a.txt",
        "SITE UTIME 20210203040506 a.txt",
        "MDTM a.txt",
      ]);
      // A missing file is still a missing file.
      expect(await rejectionOf(ftp.setLastMod("missing.txt", new Date()))).to.be.instanceOf(FtpPermError);
    });

    it("rejects a date that is not a valid Date, sending nothing", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(await rejectionOf(ftp.setLastMod("a.txt", new Date(Number.NaN)))).to.be.instanceOf(TypeError);
      expect(await rejectionOf(ftp.setLastMod("a.txt", "2020" as unknown as Date))).to.be.instanceOf(TypeError);
      expect(commandsAfterLogin(srv)).to.deep.equal([]);
    });
  });

  describe("stat()", function () {
    const files = { "/d/a.txt": "hello", "/d/sub/": "" };

    it("reads one entry with MLST, named by the path's last segment", async function () {
      const srv = await fixtures.server({ files });
      const ftp = await fixtures.client(srv);
      expect(await ftp.stat("/d/a.txt")).to.deep.include({ name: "a.txt", type: "file", size: 5, modified: FIXTURE_MTIME });
      expect(await ftp.stat("/d/sub")).to.deep.include({ name: "sub", type: "dir" });
      expect(await rejectionOf(ftp.stat("/d/none"))).to.be.instanceOf(FtpPermError);
    });

    it("without MLST, uses SIZE and MDTM for a file and the parent's LIST for a directory", async function () {
      const srv = await fixtures.server({ files, features: featuresWithout("MLST") });
      const ftp = await fixtures.client(srv);
      expect(await ftp.stat("/d/a.txt")).to.deep.include({ name: "a.txt", type: "file", size: 5, modified: FIXTURE_MTIME });
      expect(await ftp.stat("/d/sub")).to.deep.include({ name: "sub", type: "dir" });
      expect(commandsAfterLogin(srv).filter((c) => c.startsWith("LIST"))).to.deep.equal(["LIST -a /d"]);
      await ftp.cwd("/d");
      expect(await ftp.stat("sub")).to.deep.include({ name: "sub", type: "dir" });
      const error = await rejectionOf(ftp.stat("/d/none"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ response: "550 Could not get file size." });
    });

    it("without MLST, does not call an entry missing when the parent's listing held a line it could not read", async function () {
      const srv = await fixtures.server({ files, features: featuresWithout("MLST") });
      srv.handle("LIST", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData("drwxr-xr-x 2 ftp ftp 0 Brumaire 10 12:00 none\r\n");
        s.reply(226, "Directory send OK.");
      });
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.stat("/d/none"));
      expect(error).to.be.instanceOf(FtpListingError);
      expect(error).to.include({ path: "/d", total: 1 });
    });

    for (const [what, line] of [
      ["entries", (i: number) => `-rw-r--r-- 1 ftp ftp 1 Jan 01 2020 f${i}`],
      ["lines that are no entry", () => "total 8"],
    ] as const) {
      it(`without MLST, stops reading a parent's listing of ${what} without end past 1,000,000 (FtpLimitError)`, async function () {
        this.timeout(60_000);
        const srv = await fixtures.server({ files, features: featuresWithout("MLST") });
        let sent = 0;
        srv.handle("LIST", async (s) => {
          s.reply(150, "Here comes the directory listing.");
          const sock = await s.openData();
          // Until the client closes the data connection: a server that never ends the listing.
          while (!sock.destroyed && sent < 3_000_000) {
            const lines: string[] = [];
            for (let i = 0; i < 1000; i++) lines.push(line(sent + i));
            sent += 1000;
            if (!sock.write(`${lines.join("\r\n")}\r\n`)) await writable(sock);
          }
          sock.end();
          s.reply(226, "Directory send OK.");
        });
        const ftp = await fixtures.client(srv);
        const error = await rejectionOf(ftp.stat("/d/none"));
        expect(error).to.be.instanceOf(FtpLimitError);
        expect(error).to.include({ limit: "listingEntries", max: 1_000_000 });
        expect(sent, "lines the server got to send").to.be.below(3_000_000);
        // The client goes on.
        expect(await ftp.pwd()).to.equal("/");
      });
    }

    it("gives a file MDTM cannot date a null time", async function () {
      const srv = await fixtures.server({ files, features: featuresWithout("MLST") });
      srv.handle("MDTM", (s) => s.reply(550, "Could not get file modification time."));
      const ftp = await fixtures.client(srv);
      expect(await ftp.stat("/d/a.txt")).to.deep.include({ type: "file", size: 5, modified: null });
    });

    it("rejects an MLST reply without a facts line with FtpProtoError", async function () {
      const srv = await fixtures.server({ files });
      srv.handle("MLST", (s) => s.reply(250, "Listing"));
      const ftp = await fixtures.client(srv);
      expect(await rejectionOf(ftp.stat("/d/a.txt")))
        .to.be.instanceOf(FtpError)
        .and.be.instanceOf(FtpProtoError);
    });
  });
});
