/**
 * LIST lines whose columns read two ways: where the name starts depends
 * on a column the line alone does not settle, and read the wrong way, the
 * real name looked absent from the listing (downloadDir with delete
 * removed the local file of that name; uploadDir with delete sent DELE for
 * a name the server never listed).
 * - Windows `dir` in a locale grouping digits with a space: `1 234 x` is
 *   `x` of 1,234 bytes or `234 x` of 1 byte. Read as the second.
 * - long-iso (`2026-12-06 12:00`) then `+0100 x`: long-iso prints no
 *   zone, so that is a name; read as full-iso's zone and the name `x`.
 * - iso pads an older file's day (`2025-01-01  name`): a name beginning
 *   with a clock (`09:30 notes.txt`) was read as long-iso's time and the
 *   name `notes.txt`.
 * The first two are unreadable (reported, nothing deleted beside them);
 * the third is read as ls prints it (a day and its time one space apart).
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpListingError, parseListLine } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { expectDownloadKeepsLocal } from "./tree-keeps-local.js";

/** Windows dir (24-hour, digits grouped with spaces): important.txt of 1,234 bytes, or "234 important.txt" of 1. */
const DOS_SELF = "25/11/2026  22:20    <DIR>          .";
const DOS_KEEP = "25/11/2026  22:20                 1 keep.txt";
const DOS_GROUPED = "25/11/2026  22:20             1 234 important.txt";

/** ls -l, long-iso: the file "+0100 important.txt", or important.txt after a zone. */
const ISO_SELF = "drwxr-xr-x   2 ftp ftp 4096 2026-12-06 12:00 .";
const ISO_KEEP = "-rw-r--r--   1 ftp ftp    1 2026-12-06 12:00 keep.txt";
const LONG_ISO_ZONE_LIKE = "-rw-r--r--   1 ftp ftp    1 2026-12-06 12:00 +0100 important.txt";

/** ls -l, iso: an older file named "09:30 notes.txt", its day padded. */
const ISO_OLD_CLOCK = "-rw-r--r--   1 ftp ftp   12 2025-01-01  09:30 notes.txt";

describe("faults: LIST lines whose columns read two ways", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-ambiguous-columns-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server without MLSD whose LIST of /r is `lines`, holding `files`. */
  async function server(lines: string[], files: Record<string, string> = {}): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/keep.txt": "k", "/r/important.txt": "i", ...files } });
    srv.handle("MLSD", (s) => s.reply(500, "'MLSD': command not understood."));
    srv.handle("LIST", async (s, arg) => {
      if (arg.replace(/^-a /, "") !== "/r") return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  it("parseListLine reports the two ambiguous forms, and reads the iso name beginning with a clock as ls printed it", () => {
    expect(parseListLine(DOS_GROUPED)).to.equal(undefined);
    expect(parseListLine(LONG_ISO_ZONE_LIKE)).to.equal(undefined);
    expect(parseListLine(ISO_OLD_CLOCK)).to.deep.include({ name: "09:30 notes.txt", size: 12 });
    // Unambiguous neighbours read as before: IIS never groups digits, full-iso always shows its zone, long-iso its time.
    expect(parseListLine("11-25-26  10:20PM                    1 234 x.txt")?.name).to.equal("234 x.txt");
    expect(parseListLine("25/11/2026  22:20                 1 23 x.txt")?.name).to.equal("23 x.txt");
    expect(parseListLine("25/11/2026  22:20             1\u00a0234 x.txt")).to.deep.include({ name: "x.txt", size: 1234 });
    const fullIso = parseListLine("-rw-r--r-- 1 ftp ftp 5 2026-12-06 12:00:07.123456789 +0100 +0100 x.txt");
    expect(fullIso).to.deep.include({ name: "+0100 x.txt" });
    expect(fullIso?.modified?.toISOString()).to.equal("2026-12-06T11:00:07.123Z");
    expect(parseListLine("-rw-r--r-- 1 ftp ftp 5 2026-12-06 12:00 09:30 x.txt")?.name).to.equal("09:30 x.txt");
  });

  for (const pipelining of [true, false]) {
    it(`downloadDir with delete keeps every local file beside a dir line whose size may be digits grouped with a space (pipelining: ${pipelining})`, async () => {
      const ftp = await fx.client(await server([DOS_SELF, DOS_KEEP, DOS_GROUPED]));
      await expectDownloadKeepsLocal(ftp, dir, pipelining);
    });

    it(`downloadDir with delete keeps the local "+0100 important.txt" a long-iso line may name (pipelining: ${pipelining})`, async () => {
      const ftp = await fx.client(await server([ISO_SELF, ISO_KEEP, LONG_ISO_ZONE_LIKE]));
      writeFileSync(join(dir, "keep.txt"), "k");
      writeFileSync(join(dir, "+0100 important.txt"), "local copy");
      let error: unknown;
      await ftp.downloadDir("/r", dir, { delete: true, pipelining }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const errors = (error as FtpDirTransferError).failures.map((f) => f.error);
      expect(errors.some((e) => e instanceof FtpListingError && e.lines.includes(LONG_ISO_ZONE_LIKE))).to.equal(true);
      expect(readdirSync(dir).sort()).to.deep.equal(["+0100 important.txt", "keep.txt"]);
      expect(readFileSync(join(dir, "+0100 important.txt"), "utf8")).to.equal("local copy");
    });

    it(`downloadDir with delete fetches an older iso-listed file whose name begins with a clock as itself (pipelining: ${pipelining})`, async () => {
      const srv = await server([ISO_SELF, ISO_KEEP, ISO_OLD_CLOCK], { "/r/09:30 notes.txt": "remote notes" });
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "keep.txt"), "k");
      writeFileSync(join(dir, "09:30 notes.txt"), "old");
      const result = await ftp.downloadDir("/r", dir, { delete: true, pipelining });
      expect(result).to.include({ deleted: 0 });
      expect(readdirSync(dir).sort()).to.deep.equal(["09:30 notes.txt", "keep.txt"]);
      expect(readFileSync(join(dir, "09:30 notes.txt"), "utf8")).to.equal("remote notes");
      expect(srv.commands.filter((command) => command.startsWith("RETR "))).to.not.include("RETR /r/notes.txt");
    });
  }

  for (const [what, lines] of [
    ["a dir line whose size may be digits grouped with a space", [DOS_SELF, DOS_KEEP, DOS_GROUPED]],
    ["a long-iso line whose name begins as a zone", [ISO_SELF, ISO_KEEP, LONG_ISO_ZONE_LIKE]],
  ] as const) {
    it(`uploadDir with delete sends no DELE or RMD into a remote directory listing ${what}`, async () => {
      const srv = await server([...lines]);
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "keep.txt"), "k");
      await ftp.uploadDir(dir, "/r", { delete: true }).catch(() => undefined);
      expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
      expect(srv.vfs.get("/r/important.txt")?.toString()).to.equal("i");
    });
  }
});
