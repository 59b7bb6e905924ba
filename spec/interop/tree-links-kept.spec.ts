/**
 * uploadDir with `delete` and remote links the local tree lacks, on the
 * real servers: `/kt/dlink -> ../kt-out` (a directory beside the tree,
 * keep.txt in it), `/kt/elink -> ../kt-empty` (an empty one) and
 * `/kt/flink -> ../kt-out/keep.txt`. Where the server
 * shows a link as one (LIST `l`: vsftpd, inetutils and netkit ftpd; MLSD
 * `OS.unix=symlink`/`slink`: proftpd, pure-ftpd), `delete` leaves it and
 * names it in `kept`: the target is no mirror of the source, and the run
 * says so. pyftpdlib's MLSD gives the links as what they point to: the
 * link to a file is deleted as the file it seems (its DELE unlinks the
 * link, not the file), and the links to directories, which their parent's
 * LIST shows as links, are kept and named as on the others, nothing
 * removed through them nor an RMD sent to them: the one with a file
 * below it failed the run (FtpPathError `"link"`), and the empty one was
 * sent an RMD.
 * Twisted and ftp-srv are left out: nothing there tells a link from
 * what it points to (README, "Links on the server").
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpDirTransferError, FtpPathError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { layOutHome } from "./home-tree.js";
import type { ServerKind } from "./servers.js";

const SHOWING_LINKS: readonly ServerKind[] = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib", "inetutils-ftpd", "netkit-ftpd"];

describeServers(
  "interop uploadDir --delete and remote links the source lacks",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    let ftp: FTP;
    let local: string;
    let home: string;

    before(async () => {
      home = server().home;
      await layOutHome(home, {
        dirs: ["kt-out", "kt-empty", "kt"],
        files: { "kt-out/keep.txt": "keep\n", "kt/a.txt": "a\n" },
        links: { "kt/dlink": "../kt-out", "kt/elink": "../kt-empty", "kt/flink": "../kt-out/keep.txt" },
      });
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    beforeEach(async () => {
      local = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-links-kept-"));
      await fs.writeFile(path.join(local, "a.txt"), "a\n");
      // The server's copy's time: a.txt is unchanged, never sent. Written now, it was sent again whenever
      // this spec and the one before (whose upload set the server's time) fell in different seconds.
      const { mtime } = await fs.stat(path.join(home, "kt", "a.txt"));
      await fs.utimes(path.join(local, "a.txt"), mtime, mtime);
    });

    afterEach(async () => {
      await fs.rm(local, { recursive: true, force: true });
      // What the links point to is untouched, whatever became of the links.
      expect(await fs.readFile(path.join(home, "kt-out", "keep.txt"), "utf8")).to.equal("keep\n");
      expect((await fs.lstat(path.join(home, "kt", "dlink"))).isSymbolicLink()).to.equal(true);
      expect((await fs.lstat(path.join(home, "kt", "elink"))).isSymbolicLink()).to.equal(true);
      expect((await fs.stat(path.join(home, "kt-empty"))).isDirectory()).to.equal(true);
    });

    after(() => ftp?.close());

    if (kind !== "pyftpdlib") {
      it("keeps the three links and names them in kept", async () => {
        const result = await ftp.uploadDir(local, "/kt", { delete: true, maxEntries: 20 });
        expect(result).to.include({ deleted: 0 });
        expect(result.kept).to.deep.equal(["dlink", "elink", "flink"]);
        expect((await fs.lstat(path.join(home, "kt", "flink"))).isSymbolicLink()).to.equal(true);
      });
    } else {
      it("deletes the link to a file as the file MLSD says it is (the link itself), and keeps the links to directories, naming them in kept", async () => {
        const result = await ftp.uploadDir(local, "/kt", { delete: true, maxEntries: 20 });
        expect(result).to.include({ deleted: 1 });
        expect(result.kept).to.deep.equal(["dlink", "elink"]);
        await fs.lstat(path.join(home, "kt", "flink")).then(
          () => expect.fail("the link to a file should be gone"),
          () => undefined,
        );
      });
    }

    it("writes nothing through a link to a directory that the source has as a directory", async () => {
      await fs.mkdir(path.join(local, "dlink"));
      await fs.writeFile(path.join(local, "dlink", "new.txt"), "new\n");
      const error = await ftp.uploadDir(local, "/kt", { delete: true, maxEntries: 20 }).then(
        () => expect.fail("uploadDir should name the file it wrote nothing of"),
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const { failures, result } = error as FtpDirTransferError;
      // Most servers also name "dlink" itself: the source's directory where the target has a link.
      expect(failures.map((f) => f.path))
        .to.include("dlink/new.txt")
        .and.satisfy((paths: string[]) => paths.every((p) => p.startsWith("dlink")));
      const refused = failures.find((f) => f.path === "dlink/new.txt")!;
      expect(refused.error).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
      expect(result).to.include({ transferred: 0 });
      expect(await fs.readdir(path.join(home, "kt-out"))).to.deep.equal(["keep.txt"]);
    });
  },
  SHOWING_LINKS,
);
