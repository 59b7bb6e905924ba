/**
 * Issue 21: a mirror with `delete` against a remote directory the server
 * does not let the user read, on the real servers. What each answers:
 * vsftpd lists such a directory as one line, the directory itself (it
 * falls back to listing the parent filtered by the name), with 226;
 * proftpd and pure-ftpd answer a LIST of it with an empty 226 and refuse
 * MLSD (550); inetutils and netkit ftpd run ls with its stderr on the data
 * connection, so the listing is the one line "locked: Permission denied".
 * Whatever the server says, no local file below that directory is deleted,
 * and the failure names it, once. pyftpdlib, Twisted and ftp-srv run as
 * root here ("runs as root" in LACKS) and read it: there the mirror is
 * complete, and the local file the server lacks is deleted as it should be.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpDirTransferError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { lacks } from "./servers.js";

describeServers(
  "interop unreadable directory under downloadDir({ delete: true })",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    let ftp: FTP;
    let local: string;
    let locked: string;

    before(async () => {
      const home = server().home;
      locked = path.join(home, "mirror-src", "locked");
      await fs.mkdir(locked, { recursive: true });
      await fs.writeFile(path.join(home, "mirror-src", "open.txt"), "open\n");
      await fs.writeFile(path.join(locked, "secret.txt"), "secret\n");
      await fs.chmod(locked, 0o000);
      local = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-unreadable-"));
      await fs.mkdir(path.join(local, "locked"));
      await fs.writeFile(path.join(local, "locked", "mine.txt"), "only here\n");
      await fs.writeFile(path.join(local, "stale.txt"), "stale\n");
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    after(async () => {
      ftp?.close();
      await fs.chmod(locked, 0o755).catch(() => undefined);
      await fs.rm(local, { recursive: true, force: true });
    });

    if (lacks(kind, "runs as root")) {
      it("reads the directory of mode 000 (the server runs as root), mirrors it in full and deletes the local extra", async () => {
        const result = await ftp.downloadDir("/mirror-src", local, { delete: true });
        expect(result).to.include({ transferred: 2, deleted: 2 });
        expect(await fs.readFile(path.join(local, "locked", "secret.txt"), "utf8")).to.equal("secret\n");
        expect(await fs.readFile(path.join(local, "open.txt"), "utf8")).to.equal("open\n");
        expect((await fs.readdir(local)).sort()).to.deep.equal(["locked", "open.txt"]);
        expect(await fs.readdir(path.join(local, "locked"))).to.deep.equal(["secret.txt"]);
      });
    } else {
      it("deletes nothing below the directory it could not read, names it, and mirrors the rest", async () => {
        const error = await ftp.downloadDir("/mirror-src", local, { delete: true }).then(
          () => expect.fail("downloadDir should reject naming the unreadable directory"),
          (caught: unknown) => caught,
        );
        expect(error).to.be.instanceOf(FtpDirTransferError);
        expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["locked"]);
        expect(await fs.readFile(path.join(local, "locked", "mine.txt"), "utf8")).to.equal("only here\n");
        expect(await fs.readFile(path.join(local, "open.txt"), "utf8")).to.equal("open\n");
        await fs.access(path.join(local, "stale.txt")).then(
          () => expect.fail("stale.txt should be deleted: the root was read in full"),
          () => undefined,
        );
      });
    }

    it("refuses to mirror with delete from a root that is not there, deleting nothing", async () => {
      await fs.writeFile(path.join(local, "locked", "mine.txt"), "only here\n");
      const error = await ftp.downloadDir("/no-such-dir", local, { delete: true }).then(
        () => expect.fail("downloadDir of a missing root should reject"),
        (caught: unknown) => caught,
      );
      expect(error)
        .to.have.property("code")
        .that.matches(/^ERR_FTP_(LISTING|PERM|TEMP)$/);
      expect(await fs.readFile(path.join(local, "locked", "mine.txt"), "utf8")).to.equal("only here\n");
      expect(await fs.readFile(path.join(local, "open.txt"), "utf8")).to.equal("open\n");
    });
  },
);
