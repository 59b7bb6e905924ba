/**
 * uploadDir sends only the local files its walk found, as they were when
 * read. Between the walk and a file's STOR (onPlan runs right there) a
 * file may be replaced by a link (to a key outside the tree), a FIFO (whose
 * open waits for a writer for ever) or a directory, or a directory above it
 * by a link: each is refused with FtpSourceChangedError ("replaced") and
 * nothing is sent. A file written to while it is read (cut, grown,
 * rewritten) is a failure ("changed"): its part is not renamed over the
 * remote copy, nor stamped, so the next run sends it again.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpError, FtpSourceChangedError } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { uploadDirAsNobody } from "./as-nobody.js";

const MiB = 1024 * 1024;

describe("uploadDir and a local tree that changes under it", () => {
  const fx = useFixtures();
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-upload-changes-"));
    outside = mkdtempSync(join(tmpdir(), "ftpstream-upload-outside-"));
    writeFileSync(join(outside, "secret"), "SECRET-KEY");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "a.txt"), "0123456789");
    writeFileSync(join(dir, "sub/b.txt"), "bbbbbbbbbb");
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  /** The one failure of a rejected uploadDir: its path and error. */
  async function onlyFailure(upload: Promise<unknown>): Promise<{ path: string; error: Error }> {
    const error = await rejectionOf(upload);
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failures = (error as FtpDirTransferError).failures;
    expect(failures).to.have.length(1);
    return failures[0];
  }

  /** The STORs the server was sent. */
  const stors = (srv: FixtureServer): string[] => srv.commands.filter((line) => line.startsWith("STOR"));

  const replacements: Array<[string, () => void, string]> = [
    [
      "a link to a file outside the tree",
      () => {
        unlinkSync(join(dir, "a.txt"));
        symlinkSync(join(outside, "secret"), join(dir, "a.txt"));
      },
      "a.txt",
    ],
    [
      "a FIFO (whose open would wait for a writer for ever)",
      () => {
        unlinkSync(join(dir, "a.txt"));
        execFileSync("mkfifo", [join(dir, "a.txt")]);
      },
      "a.txt",
    ],
    [
      "a directory",
      () => {
        unlinkSync(join(dir, "a.txt"));
        mkdirSync(join(dir, "a.txt"));
      },
      "a.txt",
    ],
    [
      "another file (renamed over it)",
      () => {
        writeFileSync(join(dir, "other"), "0123456789");
        execFileSync("mv", [join(dir, "other"), join(dir, "a.txt")]);
      },
      "a.txt",
    ],
    [
      "a file whose directory became a link to one outside the tree",
      () => {
        writeFileSync(join(outside, "b.txt"), "OUTSIDE-B");
        rmSync(join(dir, "sub"), { recursive: true });
        symlinkSync(outside, join(dir, "sub"));
      },
      "sub/b.txt",
    ],
  ];
  for (const [what, replace, path] of replacements) {
    it(`refuses, sending nothing, a file replaced after the walk by ${what}`, async () => {
      const srv = await fx.server();
      const ftp = await fx.client(srv);
      const failure = await onlyFailure(ftp.uploadDir(dir, "/up", { onPlan: replace }));
      expect(failure.path).to.equal(path);
      expect(failure.error).to.be.instanceOf(FtpSourceChangedError);
      expect(failure.error).to.include({ reason: "replaced", path });
      expect(stors(srv).filter((line) => line.includes(path.split("/").pop()!))).to.deep.equal([]);
      expect(srv.vfs.stat(`/up/${path}`)).to.equal(undefined);
      // The other file went up.
      expect(stors(srv)).to.have.length(1);
    });
  }

  it("with delete, neither reads nor deletes by a directory swapped for a link to one outside between its lstat and its read", async () => {
    writeFileSync(join(outside, "id_rsa"), "PRIVATE KEY");
    const srv = await fx.server({ files: { "/up/sub/keep.txt": "k" } });
    const ftp = await fx.client(srv);
    let swapped = false;
    // filter is asked about sub right after its lstat, before its readdir.
    const filter = ({ path }: { path: string }): boolean => {
      if (path === "sub" && !swapped) {
        swapped = true;
        rmSync(join(dir, "sub"), { recursive: true });
        symlinkSync(outside, join(dir, "sub"));
      }
      return true;
    };
    const failure = await onlyFailure(ftp.uploadDir(dir, "/up", { delete: true, filter }));
    expect(failure.path).to.equal("sub");
    expect(failure.error).to.be.instanceOf(FtpSourceChangedError);
    expect(failure.error).to.include({ reason: "replaced" });
    expect(srv.vfs.exists("/up/sub/id_rsa")).to.equal(false);
    expect(srv.vfs.exists("/up/sub/secret")).to.equal(false);
    expect(srv.vfs.get("/up/sub/keep.txt")?.toString()).to.equal("k");
  });

  /**
   * A 4 MiB a.txt, changed by `change` once its STOR has come and before
   * the server reads any of it: the client has read no more than its
   * buffers hold by then, the rest it reads after the change.
   */
  async function changedWhileSent(
    change: (file: string) => void,
    partFiles = true,
  ): Promise<{ srv: FixtureServer; failure: { path: string; error: Error } }> {
    writeFileSync(join(dir, "a.txt"), Buffer.alloc(4 * MiB, 0x61));
    const srv = await fx.server({ files: { "/up/a.txt": "the good remote copy" } });
    srv.handle("STOR", async (s, arg) => {
      if (arg === (partFiles ? "/up/.a.txt.ftpstream-part" : "/up/a.txt")) change(join(dir, "a.txt"));
      await s.defaultHandler("STOR", arg);
    });
    const ftp = await fx.client(srv);
    const failure = await onlyFailure(ftp.uploadDir(dir, "/up", { pipelining: false, partFiles }));
    expect(failure.path).to.equal("a.txt");
    expect(failure.error).to.be.instanceOf(FtpSourceChangedError);
    expect(failure.error).to.include({ reason: "changed" });
    // With partFiles, not put in place: the remote copy stays as it was, and no part is left.
    if (partFiles) expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the good remote copy");
    expect(srv.vfs.exists("/up/.a.txt.ftpstream-part")).to.equal(false);
    return { srv, failure };
  }

  /** No time was set on the remote a.txt (by MFMT, two-argument MDTM or SITE UTIME), though the other file's was. */
  function notStamped(srv: FixtureServer): void {
    const setting = (line: string): boolean => /^(MFMT \d{14} |MDTM \d{14} |SITE UTIME )/.test(line);
    expect(srv.commands.filter((line) => setting(line) && line.endsWith("/up/a.txt"))).to.deep.equal([]);
    expect(srv.commands.filter((line) => setting(line) && line.endsWith("/up/sub/b.txt"))).to.have.length(1);
  }

  it("fails a file cut short while it is sent, and leaves it unstamped so the next run sends it again", async () => {
    const { srv } = await changedWhileSent((file) => {
      truncateSync(file, 1 * MiB);
      // Its time as before the cut: only what was read can tell.
      utimesSync(file, new Date("2020-01-01T00:00:00Z"), new Date("2020-01-01T00:00:00Z"));
    });
    notStamped(srv);
    const ftp = await fx.client(srv);
    const again = await ftp.uploadDir(dir, "/up");
    expect(again).to.include({ transferred: 1, skipped: 1 });
    expect(srv.vfs.stat("/up/a.txt")?.size).to.equal(1 * MiB);
  });

  it("without partFiles too, fails a file cut short while it is sent and leaves its partial remote copy unstamped, for the next run to send again", async () => {
    const { srv } = await changedWhileSent((file) => {
      truncateSync(file, 1 * MiB);
      utimesSync(file, new Date("2020-01-01T00:00:00Z"), new Date("2020-01-01T00:00:00Z"));
    }, false);
    notStamped(srv);
    const ftp = await fx.client(srv);
    expect(await ftp.uploadDir(dir, "/up")).to.include({ transferred: 1, skipped: 1 });
    expect(srv.vfs.stat("/up/a.txt")?.size).to.equal(1 * MiB);
  });

  it("fails a file that grows while it is sent", async () => {
    const { srv } = await changedWhileSent((file) => appendFileSync(file, Buffer.alloc(MiB, 0x62)));
    notStamped(srv);
  });

  it("fails a file rewritten in place (same size, new time) while it is sent", async () => {
    const { srv } = await changedWhileSent((file) => {
      writeFileSync(file, Buffer.alloc(4 * MiB, 0x63));
      utimesSync(file, new Date("2021-06-01T12:00:00Z"), new Date("2021-06-01T12:00:00Z"));
    });
    notStamped(srv);
  });

  it("sends a file changed between the walk and its STOR as it is when opened, stamped with that time", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(dir, "/up", {
      onPlan: () => {
        truncateSync(join(dir, "a.txt"), 3);
        utimesSync(join(dir, "a.txt"), new Date("2022-03-04T05:06:07Z"), new Date("2022-03-04T05:06:07Z"));
      },
    });
    expect(result).to.include({ transferred: 2 });
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("012");
    expect(srv.vfs.stat("/up/a.txt")?.mtime.toISOString()).to.equal("2022-03-04T05:06:07.000Z");
    expect(await ftp.uploadDir(dir, "/up")).to.include({ transferred: 0, skipped: 2 });
  });
});

describe("uploadDir and a local file it may not read", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-unreadable-file-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("fails a file whose open is refused (EACCES) before its STOR: the remote copy is not truncated", async () => {
    const srv = await fx.server({ files: { "/up/a.txt": "the good remote copy" } });
    writeFileSync(join(dir, "a.txt"), "new");
    writeFileSync(join(dir, "b.txt"), "bbb");
    if (process.getuid?.() === 0) for (const path of [dir, join(dir, "a.txt"), join(dir, "b.txt")]) chownSync(path, 65534, 65534);
    chmodSync(join(dir, "a.txt"), 0o000);
    expect(await uploadDirAsNobody(srv.port, dir)).to.deep.equal(["a.txt EACCES"]);
    expect(srv.commands.filter((line) => line.startsWith("STOR"))).to.deep.equal(["STOR /up/b.txt"]);
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the good remote copy");
  });
});

describe("uploadDir with partFiles writes each file through a part name", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-upload-part-"));
    writeFileSync(join(dir, "a.txt"), "the new copy");
    writeFileSync(join(dir, "b.txt"), "bbb");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const GOOD = { files: { "/up/a.txt": "the good remote copy" } };

  it("leaves the remote copy whole when the STOR fails (426) with half of it written, and deletes the part", async () => {
    const srv = await fx.server(GOOD);
    srv.handle("STOR", async (s, arg) => {
      if (!arg.endsWith("/.a.txt.ftpstream-part")) return s.defaultHandler("STOR", arg);
      s.reply(150, "Ok to send data.");
      // Half of it written, then the transfer fails.
      s.vfs.set("/up/.a.txt.ftpstream-part", (await s.receiveAll()).subarray(0, 7));
      s.reply(426, "Connection closed; transfer aborted.");
    });
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.uploadDir(dir, "/up", { pipelining: false, partFiles: true }))) as FtpDirTransferError;
    expect(error.failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the good remote copy");
    expect(srv.vfs.exists("/up/.a.txt.ftpstream-part")).to.equal(false);
    expect(srv.vfs.get("/up/b.txt")?.toString()).to.equal("bbb");
  });

  it("deletes the target first on a server that refuses to rename over a file (550), then renames", async () => {
    const srv = await fx.server(GOOD);
    // The first RNTO onto a.txt only: b.txt's may come first (two files run at once).
    let refused = false;
    srv.handle("RNTO", (s, arg) => {
      if (arg !== "/up/a.txt" || refused) return s.defaultHandler("RNTO", arg);
      refused = true;
      s.reply(550, "Rename failed: file exists.");
    });
    const ftp = await fx.client(srv);
    expect(await ftp.uploadDir(dir, "/up", { pipelining: false, partFiles: true })).to.include({ transferred: 2 });
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the new copy");
    expect(srv.vfs.exists("/up/.a.txt.ftpstream-part")).to.equal(false);
    expect(srv.commands.filter((line) => /^(RNFR|RNTO|DELE) .*a\.txt/.test(line))).to.deep.equal([
      "RNFR /up/.a.txt.ftpstream-part",
      "RNTO /up/a.txt",
      "DELE /up/a.txt",
      "RNFR /up/.a.txt.ftpstream-part",
      "RNTO /up/a.txt",
    ]);
  });

  it("fails the file and keeps the remote copy when the rename is refused, deleting the part", async () => {
    const srv = await fx.server(GOOD);
    srv.handle("RNFR", (s, arg) => (arg.includes("a.txt") ? s.reply(553, "Rename not allowed.") : s.defaultHandler("RNFR", arg)));
    srv.handle("DELE", (s, arg) => (arg === "/up/a.txt" ? s.reply(550, "Permission denied.") : s.defaultHandler("DELE", arg)));
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.uploadDir(dir, "/up", { partFiles: true }))) as FtpDirTransferError;
    expect(error.failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the good remote copy");
    expect(srv.vfs.exists("/up/.a.txt.ftpstream-part")).to.equal(false);
    expect(srv.vfs.get("/up/b.txt")?.toString()).to.equal("bbb");
  });

  it("keeps the complete upload at its part name when the rename is refused even after the target was deleted", async () => {
    const srv = await fx.server(GOOD);
    srv.handle("RNFR", (s, arg) => (arg.includes("a.txt") ? s.reply(553, "Rename not allowed.") : s.defaultHandler("RNFR", arg)));
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.uploadDir(dir, "/up", { partFiles: true }))) as FtpDirTransferError;
    expect(error.failures.map((f) => [f.path, (f.error as FtpError).code])).to.deep.equal([["a.txt", "ERR_FTP_PART_FILE"]]);
    expect(error.failures[0].error.message).to.include(".a.txt.ftpstream-part");
    // The old copy went for the rename; the new one is whole at the part name, not deleted too.
    expect(srv.vfs.get("/up/.a.txt.ftpstream-part")?.toString()).to.equal("the new copy");
  });

  it("deletes no remote entry for a refused rename where the listing showed no file", async () => {
    const srv = await fx.server({ files: { "/up/keep.txt": "k" } });
    srv.handle("RNFR", (s, arg) => (arg.includes("a.txt") ? s.reply(553, "Rename not allowed.") : s.defaultHandler("RNFR", arg)));
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.uploadDir(dir, "/up", { partFiles: true }))) as FtpDirTransferError;
    expect(error.failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
    expect(srv.commands.filter((line) => line.startsWith("DELE"))).to.deep.equal(["DELE /up/.a.txt.ftpstream-part"]);
    expect(srv.vfs.exists("/up/.a.txt.ftpstream-part")).to.equal(false);
  });

  it("with delete, sends through a part a killed run left and removes the other left parts, without failing", async () => {
    const srv = await fx.server({
      files: { "/up/a.txt": "the good remote copy", "/up/.a.txt.ftpstream-part": "the new", "/up/.gone.txt.ftpstream-part": "x" },
    });
    const ftp = await fx.client(srv);
    expect(await ftp.uploadDir(dir, "/up", { delete: true, partFiles: true })).to.include({ transferred: 2, deleted: 1 });
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the new copy");
    expect(
      srv.vfs
        .entries("/up")
        .map((entry) => entry.name)
        .sort(),
    ).to.deep.equal(["a.txt", "b.txt"]);
  });

  it("refuses a file whose part name the local tree holds a directory at, sending nothing for it", async () => {
    // A part file there is a killed download's, left out (spec/sync/source-part-files); a directory is the tree's own.
    mkdirSync(join(dir, ".a.txt.ftpstream-part"));
    const srv = await fx.server(GOOD);
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.uploadDir(dir, "/up", { partFiles: true }))) as FtpDirTransferError;
    expect(error.failures.map((f) => [f.path, (f.error as FtpError).code])).to.deep.equal([["a.txt", "ERR_FTP_PART_FILE"]]);
    expect(error.failures[0].error.message).to.include("the tree has a directory of that name");
    expect(srv.vfs.get("/up/a.txt")?.toString()).to.equal("the good remote copy");
    expect(srv.vfs.isDir("/up/.a.txt.ftpstream-part")).to.equal(true);
  });
});

describe("downloadDir with delete and a local directory swapped for a link after the walk", () => {
  const fx = useFixtures();
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-download-swap-"));
    outside = mkdtempSync(join(tmpdir(), "ftpstream-download-outside-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("deletes nothing through it: the file of that name where the link points stays", async () => {
    writeFileSync(join(outside, "extra.txt"), "precious");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub/extra.txt"), "x");
    const srv = await fx.server({ files: { "/r/sub/keep.txt": "k" } });
    const ftp = await fx.client(srv);
    // onPlan runs after both walks, before anything is written or deleted.
    const onPlan = (): void => {
      rmSync(join(dir, "sub"), { recursive: true });
      symlinkSync(outside, join(dir, "sub"));
    };
    const error = (await rejectionOf(ftp.downloadDir("/r", dir, { delete: true, onPlan }))) as FtpDirTransferError;
    expect(error.failures.map((f) => [f.path, (f.error as FtpError).code])).to.deep.equal([
      ["sub/keep.txt", "ERR_FTP_BAD_PATH"],
      // Not the directory walked: nothing is deleted for what it lacked (its extra is not even tried).
      ["sub", "ERR_FTP_SOURCE_CHANGED"],
    ]);
    expect(readFileSync(join(outside, "extra.txt"), "utf8")).to.equal("precious");
  });
});
