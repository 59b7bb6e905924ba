/**
 * `ftpstream put --part-files` and `mirror <dir> <url> --part-files`:
 * uploads go to the hidden part name beside the target and are renamed
 * over it only once the 226 came and SIZE of the part gives the bytes
 * sent (renameOwnPart, lib/part-rename.ts), so a consumer on the server
 * never sees a partial file under the target's name. Without it, a cut or
 * running upload is partial under its own name.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { refuseOverExisting } from "../faults/rename-refused.js";
import { holdStor } from "./mirror-local-faults-helpers.js";
import { runCli, useCliFixture } from "./run-cli.js";

const NEW = "the new copy, whole\n".repeat(1000);
const PART = "/t/.big.bin.ftpstream-part";

describe("ftpstream put and mirror (upload) --part-files", function () {
  const { dir, start, url, cli } = useCliFixture("ftpstream-part-files-");

  for (const command of ["put", "mirror"] as const) {
    it(`${command}: the target keeps its old copy while the upload runs, and is the whole new one once it is done; no part is left, exit 0`, async () => {
      const srv = await start({ files: { "/t/big.bin": "the old copy" } });
      const held = holdStor(srv, (arg) => arg.endsWith(".big.bin.ftpstream-part"));
      const source = command === "put" ? join(dir(), "big.bin") : join(dir(), "tree", "big.bin");
      mkdirSync(join(dir(), "tree"));
      writeFileSync(source, NEW);
      const run = cli(
        command === "put"
          ? ["put", source, url(srv, "t/big.bin"), "--part-files"]
          : ["mirror", join(dir(), "tree"), url(srv, "t"), "--part-files"],
      );
      const stor = await held.nth(0);
      // Every byte has reached the server: under the part name, not the target's.
      expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal("the old copy");
      stor.release();
      expect(await run.exit, run.lines.join("\n")).to.equal(0);
      expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal(NEW);
      expect(srv.vfs.exists(PART)).to.equal(false);
      expect(srv.commands.filter((line) => /^(STOR|SIZE|RNFR|RNTO) /.test(line) && line.includes("big.bin"))).to.include.ordered.members([
        "STOR t/.big.bin.ftpstream-part",
        "SIZE t/.big.bin.ftpstream-part",
        "RNFR t/.big.bin.ftpstream-part",
        "RNTO t/big.bin",
      ]);
    });
  }

  it("put: a part that holds another count than was sent is another run's: neither renamed nor deleted, the target left, exit 1", async () => {
    const srv = await start({ files: { "/t/big.bin": "the old copy" } });
    // A second run's STOR truncated the part after this run's 226.
    srv.handle("SIZE", (s, arg) => (arg.endsWith("ftpstream-part") ? s.reply(213, "7") : s.defaultHandler("SIZE", arg)));
    writeFileSync(join(dir(), "big.bin"), NEW);
    const run = await runCli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"], { cwd: dir(), stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.match(/holds 7 bytes, 20000 were sent: another run is writing it/);
    expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal("the old copy");
    expect(srv.vfs.get(PART)?.toString()).to.equal(NEW);
    expect(srv.commands.filter((line) => line.startsWith("DELE"))).to.deep.equal([]);
  });

  describe("put on a server that refuses to rename over a file that exists (RNTO 553)", () => {
    const targetCommands = (srv: FixtureServer): string[] =>
      srv.commands.filter((line) => /^(RNFR|RNTO|DELE|MLST) t\/(\.)?big\.bin|^SIZE t\/big\.bin/.test(line));

    for (const [how, features] of [
      ["MLST", undefined],
      ["SIZE (no MLST)", ["EPSV", "PASV", "MDTM", "SIZE", "UTF8"]],
    ] as const) {
      it(`deletes the target once ${how} shows it is a plain file, then renames the part over it: exit 0, no part left`, async () => {
        const srv = await start({ files: { "/t/big.bin": "the old copy" }, ...(features && { features: [...features] }) });
        refuseOverExisting(srv);
        writeFileSync(join(dir(), "big.bin"), NEW);
        const run = await runCli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"], { cwd: dir(), stdout: "ignore" });
        expect(run.code, run.stderr).to.equal(0);
        expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal(NEW);
        expect(srv.vfs.exists(PART)).to.equal(false);
        expect(targetCommands(srv)).to.deep.equal([
          "RNFR t/.big.bin.ftpstream-part",
          "RNTO t/big.bin",
          how === "MLST" ? "MLST t/big.bin" : "SIZE t/big.bin",
          "DELE t/big.bin",
          "RNFR t/.big.bin.ftpstream-part",
          "RNTO t/big.bin",
        ]);
      });
    }

    it("leaves a directory at the target alone: the refusal is reported, the part deleted, exit 1", async () => {
      const srv = await start({ files: { "/t/big.bin/inside.txt": "kept" } });
      refuseOverExisting(srv);
      writeFileSync(join(dir(), "big.bin"), NEW);
      const run = await runCli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"], { cwd: dir(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.include("553 Rename failed: file exists.");
      expect(srv.vfs.isDir("/t/big.bin")).to.equal(true);
      expect(srv.vfs.get("/t/big.bin/inside.txt")?.toString()).to.equal("kept");
      expect(srv.vfs.exists(PART)).to.equal(false);
      expect(srv.commands.filter((line) => /^(DELE|RMD) t\/big\.bin/.test(line))).to.deep.equal([]);
    });

    it("leaves a file it cannot prove is one alone (no MLST, SIZE refused): the refusal is reported, the part deleted, exit 1", async () => {
      const srv = await start({ files: { "/t/big.bin": "the old copy" }, features: ["EPSV", "PASV", "UTF8"] });
      refuseOverExisting(srv);
      srv.handle("SIZE", (s, arg) => (arg === "t/big.bin" ? s.reply(550, "Could not get file size.") : s.defaultHandler("SIZE", arg)));
      // Nor can the parent's listing tell: LIST is refused.
      srv.handle("LIST", (s) => s.reply(550, "Permission denied."));
      writeFileSync(join(dir(), "big.bin"), NEW);
      const run = await runCli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"], { cwd: dir(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.include("553 Rename failed: file exists.");
      expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal("the old copy");
      expect(srv.vfs.exists(PART)).to.equal(false);
      expect(srv.commands.filter((line) => line.startsWith("DELE t/big.bin"))).to.deep.equal([]);
    });

    it("keeps the complete upload at the part name when the rename is refused again once the target was deleted: exit 1, the error names the part", async () => {
      const srv = await start({ files: { "/t/big.bin": "the old copy" } });
      refuseOverExisting(srv, true);
      writeFileSync(join(dir(), "big.bin"), NEW);
      const run = await runCli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"], { cwd: dir(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.include(`the complete upload stays at "t/.big.bin.ftpstream-part"`);
      expect(srv.vfs.exists("/t/big.bin")).to.equal(false);
      expect(srv.vfs.get(PART)?.toString()).to.equal(NEW);
    });
  });

  it("mirror <url> <dir> --part-files is a usage error (exit 2): downloads always write local part files", async () => {
    const run = await runCli(["mirror", "ftp://127.0.0.1:1/t", dir(), "--part-files"], { stdout: "ignore" });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include("ftpstream: --part-files is for uploads: mirror <dir> <url> (downloads always write local part files)");
  });
});
