/**
 * pure-ftpd sends at most 10,000 entries of a directory listing (its
 * `--limitrecursion`, 10000 by default: seen live with pure-ftpd 1.0.50,
 * 10,050 files listed as 10,000), for MLSD, LIST and NLST alike, and ends
 * it with "226 Output truncated to 10000 matches". Taken for the whole
 * directory, the files past the cut looked absent: a sync never fetched
 * them, and a download with `delete` removed their local copies. The
 * listing is refused (FtpListingError), as one the server did not read.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpListingError } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

describe("servers: a listing pure-ftpd cut at its limit", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-truncated-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server with keep.txt and important.txt in /r whose listings of /r stop after keep.txt, as pure-ftpd's with a limit of 1. */
  async function server(): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/keep.txt": "k", "/r/important.txt": "i" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/r") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Accepted data connection");
      await s.sendData(
        "type=cdir;sizd=4096;modify=20240101120000;UNIX.mode=0755; .\r\ntype=file;size=1;modify=20240101120000; keep.txt\r\n",
      );
      s.reply(226, "Output truncated to 1 matches");
    });
    srv.handle("LIST", async (s, arg) => {
      if (!arg.endsWith("/r")) return s.defaultHandler("LIST", arg);
      s.reply(150, "Accepted data connection");
      await s.sendData("-rw-r--r--    1 1000       1000                1 Jan  1 12:00 keep.txt\r\n");
      s.reply(226, ["Options: -a -l ", "Output truncated to 1 matches"]);
    });
    return srv;
  }

  for (const command of [undefined, "LIST"] as const) {
    it(`list() yields what came, then throws FtpListingError quoting the server (${command ?? "MLSD"})`, async () => {
      const ftp = await fx.client(await server());
      const names: string[] = [];
      let error: unknown;
      try {
        for await (const entry of ftp.list("/r", command ? { command } : {})) names.push(entry.name);
      } catch (e) {
        error = e;
      }
      expect(names).to.deep.equal(["keep.txt"]);
      expect(error).to.be.instanceOf(FtpListingError);
      expect((error as Error).message).to.include("Output truncated to 1 matches");
    });
  }

  for (const pipelining of [true, false]) {
    it(`downloadDir with delete fails and keeps the local copies of the files past the cut (pipelining: ${pipelining})`, async () => {
      const ftp = await fx.client(await server());
      writeFileSync(join(dir, "keep.txt"), "k");
      writeFileSync(join(dir, "important.txt"), "local important");
      const error = await rejectionOf(ftp.downloadDir("/r", dir, { delete: true, pipelining }));
      expect(error).to.be.instanceOf(FtpListingError);
      expect(readdirSync(dir).sort()).to.deep.equal(["important.txt", "keep.txt"]);
      expect(readFileSync(join(dir, "important.txt"), "utf8")).to.equal("local important");
    });
  }

  it("walk() fails at the cut directory instead of yielding part of it", async () => {
    const ftp = await fx.client(await server());
    const paths: string[] = [];
    let error: unknown;
    try {
      for await (const { path } of ftp.walk("/r")) paths.push(path);
    } catch (e) {
      error = e;
    }
    expect(paths).to.deep.equal([]);
    expect(error).to.be.instanceOf(FtpListingError);
  });
});
