/**
 * removeDir and clearDir of a path that is itself a link to a directory
 * (`/r/link -> ../keepdir`), on the real servers whose parent LIST shows
 * it as a link (all but Twisted and ftp-srv, which list a link to a
 * directory as a directory: see tree-links.spec.ts). Listed, the link
 * shows what is in keepdir; removeDir used to delete all of that, then
 * fail at its RMD. Now removeDir deletes the link itself (inetutils and
 * netkit ftpd refuse DELE of a link to a directory: it fails, nothing
 * gone) and clearDir refuses it; keepdir stays whole either way.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { FTP, FtpPathError, FtpPermError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import type { ServerKind } from "./servers.js";

/** Servers whose LIST shows a link to a directory as a link. */
const LISTS_LINKS: readonly ServerKind[] = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib", "inetutils-ftpd", "netkit-ftpd"];
/** Those that refuse DELE of a link to a directory (550 "Not a directory"). */
const NO_DELE_OF_DIR_LINK: readonly ServerKind[] = ["inetutils-ftpd", "netkit-ftpd"];

describeServers(
  "interop removeDir and clearDir of a path that is a link to a directory",
  (kind) => (LISTS_LINKS.includes(kind) ? [{ label: "passive" }] : []),
  ({ kind, server }) => {
    let ftp: FTP;
    let home: string;

    before(async () => {
      home = server().home;
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    beforeEach(async () => {
      const { uid, gid } = await fs.stat(home);
      await fs.mkdir(path.join(home, "keepdir", "deep"), { recursive: true });
      await fs.mkdir(path.join(home, "r"), { recursive: true });
      await fs.writeFile(path.join(home, "keepdir", "keep.txt"), "keep\n");
      await fs.writeFile(path.join(home, "keepdir", "deep", "more.txt"), "more\n");
      await fs.rm(path.join(home, "r", "link"), { force: true });
      await fs.symlink("../keepdir", path.join(home, "r", "link"));
      for (const at of ["keepdir", "keepdir/deep", "keepdir/keep.txt", "keepdir/deep/more.txt", "r"])
        await fs.chown(path.join(home, at), uid, gid);
      await fs.lchown(path.join(home, "r", "link"), uid, gid);
    });

    afterEach(async () => {
      // Whatever the call did, what the link points to is whole.
      expect(await fs.readFile(path.join(home, "keepdir", "keep.txt"), "utf8")).to.equal("keep\n");
      expect(await fs.readFile(path.join(home, "keepdir", "deep", "more.txt"), "utf8")).to.equal("more\n");
    });

    after(() => ftp?.close());

    it(
      NO_DELE_OF_DIR_LINK.includes(kind)
        ? "removeDir fails at the DELE of the link, deleting nothing"
        : "removeDir deletes the link itself",
      async () => {
        const removal = ftp.removeDir("/r/link");
        if (NO_DELE_OF_DIR_LINK.includes(kind)) {
          await removal.then(
            () => expect.fail("the server refuses DELE of a link to a directory"),
            (error: unknown) => expect(error).to.be.instanceOf(FtpPermError),
          );
          expect((await fs.lstat(path.join(home, "r", "link"))).isSymbolicLink()).to.equal(true);
        } else {
          await removal;
          expect(await fs.readdir(path.join(home, "r"))).to.deep.equal([]);
        }
      },
    );

    it("clearDir refuses it with FtpPathError (link)", async () => {
      const error = await ftp.clearDir("/r/link").then(
        () => expect.fail("clearDir should refuse a link"),
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
      expect((await fs.lstat(path.join(home, "r", "link"))).isSymbolicLink()).to.equal(true);
    });
  },
);
