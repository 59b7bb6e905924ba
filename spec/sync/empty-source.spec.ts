/**
 * `delete` from a source that lists nothing at all. On FTP an empty
 * listing is ambiguous: measured on our servers (spec/interop), vsftpd
 * 3.0.3 answers LIST and NLST of a missing path with 226 and no lines, and
 * proftpd 1.3.8 and pure-ftpd 1.0.50 answer LIST of a directory the user
 * may not read (mode 000 or 0111) the same; locally an unmounted mount
 * point is an empty directory. Without a maxDelete the caller gave, such a
 * source deletes nothing: the call rejects with FtpDirTransferError
 * holding FtpDeleteLimitError (`reason: "empty-source"`) against the root,
 * as a plan over maxDelete does, and a dry run says the same. Any
 * maxDelete (Infinity too) is the opt-in. Also: a source root that a
 * server lists as empty but is not there rejects, with or without delete.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import {
  FtpDeleteLimitError,
  FtpDirTransferError,
  FtpListingError,
  FtpPool,
  type DirTransferOptions,
  type DirTransferResult,
  type FTP,
} from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { localTree, remoteTree } from "./trees.js";

/** The target before each run: three entries (two files and a directory), all of which an empty source lacks. */
const TARGET = { "old.txt": "old\n", "gone/x.txt": "x\n" };
const EXTRAS = ["gone/x.txt", "old.txt", "gone"];

/** FEAT without MLST: list() reads LIST, as on vsftpd. */
const LIST_ONLY = ["EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"];

function plant(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const remoteFiles = (files: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(files).map(([path, content]) => [`/r/${path}`, content]));

/** LIST as vsftpd answers it: a path that is not there is listed as nothing, with 226. */
function serveMissingAsEmpty(srv: FixtureServer): void {
  srv.handle("LIST", async (s, arg) => {
    const path = s.resolvePath(arg.replace(/^(-\S+\s*)+/, ""));
    const lines = s.vfs.isDir(path)
      ? s.vfs.entries(path).map((e) => `${e.type === "dir" ? "d" : "-"}rw-r--r-- 1 0 0 1 Jan 01 2020 ${e.name}`)
      : [];
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Directory send OK.");
  });
}

describe("tree transfers with delete from a source that lists nothing at all", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-empty-source-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fx = useFixtures();

  for (const direction of ["download", "upload"] as const) {
    for (const kind of ["client", "pool"] as const) {
      for (const pipelining of [true, false]) {
        const where = `${direction}, ${kind === "client" ? "one client" : "FtpPool"}, pipelining ${pipelining ? "on" : "off"}`;

        /**
         * An empty source (`source` files in it, default none) and the
         * TARGET tree, the transfer run with delete and `options`; the
         * outcome, the target after it, the DELE/RMD sent and what onDelete
         * was told.
         */
        async function runWith(
          options: DirTransferOptions,
          source: Record<string, string> = {},
        ): Promise<{ outcome: DirTransferResult | Error; target: Record<string, string | null>; deletes: string[]; told: string[] }> {
          const local = join(dir, "local");
          mkdirSync(local);
          plant(local, direction === "download" ? TARGET : source);
          const srv = await fx.server({ files: remoteFiles(direction === "download" ? source : TARGET) });
          // The download's source: an empty directory, which the fixture's MLSD proves read (its type=cdir line).
          if (direction === "download" && !srv.vfs.isDir("/r")) srv.vfs.mkdir("/r");
          let run: FTP | FtpPool = await fx.client(srv);
          let close = (): Promise<void> => Promise.resolve();
          if (kind === "pool") {
            const pool = new FtpPool({ size: 2, connect: () => fx.client(srv) });
            [run, close] = [pool, () => pool.close()];
          }
          const told: string[] = [];
          const settings: DirTransferOptions = { delete: true, pipelining, onDelete: (path) => told.push(path), ...options };
          try {
            const call = direction === "download" ? run.downloadDir("/r", local, settings) : run.uploadDir(local, "/r", settings);
            const outcome = await call.catch((error: unknown) => error as Error);
            const target = direction === "download" ? localTree(local) : remoteTree(srv, "/r");
            return { outcome, target, deletes: srv.commands.filter((line) => /^(DELE|RMD) /.test(line)), told };
          } finally {
            await close();
          }
        }

        /** The FtpDeleteLimitError the outcome holds against the root, its only failure. */
        function refusal(outcome: DirTransferResult | Error): FtpDeleteLimitError {
          expect(outcome).to.be.instanceOf(FtpDirTransferError);
          const error = outcome as FtpDirTransferError;
          expect(error.failures.map((failure) => failure.path)).to.deep.equal(["."]);
          expect(error.failures[0].error).to.be.instanceOf(FtpDeleteLimitError);
          return error.failures[0].error as FtpDeleteLimitError;
        }

        describe(where, () => {
          it("without maxDelete deletes nothing and rejects with FtpDeleteLimitError, reason empty-source, naming what would go", async () => {
            const { outcome, target, deletes, told } = await runWith({});
            const limit = refusal(outcome);
            expect(limit.code).to.equal("ERR_FTP_DELETE_LIMIT");
            expect(limit.reason).to.equal("empty-source");
            expect([limit.wouldDelete, limit.maxDelete]).to.deep.equal([EXTRAS.length, 0]);
            expect(limit.entries.map((entry) => entry.path)).to.have.members(EXTRAS);
            expect(limit.message).to.include("the source listed nothing at all").and.to.include("give maxDelete to allow it");
            expect((outcome as FtpDirTransferError).result.deleted).to.equal(0);
            expect([told, deletes]).to.deep.equal([[], []]);
            expect(target).to.deep.equal({ ...TARGET, gone: null });
          });

          it("dryRun reports the same refusal and tells onDelete nothing", async () => {
            const { outcome, target, told } = await runWith({ dryRun: true });
            expect(refusal(outcome).reason).to.equal("empty-source");
            expect(told).to.deep.equal([]);
            expect(target).to.deep.equal({ ...TARGET, gone: null });
          });

          it("a maxDelete given is the opt-in: Infinity and the count delete everything; one less is the max-delete refusal", async () => {
            const under = await runWith({ maxDelete: EXTRAS.length - 1 });
            expect(refusal(under.outcome).reason).to.equal("max-delete");
            expect(under.target).to.deep.equal({ ...TARGET, gone: null });
            for (const maxDelete of [EXTRAS.length, Infinity]) {
              rmSync(join(dir, "local"), { recursive: true });
              const { outcome, target, told } = await runWith({ maxDelete });
              expect((outcome as DirTransferResult).deleted, String(maxDelete)).to.equal(EXTRAS.length);
              expect(told).to.have.members(EXTRAS);
              expect(target).to.deep.equal({});
            }
          });

          it("a source holding only what filter leaves out is not empty: its listing was a read, and delete goes on", async () => {
            const { outcome, target } = await runWith({ filter: (entry) => !entry.path.endsWith(".log") }, { "skip.log": "l\n" });
            expect((outcome as DirTransferResult).deleted).to.equal(EXTRAS.length);
            // The left-out file is not transferred.
            expect(target).to.deep.equal({});
          });
        });
      }
    }
  }

  it("an empty source with an empty target (nothing to delete) succeeds", async () => {
    const srv = await fx.server({ files: {} });
    srv.vfs.mkdir("/r");
    const ftp = await fx.client(srv);
    const local = join(dir, "local");
    mkdirSync(local);
    expect(await ftp.downloadDir("/r", local, { delete: true })).to.include({ transferred: 0, deleted: 0 });
    expect(await ftp.uploadDir(local, "/r", { delete: true })).to.include({ transferred: 0, deleted: 0 });
  });

  for (const pipelining of [true, false]) {
    it(`downloadDir of a root the server lists as empty but is not there (vsftpd) rejects without delete too, pipelining ${pipelining ? "on" : "off"}`, async () => {
      const srv = await fx.server({ files: { "/other.txt": "x" }, features: LIST_ONLY });
      serveMissingAsEmpty(srv);
      const ftp = await fx.client(srv);
      const local = join(dir, "local");
      mkdirSync(local);
      writeFileSync(join(local, "mine.txt"), "mine\n");
      for (const options of [{}, { delete: true }, { delete: true, maxDelete: Infinity }]) {
        const error = await rejectionOf(ftp.downloadDir("/no-such-dir", local, { pipelining, ...options }));
        expect(error, JSON.stringify(options)).to.be.instanceOf(FtpListingError);
        expect(error.message).to.include('"/no-such-dir"');
      }
      expect(localTree(local)).to.deep.equal({ "mine.txt": "mine\n" });
    });
  }

  it("downloadDir of a root the server lists as empty that is a directory succeeds without delete, as an empty tree", async () => {
    const srv = await fx.server({ files: { "/other.txt": "x" }, features: LIST_ONLY });
    srv.vfs.mkdir("/r");
    serveMissingAsEmpty(srv);
    const ftp = await fx.client(srv);
    const local = join(dir, "local");
    expect(await ftp.downloadDir("/r", local)).to.include({ transferred: 0, deleted: 0 });
    expect(localTree(local)).to.deep.equal({});
  });
});
