/**
 * DirTransferOptions.maxDelete: `delete`'s bound, as rsync's and rclone's
 * `--max-delete`. The source of an unattended mirror that is an unmounted
 * mount point (an empty directory), or a remote directory emptied by
 * mistake, must not empty the target: a plan deleting more than the bound
 * deletes nothing at all (not the first N), the transfers are still done,
 * and the call rejects with FtpDirTransferError holding
 * FtpDeleteLimitError against the root. Both directions, one client and an
 * FtpPool, with and without pipelining.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import {
  FtpDeleteLimitError,
  FtpDirTransferError,
  FtpPool,
  type DirTransferOptions,
  type DirTransferResult,
  type FTP,
} from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { localTree, remoteTree } from "./trees.js";

/** What both sides hold before a run: the source's, and the target's, with three entries the source lacks (two files and a directory). */
const SOURCE = { "keep.txt": "kept\n", "new.txt": "new\n" };
const TARGET = { "keep.txt": "kept\n", "old.txt": "old\n", "gone/x.txt": "x\n" };
const EXTRAS = ["gone/x.txt", "old.txt", "gone"];

function plant(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** The remote fixture's files below /r. */
function remoteFiles(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([path, content]) => [`/r/${path}`, content]));
}

type Run = (options: DirTransferOptions) => Promise<DirTransferResult>;

describe("tree transfers: maxDelete", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-max-delete-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fx = useFixtures();

  /** A client, or a pool of two over the fixture, and a way to close what was opened. */
  async function workersOf(srv: FixtureServer, kind: "client" | "pool"): Promise<{ run: FTP | FtpPool; close: () => Promise<void> }> {
    if (kind === "client") return { run: await fx.client(srv), close: () => Promise.resolve() };
    const pool = new FtpPool({ size: 2, connect: () => fx.client(srv) });
    return { run: pool, close: () => pool.close() };
  }

  for (const direction of ["download", "upload"] as const) {
    for (const kind of ["client", "pool"] as const) {
      for (const pipelining of [true, false]) {
        const where = `${direction}, ${kind === "client" ? "one client" : "FtpPool"}, pipelining ${pipelining ? "on" : "off"}`;

        /** Plants both trees, runs the transfer with `options`, and gives the outcome with both trees after it. */
        async function runWith(options: DirTransferOptions): Promise<{
          outcome: DirTransferResult | Error;
          target: Record<string, string | null>;
          deletes: string[];
          told: string[];
        }> {
          const local = join(dir, "local");
          mkdirSync(local);
          plant(local, direction === "download" ? TARGET : SOURCE);
          const srv = await fx.server({ files: remoteFiles(direction === "download" ? SOURCE : TARGET) });
          const workers = await workersOf(srv, kind);
          const told: string[] = [];
          const settings: DirTransferOptions = { delete: true, pipelining, onDelete: (path) => told.push(path), ...options };
          const run: Run =
            direction === "download" ? (o) => workers.run.downloadDir("/r", local, o) : (o) => workers.run.uploadDir(local, "/r", o);
          try {
            const outcome = await run(settings).catch((error: unknown) => error as Error);
            const target = direction === "download" ? localTree(local) : remoteTree(srv, "/r");
            const deletes = srv.commands.filter((line) => /^(DELE|RMD) /.test(line));
            return { outcome, target, deletes, told };
          } finally {
            await workers.close();
          }
        }

        describe(where, () => {
          it("at the limit, deletes every extra and transfers the rest", async () => {
            const { outcome, target, told } = await runWith({ maxDelete: EXTRAS.length });
            expect(outcome).to.not.be.instanceOf(Error);
            expect((outcome as DirTransferResult).deleted).to.equal(EXTRAS.length);
            expect(told).to.have.members(EXTRAS);
            expect(target).to.deep.equal({ "keep.txt": "kept\n", "new.txt": "new\n" });
          });

          it("one over the limit, deletes nothing, still transfers, and rejects with FtpDeleteLimitError against the root", async () => {
            const { outcome, target, deletes, told } = await runWith({ maxDelete: EXTRAS.length - 1 });
            expect(outcome).to.be.instanceOf(FtpDirTransferError);
            const error = outcome as FtpDirTransferError;
            expect(error.failures.map((failure) => failure.path)).to.deep.equal(["."]);
            const limit = error.failures[0].error as FtpDeleteLimitError;
            expect(limit).to.be.instanceOf(FtpDeleteLimitError);
            expect(limit.code).to.equal("ERR_FTP_DELETE_LIMIT");
            expect([limit.wouldDelete, limit.maxDelete]).to.deep.equal([EXTRAS.length, EXTRAS.length - 1]);
            expect(error.message).to.include("3 entries").and.to.include("more than the 2 maxDelete allows");
            expect(error.result.deleted).to.equal(0);
            expect(told).to.deep.equal([]);
            if (direction === "upload") expect(deletes).to.deep.equal([]);
            // The new file came; every extra is still there.
            expect(target).to.deep.equal({ ...TARGET, gone: null, "new.txt": "new\n" });
          });

          it("dryRun reports the same refusal over the limit, and what it would delete at it", async () => {
            const over = await runWith({ maxDelete: EXTRAS.length - 1, dryRun: true });
            expect(over.outcome).to.be.instanceOf(FtpDirTransferError);
            const failure = (over.outcome as FtpDirTransferError).failures[0];
            expect(failure.path).to.equal(".");
            expect(failure.error).to.be.instanceOf(FtpDeleteLimitError);
            expect(over.told).to.deep.equal([]);
            expect(over.target).to.deep.equal({ ...TARGET, gone: null });
            rmSync(join(dir, "local"), { recursive: true });
            const at = await runWith({ maxDelete: EXTRAS.length, dryRun: true });
            expect((at.outcome as DirTransferResult).deleted).to.equal(EXTRAS.length);
            expect(at.told).to.have.members(EXTRAS);
            expect(at.target).to.deep.equal({ ...TARGET, gone: null });
            expect(at.deletes).to.deep.equal([]);
          });
        });
      }
    }
  }

  it("maxDelete 0: an emptied source (an unmounted mount point) empties nothing; a run with nothing to delete succeeds", async () => {
    const srv = await fx.server({ files: remoteFiles(TARGET) });
    const ftp = await fx.client(srv);
    const empty = join(dir, "mnt");
    mkdirSync(empty);
    const error = await rejectionOf(ftp.uploadDir(empty, "/r", { delete: true, maxDelete: 0 }));
    expect((error as FtpDirTransferError).failures[0].error).to.be.instanceOf(FtpDeleteLimitError);
    expect(remoteTree(srv, "/r")).to.deep.equal({ ...TARGET, gone: null });
    const local = join(dir, "local");
    mkdirSync(local);
    plant(local, TARGET);
    const result = await ftp.uploadDir(local, "/r", { delete: true, maxDelete: 0 });
    expect(result.deleted).to.equal(0);
  });

  it("refuses a maxDelete that is not a whole number, 0 or more, before anything is sent", async () => {
    const srv = await fx.server({ files: remoteFiles(TARGET) });
    const ftp = await fx.client(srv);
    const before = srv.commands.length;
    for (const [value, type] of [
      [-1, RangeError],
      [1.5, RangeError],
      [Number.NaN, RangeError],
      ["3", TypeError],
    ] as const) {
      const bad = { delete: true, maxDelete: value as number };
      for (const call of [() => ftp.downloadDir("/r", join(dir, "out"), bad), () => ftp.uploadDir(dir, "/r", bad)]) {
        const error = await rejectionOf(call());
        expect(error, String(value)).to.be.instanceOf(type);
        expect(error.message).to.include("maxDelete");
      }
    }
    expect(srv.commands.length).to.equal(before);
  });
});
