/**
 * A name whose bytes are not UTF-8 (a Latin-1 server's `café.txt`, a
 * local file named so), as the CLI writes it. The library keeps each
 * byte that did not decode as an escape (U+DC80 + the byte - 0x80,
 * text-codec.ts). Written as a string, each went out as U+FFFD: `ls`
 * into a pipe gave a name that is on no server, and a message naming
 * such a file showed `caf�.txt`. Now `ls` into a pipe writes the bytes
 * as they came, and messages show the byte as `\xe9`.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

const LATIN1_NAME = Buffer.concat([Buffer.from("caf"), Buffer.from([0xe9]), Buffer.from(".txt")]);

describe("ftpstream: names whose bytes are not UTF-8", () => {
  const { dir, start, url } = useCliFixture("ftpstream-cli-undecodable-");

  it("ls into a pipe writes the name's bytes as the server sent them", async () => {
    const srv = await start({ files: { "/pub/": "" } });
    srv.handle("MLSD", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(Buffer.concat([Buffer.from("type=file;size=3;modify=20240115123456; "), LATIN1_NAME, Buffer.from("\r\n")]));
      s.reply(226, "Directory send OK.");
    });
    const run = await runCli(["ls", url(srv, "pub")]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout.toString("latin1")).to.equal(`file            3 20240115123456 ${LATIN1_NAME.toString("latin1")}\n`);
  });

  it("a message naming a local file whose name is not UTF-8 shows the byte as \\xNN, not U+FFFD", async () => {
    const srv = await start({ files: { "/u/a.txt": "a", "/u/old.txt": "old" } });
    mkdirSync(join(dir(), "up"));
    writeFileSync(join(dir(), "up", "a.txt"), "a");
    writeFileSync(Buffer.concat([Buffer.from(join(dir(), "up") + "/"), LATIN1_NAME]), "x");
    const run = await runCli(["mirror", join(dir(), "up"), url(srv, "u"), "--delete", "--exclude", "caf*"]);
    // Deletes nothing in the root for the name no string names (sync.ts's refuseUnnamed): old.txt stays, exit 3.
    expect(run.code, run.stderr).to.equal(3);
    expect(srv.vfs.exists("/u/old.txt")).to.equal(true);
    // The path it is named by (its message quotes what Node's readdir makes of it too, U+FFFD and all: that is the point it makes).
    expect(run.stderr.split("\n")[1]).to.match(/^ {2}caf\\xe9\.txt: refusing the local name/);
  });
});
