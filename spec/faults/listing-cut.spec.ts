/**
 * A listing cut mid-line (the data connection closed early, then a 226)
 * names its last entry short and lacks the ones after it. Every server
 * ends each listing line, the last one too (all eight interop servers do,
 * LIST, NLST and MLSD alike), so a last line without its line ending is
 * not fully understood: the structured listing never makes it an entry
 * and reports it as unreadable, so downloadDir with `delete` removes
 * nothing in that directory.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpListingError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

const LOCAL = ["important.txt", "keep.txt", "zzz.txt"];

/** Each listing form, with the bytes of a listing of /d cut in the middle of "important.txt". */
const FORMS = [
  {
    verb: "MLSD",
    cut: [
      "type=cdir;perm=el; /d",
      "type=file;size=1;modify=20200101000000; keep.txt",
      "type=file;size=1;modify=20200101000000; impor",
    ].join("\r\n"),
  },
  {
    verb: "LIST",
    cut: [
      "-rw-r--r--    1 0        0               1 Jan 01  2020 keep.txt",
      "-rw-r--r--    1 0        0               1 Jan 01  2020 impor",
    ].join("\r\n"),
  },
];

describe("faults: a listing cut mid-line that ends in 226", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-listing-cut-"));
    for (const name of LOCAL) writeFileSync(join(dir, name), `local ${name}`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose listings of /d (`verb`, and LIST -a / LIST alike) send `body` and then 226. */
  async function server(verb: string, body: string): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/d/important.txt": "i", "/d/keep.txt": "k", "/d/zzz.txt": "z" } });
    if (verb === "LIST") srv.handle("MLSD", (s) => s.reply(500, "Unknown command."));
    srv.handle(verb, async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(body);
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const { verb, cut } of FORMS) {
    it(`${verb}: downloadDir with delete removes no local file, and reports the directory`, async () => {
      const ftp = await fx.client(await server(verb, cut));
      let error: unknown;
      await ftp.downloadDir("/d", dir, { delete: true }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.some((f) => f.error instanceof FtpListingError)).to.equal(true);
      expect(readdirSync(dir).sort()).to.deep.equal(LOCAL);
    });

    it(`${verb}: list() yields the whole entries, never the cut one, then throws FtpListingError naming the cut line`, async () => {
      const ftp = await fx.client(await server(verb, cut));
      const names: string[] = [];
      let error: unknown;
      try {
        for await (const entry of ftp.list("/d")) names.push(entry.name);
      } catch (e) {
        error = e;
      }
      expect(names).to.deep.equal(["keep.txt"]);
      expect(error).to.be.instanceOf(FtpListingError);
      expect((error as FtpListingError).lines).to.deep.equal([cut.slice(cut.lastIndexOf("\r\n") + 2)]);
    });

    it(`${verb}: list() with onUnreadable gives it the cut line and ends`, async () => {
      const ftp = await fx.client(await server(verb, cut));
      const names: string[] = [];
      const unreadable: string[] = [];
      for await (const entry of ftp.list("/d", { onUnreadable: (line) => unreadable.push(line) })) names.push(entry.name);
      expect(names).to.deep.equal(["keep.txt"]);
      expect(unreadable).to.have.length(1);
      expect(unreadable[0]).to.match(/ impor$/);
    });

    it(`${verb}: walk() throws FtpListingError at the directory before yielding any of it`, async () => {
      const ftp = await fx.client(await server(verb, cut));
      const paths: string[] = [];
      let error: unknown;
      try {
        for await (const { path } of ftp.walk("/d")) paths.push(path);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(FtpListingError);
      expect(paths).to.deep.equal([]);
    });
  }

  it("a whole listing whose last line ends in LF alone, or CR alone, is read whole", async () => {
    for (const end of ["\n", "\r"]) {
      const body = [
        "-rw-r--r--    1 0        0               1 Jan 01  2020 keep.txt",
        "-rw-r--r--    1 0        0               1 Jan 01  2020 zzz.txt",
      ]
        .map((line) => line + end)
        .join("");
      const ftp = await fx.client(await server("LIST", body));
      const names: string[] = [];
      for await (const entry of ftp.list("/d")) names.push(entry.name);
      expect(names, JSON.stringify(end)).to.deep.equal(["keep.txt", "zzz.txt"]);
    }
  });
});
