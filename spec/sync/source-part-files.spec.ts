/**
 * Part files in a tree transfer's source (`.<name>.ftpstream-part`): what
 * a transfer killed midway (or still running from another host) left
 * there. They are no files of the tree: left out and reported in
 * `parts`, never sent, never asked of `filter`, never in the way of
 * `<name>`'s own transfer (which once failed on every run while such a
 * part stayed), and with `delete` nothing in the target is removed for
 * them: neither the target's entry of the part's name nor `<name>`, which
 * the source may be midway through writing.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";
import type { DirTransferOptions, PlannedFile, TreeEntry } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { localTree, remoteTree } from "./trees.js";

const PART = /(^|\/)\.[^/]+\.ftpstream-part$/;

/** A filter that takes everything and records what it was asked about. */
function recordingFilter(): { asked: string[]; filter: (entry: TreeEntry) => boolean } {
  const asked: string[] = [];
  return { asked, filter: (entry) => (asked.push(entry.path), true) };
}

describe("tree transfers and part files in the source", () => {
  let dir: string;
  let pool: FtpPool | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-source-parts-"));
  });
  // Before useFixtures' own afterEach, which waits for every connection to close.
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const fx = useFixtures();

  type Runner = { downloadDir: FTP["downloadDir"]; uploadDir: FTP["uploadDir"] };
  const RUNNERS: Array<{ name: string; options: DirTransferOptions; runner: (srv: FixtureServer) => Promise<Runner> }> = [
    { name: "one client", options: {}, runner: (srv) => fx.client(srv) },
    { name: "one client, pipelining off", options: { pipelining: false }, runner: (srv) => fx.client(srv) },
    {
      name: "FtpPool of 2",
      options: {},
      runner: async (srv) =>
        (pool = new FtpPool({
          size: 2,
          connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 }),
        })),
    },
  ];

  describe("downloadDir", () => {
    for (const { name, options, runner } of RUNNERS) {
      it(`leaves out a remote part file, with its file or without, and downloads the file on every run (${name})`, async () => {
        const srv = await fx.server({
          files: {
            "/r/a.txt": "alpha\n",
            // A killed upload's part beside the file it was for, one of a file not there yet, one below.
            "/r/.a.txt.ftpstream-part": "alp",
            "/r/.new.txt.ftpstream-part": "ne",
            "/r/sub/b.txt": "beta\n",
            "/r/sub/.b.txt.ftpstream-part": "be",
          },
        });
        const ftp = await runner(srv);
        const out = join(dir, "out");
        const { asked, filter } = recordingFilter();
        const parts = [".a.txt.ftpstream-part", ".new.txt.ftpstream-part", "sub/.b.txt.ftpstream-part"];
        expect(await ftp.downloadDir("/r", out, { ...options, filter })).to.deep.equal({
          transferred: 2,
          skipped: 0,
          bytes: 11,
          deleted: 0,
          links: [],
          parts,
          kept: [],
        });
        expect(localTree(out)).to.deep.equal({ "a.txt": "alpha\n", sub: null, "sub/b.txt": "beta\n" });
        expect(srv.commands.filter((line) => /^(RETR|MDTM|SIZE) .*ftpstream-part$/.test(line))).to.deep.equal([]);
        expect(asked).to.include("a.txt");
        expect(asked.filter((path) => PART.test(path))).to.deep.equal([]);

        // The next run (cron's) neither fails nor fetches anything.
        expect(await ftp.downloadDir("/r", out, options)).to.deep.include({ transferred: 0, skipped: 2, parts });
      });
    }

    for (const planned of [false, true]) {
      it(`on a server listing times to the minute, asks no MDTM of a part file and plans none${planned ? " (onPlan)" : ""}`, async () => {
        // LIST only: each file's time is asked (MDTM) in one burst after its directory's listing, filter asked first.
        const srv = await fx.server({
          features: ["EPSV", "MDTM", "PASV", "SIZE"],
          files: { "/r/a.txt": "alpha\n", "/r/.a.txt.ftpstream-part": "alp", "/r/.new.txt.ftpstream-part": "ne" },
        });
        const ftp = await fx.client(srv);
        const out = join(dir, "out");
        const { asked, filter } = recordingFilter();
        const plans: string[][] = [];
        const onPlan = planned ? (files: PlannedFile[]) => void plans.push(files.map((file) => file.path)) : undefined;
        expect(await ftp.downloadDir("/r", out, { filter, onPlan })).to.deep.include({
          transferred: 1,
          parts: [".a.txt.ftpstream-part", ".new.txt.ftpstream-part"],
        });
        if (planned) expect(plans).to.deep.equal([["a.txt"]]);
        expect(localTree(out)).to.deep.equal({ "a.txt": "alpha\n" });
        expect(srv.commands.filter((line) => /^MDTM /.test(line))).to.have.length.above(0);
        expect(srv.commands.filter((line) => /^(RETR|MDTM|SIZE) .*ftpstream-part$/.test(line))).to.deep.equal([]);
        expect(asked).to.include("a.txt");
        expect(asked.filter((path) => PART.test(path))).to.deep.equal([]);
      });
    }

    for (const { name, options, runner } of RUNNERS.slice(0, 2)) {
      it(`with delete, removes nothing for a remote part file: not its local namesake, nor the file it is for (${name})`, async () => {
        const srv = await fx.server({
          files: {
            "/r/a.txt": "alpha\n",
            "/r/.a.txt.ftpstream-part": "alp",
            // b.txt midway on the server (an upload that had to delete it before its rename): only its part is there.
            "/r/.b.txt.ftpstream-part": "be",
          },
        });
        const out = join(dir, "out");
        mkdirSync(out);
        writeFileSync(join(out, "a.txt"), "old");
        writeFileSync(join(out, ".a.txt.ftpstream-part"), "a killed download's");
        writeFileSync(join(out, "b.txt"), "beta, the last whole copy");
        writeFileSync(join(out, ".b.txt.ftpstream-part"), "a killed download's");
        writeFileSync(join(out, "extra.txt"), "gone from the server");
        const ftp = await runner(srv);
        expect(await ftp.downloadDir("/r", out, { ...options, delete: true })).to.deep.equal({
          transferred: 1,
          skipped: 0,
          bytes: 6,
          deleted: 1,
          links: [],
          parts: [".a.txt.ftpstream-part", ".b.txt.ftpstream-part"],
          kept: [],
        });
        // Not even asked ahead of the listing for the local parts' namesakes.
        expect(srv.commands.filter((line) => /^(RETR|MDTM|SIZE) .*ftpstream-part$/.test(line))).to.deep.equal([]);
        // a.txt's own left part went with its download, as before.
        expect(localTree(out)).to.deep.equal({
          "a.txt": "alpha\n",
          "b.txt": "beta, the last whole copy",
          ".b.txt.ftpstream-part": "a killed download's",
        });
      });
    }
  });

  describe("uploadDir", () => {
    for (const partFiles of [false, true]) {
      for (const { name, options, runner } of RUNNERS) {
        it(`leaves out a local part file and a link at a part name, and uploads the file on every run (partFiles ${partFiles}, ${name})`, async () => {
          const src = join(dir, "src");
          mkdirSync(join(src, "sub"), { recursive: true });
          writeFileSync(join(src, "a.txt"), "alpha\n");
          // What killed downloads leave: a part beside its file, one of a file not there yet, one below.
          writeFileSync(join(src, ".a.txt.ftpstream-part"), "alp");
          writeFileSync(join(src, ".new.txt.ftpstream-part"), "ne");
          writeFileSync(join(src, "sub/b.txt"), "beta\n");
          writeFileSync(join(src, "sub/.b.txt.ftpstream-part"), "be");
          // A download's part name is where a link is taken for a stale part too (part-file.ts createPart).
          symlinkSync(join(src, "a.txt"), join(src, ".l.txt.ftpstream-part"));
          const srv = await fx.server({ files: { "/up/": "" } });
          const ftp = await runner(srv);
          const { asked, filter } = recordingFilter();
          const parts = [".a.txt.ftpstream-part", ".l.txt.ftpstream-part", ".new.txt.ftpstream-part", "sub/.b.txt.ftpstream-part"];
          expect(await ftp.uploadDir(src, "/up", { ...options, partFiles, filter })).to.deep.equal({
            transferred: 2,
            skipped: 0,
            bytes: 11,
            deleted: 0,
            links: [],
            parts,
            kept: [],
          });
          expect(remoteTree(srv, "/up")).to.deep.equal({ "a.txt": "alpha\n", sub: null, "sub/b.txt": "beta\n" });
          const stored = srv.commands.filter((line) => line.startsWith("STOR ")).sort();
          expect(stored).to.deep.equal(
            partFiles ? ["STOR /up/.a.txt.ftpstream-part", "STOR /up/sub/.b.txt.ftpstream-part"] : ["STOR /up/a.txt", "STOR /up/sub/b.txt"],
          );
          expect(asked).to.include("a.txt");
          expect(asked.filter((path) => PART.test(path))).to.deep.equal([]);

          expect(await ftp.uploadDir(src, "/up", { ...options, partFiles })).to.deep.include({ transferred: 0, skipped: 2, parts });
        });
      }
    }

    for (const { name, options, runner } of RUNNERS.slice(0, 2)) {
      it(`with delete, removes nothing for a local part file: not its remote namesake, nor the file it is for (${name})`, async () => {
        const src = join(dir, "src");
        mkdirSync(src);
        writeFileSync(join(src, "a.txt"), "alpha\n");
        // b.txt being downloaded here for the first time when that run was killed.
        writeFileSync(join(src, ".b.txt.ftpstream-part"), "be");
        const srv = await fx.server({
          files: { "/up/b.txt": "beta, the last whole copy", "/up/.b.txt.ftpstream-part": "another run's", "/up/extra.txt": "x" },
        });
        const ftp = await runner(srv);
        expect(await ftp.uploadDir(src, "/up", { ...options, partFiles: true, delete: true })).to.deep.equal({
          transferred: 1,
          skipped: 0,
          bytes: 6,
          deleted: 1,
          links: [],
          parts: [".b.txt.ftpstream-part"],
          kept: [],
        });
        expect(remoteTree(srv, "/up")).to.deep.equal({
          "a.txt": "alpha\n",
          "b.txt": "beta, the last whole copy",
          ".b.txt.ftpstream-part": "another run's",
        });
      });
    }
  });
});
