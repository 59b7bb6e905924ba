/**
 * An upload dry run (`mirror --dry-run <dir> <url>`) listed a local name
 * holding a line feed or a carriage return as "would transfer", and exited
 * 0; the real run's STOR of that name is refused before it is sent (a CR or
 * LF in a command would inject another), as is the MKD of such a
 * directory, and that run exits 3 naming them as failed. The dry run is
 * the check before an unattended run: it now says what that run does.
 * Such names are refused with the plan, in both runs alike, and the dry
 * run lists only what the real run sends.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream mirror --dry-run (upload) of local names no command can carry", function () {
  const { dir, start, url } = useCliFixture("ftpstream-dry-run-upload-names-");

  /** A local tree with a CR name, an LF name, a directory with an LF name (holding a file) and one plain file. */
  function plant(): string {
    const local = join(dir(), "local");
    mkdirSync(join(local, "d\nir"), { recursive: true });
    writeFileSync(join(local, "a\nb.txt"), "x");
    writeFileSync(join(local, "c\rd.txt"), "x");
    writeFileSync(join(local, "d\nir/in.txt"), "x");
    writeFileSync(join(local, "ok.txt"), "x");
    return local;
  }

  const changes = (srv: FixtureServer): string[] => srv.commands.filter((line) => /^(STOR|APPE|MKD|DELE|RMD) /.test(line));

  it("fails those names as the real run does (exit 3), lists only the file it would send, changes nothing", async () => {
    const srv = await start({ files: { "/t/keep.txt": "k" } });
    const run = await runCli(["mirror", plant(), url(srv, "t"), "--dry-run"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(3);
    expect(run.stdout).to.equal("would transfer ok.txt\n");
    expect(run.stderr).to.include("ftpstream: uploadDir to t: 4 failed");
    expect(run.stderr).to.include('path contains CR, LF or NUL, which would inject another command: "t/a\\nb.txt"');
    expect(run.stderr).to.include('path contains CR, LF or NUL, which would inject another command: "t/c\\rd.txt"');
    expect(run.stderr).to.include('path contains CR, LF or NUL, which would inject another command: "t/d\\nir"');
    expect(run.stderr).to.include('path contains CR, LF or NUL, which would inject another command: "t/d\\nir/in.txt"');
    expect(changes(srv)).to.deep.equal([]);
  });

  it("the dry run's failures are the real run's, which sends the plain file alone", async () => {
    const srv = await start({ files: { "/t/keep.txt": "k" } });
    const local = plant();
    const dry = await runCli(["mirror", local, url(srv, "t"), "--dry-run"], { stdout: "text" });
    const real = await runCli(["mirror", local, url(srv, "t")], { stdout: "text" });
    expect(real.code, real.stderr).to.equal(3);
    expect(dry.stderr.split("\n").sort()).to.deep.equal(real.stderr.split("\n").sort());
    // MKD t: ensureDir of the root tries MKD first (it exists: refused, then checked).
    expect(changes(srv)).to.deep.equal(["MKD t", "STOR t/ok.txt"]);
  });
});
