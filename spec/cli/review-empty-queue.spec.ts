/**
 * `mirror … --queue "$REDIS_URL"` with the variable unset gave --queue an
 * empty value, which read as no queue: mirror ran the transfer itself,
 * and honoured the --delete (and --dry-run) that --queue refuses, deleting
 * from the target. An empty --queue is a usage error now (exit 2), before
 * anything connects.
 */
import { expect } from "chai";
import { readdirSync, writeFileSync } from "node:fs";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream mirror --queue with an empty value", function () {
  const { dir, start, url } = useCliFixture("ftpstream-empty-queue-");

  it("is a usage error (exit 2): nothing is transferred, nothing deleted, nothing sent", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    writeFileSync(`${dir()}/keep.txt`, "local only");
    for (const flags of [
      ["--queue", ""],
      ["--queue=", "--delete"],
      ["--queue", "", "--wait"],
    ]) {
      const run = await runCli(["mirror", url(srv, "t"), dir(), ...flags], { stdout: "ignore" });
      expect(run.code, `${flags.join(" ")}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.include("ftpstream: --queue takes a redis:// URL, not an empty one");
    }
    expect(readdirSync(dir())).to.deep.equal(["keep.txt"]);
    expect(srv.commands).to.deep.equal([]);
  });
});
