/**
 * Remote names near the local disk's limit (NAME_MAX: 255 bytes in UTF-8
 * on Linux and APFS). A tree download writes each file through a hidden
 * part name 16 bytes longer than the file's (`.<name>.ftpstream-part`):
 * a name of 240 to 255 bytes, which the disk holds, had a part name it
 * does not, and failed with ENAMETOOLONG on every run, its old local copy
 * never brought up to date. A name the disk cannot hold at all fails
 * before anything is fetched for it. This machine's /tmp is ext4.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpDirTransferError, FtpPathError, FtpPool } from "../../lib/index.js";
import { partName, partOwner, remotePartName } from "../../lib/part-file.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** 245 bytes, ASCII. */
const ASCII = `${"a".repeat(241)}.txt`;
/** 253 bytes: 83 three-byte characters and `.txt` (87 UTF-16 units). */
const WIDE = `${"字".repeat(83)}.txt`;
/** 253 bytes sharing their first 230 with TWIN_B: two part names, not one. */
const TWIN_A = `${"t".repeat(230)}${"a".repeat(19)}.txt`;
const TWIN_B = `${"t".repeat(230)}${"b".repeat(19)}.txt`;
/** 256 bytes: no local file can have this name. */
const TOO_LONG = `${"z".repeat(252)}.txt`;

const bytes = (name: string): number => Buffer.byteLength(name);

/** The commands sent with verb `verb`. */
const sent = (srv: FixtureServer, verb: string): string[] => srv.commands.filter((line) => line.split(" ")[0] === verb);

describe("sync: remote names near the local disk's name limit", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-long-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("gives a name of more than 239 bytes a part name of at most 255, still a part name, one per name", () => {
    expect([ASCII, WIDE, TWIN_A, TOO_LONG].map(bytes)).to.deep.equal([245, 253, 253, 256]);
    for (const name of [ASCII, WIDE, TWIN_A, TWIN_B, TOO_LONG]) {
      const part = partName(join("/x", name)).slice(3);
      expect(bytes(part), name).to.be.at.most(255);
      expect(partOwner(part), name).to.be.a("string");
      // The local and the tree's relative spelling agree: a stale part is known as the file's.
      expect(remotePartName(`d/${name}`)).to.equal(`d/${part}`);
    }
    // Cut between characters, never inside one.
    expect(partName(`/x/${WIDE}`)).not.to.include("\ufffd");
    expect(Buffer.from(partName(`/x/${WIDE}`)).toString()).to.equal(partName(`/x/${WIDE}`));
    expect(partName(`/x/${TWIN_A}`)).not.to.equal(partName(`/x/${TWIN_B}`));
    // A name that fits keeps the part name it always had.
    expect(partName("/x/short.txt")).to.equal("/x/.short.txt.ftpstream-part");
  });

  for (const pipelining of [true, false]) {
    it(`downloadDir brings files whose names are 245 to 253 bytes, updates them, and leaves no part file (pipelining ${pipelining})`, async () => {
      const files = { [ASCII]: "ascii", [WIDE]: "wide", [TWIN_A]: "twin a", [TWIN_B]: "twin b" };
      const srv = await fx.server({ files: Object.fromEntries(Object.entries(files).map(([name, body]) => [`/r/${name}`, body])) });
      const ftp = await fx.client(srv);
      // An old copy of one of them: it is brought up to date, not left stale.
      writeFileSync(join(dir, ASCII), "old local copy");
      const first = await ftp.downloadDir("/r", dir, { delete: true, pipelining });
      expect(first).to.include({ transferred: 4, deleted: 0 });
      expect(readdirSync(dir).sort()).to.deep.equal(Object.keys(files).sort());
      for (const [name, body] of Object.entries(files)) expect(readFileSync(join(dir, name), "utf8"), name).to.equal(body);
      const second = await ftp.downloadDir("/r", dir, { delete: true, pipelining });
      expect(second).to.include({ transferred: 0, skipped: 4, deleted: 0 });
    });
  }

  it("replaces the shortened part file a killed run left, which delete does not count as an extra", async () => {
    const srv = await fx.server({ files: { [`/r/${ASCII}`]: "ascii" } });
    const ftp = await fx.client(srv);
    writeFileSync(partName(join(dir, ASCII)), "half of it");
    const result = await ftp.downloadDir("/r", dir, { delete: true });
    expect(result).to.include({ transferred: 1, deleted: 0 });
    expect(readdirSync(dir)).to.deep.equal([ASCII]);
  });

  it("fails a name the disk cannot hold (256 bytes) before its RETR, and does the rest", async () => {
    const srv = await fx.server({ files: { [`/r/${TOO_LONG}`]: "never", "/r/ok.txt": "ok" } });
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.downloadDir("/r", dir, { delete: true }));
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failures = (error as FtpDirTransferError).failures;
    // Typed, from the walk (faults/name-too-long): it was fs's raw ENAMETOOLONG.
    expect(failures.map((f) => [f.path, (f.error as FtpPathError).reason])).to.deep.equal([[TOO_LONG, "name-too-long"]]);
    expect(sent(srv, "RETR")).to.deep.equal(["RETR /r/ok.txt"]);
    expect(readdirSync(dir)).to.deep.equal(["ok.txt"]);
  });

  it("FtpPool.downloadSegmented writes a file of a 253-byte name through its part file", async () => {
    const srv = await fx.server({ files: { [`/r/${WIDE}`]: "x".repeat(100_000) } });
    const pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" }) });
    try {
      await pool.downloadSegmented(`/r/${WIDE}`, join(dir, WIDE), { minSegmentSize: 40_000 });
    } finally {
      await pool.close();
    }
    expect(readdirSync(dir)).to.deep.equal([WIDE]);
    expect(readFileSync(join(dir, WIDE), "utf8")).to.equal("x".repeat(100_000));
  });
});
