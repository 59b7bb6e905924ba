/**
 * `delete` keeps a target entry whose path is a source path but for letter
 * case or Unicode form: on a disk or server that folds them it is the same
 * file. That holds at every level: below a directory the source has in
 * another case (whose listing may have failed, or which is a file there),
 * below a path `filter` left out (what it leaves out is never deleted,
 * whatever case the target spells it in).
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TreeEntry } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { localTree } from "./trees.js";

/** Leaves out `readme` and the directory `docs` (so all below it), as the source spells them. */
const filter = (entry: TreeEntry): boolean => entry.path !== "readme" && entry.path !== "docs";

describe("delete against a target that spells a source path in another case", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-case-filter-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const pipelining of [true, false]) {
    it(`downloadDir keeps the local README and DOCS/b.txt when filter leaves out the remote readme and docs (pipelining: ${pipelining})`, async () => {
      const srv = await fx.server({ files: { "/r/readme": "remote", "/r/docs/a.txt": "a", "/r/kept.txt": "k" } });
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "README"), "local");
      mkdirSync(join(dir, "DOCS"));
      writeFileSync(join(dir, "DOCS", "b.txt"), "b");
      writeFileSync(join(dir, "extra.txt"), "extra");
      const result = await ftp.downloadDir("/r", dir, { delete: true, filter, pipelining });
      expect(localTree(dir)).to.deep.equal({ README: "local", DOCS: null, "DOCS/b.txt": "b", "kept.txt": "k" });
      expect(result.deleted).to.equal(1);
    });
  }

  it("downloadDir keeps what the local data/ holds when the remote has Data as a file, or as a directory it could not list", async () => {
    const srv = await fx.server({ files: { "/r/Data": "a file", "/r/Logs/x.txt": "x", "/r/kept.txt": "k" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg === "/r/Logs") return s.reply(550, "Permission denied.");
      await s.defaultHandler("MLSD", arg);
    });
    const ftp = await fx.client(srv);
    for (const name of ["data", "logs"]) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "old.txt"), name);
    }
    await ftp.downloadDir("/r", dir, { delete: true }).catch(() => undefined);
    expect(localTree(dir)).to.include({ "data/old.txt": "data", "logs/old.txt": "logs" });
  });

  it("uploadDir sends no DELE or RMD for the remote README and DOCS/b.txt when filter leaves out the local readme and docs", async () => {
    const srv = await fx.server({ files: { "/r/README": "remote", "/r/DOCS/b.txt": "b", "/r/extra.txt": "extra" } });
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "readme"), "local");
    mkdirSync(join(dir, "docs"));
    writeFileSync(join(dir, "docs", "a.txt"), "a");
    await ftp.uploadDir(dir, "/r", { delete: true, filter });
    expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal(["DELE /r/extra.txt"]);
  });
});
