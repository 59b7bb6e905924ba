/**
 * A listing line whose name cannot be read with certainty is unreadable,
 * never read as a name that is not the file's: the real name would look
 * absent from the listing, and a tree download with `delete` removed the
 * local file of that name (an upload sent DELE for the misread one).
 * - A DOS (IIS, Windows dir) line pads `<DIR>` to a 14-wide column and one
 *   space, or right-aligns it before one space; with more than one space
 *   after it and fewer than its column's, the name was read with the rest
 *   as leading spaces (`   important.txt`).
 * - Windows dir shows a link's target after its name (`name [C:\target]`):
 *   read as one name, the link's own name went missing; where the line
 *   holds " [" twice, where the name ends is not known.
 * - `ls -l` shows a link as `name -> target`: with " -> " twice, where
 *   the name ends is not known.
 * - MLSD with a space between its facts (`type=file; size=1; x`) reads, as
 *   RFC 3659 splits it, as a file named `size=1; x`: a name that itself
 *   begins as facts do is taken for such a line.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpListingError, parseListLine } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { expectDownloadKeepsLocal } from "./tree-keeps-local.js";

/** LIST lines of /r (no MLSD) standing for `important.txt` (a file) or `linked` (a link), each misread before. */
const DOS_LINES = {
  "a <DIR> padded with fewer spaces than its column": ["11-25-26  10:20AM       <DIR>     important.txt"],
  "a <JUNCTION> padded with fewer spaces than its column": ["11-25-26  10:20AM       <JUNCTION>   important.txt"],
  "a Windows dir link whose name or target holds ' ['": ["01/02/2024  12:05 PM    <JUNCTION>     important.txt [x] [C:\\y]"],
};

/** LIST lines (ls -l) standing for a link whose name or target holds " -> ": where its name ends is not known. */
const UNIX_LINES = {
  "a link line holding ' -> ' twice": ["lrwxrwxrwx   1 0        0              10 Dec 07 08:10 important.txt -> b -> c"],
};

/** MLSD lines standing for `important.txt`, with a space between their facts. */
const MLSD_LINES = {
  "a space after each fact": "type=file; size=1; modify=20200101000000; important.txt",
  "a space after the first fact only": "type=file; size=1;modify=20200101000000; important.txt",
  "two spaces after a fact": "type=file;  size=1; important.txt",
};

const KEEP_LIST = "11-25-26  10:20AM                    1 keep.txt";
const KEEP_MLSD = "type=file;size=1;modify=20200101000000; keep.txt";

describe("faults: listing lines whose name cannot be read with certainty", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-misread-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose listing of /r is `lines` (with "." first): by LIST (no MLSD), or by MLSD. */
  async function server(how: "LIST" | "MLSD", lines: string[]): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/keep.txt": "k", "/r/important.txt": "i" } });
    if (how === "LIST") srv.handle("MLSD", (s) => s.reply(500, "'MLSD': command not understood."));
    srv.handle(how, async (s, arg) => {
      if (arg.replace(/^-a /, "") !== "/r") return s.defaultHandler(how, arg);
      s.reply(150, "Here comes the directory listing.");
      const self = how === "LIST" ? "11-25-26  10:20AM       <DIR>          ." : "type=cdir;perm=el; .";
      await s.sendData([self, ...lines].map((line) => `${line}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  const cases: Array<[string, "LIST" | "MLSD", string[]]> = [
    ...Object.entries(UNIX_LINES).map(([what, lines]): [string, "LIST", string[]] => [what, "LIST", [KEEP_LIST, ...lines]]),
    ...Object.entries(DOS_LINES).map(([what, lines]): [string, "LIST", string[]] => [what, "LIST", [KEEP_LIST, ...lines]]),
    ...Object.entries(MLSD_LINES).map(([what, line]): [string, "MLSD", string[]] => [what, "MLSD", [KEEP_MLSD, line]]),
  ];

  for (const [what, how, lines] of cases) {
    for (const pipelining of [true, false]) {
      it(`downloadDir with delete keeps the local file beside ${what}, and names the directory (pipelining: ${pipelining})`, async () => {
        const ftp = await fx.client(await server(how, lines));
        await expectDownloadKeepsLocal(ftp, dir, pipelining);
      });
    }

    it(`uploadDir with delete sends no DELE or RMD into a remote directory listing ${what}`, async () => {
      const srv = await server(how, lines);
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "keep.txt"), "k");
      await ftp.uploadDir(dir, "/r", { delete: true }).catch(() => undefined);
      expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
    });

    it(`list() throws FtpListingError naming ${what}`, async () => {
      const ftp = await fx.client(await server(how, lines));
      const names: string[] = [];
      let error: unknown;
      try {
        for await (const entry of ftp.list("/r")) names.push(entry.name);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(FtpListingError);
      expect((error as FtpListingError).lines).to.deep.equal(lines.slice(1));
      expect(names).to.deep.equal(["keep.txt"]);
    });
  }

  for (const pipelining of [true, false]) {
    it(`downloadDir with delete reads a Windows dir link's own name apart from its [target], and keeps the local file of that name (pipelining: ${pipelining})`, async () => {
      const link = "01/02/2024  12:05 PM    <SYMLINKD>     important.txt [C:\\elsewhere]";
      const ftp = await fx.client(await server("LIST", [KEEP_LIST, link]));
      writeFileSync(join(dir, "keep.txt"), "k");
      writeFileSync(join(dir, "important.txt"), "local important");
      const result = await ftp.downloadDir("/r", dir, { delete: true, pipelining });
      expect(result).to.include({ deleted: 0 });
      expect(result.links).to.deep.equal(["important.txt"]);
      expect(readdirSync(dir).sort()).to.deep.equal(["important.txt", "keep.txt"]);
    });
  }

  it("still reads <DIR> and links in their columns, a link's name apart from its [target], and MLSD facts then a space", async () => {
    expect(parseListLine("11-25-26  10:20AM       <DIR>          Reports")).to.include({ name: "Reports", type: "dir" });
    expect(parseListLine("11-25-26  10:20AM       <DIR>            two")).to.include({ name: "  two", type: "dir" });
    expect(parseListLine("11-25-26  10:20AM            <DIR> right")).to.include({ name: "right", type: "dir" });
    expect(parseListLine("01/02/2024  12:05 PM    <JUNCTION>     Documents and Settings [C:\\Users]")).to.include({
      name: "Documents and Settings",
      type: "link",
      target: "C:\\Users",
    });
    expect(parseListLine("01-02-2024  12:05PM    <SYMLINKD>     shared")).to.include({ name: "shared", type: "link", target: null });
    expect(parseListLine("01-02-2024  12:05PM          1,234 a [b].txt")).to.include({ name: "a [b].txt", type: "file" });
    expect(parseListLine("lrwxrwxrwx   1 0        0              10 Dec 07 08:10 out -> ../outside")).to.include({
      name: "out",
      type: "link",
      target: "../outside",
    });
    expect(parseListLine("-rw-r--r--   1 0        0               1 Dec 07 08:10 a -> b -> c")).to.include({
      name: "a -> b -> c",
      type: "file",
    });
    const srv = await server("MLSD", [
      KEEP_MLSD,
      "type=file;size=1; semi;colon=x; y",
      "type=file;size=1; a=b;c",
      "type=file;size=1;  lead",
    ]);
    const names: string[] = [];
    for await (const entry of (await fx.client(srv)).list("/r")) names.push(entry.name);
    expect(names).to.deep.equal(["keep.txt", "semi;colon=x; y", "a=b;c", " lead"]);
  });
});
