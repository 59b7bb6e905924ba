/**
 * A download job never puts a cut file in place of a good one. A server
 * whose 150 announces no size (pure-ftpd, pyftpdlib) and whose data
 * connection is cut with a FIN reads as a whole file ending in 226; the
 * size the job was enqueued with says otherwise. As in downloadDir, the
 * bytes stand only where SIZE now gives that very count (the file changed
 * since it was enqueued); else the job fails with FtpSizeMismatchError, a
 * failure another attempt may cure, and the local copy stays as it was.
 * A job enqueued at size 0 (what a listing without sizes enqueues) asks
 * SIZE before its RETR, and is held to it where the server answers.
 * No Redis: the jobs are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpSizeMismatchError } from "../../lib/index.js";
import type { TreeJobLike } from "../../lib/queue-worker.js";
import { downloadJob, jobBounds, processJob } from "./tree-job.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { cutShort, FULL } from "../faults/cut-short.js";

describe("queue worker: a download cut short that ends in 226", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-short-"));
    writeFileSync(join(dir, "a.txt"), "the old copy");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (srv: FixtureServer, job: TreeJobLike): Promise<unknown> => processJob(job, () => fx.client(srv), jobBounds(srv, dir));

  it("fails the job with FtpSizeMismatchError (another attempt may cure it) and keeps the local copy", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": FULL } });
    srv.handle("RETR", (s) => cutShort(s));
    const error = await rejectionOf(run(srv, downloadJob(srv, dir, "a.txt", FULL.length)));
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(error).to.include({ expected: 10, received: 5 });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("the old copy");
    // No part file is left behind.
    expect(readdirSync(dir)).to.deep.equal(["a.txt"]);
  });

  it("fails the job when SIZE is refused", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": FULL } });
    srv.handle("RETR", (s) => cutShort(s));
    srv.handle("SIZE", (s) => s.reply(550, "Could not get file size."));
    const error = await rejectionOf(run(srv, downloadJob(srv, dir, "a.txt", FULL.length)));
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("the old copy");
  });

  it("fails a file enqueued at size 0 (a listing without sizes enqueues 0) that SIZE says was cut, and keeps the local copy", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": FULL } });
    srv.handle("RETR", (s) => cutShort(s));
    const error = await rejectionOf(run(srv, downloadJob(srv, dir, "a.txt", 0)));
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(error).to.include({ expected: 10, received: 5 });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("the old copy");
    expect(readdirSync(dir)).to.deep.equal(["a.txt"]);
  });

  it("takes a file enqueued at size 0 when SIZE is refused: the 226 is all there is", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": FULL } });
    srv.handle("SIZE", (s) => s.reply(550, "Could not get file size."));
    expect(await run(srv, downloadJob(srv, dir, "a.txt", 0))).to.deep.equal({ outcome: "transferred", bytes: 10 });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal(FULL);
    expect(srv.commands.filter((line) => line.startsWith("SIZE"))).to.deep.equal(["SIZE /r/a.txt"]);
  });

  it("takes a file that changed since it was enqueued when SIZE gives the count received, and asks no SIZE when the counts agree", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "shorter", "/r/b.txt": FULL } });
    expect(await run(srv, downloadJob(srv, dir, "a.txt", FULL.length))).to.deep.equal({ outcome: "transferred", bytes: 7 });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("shorter");
    expect(srv.commands.filter((line) => line.startsWith("SIZE"))).to.deep.equal(["SIZE /r/a.txt"]);
    expect(await run(srv, downloadJob(srv, dir, "b.txt", FULL.length))).to.deep.equal({ outcome: "transferred", bytes: 10 });
    expect(srv.commands.filter((line) => line.startsWith("SIZE"))).to.deep.equal(["SIZE /r/a.txt"]);
  });
});
