/**
 * downloadDir and uploadDir against the fixture: whole trees both ways,
 * byte for byte; only what changed on the second run; every option
 * (filter, delete, dryRun, signal, onProgress); links reported, not
 * followed; one file's failure named after the others are done; and the
 * same on FtpPool, spread over its connections.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_MTIME } from "../../fixtures/vfs.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpDirTransferError, FtpPermError, FtpPool } from "../../lib/index.js";
import type { DirProgress } from "../../lib/index.js";
import { gate, rejectionOf, until, useFixtures } from "../core/helpers.js";
import { localTree, remoteTree } from "./trees.js";

/** The commands sent since `from` whose verb is `verb`. */
function sent(srv: FixtureServer, verb: string, from = 0): string[] {
  return srv.commands.slice(from).filter((line) => line.split(" ")[0] === verb);
}

const BIN = randomBytes(100_000).toString("latin1");
const TREE = {
  "/r/a.txt": "alpha\n",
  "/r/sub/b.bin": Buffer.from(BIN, "latin1"),
  "/r/sub/deep/c.txt": "gamma\n",
  "/r/empty/": "",
};
const EXPECTED = { "a.txt": "alpha\n", empty: null, sub: null, "sub/b.bin": BIN, "sub/deep": null, "sub/deep/c.txt": "gamma\n" };
const TREE_BYTES = 6 + 100_000 + 6;
/** A tree transfer's result when the tree's three files are all skipped: nothing sent, nothing deleted. */
const ALL_SKIPPED = { transferred: 0, skipped: 3, bytes: 0, deleted: 0, links: [], parts: [], kept: [] };

describe("downloadDir", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-down-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("downloads the whole tree byte for byte, empty directories too, and gives each file the remote time", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    const result = await ftp.downloadDir("/r", join(dir, "out"));
    expect(result).to.deep.equal({ transferred: 3, skipped: 0, bytes: TREE_BYTES, deleted: 0, links: [], parts: [], kept: [] });
    expect(localTree(join(dir, "out"))).to.deep.equal(EXPECTED);
    for (const file of ["a.txt", "sub/b.bin", "sub/deep/c.txt"]) {
      expect(statSync(join(dir, "out", file)).mtime.toISOString(), file).to.equal(FIXTURE_MTIME.toISOString());
    }
    expect(await ftp.pwd(), "the working directory is untouched").to.equal("/");
  });

  it("transfers nothing on a second run, and then exactly the remote file that changed", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    await ftp.downloadDir("/r", dir);
    const from = srv.commands.length;
    expect(await ftp.downloadDir("/r", dir)).to.deep.equal(ALL_SKIPPED);
    expect(sent(srv, "RETR", from)).to.deep.equal([]);
    // Same size, another time: only the time tells.
    srv.vfs.set("/r/sub/deep/c.txt", "GAMMA\n", new Date(Date.UTC(2025, 5, 1, 8, 9, 10)));
    const third = srv.commands.length;
    expect(await ftp.downloadDir("/r", dir)).to.deep.equal({
      transferred: 1,
      skipped: 2,
      bytes: 6,
      deleted: 0,
      links: [],
      parts: [],
      kept: [],
    });
    expect(sent(srv, "RETR", third)).to.deep.equal(["RETR /r/sub/deep/c.txt"]);
    expect(readFileSync(join(dir, "sub/deep/c.txt"), "utf8")).to.equal("GAMMA\n");
  });

  it("asks MDTM when the listing gives no seconds (LIST, no MLSD), and still skips what did not change", async () => {
    const srv = await fx.server({ files: TREE, features: ["EPSV", "MDTM", "PASV", "SIZE"] });
    const ftp = await fx.client(srv);
    await ftp.downloadDir("/r", dir);
    expect(sent(srv, "LIST")).to.have.length(4);
    expect(statSync(join(dir, "sub/b.bin")).mtime.toISOString()).to.equal(FIXTURE_MTIME.toISOString());
    const from = srv.commands.length;
    expect((await ftp.downloadDir("/r", dir)).skipped).to.equal(3);
    expect(sent(srv, "MDTM", from)).to.have.length(3);
    expect(sent(srv, "RETR", from)).to.deep.equal([]);
  });

  it("fetches every file again from a server that gives no time to the second (no MLSD, MDTM refused), without failing", async () => {
    const srv = await fx.server({ files: TREE, features: ["EPSV", "PASV", "SIZE"] });
    srv.handle("MDTM", (s) => s.reply(502, "Command not implemented."));
    const ftp = await fx.client(srv);
    expect((await ftp.downloadDir("/r", dir)).transferred).to.equal(3);
    const from = srv.commands.length;
    expect((await ftp.downloadDir("/r", dir)).transferred).to.equal(3);
    // Once refused, MDTM is not asked again: only in the first directory's burst (a.txt), not one per file.
    expect(sent(srv, "MDTM", from)).to.deep.equal(["MDTM /r/a.txt"]);
    const oneByOne = srv.commands.length;
    expect((await ftp.downloadDir("/r", dir, { pipelining: false })).transferred).to.equal(3);
    // One at a time: only the two asked at once (FTP runs two files at a time).
    expect(sent(srv, "MDTM", oneByOne)).to.have.length(2);
  });

  it("leaves out what filter refuses, without listing a refused directory", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    const seen: string[] = [];
    const result = await ftp.downloadDir("/r", dir, {
      filter: (entry) => {
        seen.push(`${entry.type} ${entry.path}`);
        return entry.path !== "sub/deep" && !entry.path.endsWith(".bin");
      },
    });
    expect(result.transferred).to.equal(1);
    expect(localTree(dir)).to.deep.equal({ "a.txt": "alpha\n", empty: null, sub: null });
    expect(seen).to.include.members(["file a.txt", "dir sub", "file sub/b.bin", "dir sub/deep"]);
    expect(sent(srv, "MLSD").map((line) => line.slice(5))).to.have.members(["/r", "/r/sub", "/r/empty"]);
  });

  it("with delete, removes local entries the remote lacks, keeping what filter leaves out and links", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "old/inner"), { recursive: true });
    writeFileSync(join(dir, "old/inner/x.txt"), "x");
    writeFileSync(join(dir, "stale.txt"), "stale");
    writeFileSync(join(dir, "keep.log"), "kept: filtered out");
    symlinkSync("a.txt", join(dir, "link"));
    const result = await ftp.downloadDir("/r", dir, { delete: true, filter: (entry) => !entry.path.endsWith(".log") });
    expect(result.deleted).to.equal(4); // old/inner/x.txt, old/inner, old, stale.txt
    const tree = localTree(dir);
    expect(Object.keys(tree).sort()).to.deep.equal([...Object.keys(EXPECTED), "keep.log", "link"].sort());
  });

  it("with dryRun, changes nothing and resolves to what it would do", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "stale.txt"), "stale");
    const reports: DirProgress[] = [];
    const result = await ftp.downloadDir("/r", dir, { dryRun: true, delete: true, onProgress: (p) => reports.push(p) });
    expect(result).to.deep.equal({ transferred: 3, skipped: 0, bytes: TREE_BYTES, deleted: 1, links: [], parts: [], kept: [] });
    expect(localTree(dir)).to.deep.equal({ "stale.txt": "stale" });
    expect(sent(srv, "RETR")).to.deep.equal([]);
    expect(reports.map((p) => p.path).sort()).to.deep.equal(["a.txt", "sub/b.bin", "sub/deep/c.txt"]);
  });

  it("reports files and bytes done of the totals through onProgress, up to both totals", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    const reports: DirProgress[] = [];
    await ftp.downloadDir("/r", dir, { onProgress: (p) => reports.push({ ...p }) });
    expect(reports.length).to.be.at.least(3);
    for (const p of reports) {
      // Files start while the tree is still listed: the totals grow until `listing` is false, then stay.
      if (!p.listing) expect(p).to.include({ totalFiles: 3, totalBytes: TREE_BYTES });
      expect(p.totalFiles).to.be.at.most(3);
      expect(p.files).to.be.at.most(p.totalFiles);
      expect(p.bytes).to.be.at.most(p.totalBytes);
    }
    for (const key of ["files", "totalFiles", "totalBytes"] as const) {
      const values = reports.map((p) => p[key]);
      expect(values, key).to.deep.equal([...values].sort((a, b) => a - b));
    }
    expect(reports[reports.length - 1]).to.include({ files: 3, bytes: TREE_BYTES, totalFiles: 3, totalBytes: TREE_BYTES });
    // One at a time (or with onPlan, or dryRun) the tree is listed first: the totals are final from the first report.
    const planned: DirProgress[] = [];
    rmSync(dir, { recursive: true, force: true });
    await ftp.downloadDir("/r", dir, { pipelining: false, onProgress: (p) => planned.push({ ...p }) });
    for (const p of planned) expect(p).to.include({ totalFiles: 3, totalBytes: TREE_BYTES, listing: false });
  });

  it("starts transferring the first directory's files before the rest of the tree is listed", async () => {
    const srv = await fx.server({ files: TREE });
    const held = gate();
    srv.handle("MLSD", async (s, arg) => {
      if (arg.endsWith("/deep")) await held.passed;
      return s.defaultHandler("MLSD", arg);
    });
    const pool = new FtpPool({ size: 2, connect: () => fx.client(srv) });
    try {
      const reports: DirProgress[] = [];
      const done = pool.downloadDir("/r", dir, { onProgress: (p) => reports.push({ ...p }) });
      // While the deepest directory's listing is held back, the files listed before it arrive.
      await until(() => reports.filter((p) => p.files === 2).length > 0, "two files done while listing");
      expect(reports.every((p) => p.listing)).to.equal(true);
      expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("alpha\n");
      held.open();
      expect(await done).to.include({ transferred: 3 });
      expect(localTree(dir)).to.deep.equal(EXPECTED);
    } finally {
      held.open();
      await pool.close();
    }
  });

  it("rejects with the signal's reason when aborted mid-file, leaves no part file, and the client stays usable", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    const held = gate();
    const controller = new AbortController();
    srv.handle("RETR", async (s, arg) => {
      if (!arg.endsWith("b.bin")) return s.defaultHandler("RETR", arg);
      s.reply(150, "Here it comes.");
      const data = await s.openData();
      data.write(Buffer.alloc(1000));
      controller.abort();
      await held.passed;
    });
    const error = await rejectionOf(ftp.downloadDir("/r", dir, { signal: controller.signal }));
    held.open();
    expect(error.name).to.equal("AbortError");
    expect(readdirSync(join(dir, "sub")).filter((name) => name.includes("ftpstream-part"))).to.deep.equal([]);
    srv.unhandle("RETR");
    expect(await ftp.pwd()).to.equal("/");
  });

  it("finishes the other files when one fails, then rejects naming it (FtpDirTransferError)", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    srv.handle("RETR", (s, arg) => (arg.endsWith("b.bin") ? s.reply(550, "Permission denied.") : s.defaultHandler("RETR", arg)));
    const error = (await rejectionOf(ftp.downloadDir("/r", dir))) as FtpDirTransferError;
    expect(error).to.be.instanceOf(FtpDirTransferError);
    expect(error.code).to.equal("ERR_FTP_DIR_TRANSFER");
    expect(error.failures.map((f) => f.path)).to.deep.equal(["sub/b.bin"]);
    expect(error.errors[0]).to.be.instanceOf(FtpPermError);
    expect(error.message).to.include("sub/b.bin: 550 Permission denied.");
    expect(error.result).to.include({ transferred: 2, skipped: 0 });
    expect(localTree(dir)).to.deep.equal({ "a.txt": "alpha\n", empty: null, sub: null, "sub/deep": null, "sub/deep/c.txt": "gamma\n" });
  });

  it("reports a remote symbolic link in links and does not follow it", async () => {
    const srv = await fx.server({ files: TREE });
    const ftp = await fx.client(srv);
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/r") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData("type=file;size=6;modify=20240115123456; a.txt\r\ntype=OS.unix=slink:/etc;modify=20240115123456; elsewhere\r\n");
      s.reply(226, "Directory send OK.");
    });
    const result = await ftp.downloadDir("/r", dir);
    expect(result).to.deep.equal({ transferred: 1, skipped: 0, bytes: 6, deleted: 0, links: ["elsewhere"], parts: [], kept: [] });
    expect(localTree(dir)).to.deep.equal({ "a.txt": "alpha\n" });
  });
});

describe("uploadDir", () => {
  const fx = useFixtures();
  let dir: string;
  const OLD = new Date(Date.UTC(2023, 2, 4, 5, 6, 7));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-up-"));
    mkdirSync(join(dir, "sub/deep"), { recursive: true });
    mkdirSync(join(dir, "empty"));
    writeFileSync(join(dir, "a.txt"), "alpha\n");
    writeFileSync(join(dir, "sub/b.bin"), Buffer.from(BIN, "latin1"));
    writeFileSync(join(dir, "sub/deep/c.txt"), "gamma\n");
    for (const file of ["a.txt", "sub/b.bin", "sub/deep/c.txt"]) utimesSync(join(dir, file), OLD, OLD);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("uploads the whole tree byte for byte into a remote directory it makes, and sets each remote time (MFMT)", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(dir, "/x/y");
    expect(result).to.deep.equal({ transferred: 3, skipped: 0, bytes: TREE_BYTES, deleted: 0, links: [], parts: [], kept: [] });
    expect(remoteTree(srv, "/x/y")).to.deep.equal(EXPECTED);
    for (const file of ["a.txt", "sub/b.bin", "sub/deep/c.txt"]) {
      expect(srv.vfs.stat(`/x/y/${file}`)!.mtime.toISOString(), file).to.equal(OLD.toISOString());
    }
    expect(sent(srv, "MFMT")).to.have.length(3);
  });

  it("transfers nothing on a second run, and then exactly the local file that changed", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv);
    await ftp.uploadDir(dir, "/up");
    const from = srv.commands.length;
    expect(await ftp.uploadDir(dir, "/up")).to.deep.equal(ALL_SKIPPED);
    expect(sent(srv, "STOR", from)).to.deep.equal([]);
    writeFileSync(join(dir, "a.txt"), "ALPHA\n");
    const third = srv.commands.length;
    expect((await ftp.uploadDir(dir, "/up")).transferred).to.equal(1);
    expect(sent(srv, "STOR", third)).to.deep.equal(["STOR /up/a.txt"]);
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("ALPHA\n");
  });

  it("sets times with the two-argument MDTM where FEAT has no MFMT (vsftpd), and MDTM tells the next run", async () => {
    const srv = await fx.server({ features: ["EPSV", "MDTM", "PASV", "SIZE"] });
    const ftp = await fx.client(srv);
    await ftp.uploadDir(dir, "/up");
    expect(srv.vfs.stat("/up/sub/b.bin")!.mtime.toISOString()).to.equal(OLD.toISOString());
    const from = srv.commands.length;
    expect((await ftp.uploadDir(dir, "/up")).skipped).to.equal(3);
    expect(sent(srv, "STOR", from)).to.deep.equal([]);
  });

  it("uploads every file again on a server that sets no times, without failing, and stops asking once it knows", async () => {
    // As inetutils ftpd, Twisted and ftp-srv: MDTM reads "<time> <path>" as a name, no SITE UTIME.
    const srv = await fx.server({ features: ["EPSV", "PASV", "SIZE"] });
    srv.handle("MDTM", (s, arg) => (/^\d{14} /.test(arg) ? s.reply(550, `${arg}: No such file.`) : s.defaultHandler("MDTM", arg)));
    srv.handle("SITE", (s) => s.reply(500, "Unknown SITE command."));
    const ftp = await fx.client(srv);
    expect((await ftp.uploadDir(dir, "/up")).transferred).to.equal(3);
    // The times are set together after the files: the first finds out, the others are not asked.
    expect(sent(srv, "SITE")).to.have.length(1);
    expect((await ftp.uploadDir(dir, "/up")).transferred).to.equal(3);
    const oneByOne = srv.commands.length;
    expect((await ftp.uploadDir(dir, "/up", { pipelining: false })).transferred).to.equal(3);
    // One at a time, file by file: one FTP runs two files at a time, so the second may ask before the
    // first's answer is in (or not: that is the command queue's order, and it differs from Node 18 to
    // 20), but the third never does.
    expect(sent(srv, "SITE", oneByOne).length).to.be.within(1, 2);
  });

  it("with delete, removes remote entries the local tree lacks, keeping what filter leaves out", async () => {
    const srv = await fx.server({ files: { "/up/old/inner/x.txt": "x", "/up/stale.txt": "s", "/up/keep.log": "k" } });
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(dir, "/up", { delete: true, filter: (entry) => !entry.path.endsWith(".log") });
    expect(result.deleted).to.equal(4);
    expect(remoteTree(srv, "/up")).to.deep.equal({ ...EXPECTED, "keep.log": "k" });
    expect(sent(srv, "RMD").sort()).to.deep.equal(["RMD /up/old", "RMD /up/old/inner"]);
  });

  it("with dryRun, sends nothing that changes the server and resolves to what it would do", async () => {
    const srv = await fx.server({ files: { "/up/stale.txt": "s" } });
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(dir, "/up", { dryRun: true, delete: true });
    expect(result).to.deep.equal({ transferred: 3, skipped: 0, bytes: TREE_BYTES, deleted: 1, links: [], parts: [], kept: [] });
    expect(remoteTree(srv, "/up")).to.deep.equal({ "stale.txt": "s" });
    for (const verb of ["STOR", "MKD", "DELE", "RMD", "MFMT"]) expect(sent(srv, verb), verb).to.deep.equal([]);
  });

  it("treats a missing remote directory as empty under dryRun", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv);
    expect((await ftp.uploadDir(dir, "/nowhere", { dryRun: true })).transferred).to.equal(3);
    expect(srv.vfs.exists("/nowhere")).to.equal(false);
  });

  it("reports a local symbolic link in links and neither follows nor uploads it", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv);
    symlinkSync(join(dir, "sub"), join(dir, "loop"));
    const result = await ftp.uploadDir(dir, "/up");
    expect(result.links).to.deep.equal(["loop"]);
    expect(result.transferred).to.equal(3);
    expect(srv.vfs.exists("/up/loop")).to.equal(false);
  });

  it("finishes the other files when one is refused, then rejects naming it", async () => {
    const srv = await fx.server();
    srv.handle("STOR", (s, arg) => (arg.endsWith("c.txt") ? s.reply(553, "Could not create file.") : s.defaultHandler("STOR", arg)));
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.uploadDir(dir, "/up"))) as FtpDirTransferError;
    expect(error).to.be.instanceOf(FtpDirTransferError);
    expect(error.failures.map((f) => [f.path, (f.error as FtpPermError).replyCode])).to.deep.equal([["sub/deep/c.txt", 553]]);
    expect(error.result.transferred).to.equal(2);
    expect(srv.vfs.get("/up/sub/b.bin")?.toString("latin1")).to.equal(BIN);
  });

  it("rejects with the signal's reason when aborted mid-file, and the client stays usable", async () => {
    const srv = await fx.server();
    const controller = new AbortController();
    srv.handle("STOR", async (s, arg) => {
      if (!arg.endsWith("b.bin")) return s.defaultHandler("STOR", arg);
      s.reply(150, "Ok to send data.");
      const data = await s.openData();
      data.once("data", () => controller.abort());
      data.resume();
      await new Promise((resolve) => data.once("close", resolve));
      s.reply(426, "Connection closed; transfer aborted.");
    });
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.uploadDir(dir, "/up", { signal: controller.signal }));
    expect(error.name).to.equal("AbortError");
    srv.unhandle("STOR");
    expect(await ftp.pwd()).to.equal("/");
  });
});

describe("downloadDir and uploadDir on FtpPool", () => {
  let dir: string;
  let pool: FtpPool | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-pooldir-"));
  });
  // Before useFixtures' own afterEach, which waits for every connection to close.
  afterEach(async () => {
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const fx = useFixtures();

  /** 3 directories of 10 files. */
  const MANY = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`/m/d${i % 3}/f${i}.txt`, `file ${i}\n`.repeat(i + 1)]));

  it("spreads a tree over the pool's connections both ways, byte for byte", async () => {
    const srv = await fx.server({ files: MANY });
    pool = new FtpPool({
      size: 3,
      connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 }),
    });
    const down = await pool.downloadDir("/m", join(dir, "copy"));
    expect(down.transferred).to.equal(30);
    for (const [path, content] of Object.entries(MANY)) expect(readFileSync(join(dir, "copy", path.slice(3)), "utf8")).to.equal(content);
    expect(sent(srv, "USER")).to.have.length(3);
    expect((await pool.downloadDir("/m", join(dir, "copy"))).skipped).to.equal(30);

    const up = await pool.uploadDir(join(dir, "copy"), "/back");
    expect(up.transferred).to.equal(30);
    for (const [path, content] of Object.entries(MANY)) expect(srv.vfs.get(`/back/${path.slice(3)}`)?.toString()).to.equal(content);
    expect((await pool.uploadDir(join(dir, "copy"), "/back")).skipped).to.equal(30);
  });
});
