/**
 * downloadDir on pyftpdlib, whose MLSD lists a link to a directory as
 * `type=dir` with the `unique` of what it points to (and no `type=cdir`
 * line): `/dl/out -> ../dl-outside` (keep.txt in it) was entered and its
 * files fetched into the local target, what lay outside the tree asked
 * for; with `delete` the local target mirrored it. Before a directory is
 * entered, its parent's LIST (which shows the link as `l`) is read: the
 * link is reported in `links`, nothing is fetched through it, and a local
 * copy of what it held is left alone by `delete`.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { layOutHome } from "./home-tree.js";

describeServers(
  "interop downloadDir and a link MLSD lists as a directory",
  () => [{ label: "passive" }],
  ({ server }) => {
    let ftp: FTP;
    let local: string;

    before(async () => {
      await layOutHome(server().home, {
        dirs: ["dl-outside", "dl", "dl/sub"],
        files: { "dl-outside/keep.txt": "keep\n", "dl/a.txt": "a\n", "dl/sub/b.txt": "b\n" },
        links: { "dl/out": "../dl-outside" },
      });
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    beforeEach(async () => {
      local = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-links-download-"));
    });

    afterEach(() => fs.rm(local, { recursive: true, force: true }));

    after(() => ftp?.close());

    it("MLSD gives the link as a directory (what makes the LIST needed)", async () => {
      const types: Record<string, string> = {};
      for await (const entry of ftp.list("/dl")) types[entry.name] = entry.type;
      expect(types).to.deep.equal({ "a.txt": "file", out: "dir", sub: "dir" });
    });

    for (const pipelining of [true, false]) {
      it(`reports the link and fetches nothing through it (pipelining: ${pipelining})`, async () => {
        const result = await ftp.downloadDir("/dl", local, { pipelining });
        expect(result.links).to.deep.equal(["out"]);
        expect(result).to.include({ transferred: 2 });
        expect((await fs.readdir(local)).sort()).to.deep.equal(["a.txt", "sub"]);
        expect(await fs.readFile(path.join(local, "sub", "b.txt"), "utf8")).to.equal("b\n");
      });
    }

    it("with delete leaves a local copy of what the link held", async () => {
      await fs.mkdir(path.join(local, "out"));
      await fs.writeFile(path.join(local, "out", "old.txt"), "old\n");
      const result = await ftp.downloadDir("/dl", local, { delete: true });
      expect(result).to.include({ deleted: 0, transferred: 2 });
      expect(result.links).to.deep.equal(["out"]);
      expect(await fs.readdir(path.join(local, "out"))).to.deep.equal(["old.txt"]);
    });
  },
  ["pyftpdlib"],
);
