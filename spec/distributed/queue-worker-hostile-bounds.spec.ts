/**
 * What a worker is given to serve (localRoots, remoteRoots, servers):
 * a job from the queue, which anyone who can write to Redis writes, names
 * its server and both roots, and before these a worker went wherever it
 * said: a download written into any directory the worker may write (its
 * ~/.ssh), an upload reading any file it may read (and sending it to a
 * server of the job's choosing), the worker's netrc `default` or
 * FTPSTREAM_PASSWORD sent to that server. A job outside what the worker
 * is given fails at once (ERR_FTP_BAD_JOB) before anything connects, is
 * read or is written. servers and localRoots are required: a processor
 * made without them (or with either empty) throws. No Redis: the jobs are handed to the processor as
 * BullMQ would.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import type { FtpError } from "../../lib/errors.js";
import { failsAtOnce } from "../../lib/queue-failure.js";
import { createTreeJobProcessor, type TreeJobLike, type TreeJobProcessorOptions } from "../../lib/queue-worker.js";
import { useFixtures } from "../core/helpers.js";
import { attemptJob, downloadJob, jobBounds, type JobProcessorBounds, uploadJob } from "./tree-job.js";

describe("queue worker: jobs outside the roots and servers it is given", () => {
  const fx = useFixtures();
  let dir: string;
  let root: string;
  let outside: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-bounds-"));
    root = join(dir, "root");
    outside = join(dir, "outside");
    mkdirSync(root);
    mkdirSync(outside);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Runs `job` on a processor with `bounds` (by default `srv` as its server and the spec's directory as its local root);
   * resolves to its outcome or error, and how many connections it asked for.
   */
  const run = (srv: FixtureServer, job: TreeJobLike, bounds: Partial<JobProcessorBounds>): ReturnType<typeof attemptJob> =>
    attemptJob(job, () => fx.client(srv), { ...jobBounds(srv, dir), ...bounds });

  /** Expects `outcome` to be a refusal of the job at once, made before any connection. */
  function expectRefused(outcome: { error?: Error; connects: number }, what: string): void {
    expect(outcome.error, "a refusal").to.be.instanceOf(Error);
    const error = outcome.error as Error;
    expect(failsAtOnce(error), `${error.name}: ${error.message}`).to.equal(true);
    expect((error as FtpError).code, error.message).to.equal("ERR_FTP_BAD_JOB");
    expect(error.message).to.include(what);
    expect(outcome.connects, "connections asked for").to.equal(0);
  }

  /** `job` with `change` made to its data. */
  function with_(job: TreeJobLike, change: Partial<TreeJobLike["data"]>): TreeJobLike {
    return { ...job, data: { ...job.data, ...change } };
  }

  it("a download into a local root outside the given ones writes nothing there", async () => {
    const srv = await fx.server({ files: { "/r/authorized_keys": "ssh-ed25519 theirs" } });
    const outcome = await run(srv, downloadJob(srv, outside, "authorized_keys", 18), { localRoots: [root] });
    expectRefused(outcome, `local root ${JSON.stringify(outside)}`);
    expect(readdirSync(outside)).to.deep.equal([]);
    // A sibling whose name begins with the root's is not below it.
    const sibling = `${root}2`;
    expectRefused(await run(srv, downloadJob(srv, sibling, "authorized_keys", 18), { localRoots: [root] }), "local root");
    expect(existsSync(sibling)).to.equal(false);
  });

  it("an upload from a local root outside the given ones reads and sends nothing", async () => {
    const srv = await fx.server({ files: { "/r/": "" } });
    writeFileSync(join(outside, "secret.key"), "private");
    const outcome = await run(srv, uploadJob(srv, outside, "secret.key", 7), { localRoots: [root] });
    expectRefused(outcome, "local root");
    expect(srv.vfs.get("/r/secret.key")).to.equal(undefined);
  });

  it("a local root below a given one is taken, and every level between is checked: a link there is refused, not followed", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "alpha" } });
    mkdirSync(join(root, "sub"));
    expect((await run(srv, downloadJob(srv, join(root, "sub"), "a.txt", 5), { localRoots: [root] })).result).to.deep.equal({
      outcome: "transferred",
      bytes: 5,
    });
    expect(readFileSync(join(root, "sub", "a.txt"), "utf8")).to.equal("alpha");
    // root/link points outside: a job naming root/link/x as its root would write outside.
    symlinkSync(outside, join(root, "link"));
    const outcome = await run(srv, downloadJob(srv, join(root, "link", "x"), "a.txt", 5), { localRoots: [root] });
    expect((outcome.error as FtpError | undefined)?.code, outcome.error?.message).to.equal("ERR_FTP_BAD_PATH");
    expect(readdirSync(outside)).to.deep.equal([]);
  });

  it("a job's path through a link in its root is refused both ways, given its root or one above it: nothing written or read outside", async () => {
    const srv = await fx.server({ files: { "/r/link/a.txt": "alpha", "/r/": "" } });
    symlinkSync(outside, join(root, "link"));
    writeFileSync(join(outside, "secret.key"), "private");
    for (const bounds of [{ localRoots: [dir] }, { localRoots: [root] }]) {
      const down = await run(srv, downloadJob(srv, root, "link/a.txt", 5), bounds);
      expect((down.error as FtpError | undefined)?.code, down.error?.message).to.equal("ERR_FTP_BAD_PATH");
      const up = await run(srv, uploadJob(srv, root, "link/secret.key", 7), bounds);
      expect((up.error as FtpError | undefined)?.code, up.error?.message).to.equal("ERR_FTP_BAD_PATH");
    }
    expect(readdirSync(outside)).to.deep.equal(["secret.key"]);
    expect(srv.vfs.get("/r/link/secret.key")).to.equal(undefined);
  });

  it("a job naming another server, another scheme or another user is refused before any connection", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "alpha" } });
    const job = downloadJob(srv, root, "a.txt", 5);
    const servers = [`ftp://user@${srv.host}:${srv.port}`];
    // Another port (another server), the same one asked without TLS where the worker is given it with, another account.
    expectRefused(await run(srv, with_(job, { server: `ftp://user:pass@${srv.host}:${srv.port + 1}` }), { servers }), "server");
    const tls = [`ftpes://user@${srv.host}:${srv.port}`];
    expectRefused(await run(srv, job, { servers: tls }), "server");
    expectRefused(await run(srv, with_(job, { server: `ftp://other:pass@${srv.host}:${srv.port}` }), { servers }), "server");
    expect(readdirSync(root)).to.deep.equal([]);
    // The one given, its user's password in the job (ignored when comparing), is served; a URL without a user allows any.
    expect((await run(srv, job, { servers })).result).to.deep.include({ outcome: "transferred" });
    rmSync(join(root, "a.txt"));
    expect((await run(srv, job, { servers: [`ftp://${srv.host.toUpperCase()}:${srv.port}/ignored`] })).result).to.deep.include({
      outcome: "transferred",
    });
  });

  it("a job whose remote root is neither a given one nor below one is refused before any connection", async () => {
    const srv = await fx.server({ files: { "/r/sub/a.txt": "alpha", "/rx/a.txt": "other" } });
    const job = downloadJob(srv, root, "a.txt", 5);
    const remoteRoots = ["/r/"];
    expectRefused(await run(srv, with_(job, { remote: "/" }), { remoteRoots }), "remote root");
    expectRefused(await run(srv, with_(job, { remote: "/rx" }), { remoteRoots }), "remote root");
    expectRefused(await run(srv, with_(job, { remote: "r/sub" }), { remoteRoots }), "remote root");
    expect((await run(srv, with_(job, { remote: "/r//sub" }), { remoteRoots })).result).to.deep.include({ outcome: "transferred" });
    expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("alpha");
  });

  describe("servers and localRoots are required", () => {
    const connect = (): Promise<never> => Promise.reject(new Error("never called"));
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["no servers", { localRoots: ["/"] }, "ERR_INVALID_ARG_TYPE"],
      ["no localRoots", { servers: ["ftp://127.0.0.1"] }, "ERR_INVALID_ARG_TYPE"],
      ["neither", {}, "ERR_INVALID_ARG_TYPE"],
      ["empty servers", { servers: [], localRoots: ["/"] }, "ERR_INVALID_ARG_VALUE"],
      ["empty localRoots", { servers: ["ftp://127.0.0.1"], localRoots: [] }, "ERR_INVALID_ARG_VALUE"],
      ["servers that is no list", { servers: "ftp://127.0.0.1", localRoots: ["/"] }, "ERR_INVALID_ARG_TYPE"],
    ];
    for (const [what, bounds, code] of cases) {
      it(`throws a TypeError (${code}) when the processor is made with ${what}: it would go wherever a job says`, () => {
        const make = (): unknown => createTreeJobProcessor({ connect, ...bounds } as unknown as TreeJobProcessorOptions);
        expect(make).to.throw(TypeError).with.property("code", code);
      });
    }

    it("takes / as the local root that allows any directory, explicitly", async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "alpha" } });
      expect((await run(srv, downloadJob(srv, root, "a.txt", 5), { localRoots: ["/"] })).result).to.deep.include({
        outcome: "transferred",
      });
      expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("alpha");
    });
  });
});
