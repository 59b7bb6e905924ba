/**
 * uploadDir with `partFiles` renames a part over its target only while the
 * part holds what this run sent. Two runs uploading one tree at once (cron
 * starting the next run before the last one ended) share each file's part
 * name: run B's STOR truncates the part run A has just finished, and A
 * renamed B's unfinished part over the target and reported the file done,
 * the target torn until B ended. Now SIZE of the part, written with the
 * RNFR, tells: A fails the file, and leaves B's part and the target alone.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpError, FtpSizeMismatchError, type FTP } from "../../lib/index.js";
import { controlWrites, rejectionOf, useFixtures } from "../core/helpers.js";
import { heldBeforePart } from "./part-race.js";

const PART = "/up/.a.txt.ftpstream-part";
const A_COPY = "run A's whole copy of a.txt";
const B_FIRST = "run B's fir";

describe("uploadDir with partFiles and a second run writing the same part at once", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-part-raced-"));
    writeFileSync(join(dir, "a.txt"), A_COPY);
    writeFileSync(join(dir, "b.txt"), "bbb");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Run B: its STOR of a.txt's part, of which the server holds the first bytes so far. */
  function runB(srv: FixtureServer, then?: (b: FTP) => Promise<unknown>): () => Promise<void> {
    return async () => {
      const b = await fx.client(srv);
      await b.storbinary(`STOR ${PART}`, Buffer.from(B_FIRST));
      await then?.(b);
    };
  }

  /** Run A's uploadDir, B's STOR coming in just before A's `verb` of the part; its only failure. */
  async function raced(srv: FixtureServer, verb: "SIZE" | "RNFR", pipelining: boolean, b = runB(srv)): Promise<Error> {
    const race = heldBeforePart(verb, PART, b);
    const a = await fx.client(srv, { createConnection: race.createConnection });
    const error = await rejectionOf(a.uploadDir(dir, "/up", { partFiles: true, pipelining }));
    expect(race.raced(), "run B came in").to.equal(true);
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
    // The rest of the tree goes on as before.
    expect(srv.vfs.get("/up/b.txt")?.toString()).to.equal("bbb");
    return failures[0].error;
  }

  it("fails A's file instead of renaming B's unfinished part over it, leaving the target and B's part as they were", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    const error = await raced(srv, "RNFR", true);
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(error).to.include({ expected: A_COPY.length, received: B_FIRST.length });
    expect(error.message).to.include("another run is writing it");
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the old copy");
    expect(srv.vfs.get(PART)?.toString()).to.equal(B_FIRST);
    expect(srv.commands.filter((line) => line.startsWith("DELE"))).to.deep.equal([]);
    expect(srv.commands.filter((line) => line === "RNTO /up/a.txt")).to.deep.equal([]);
  });

  it("with pipelining: false too, asking SIZE before the RNFR", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    const error = await raced(srv, "SIZE", false);
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the old copy");
    expect(srv.vfs.get(PART)?.toString()).to.equal(B_FIRST);
    // Nothing written for the rename once SIZE disagreed.
    expect(srv.commands.filter((line) => /^(RNFR|RNTO|DELE) .*a\.txt/.test(line))).to.deep.equal([]);
  });

  it("where the target did not exist, leaves none", async () => {
    const srv = await fx.server({ files: { "/up/": "" } });
    expect(await raced(srv, "RNFR", true)).to.be.instanceOf(FtpSizeMismatchError);
    expect(srv.vfs.exists("/up/a.txt")).to.equal(false);
    expect(srv.vfs.get(PART)?.toString()).to.equal(B_FIRST);
  });

  it("ends the RNFR it wrote with an RNTO onto the part itself: the next file goes through on a server that refuses all else while a rename is pending (proftpd)", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    // proftpd: after RNFR, every command but NOOP and RNTO gets 501, RNFR too, and the rename stays pending.
    for (const verb of ["TYPE", "EPSV", "PASV", "STOR", "SIZE", "RNFR", "MFMT", "MDTM", "DELE", "MLSD", "LIST"]) {
      srv.handle(verb, (s, arg) => (s.state.renameFrom !== null ? s.reply(501, "Bad sequence of commands") : s.defaultHandler(verb, arg)));
    }
    const error = await raced(srv, "RNFR", true);
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(srv.commands).to.include(`RNTO ${PART}`);
    expect(srv.vfs.get(PART)?.toString()).to.equal(B_FIRST);
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the old copy");
  });

  it("fails A's file, deleting nothing, when B has already renamed the part over the target", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    const bFinished = runB(srv, async (b) => {
      await b.storbinary(`STOR ${PART}`, Buffer.from("run B's whole copy"));
      await b.rename(PART, "/up/a.txt");
    });
    const error = await raced(srv, "RNFR", true, bFinished);
    expect(error).to.be.instanceOf(FtpError);
    expect(error).to.include({ code: "ERR_FTP_PART_FILE" });
    expect(error.message).to.include("is no longer there");
    // B's file stands: not deleted to make room for a rename of nothing.
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("run B's whole copy");
    expect(srv.commands.filter((line) => line.startsWith("DELE"))).to.deep.equal([]);
  });

  it("puts a part that stayed its own in place, SIZE and RNFR in one write: no round trip more than the rename's", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    const wire = controlWrites();
    const a = await fx.client(srv, { createConnection: wire.createConnection });
    expect(await a.uploadDir(dir, "/up", { partFiles: true })).to.include({ transferred: 2 });
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal(A_COPY);
    expect(srv.vfs.exists(PART)).to.equal(false);
    // After the part's STOR, what is written about it: one write for SIZE and RNFR, one for RNTO, as RNFR and RNTO were.
    const afterStor = wire.writes.slice(wire.writes.findIndex((w) => w.includes(`STOR ${PART}`)) + 1);
    expect(afterStor.filter((w) => w.includes(PART) || w.includes("RNTO /up/a.txt"))).to.deep.equal([
      `SIZE ${PART}\r\nRNFR ${PART}\r\n`,
      "RNTO /up/a.txt\r\n",
    ]);
  });

  it("with pipelining: false, one command at a time: SIZE, RNFR, RNTO", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    const wire = controlWrites();
    const a = await fx.client(srv, { createConnection: wire.createConnection });
    expect(await a.uploadDir(dir, "/up", { partFiles: true, pipelining: false })).to.include({ transferred: 2 });
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal(A_COPY);
    const afterStor = wire.writes.slice(wire.writes.findIndex((w) => w.includes(`STOR ${PART}`)) + 1);
    expect(afterStor.filter((w) => w.includes(PART) || w.includes("RNTO /up/a.txt"))).to.deep.equal([
      `SIZE ${PART}\r\n`,
      `RNFR ${PART}\r\n`,
      "RNTO /up/a.txt\r\n",
    ]);
  });

  it("goes on with the rename where SIZE is refused (502): nothing to check", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the old copy" } });
    srv.handle("SIZE", (s) => s.reply(502, "SIZE not implemented."));
    const a = await fx.client(srv);
    expect(await a.uploadDir(dir, "/up", { partFiles: true })).to.include({ transferred: 2 });
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal(A_COPY);
    expect(srv.vfs.exists(PART)).to.equal(false);
    // Asked, refused, and the rename went on.
    expect(srv.commands.filter((line) => line.endsWith(PART))).to.deep.equal([`STOR ${PART}`, `SIZE ${PART}`, `RNFR ${PART}`]);
  });
});
