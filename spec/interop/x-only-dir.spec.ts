/**
 * downloadDir with `delete` against a directory of mode 0111 (the FTP user
 * may enter it, not read it), on the real servers. What each answers:
 * vsftpd lists it as one line, the directory itself (and a directory of
 * mode 0111 inside one as nothing, with "226 Transfer done (but failed to
 * open directory)."); proftpd and pure-ftpd refuse its MLSD (550), where
 * their LIST would be an empty 226; inetutils and netkit ftpd send ls's
 * "Permission denied" as the listing; CWD into it succeeds on every one.
 * Whatever the server says, no local file below it is deleted, and the
 * failure is typed and names it. pyftpdlib, Twisted and ftp-srv run as
 * root here ("runs as root" in LACKS) and read it: there the mirror is
 * complete and the local extra goes, as it should.
 *
 * And a directory that is really empty: its local extra is deleted where
 * the server proves the read ("." in the listing, or an MLST perm fact
 * with "l"), and is kept and reported where nothing can ("empty read
 * proof" in LACKS).
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpDirTransferError, FtpError, FtpListingError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { lacks } from "./servers.js";

describeServers(
  "interop directory of mode 0111 under downloadDir({ delete: true })",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    let ftp: FTP;
    let local: string;
    let src: string;
    const readsAll = lacks(kind, "runs as root");

    before(async () => {
      src = path.join(server().home, "xsrc");
      await fs.mkdir(path.join(src, "locked", "deeper"), { recursive: true });
      await fs.mkdir(path.join(src, "emptied"));
      await fs.writeFile(path.join(src, "open.txt"), "open\n");
      await fs.writeFile(path.join(src, "locked", "secret.txt"), "secret\n");
      await fs.writeFile(path.join(src, "locked", "deeper", "deep.txt"), "deep\n");
      await fs.chmod(path.join(src, "locked", "deeper"), 0o111);
      await fs.chmod(path.join(src, "locked"), 0o111);
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    beforeEach(async () => {
      local = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-xonly-"));
    });

    afterEach(async () => {
      await fs.rm(local, { recursive: true, force: true });
    });

    after(async () => {
      ftp?.close();
      await fs.chmod(path.join(src, "locked"), 0o755).catch(() => undefined);
      await fs.chmod(path.join(src, "locked", "deeper"), 0o755).catch(() => undefined);
    });

    /** Writes each file (path below `local` → content). */
    const plant = async (files: Record<string, string>): Promise<void> => {
      for (const [rel, content] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(local, rel)), { recursive: true });
        await fs.writeFile(path.join(local, rel), content);
      }
    };
    const read = (rel: string): Promise<string> => fs.readFile(path.join(local, rel), "utf8");
    const gone = async (rel: string): Promise<boolean> =>
      fs.access(path.join(local, rel)).then(
        () => false,
        () => true,
      );
    /** downloadDir(remote, local, { delete: true })'s rejection, or a failed assertion if it resolved. */
    const refusal = (remote: string): Promise<Error> =>
      ftp.downloadDir(remote, local, { delete: true }).then(
        (result) => expect.fail(`downloadDir of ${remote} should reject, resolved ${JSON.stringify(result)}`),
        (caught: Error) => caught,
      );
    /** A typed failure of the root: thrown as the listing's own error, or as the one failure, ".". */
    const expectRootRefused = (error: Error): void => {
      if (error instanceof FtpDirTransferError) {
        expect(error.failures.map((f) => f.path)).to.deep.equal(["."]);
        expect(error.failures[0].error).to.be.instanceOf(FtpError);
      } else {
        expect(error)
          .to.have.property("code")
          .that.matches(/^ERR_FTP_(LISTING|PERM)$/);
      }
    };

    if (readsAll) {
      it("reads the directory of mode 0111 (the server runs as root), mirrors it and deletes the local extras", async () => {
        await plant({ "locked/mine.txt": "only here", "stale.txt": "stale" });
        const result = await ftp.downloadDir("/xsrc", local, { delete: true });
        expect(result).to.include({ transferred: 3, deleted: 2 });
        expect(await read("locked/deeper/deep.txt")).to.equal("deep\n");
        expect(await gone("locked/mine.txt")).to.equal(true);
      });
    } else {
      it("keeps every local file below a subdirectory of mode 0111, names it with a typed error, and mirrors the rest", async () => {
        await plant({ "locked/mine.txt": "only here", "locked/deeper/more.txt": "mine too", "stale.txt": "stale" });
        const error = await refusal("/xsrc");
        expect(error).to.be.instanceOf(FtpDirTransferError);
        const failures = (error as FtpDirTransferError).failures;
        expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
        expect(failures[0].error).to.be.instanceOf(FtpError);
        expect(await read("locked/mine.txt")).to.equal("only here");
        expect(await read("locked/deeper/more.txt")).to.equal("mine too");
        expect(await read("open.txt")).to.equal("open\n");
        expect(await gone("stale.txt"), "stale.txt: the root was read in full").to.equal(true);
      });

      it("keeps the local tree when the root is the directory of mode 0111", async () => {
        await plant({ "mine.txt": "only here", "deeper/more.txt": "mine too" });
        expectRootRefused(await refusal("/xsrc/locked"));
        expect(await read("mine.txt")).to.equal("only here");
        expect(await read("deeper/more.txt")).to.equal("mine too");
        expect(await fs.readdir(local)).to.have.members(["mine.txt", "deeper"]);
      });

      it("keeps the local tree when the root is a directory of mode 0111 inside another (vsftpd: an empty 226, 'failed to open directory')", async () => {
        await plant({ "more.txt": "mine" });
        const error = await refusal("/xsrc/locked/deeper");
        expectRootRefused(error);
        if (kind === "vsftpd") {
          expect(error).to.be.instanceOf(FtpListingError);
          expect(error.message).to.contain("failed to open directory");
        }
        expect(await read("more.txt")).to.equal("mine");
      });
    }

    if (lacks(kind, "empty read proof")) {
      it("keeps and reports the local files of a directory that is empty, since nothing proves the empty listing was a read", async () => {
        await plant({ "stale.txt": "stale" });
        const error = await refusal("/xsrc/emptied");
        expect(error).to.be.instanceOf(FtpDirTransferError);
        expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["."]);
        expect((error as FtpDirTransferError).failures[0].error).to.be.instanceOf(FtpListingError);
        expect(await read("stale.txt")).to.equal("stale");
      });
    } else {
      it("deletes the local files of a directory that is empty, given a maxDelete: the server proves the read", async () => {
        await plant({ "stale.txt": "stale", "old/x.txt": "x" });
        // A source listing nothing at all deletes only under a bound the caller gave (spec/sync/empty-source).
        const result = await ftp.downloadDir("/xsrc/emptied", local, { delete: true, maxDelete: 3 });
        expect(result).to.include({ transferred: 0, deleted: 3 });
        expect(await fs.readdir(local)).to.deep.equal([]);
      });
    }
  },
);
