/**
 * A tree transfer refuses an entry it cannot take as a file of the tree (a
 * name that is not one path segment, a name listed twice) with a failure
 * of its own, held until the call settles. Those entries count against
 * maxEntries as the ones taken do: a server listing, in every directory of
 * a deep tree, nothing but such names (each directory under the bound)
 * would otherwise have the call hold a failure for each of them, without
 * bound, before it rejects with them all.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpLimitError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

/** The bound the specs set. */
const MAX = 100;
/** Names refused in each directory: fewer than MAX, so no one listing passes it. */
const PER_DIR = 30;
/** Levels of the hostile tree: PER_DIR * LEVELS refused names in all, many times MAX. */
const LEVELS = 20;

/** How each listing line of a refused name reads. */
const REFUSED = {
  "a name with a backslash": (i: number) => `type=file;size=1;modify=20200101000000; a\\${i}`,
  "a name listed twice": () => "type=file;size=1;modify=20200101000000; same",
};

describe("faults: a remote tree of names refused one by one", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-refused-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose MLSD below /r lists, LEVELS deep, one directory `d` and PER_DIR lines of `line`. */
  async function hostile(line: (i: number) => string): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/": "" } });
    srv.handle("MLSD", async (s, arg) => {
      const depth = arg.split("/").length - 2;
      const lines = ["type=cdir;perm=el; ."];
      if (depth < LEVELS) lines.push("type=dir;perm=el;modify=20200101000000; d");
      for (let i = 0; i < PER_DIR; i++) lines.push(line(i));
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(lines.map((text) => `${text}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const [what, line] of Object.entries(REFUSED)) {
    for (const pipelining of [true, false]) {
      it(`downloadDir stops with FtpLimitError (treeEntries) once ${what}, over and over, passes maxEntries (pipelining: ${pipelining})`, async () => {
        const ftp = await fx.client(await hostile(line));
        let failures = 0;
        let error: unknown;
        await ftp.downloadDir("/r", dir, { maxEntries: MAX, pipelining, onFailure: () => failures++ }).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(FtpLimitError);
        expect(error).to.include({ limit: "treeEntries", max: MAX });
        expect(failures).to.be.at.most(MAX);
      });
    }

    it(`uploadDir stops the same way on a remote target of ${what}, deleting nothing`, async () => {
      const srv = await hostile(line);
      const ftp = await fx.client(srv);
      let failures = 0;
      let error: unknown;
      await ftp.uploadDir(dir, "/r", { maxEntries: MAX, delete: true, onFailure: () => failures++ }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpLimitError);
      expect(error).to.include({ limit: "treeEntries", max: MAX });
      expect(failures).to.be.at.most(MAX);
      expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
    });
  }

  it("uploadDir counts the local names it refuses the same way (names with a backslash, a few in each directory)", async () => {
    let at = dir;
    for (let level = 0; level < LEVELS; level++) {
      for (let i = 0; i < PER_DIR; i++) writeFileSync(join(at, `a\\${i}`), "x");
      at = join(at, "d");
      mkdirSync(at);
    }
    const ftp = await fx.client(await fx.server({ files: { "/r/": "" } }));
    let failures = 0;
    let error: unknown;
    await ftp.uploadDir(dir, "/r", { maxEntries: MAX, onFailure: () => failures++ }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "treeEntries", max: MAX });
    expect(failures).to.be.at.most(MAX);
  });
});
