/**
 * A tree transfer or walk whose remote root is "" (the working directory,
 * as list("") takes it) stays in the working directory: every path below
 * it is relative to it (`sub/a.txt`), never made absolute (`/sub/a.txt`),
 * which would list, fetch, store and delete in the server's root, a tree
 * the caller never named.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { useFixtures } from "../core/helpers.js";
import { localTree } from "./trees.js";

/** The commands that name a path (listings, transfers, deletions), as sent. */
function pathCommands(srv: FixtureServer): string[] {
  return srv.commands.filter((line) => /^(LIST|MLSD|RETR|STOR|DELE|RMD|MKD|MDTM|MFMT|SIZE|RNFR|RNTO) /.test(line));
}

/** The working directory's tree, and beside it, at the server's root, files of the same names. */
const FILES = {
  "/home/sub/a.txt": "home a",
  "/home/gone.txt": "home extra",
  "/sub/a.txt": "root a",
  "/sub/x.txt": "root x",
  "/gone.txt": "root extra",
};

describe('tree transfers rooted at the working directory (remote "")', () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-cwd-root-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const pipelining of [true, false]) {
    it(`uploadDir with delete stores and deletes in the working directory only, nothing in the server's root (pipelining: ${pipelining})`, async () => {
      const srv = await fx.server({ files: FILES });
      const ftp = await fx.client(srv);
      await ftp.cwd("/home");
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub", "a.txt"), "local a");
      await ftp.uploadDir(dir, "", { delete: true, pipelining });
      expect(srv.vfs.get("/home/sub/a.txt")?.toString()).to.equal("local a");
      expect(srv.vfs.exists("/home/gone.txt"), "the working directory's extra").to.equal(false);
      expect(srv.vfs.get("/sub/a.txt")?.toString(), "the root's sub/a.txt").to.equal("root a");
      expect(srv.vfs.get("/sub/x.txt")?.toString(), "the root's sub/x.txt").to.equal("root x");
      expect(srv.vfs.get("/gone.txt")?.toString(), "the root's gone.txt").to.equal("root extra");
      for (const line of pathCommands(srv)) expect(line, "no absolute path sent").not.to.match(/^\S+ (-a )?\//);
    });

    it(`downloadDir with delete mirrors the working directory, not the server's root below it (pipelining: ${pipelining})`, async () => {
      const srv = await fx.server({ files: FILES });
      const ftp = await fx.client(srv);
      await ftp.cwd("/home");
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub", "keep.txt"), "local only");
      await ftp.downloadDir("", dir, { delete: true, pipelining });
      expect(localTree(dir)).to.deep.equal({ "gone.txt": "home extra", sub: null, "sub/a.txt": "home a" });
      for (const line of pathCommands(srv)) expect(line, "no absolute path sent").not.to.match(/^\S+ (-a )?\//);
    });
  }

  it('walk("") yields paths relative to the working directory and lists them there', async () => {
    const srv = await fx.server({ files: FILES });
    const ftp = await fx.client(srv);
    await ftp.cwd("/home");
    const paths: string[] = [];
    for await (const { path } of ftp.walk("")) paths.push(path);
    expect(paths.sort()).to.deep.equal(["gone.txt", "sub", "sub/a.txt"]);
    for (const line of pathCommands(srv)) expect(line, "no absolute path sent").not.to.match(/^\S+ (-a )?\//);
  });
});
