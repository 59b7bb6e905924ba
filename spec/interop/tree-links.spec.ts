/**
 * Server-side links to directories under the tree operations, on the real
 * servers: `/tree/out -> ../outside` (a directory beside the tree, holding
 * keep.txt) and `/tree/sub/loop -> ..` (a loop back to /tree). What each
 * server lists them as:
 * - vsftpd, inetutils and netkit ftpd (LIST), proftpd and pure-ftpd (MLSD
 *   `type=OS.unix=symlink` / `OS.unix=slink:`): links. Reported, never
 *   followed, written through or deleted through; removeDir deletes the
 *   link itself (inetutils and netkit ftpd refuse DELE of a link to a
 *   directory, 550 "Not a directory": removeDir fails, nothing else gone).
 * - pyftpdlib: MLSD gives both `type=dir` and the `unique` fact of what
 *   they point to; its LIST shows them as links. The loop has the root's
 *   value (its MLST), so it is not entered; before `out` is entered, or
 *   anything deleted below it, its parent's LIST shows it is a link: a
 *   download reports it in `links` and fetches nothing through it, an
 *   upload with `delete` deletes nothing through it and names it in
 *   `kept`, removeDir deletes the link itself.
 * - Twisted and ftp-srv: LIST shows both as directories (`d`), and they
 *   have neither MLSD nor MLST: nothing tells them apart. The loop is
 *   walked until `maxEntries` stops it with FtpLimitError, before anything
 *   is deleted. (A link out of the tree with no loop below it is walked as
 *   a directory: see README, "Links on the server".)
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpLimitError, FtpPermError } from "../../lib/index.js";
import { removeDir, type RemoteClient } from "../../lib/remote-ops.js";
import { describeServers } from "./describe-server.js";
import type { ServerKind } from "./servers.js";

/** How each server lists a link to a directory: as a link, as a directory in MLSD only (LIST shows the link), or as a directory. */
const LISTED_AS: Record<ServerKind, "link" | "MLSD dir" | "dir"> = {
  vsftpd: "link",
  proftpd: "link",
  "pure-ftpd": "link",
  pyftpdlib: "MLSD dir",
  "inetutils-ftpd": "link",
  "netkit-ftpd": "link",
  twisted: "dir",
  "ftp-srv": "dir",
};

/** Enough for the tree three times over; a loop walked as directories passes it at once. */
const MAX_ENTRIES = 20;

/** Makes `<home>/<name>` (a.txt, sub/loop -> .., out -> ../outside), owned as `home` is. */
async function makeTree(home: string, name: string): Promise<void> {
  const { uid, gid } = await fs.stat(home);
  const root = path.join(home, name);
  await fs.mkdir(path.join(root, "sub"), { recursive: true });
  await fs.writeFile(path.join(root, "a.txt"), "a\n");
  await fs.symlink("../outside", path.join(root, "out"));
  await fs.symlink("..", path.join(root, "sub", "loop"));
  for (const at of [root, path.join(root, "sub"), path.join(root, "a.txt")]) await fs.chown(at, uid, gid);
  for (const at of [path.join(root, "out"), path.join(root, "sub", "loop")]) await fs.lchown(at, uid, gid);
}

describeServers(
  "interop links to directories under the tree operations",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    let ftp: FTP;
    let local: string;
    let home: string;
    const listedAs = LISTED_AS[kind];

    before(async () => {
      home = server().home;
      const { uid, gid } = await fs.stat(home);
      await fs.mkdir(path.join(home, "outside"));
      await fs.writeFile(path.join(home, "outside", "keep.txt"), "keep\n");
      await fs.chown(path.join(home, "outside"), uid, gid);
      await fs.chown(path.join(home, "outside", "keep.txt"), uid, gid);
      await makeTree(home, "tree");
      await makeTree(home, "gone");
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    beforeEach(async () => {
      local = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-links-"));
    });

    afterEach(async () => {
      await fs.rm(local, { recursive: true, force: true });
      // Whatever the operation, what the link points to is untouched, and the links are there.
      expect(await fs.readFile(path.join(home, "outside", "keep.txt"), "utf8")).to.equal("keep\n");
      expect((await fs.lstat(path.join(home, "tree", "out"))).isSymbolicLink()).to.equal(true);
    });

    after(() => ftp?.close());

    it(`list() gives a link to a directory as ${listedAs === "link" ? "a link" : "a directory"}`, async () => {
      const types: Record<string, string> = {};
      for await (const entry of ftp.list("/tree")) types[entry.name] = entry.type;
      expect(types).to.deep.equal({ "a.txt": "file", out: listedAs === "link" ? "link" : "dir", sub: "dir" });
    });

    it("downloadDir writes nothing outside its target and does not go round the loop", async () => {
      const mirror = path.join(local, "mirror");
      const download = ftp.downloadDir("/tree", mirror, { maxEntries: MAX_ENTRIES });
      if (listedAs === "dir") {
        await download.then(
          () => expect.fail("the loop should stop the walk at maxEntries"),
          (error: unknown) => expect(error).to.be.instanceOf(FtpLimitError).and.include({ limit: "treeEntries" }),
        );
      } else {
        // pyftpdlib: the loop has the root's unique fact, and LIST shows `out` as the link it is (its MLSD says type=dir).
        const result = await download;
        expect(result.links.sort()).to.deep.equal(["out", "sub/loop"]);
        expect((await fs.readdir(mirror)).sort()).to.deep.equal(["a.txt", "sub"]);
        expect(await fs.readdir(path.join(mirror, "sub"))).to.deep.equal([]);
      }
      expect(await fs.readdir(local)).to.deep.equal(["mirror"]);
    });

    it("uploadDir with delete deletes nothing through either link", async () => {
      await fs.writeFile(path.join(local, "a.txt"), "a\n");
      await fs.mkdir(path.join(local, "sub"));
      const upload = ftp.uploadDir(local, "/tree", { delete: true, maxEntries: MAX_ENTRIES });
      if (listedAs === "link") {
        expect(await upload).to.include({ deleted: 0 });
      } else if (listedAs === "MLSD dir") {
        const result = await upload;
        expect(result).to.include({ deleted: 0 });
        expect(result.kept).to.deep.equal(["out", "sub/loop"]);
      } else {
        const error = await upload.then(
          () => expect.fail("uploadDir should refuse to delete through the link"),
          (caught: unknown) => caught,
        );
        expect(error).to.be.instanceOf(FtpLimitError).and.include({ limit: "treeEntries" });
      }
      expect((await fs.lstat(path.join(home, "tree", "sub", "loop"))).isSymbolicLink()).to.equal(true);
    });

    it("removeDir removes the links themselves, or nothing, never what they point to", async () => {
      // FTP.removeDir's walk, with a bound a loop walked as directories passes at once.
      const remote = (ftp as unknown as { remote: RemoteClient }).remote;
      const removal = removeDir(remote, "/gone", { maxEntries: MAX_ENTRIES });
      if (listedAs === "dir") {
        await removal.then(
          () => expect.fail("the loop should stop the walk at maxEntries"),
          (error: unknown) => expect(error).to.be.instanceOf(FtpLimitError),
        );
        expect(await fs.readFile(path.join(home, "gone", "a.txt"), "utf8")).to.equal("a\n");
      } else if (kind === "inetutils-ftpd" || kind === "netkit-ftpd") {
        // Their DELE follows a link to a directory and refuses it: the first deletion, the loop, fails.
        await removal.then(
          () => expect.fail("DELE of a link to a directory should fail here"),
          (error: unknown) => expect(error).to.be.instanceOf(FtpPermError),
        );
        expect(await fs.readFile(path.join(home, "gone", "a.txt"), "utf8")).to.equal("a\n");
      } else {
        await removal;
        await fs.access(path.join(home, "gone")).then(
          () => expect.fail("/gone should be removed"),
          () => undefined,
        );
      }
    });
  },
);
