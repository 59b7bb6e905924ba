/**
 * The permission bits of a local file a download replaces. The download
 * is written to a new part file and renamed over the target, so the
 * target took the part's mode, the umask's (0644): a file the user had
 * made private (0600) came back readable by every local user after the
 * next mirror run updated it (FtpPool.downloadSegmented's part file too).
 * It keeps its bits now, as rsync keeps an updated file's, its part file
 * created with them (never wider for a moment, when another user could
 * open it); a set-id bit is not carried to new content, and a new file
 * gets the umask's mode as before.
 */
import { expect } from "chai";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

/** A path's permission bits, set-id and sticky included, in octal. */
const modeOf = (path: string): string => (statSync(path).mode & 0o7777).toString(8);

/**
 * Serves RETR from the fixture's files, noting first the mode of each
 * part file the client is writing (it exists by the time RETR is sent).
 */
function notePartModes(srv: FixtureServer, dir: string, modes: Record<string, string>): void {
  srv.handle("RETR", async (s, arg) => {
    const name = arg.split("/").pop()!;
    modes[name] = modeOf(join(dir, `.${name}.ftpstream-part`));
    s.reply(150, "Opening BINARY mode data connection.");
    await s.sendData(srv.vfs.get(s.resolvePath(arg))!);
    s.reply(226, "Transfer complete.");
  });
}

describe("sync: the permission bits of a local file a download replaces", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-local-modes-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const pipelining of [true, false]) {
    it(`an updated file keeps its mode (0600, 0640, 0755), its part file has it from the start, and a set-id bit is dropped (pipelining ${pipelining})`, async () => {
      const files = { "private.txt": 0o600, "group.txt": 0o640, "tool.sh": 0o755, "setuid.sh": 0o4755 };
      const srv = await fx.server({
        files: Object.fromEntries(Object.keys(files).map((name) => [`/r/${name}`, `remote ${name}`])),
      });
      for (const [name, mode] of Object.entries(files)) {
        writeFileSync(join(dir, name), "old");
        chmodSync(join(dir, name), mode);
      }
      const partModes: Record<string, string> = {};
      notePartModes(srv, dir, partModes);
      const ftp = await fx.client(srv);
      expect(await ftp.downloadDir("/r", dir, { pipelining })).to.include({ transferred: 4 });
      const expected = { "private.txt": "600", "group.txt": "640", "tool.sh": "755", "setuid.sh": "755" };
      const modes = Object.fromEntries(Object.keys(files).map((name) => [name, modeOf(join(dir, name))]));
      expect(modes).to.deep.equal(expected);
      expect(partModes).to.deep.equal(expected);
      for (const name of Object.keys(files)) expect(readFileSync(join(dir, name), "utf8")).to.equal(`remote ${name}`);
    });
  }

  it("FtpPool.downloadSegmented: a replaced file keeps its mode (0600)", async () => {
    const srv = await fx.server({ files: { "/r/big.bin": "x".repeat(100_000) } });
    writeFileSync(join(dir, "big.bin"), "old");
    chmodSync(join(dir, "big.bin"), 0o600);
    const pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" }) });
    try {
      await pool.downloadSegmented("/r/big.bin", join(dir, "big.bin"), { minSegmentSize: 40_000 });
    } finally {
      await pool.close();
    }
    expect(modeOf(join(dir, "big.bin"))).to.equal("600");
    expect(readFileSync(join(dir, "big.bin"), "utf8")).to.equal("x".repeat(100_000));
  });

  describe("the mode a part file is created with (open's third argument)", () => {
    const fsp = createRequire(import.meta.url)("node:fs/promises") as typeof import("node:fs/promises");
    const openOf = fsp.open;
    /** Each part file opened, by name, with its mode. */
    let created: Record<string, string>;
    beforeEach(() => {
      created = {};
      fsp.open = ((path: string, flags?: string, mode?: number) => {
        if (String(path).endsWith(".ftpstream-part")) created[String(path).split("/").pop()!] = (mode ?? 0o666).toString(8);
        return openOf(path, flags, mode);
      }) as typeof fsp.open;
      syncBuiltinESMExports();
    });
    afterEach(() => {
      fsp.open = openOf;
      syncBuiltinESMExports();
    });

    it("is the replaced file's, never wider: a part made 0644 and narrowed after could be opened by another user in between", async () => {
      const srv = await fx.server({ files: { "/r/private.txt": "secret", "/r/new.txt": "new", "/r/big.bin": "x".repeat(100_000) } });
      writeFileSync(join(dir, "private.txt"), "old");
      chmodSync(join(dir, "private.txt"), 0o600);
      writeFileSync(join(dir, "big.bin"), "old");
      chmodSync(join(dir, "big.bin"), 0o640);
      const ftp = await fx.client(srv);
      await ftp.downloadDir("/r", dir, { filter: (entry) => entry.path !== "big.bin" });
      const pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" }) });
      try {
        await pool.downloadSegmented("/r/big.bin", join(dir, "big.bin"), { minSegmentSize: 40_000 });
      } finally {
        await pool.close();
      }
      expect(created).to.deep.equal({
        ".private.txt.ftpstream-part": "600",
        ".new.txt.ftpstream-part": "666",
        ".big.bin.ftpstream-part": "640",
      });
    });
  });

  it("a new file gets the mode any new file gets (the umask's)", async () => {
    const srv = await fx.server({ files: { "/r/new.txt": "new" } });
    const ftp = await fx.client(srv);
    await ftp.downloadDir("/r", dir);
    writeFileSync(join(dir, "made-here"), "");
    expect(modeOf(join(dir, "new.txt"))).to.equal(modeOf(join(dir, "made-here")));
  });
});
