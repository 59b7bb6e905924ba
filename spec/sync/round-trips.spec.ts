/**
 * The round trips a tree transfer spends (issue 23): a fetched file's MDTM
 * written with its RETR, the MDTMs a comparison needs in one burst with or
 * right after a directory's listing, each transfer command written with its
 * EPSV, an upload's new directories and its files' times in bursts; and,
 * with `pipelining: false`, one command at a time as before. Seen on the
 * fixture's side: a reply held back, and whether the client wrote its next
 * command without waiting for it.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpPool } from "../../lib/index.js";
import { useFixtures, watchOverlap } from "../core/helpers.js";

/** What a server without MLSD (vsftpd) offers: LIST gives minutes, MDTM the seconds. */
const LIST_ONLY = ["EPSV", "MDTM", "PASV", "SIZE"];
const FILES = { "/r/a.txt": "alpha\n", "/r/b.txt": "beta\n", "/r/c.txt": "gamma\n", "/r/d.txt": "delta\n" };
const TIME = new Date(Date.UTC(2024, 2, 3, 4, 5, 6));

describe("tree transfers spend round trips only where they must", () => {
  const fx = useFixtures();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-rtt-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function listOnlyServer(): Promise<FixtureServer> {
    const srv = await fx.server({ files: FILES, features: LIST_ONLY });
    for (const path of Object.keys(FILES)) srv.vfs.set(path, FILES[path as keyof typeof FILES], TIME);
    return srv;
  }

  it("downloadDir writes a fetched file's MDTM with its RETR, and each RETR with its EPSV", async () => {
    const srv = await listOnlyServer();
    const mdtm = watchOverlap(srv, "MDTM");
    const epsv = watchOverlap(srv, "EPSV");
    const ftp = await fx.client(srv);
    expect((await ftp.downloadDir("/r", dir)).transferred).to.equal(4);
    // Each MDTM followed at once by its transfer's commands: no round trip of its own.
    expect(mdtm).to.deep.equal([true, true, true, true]);
    // The listing's EPSV finds out that the port is reachable; every RETR then goes out with its EPSV.
    expect(epsv).to.deep.equal([false, true, true, true, true]);
    // After the listing, each file's MDTM, then (TYPE I before the first) EPSV and its RETR; no MDTM burst of its own.
    const afterList = srv.commands.slice(srv.commands.findIndex((line) => line.startsWith("LIST")) + 1);
    const groups = afterList.join("\n").split(/\n(?=MDTM )/);
    expect(groups.map((group) => group.split("\n").map((line) => line.split(" ")[0]))).to.deep.equal([
      ["MDTM", "TYPE", "EPSV", "RETR"],
      ["MDTM", "EPSV", "RETR"],
      ["MDTM", "EPSV", "RETR"],
      ["MDTM", "EPSV", "RETR"],
    ]);
    for (const group of groups) expect(group.split("\n").at(-1)!.slice(5)).to.equal(group.split("\n")[0].slice(5));
    // The times asked with the RETRs stamp the files.
    expect(statSync(join(dir, "c.txt")).mtime.toISOString()).to.equal(TIME.toISOString());
    expect(readFileSync(join(dir, "d.txt"), "utf8")).to.equal("delta\n");
    // An unchanged rerun: the MDTMs of the files the local directory has, written in one go with the
    // listing's TYPE, EPSV and LIST: one write, nothing else.
    const from = srv.commands.length;
    expect(await ftp.downloadDir("/r", dir)).to.deep.include({ transferred: 0, skipped: 4 });
    const rerun = srv.commands.slice(from).map((line) => line.split(" ")[0]);
    expect(rerun).to.deep.equal(["MDTM", "MDTM", "MDTM", "MDTM", "TYPE", "EPSV", "LIST"]);
    expect(mdtm.slice(4)).to.deep.equal([true, true, true, true]);
    expect(epsv.slice(5)).to.deep.equal([true]);
  });

  it("a rerun still asks, after the listing, the time of a file the local tree lacks, and fetches only what changed", async () => {
    const srv = await listOnlyServer();
    const ftp = await fx.client(srv);
    await ftp.downloadDir("/r", dir);
    srv.vfs.set("/r/e.txt", "epsilon\n", TIME);
    srv.vfs.set("/r/b.txt", "BETA\n", new Date(TIME.getTime() + 1000));
    const from = srv.commands.length;
    expect(await ftp.downloadDir("/r", dir)).to.deep.include({ transferred: 2, skipped: 3 });
    const mdtms = srv.commands.slice(from).filter((line) => line.startsWith("MDTM"));
    expect(mdtms).to.deep.equal(["MDTM /r/a.txt", "MDTM /r/b.txt", "MDTM /r/c.txt", "MDTM /r/d.txt", "MDTM /r/e.txt"]);
    expect(readFileSync(join(dir, "b.txt"), "utf8")).to.equal("BETA\n");
    expect(statSync(join(dir, "e.txt")).mtime.toISOString()).to.equal(TIME.toISOString());
  });

  it("on a fresh connection, a rerun's MDTMs go out with the TYPE and the EPSV the first listing needs, in one burst", async () => {
    const srv = await listOnlyServer();
    await (await fx.client(srv)).downloadDir("/r", dir);
    const mdtm = watchOverlap(srv, "MDTM");
    const type = watchOverlap(srv, "TYPE");
    const epsv = watchOverlap(srv, "EPSV");
    const fresh = await fx.client(srv);
    const from = srv.commands.length;
    expect(await fresh.downloadDir("/r", dir)).to.deep.include({ transferred: 0, skipped: 4 });
    const verbs = srv.commands.slice(from).map((line) => line.split(" ")[0]);
    expect(verbs).to.deep.equal(["FEAT", "MDTM", "MDTM", "MDTM", "MDTM", "TYPE", "EPSV", "LIST"]);
    // Each MDTM had the next command behind it in the same write, the last one the TYPE, and the TYPE its
    // EPSV; the LIST waited for the 229 and the connect (the session's first EPSV port).
    expect(mdtm).to.deep.equal([true, true, true, true]);
    expect(type).to.deep.equal([true]);
    expect(epsv).to.deep.equal([false]);
  });

  it("FtpPool opens every connection when a tree transfer starts, each reading FEAT while it waits for work", async () => {
    const srv = await fx.server({ files: { "/one/a.txt": "a\n" } });
    const pool = new FtpPool({ size: 3, connect: () => fx.client(srv) });
    try {
      expect(await pool.downloadDir("/one", dir)).to.deep.include({ transferred: 1 });
    } finally {
      await pool.close();
    }
    // One listing and one file would need one connection; all three logged in and asked FEAT.
    expect(srv.commands.filter((line) => line === "FEAT")).to.have.length(3);
    expect(srv.commands.filter((line) => line.startsWith("PASS"))).to.have.length(3);
  });

  it("FtpPool passes on that the server's EPSV ports are reachable: only the first connection connects before its command to find out", async () => {
    const srv = await fx.server({ features: LIST_ONLY });
    for (let d = 0; d < 6; d++) srv.vfs.set(`/p/d${d}/f.txt`, `${d}\n`, TIME);
    const epsv = watchOverlap(srv, "EPSV");
    const pool = new FtpPool({ size: 3, connect: () => fx.client(srv) });
    try {
      expect(await pool.downloadDir("/p", dir)).to.deep.include({ transferred: 6 });
    } finally {
      await pool.close();
    }
    // Seven listings and six files, on three connections: one probe, every other EPSV with its command.
    expect(epsv).to.have.length(13);
    expect(epsv.filter((overlapped) => !overlapped)).to.have.length(1);
    expect(readFileSync(join(dir, "d5/f.txt"), "utf8")).to.equal("5\n");
  });

  it("with pipelining: false, downloadDir waits for each reply, as before", async () => {
    const srv = await listOnlyServer();
    const mdtm = watchOverlap(srv, "MDTM");
    const epsv = watchOverlap(srv, "EPSV");
    const ftp = await fx.client(srv);
    expect((await ftp.downloadDir("/r", dir, { pipelining: false })).transferred).to.equal(4);
    expect(mdtm).to.deep.equal([false, false, false, false]);
    expect(epsv).to.deep.equal([false, false, false, false, false]);
    expect(statSync(join(dir, "a.txt")).mtime.toISOString()).to.equal(TIME.toISOString());
  });

  it("uploadDir makes the new directories in one burst, writes each STOR with its EPSV and sets the times in bursts", async () => {
    mkdirSync(join(dir, "x/y/z"), { recursive: true });
    for (const name of ["a", "b", "c", "d"]) writeFileSync(join(dir, `x/y/z/${name}.txt`), name);
    const srv = await fx.server({ features: [...LIST_ONLY, "MFMT"] });
    const mkd = watchOverlap(srv, "MKD");
    const stor = watchOverlap(srv, "EPSV");
    const mfmt = watchOverlap(srv, "MFMT");
    const ftp = await fx.client(srv);
    expect((await ftp.uploadDir(dir, "/up")).transferred).to.equal(4);
    // ensureDir("/up") alone, then x, x/y, x/y/z together.
    expect(mkd).to.deep.equal([false, true, true, false]);
    // ensureDir's check finds out that the EPSV port is reachable; then the walk's LIST and every STOR go with their EPSV.
    expect(stor).to.deep.equal([false, true, true, true, true, true]);
    // The first time set alone (finding out MFMT works), the other three together.
    expect(mfmt).to.deep.equal([false, true, true, false]);
    expect(srv.vfs.get("/up/x/y/z/c.txt")?.toString()).to.equal("c");
    expect(srv.vfs.stat("/up/x/y/z/d.txt")!.mtime.getTime()).to.equal(Math.floor(statSync(join(dir, "x/y/z/d.txt")).mtimeMs / 1000) * 1000);
    // And the next run finds every file unchanged.
    expect(await ftp.uploadDir(dir, "/up")).to.deep.include({ transferred: 0, skipped: 4 });
  });

  it("uploadDir on a server without MFMT bursts vsftpd's two-argument MDTM once the first one worked", async () => {
    for (const name of ["a", "b", "c"]) writeFileSync(join(dir, `${name}.txt`), name);
    const srv = await fx.server({ features: LIST_ONLY });
    const ftp = await fx.client(srv);
    expect((await ftp.uploadDir(dir, "/up")).transferred).to.equal(3);
    const setting = srv.commands.filter((line) => /^MDTM \d{14} /.test(line));
    expect(setting).to.have.length(3);
    expect(await ftp.uploadDir(dir, "/up")).to.deep.include({ transferred: 0, skipped: 3 });
  });

  it("FtpPool's downloadDir bursts on each of its connections, and the tree arrives whole", async () => {
    const srv = await fx.server({ features: LIST_ONLY });
    const files: Record<string, string> = {};
    for (let d = 0; d < 4; d++) for (let f = 0; f < 5; f++) files[`/t/d${d}/f${f}.txt`] = `${d}/${f}\n`;
    for (const [path, text] of Object.entries(files)) srv.vfs.set(path, text, TIME);
    const mdtm = watchOverlap(srv, "MDTM", 100);
    const pool = new FtpPool({ size: 3, connect: () => fx.client(srv) });
    try {
      expect((await pool.downloadDir("/t", dir)).transferred).to.equal(20);
    } finally {
      await pool.close();
    }
    // Four directories of five: each burst's last MDTM waits, the others do not.
    expect(mdtm.filter((overlapped) => !overlapped)).to.have.length.of.at.most(4 + 3);
    expect(mdtm.filter(Boolean).length).to.be.at.least(16 - 3);
    for (const [path, text] of Object.entries(files)) expect(readFileSync(join(dir, path.slice(3)), "utf8")).to.equal(text);
  });
});
