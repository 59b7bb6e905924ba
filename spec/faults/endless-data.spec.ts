/**
 * A hostile (or broken) server that answers RETR with data that never
 * ends must not fill the disk. With a size announced (the 150's, or SIZE's
 * under `verifySize: true`), a binary download fails with
 * FtpSizeMismatchError as soon as its count passes what the size check at
 * its end could still accept, the transfer aborted and the bytes beyond
 * never handed on. With `maxFileSize`, any download fails with
 * FtpLimitError once the file (REST offset and bytes) grows past it, or
 * at once when the server's size is above it. Downloads the end's check
 * accepted before (TYPE A, REST, `verifySize: false`) still end well.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { FixtureServer } from "../../fixtures/server.js";
import {
  FTP,
  FtpDirTransferError,
  FtpLimitError,
  FtpPool,
  FtpSizeMismatchError,
  type DirTransferOptions,
  type DownloadOptions,
} from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { RESUME_OVERLAP } from "../../lib/resume-overlap.js";
import { CountingSink, serveEndless } from "./endless-server.js";

/** The size the hostile 150 announces. */
const ANNOUNCED = 100_000;
/** The maxFileSize the specs set. */
const MAX = 200_000;
/** More than a bounded download may ever hand on: the target fails past it (see CountingSink). */
const CAP = 4 * 1024 * 1024;

type Form = "writable" | "stream" | "callback";
const FORMS: Form[] = ["writable", "stream", "callback"];

/** RETR `file` in one of retrbinary's forms; what it settled with and the bytes its target got. */
async function download(ftp: FTP, form: Form, options: DownloadOptions, file = "f.bin"): Promise<{ outcome: unknown; received: number }> {
  const sink = new CountingSink(CAP);
  let outcome: unknown;
  const settle = (promise: Promise<unknown>): Promise<void> =>
    promise.then(
      (value) => void (outcome = value),
      (error: unknown) => void (outcome = error),
    );
  if (form === "writable") await settle(ftp.retrbinary(`RETR ${file}`, sink, options));
  else if (form === "stream") await settle(pipeline(ftp.retrbinary(`RETR ${file}`, options), sink));
  else await settle(ftp.retrbinary(`RETR ${file}`, (chunk) => sink.take(chunk), options));
  return { outcome, received: sink.received };
}

/** `outcome` as an error of `type`, or a failed expectation naming what it was. */
function expectError<T extends Error>(outcome: unknown, type: abstract new (...args: never[]) => T): T {
  expect(outcome, String(outcome)).to.be.instanceOf(type);
  return outcome as T;
}

/** A RETR answered with `150 <preliminary>`, then `body` on the data connection, then 226. */
function serveExactly(srv: FixtureServer, preliminary: string, body: string): void {
  srv.handle("RETR", async (s) => {
    s.takeRest();
    s.reply(150, preliminary);
    await s.sendData(body);
    s.reply(226, "Transfer complete.");
  });
}

describe("faults: a RETR answered with data that never ends", () => {
  const fx = useFixtures();

  describe("after a 150 that announced its size", () => {
    for (const form of FORMS) {
      it(`fails with FtpSizeMismatchError once the count passes the size, having handed on no more than it (${form})`, async () => {
        const srv = await fx.server();
        const answered = serveEndless(srv, ANNOUNCED);
        const ftp = await fx.client(srv);
        const { outcome, received } = await download(ftp, form, {});
        const error = expectError(outcome, FtpSizeMismatchError);
        expect(error.code).to.equal("ERR_FTP_SIZE_MISMATCH");
        expect(error.expected).to.equal(ANNOUNCED);
        expect(error.received).to.be.above(ANNOUNCED);
        expect(error.message).to.include('"f.bin"');
        expect(received).to.be.at.most(ANNOUNCED);
        expect(answered).to.deep.equal(["f.bin"]);
        // The transfer was aborted and the client goes on.
        expect(await ftp.pwd()).to.equal("/");
      });
    }

    it("fails the same way with the size from SIZE under verifySize: true (a 150 without one)", async () => {
      const srv = await fx.server({ files: { "/f.bin": "x".repeat(ANNOUNCED) } });
      serveEndless(srv, null);
      const ftp = await fx.client(srv);
      const { outcome, received } = await download(ftp, "writable", { verifySize: true });
      expect(expectError(outcome, FtpSizeMismatchError).expected).to.equal(ANNOUNCED);
      expect(received).to.be.at.most(ANNOUNCED);
    });

    it("fails the same way on a download resumed under retry, against the whole file's size", async () => {
      const srv = await fx.server();
      serveEndless(srv, null);
      // The first attempt: the size, 1000 bytes, then the data connection ends and the server says 226 (short: retried from byte 1000).
      srv.once("RETR", async (s, arg) => {
        s.reply(150, `Opening BINARY mode data connection for ${arg} (${ANNOUNCED} bytes).`);
        await s.sendData(Buffer.alloc(1000, "x"));
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fx.client(srv, { retry: { attempts: 1, minDelay: 0, maxDelay: 0 } });
      const { outcome, received } = await download(ftp, "writable", {});
      const error = expectError(outcome, FtpSizeMismatchError);
      expect(error.expected).to.equal(ANNOUNCED);
      expect(received).to.be.at.most(ANNOUNCED);
      // The resume asks again for the bytes delivered, up to RESUME_OVERLAP of them (all 1000 here), to compare.
      expect(srv.commands).to.include(`REST ${1000 - Math.min(1000, RESUME_OVERLAP)}`);
    });
  });

  describe("what the size check at the end accepted still ends well", () => {
    it("verifySize: false: more bytes than announced", async () => {
      const srv = await fx.server();
      serveExactly(srv, "Opening BINARY mode data connection for f.bin (5 bytes).", "0123456789");
      const ftp = await fx.client(srv);
      const { outcome, received } = await download(ftp, "writable", { verifySize: false });
      expect(outcome).to.match(/^226/);
      expect(received).to.equal(10);
    });

    it("TYPE A: an ASCII form longer than the size announced", async () => {
      const srv = await fx.server();
      srv.handle("RETR", async (s) => {
        s.reply(150, "Opening ASCII mode data connection for t.txt (3 bytes).");
        await s.sendData("a\nb\nc\nd\ne\nf\n", { ascii: true });
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fx.client(srv);
      const lines: string[] = [];
      expect(await ftp.retrlines("RETR t.txt", (line) => lines.push(line))).to.match(/^226/);
      expect(lines).to.deep.equal(["a", "b", "c", "d", "e", "f"]);
    });

    it("REST, unasked: more bytes than the 150 announced", async () => {
      const srv = await fx.server();
      serveExactly(srv, "Opening BINARY mode data connection for f.bin (5 bytes).", "x".repeat(20));
      const ftp = await fx.client(srv);
      const { outcome, received } = await download(ftp, "writable", { rest: 4 });
      expect(outcome).to.match(/^226/);
      expect(received).to.equal(20);
    });

    for (const [what, preliminary] of [
      ["the whole file", "(14 bytes)"],
      ["what is left", "(10 bytes)"],
      ["nothing: SIZE gives the whole file", ""],
    ]) {
      it(`REST 4 under verifySize: true, the 150 giving ${what}: the 10 bytes left`, async () => {
        const srv = await fx.server({ files: { "/f.bin": "0123456789abcd" } });
        serveExactly(srv, `Opening BINARY mode data connection for f.bin ${preliminary}.`, "456789abcd");
        const ftp = await fx.client(srv);
        const { outcome, received } = await download(ftp, "writable", { rest: 4, verifySize: true });
        expect(outcome).to.match(/^226/);
        expect(received).to.equal(10);
      });
    }

    it("REST 4 under verifySize: true, the 150 giving what is left and the server sending that many: the end takes it, so nothing stops it before", async () => {
      // The 150's 14 may be the whole file or what is left after REST: 14 bytes fit the second reading.
      const srv = await fx.server();
      serveExactly(srv, "Opening BINARY mode data connection for f.bin (14 bytes).", "x".repeat(14));
      const ftp = await fx.client(srv);
      const { outcome, received } = await download(ftp, "writable", { rest: 4, verifySize: true });
      expect(outcome).to.match(/^226/);
      expect(received).to.equal(14);
    });
  });

  describe("with maxFileSize", () => {
    for (const form of FORMS) {
      it(`fails with FtpLimitError once a download with no size announced passes it, having handed on no more than it (${form})`, async () => {
        const srv = await fx.server();
        serveEndless(srv, null);
        const ftp = await fx.client(srv);
        const { outcome, received } = await download(ftp, form, { maxFileSize: MAX });
        const error = expectError(outcome, FtpLimitError);
        expect(error.code).to.equal("ERR_FTP_LIMIT");
        expect([error.limit, error.max]).to.deep.equal(["maxFileSize", MAX]);
        expect(error.message).to.include('"f.bin"');
        expect(received).to.be.at.most(MAX);
        expect(await ftp.pwd()).to.equal("/");
      });
    }

    it("fails before taking a byte when the 150 announces more", async () => {
      const srv = await fx.server();
      serveEndless(srv, MAX + 1);
      const ftp = await fx.client(srv);
      for (const form of FORMS) {
        const { outcome, received } = await download(ftp, form, { maxFileSize: MAX });
        expect(expectError(outcome, FtpLimitError).message).to.include(`${MAX + 1} bytes`);
        expect(received).to.equal(0);
      }
      expect(await ftp.pwd()).to.equal("/");
    });

    it("sends no RETR when SIZE (verifySize: true) gives more", async () => {
      const srv = await fx.server({ files: { "/f.bin": "x".repeat(MAX + 1) } });
      const answered = serveEndless(srv, null);
      const ftp = await fx.client(srv);
      const { outcome } = await download(ftp, "writable", { maxFileSize: MAX, verifySize: true });
      expectError(outcome, FtpLimitError);
      expect(answered).to.deep.equal([]);
      expect(srv.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
    });

    it("takes a file of exactly maxFileSize bytes, announced or not", async () => {
      const srv = await fx.server({ files: { "/f.bin": "x".repeat(MAX) } });
      const ftp = await fx.client(srv);
      const announced = await download(ftp, "writable", { maxFileSize: MAX });
      expect(announced.outcome).to.match(/^226/);
      expect(announced.received).to.equal(MAX);
      serveExactly(srv, "Opening BINARY mode data connection.", "x".repeat(MAX));
      const unannounced = await download(ftp, "stream", { maxFileSize: MAX });
      expect(unannounced.received).to.equal(MAX);
      expect(unannounced.outcome).to.equal(undefined);
    });

    it("counts the REST offset in the file's size", async () => {
      const srv = await fx.server();
      serveExactly(srv, "Opening BINARY mode data connection.", "x".repeat(7));
      const ftp = await fx.client(srv);
      const over = await download(ftp, "writable", { maxFileSize: 10, rest: 4 });
      expect(expectError(over.outcome, FtpLimitError).message).to.include("11 bytes");
      const within = await download(ftp, "writable", { maxFileSize: 11, rest: 4 });
      expect(within.outcome).to.match(/^226/);
    });

    it("refuses a maxFileSize that is not a whole number of bytes, 0 or more: a throw for the stream form, a rejection for the others", async () => {
      const srv = await fx.server();
      const ftp = await fx.client(srv);
      for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
        expect(() => ftp.retrbinary("RETR f.bin", { maxFileSize: bad })).to.throw(RangeError, /maxFileSize/);
        expect(await rejectionOf(ftp.retrbinary("RETR f.bin", new CountingSink(CAP), { maxFileSize: bad }))).to.be.instanceOf(RangeError);
        expect(await rejectionOf(ftp.retrbinary("RETR f.bin", () => undefined, { maxFileSize: bad }))).to.be.instanceOf(RangeError);
      }
      const notANumber = { maxFileSize: "10" as unknown as number };
      expect(() => ftp.retrbinary("RETR f.bin", notANumber)).to.throw(TypeError, /maxFileSize/);
      expect(await rejectionOf(ftp.downloadDir("/", tmpdir(), { maxFileSize: -1 }))).to.be.instanceOf(RangeError);
      expect(srv.commands.filter((line) => line.startsWith("RETR") || line.startsWith("MLSD"))).to.deep.equal([]);
    });
  });

  describe("downloadDir", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "ftpstream-endless-"));
      writeFileSync(join(dir, "big.bin"), "the old copy");
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** A tree of a.txt and big.bin (its listed size `listed`), big.bin served endless after a 150 announcing `announce`. */
    async function tree(listed: number, announce: number | null): Promise<FixtureServer> {
      const srv = await fx.server({ welcome: "220 (vsFTPd 3.0.3)", files: { "/d/a.txt": "alpha\n", "/d/big.bin": "x".repeat(listed) } });
      serveEndless(srv, announce, (arg) => arg.endsWith("big.bin"));
      return srv;
    }

    /** downloadDir of /d into `dir` on one client or a pool of two; a download past CAP aborts the call (nothing bounded it). */
    async function downloadTree(srv: FixtureServer, how: string, options: DirTransferOptions): Promise<unknown> {
      const guard = new AbortController();
      const onProgress: DirTransferOptions["onProgress"] = (progress) => {
        if (progress.bytes > CAP) guard.abort(new Error(`downloadDir moved ${progress.bytes} bytes: nothing bounded it`));
      };
      const settings = { ...options, signal: guard.signal, onProgress };
      if (how !== "pool") {
        const ftp = await fx.client(srv);
        return rejectionOf(ftp.downloadDir("/d", dir, settings));
      }
      const pool = new FtpPool({ size: 2, connect: () => fx.client(srv) });
      try {
        return await rejectionOf(pool.downloadDir("/d", dir, settings));
      } finally {
        await pool.close();
      }
    }

    /** The failures of `error` (an FtpDirTransferError) by path. */
    function failuresOf(error: unknown): Map<string, Error> {
      expect(error, String(error)).to.be.instanceOf(FtpDirTransferError);
      return new Map((error as FtpDirTransferError).failures.map(({ path, error }) => [path, error]));
    }

    const WAYS: Array<[string, DirTransferOptions]> = [
      ["streamed", {}],
      ["listed first", { pipelining: false }],
      ["pool", {}],
    ];
    for (const [how, options] of WAYS) {
      it(`fails the file with FtpSizeMismatchError past its announced size, removes its part file and keeps the local copy (${how})`, async () => {
        const srv = await tree(ANNOUNCED, ANNOUNCED);
        const failures = failuresOf(await downloadTree(srv, how, options));
        expect([...failures.keys()]).to.deep.equal(["big.bin"]);
        expect(failures.get("big.bin")).to.be.instanceOf(FtpSizeMismatchError).and.include({ expected: ANNOUNCED });
        expect(readdirSync(dir).sort()).to.deep.equal(["a.txt", "big.bin"]);
        expect(readFileSync(join(dir, "big.bin"), "utf8")).to.equal("the old copy");
        expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("alpha\n");
      });

      it(`fails the file with FtpLimitError past maxFileSize with no size announced, removes its part file and keeps the local copy (${how})`, async () => {
        const srv = await tree(10, null);
        const failures = failuresOf(await downloadTree(srv, how, { ...options, maxFileSize: MAX }));
        expect([...failures.keys()]).to.deep.equal(["big.bin"]);
        const error = failures.get("big.bin");
        expect(error).to.be.instanceOf(FtpLimitError).and.include({ limit: "maxFileSize", max: MAX });
        expect(error?.message).to.include("big.bin");
        expect(readdirSync(dir).sort()).to.deep.equal(["a.txt", "big.bin"]);
        expect(readFileSync(join(dir, "big.bin"), "utf8")).to.equal("the old copy");
      });
    }

    for (const [how, options] of [...WAYS, ["dry run", { dryRun: true }] as [string, DirTransferOptions]]) {
      it(`never sends RETR for a file listed larger than maxFileSize, takes one of exactly it, and deletes nothing it should not (${how})`, async () => {
        const srv = await fx.server({
          files: { "/d/big.bin": "x".repeat(MAX + 1), "/d/exact.bin": "x".repeat(MAX), "/d/a.txt": "alpha\n" },
        });
        writeFileSync(join(dir, "extra.txt"), "not in the source");
        writeFileSync(join(dir, ".big.bin.ftpstream-part"), "a killed run's part");
        const failures = failuresOf(await downloadTree(srv, how, { ...options, maxFileSize: MAX, delete: true }));
        expect([...failures.keys()]).to.deep.equal(["big.bin"]);
        const error = failures.get("big.bin");
        expect(error).to.be.instanceOf(FtpLimitError).and.include({ limit: "maxFileSize", max: MAX });
        expect(error?.message).to.include(`"big.bin" is listed at ${MAX + 1} bytes`);
        expect(srv.commands.filter((line) => line.startsWith("RETR") && line.endsWith("big.bin"))).to.deep.equal([]);
        // The failed file's local copy stays; what the source lacks goes, as on any run where a file failed.
        expect(readFileSync(join(dir, "big.bin"), "utf8")).to.equal("the old copy");
        if (options.dryRun) return;
        expect(readdirSync(dir).sort()).to.deep.equal(["a.txt", "big.bin", "exact.bin"]);
        expect(readFileSync(join(dir, "exact.bin"), "utf8")).to.have.length(MAX);
      });
    }
  });
});
