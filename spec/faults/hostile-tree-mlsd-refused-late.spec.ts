/**
 * An MLSD refused with 500, 502 or 504 after its listing began: a server
 * with no MLSD refuses it before any line; one whose lines came has MLSD,
 * and the refusal is a listing that failed. Taken for "no MLSD", LIST was
 * asked instead and read with what the MLSD's lines had set: its
 * `type=cdir` line counted as the directory shown, so an empty LIST (what
 * vsftpd, proftpd and pure-ftpd send for a directory the user may enter
 * but not read) was taken for a read of an empty directory, and
 * downloadDir with delete emptied its local copy.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPermError, type ListEntry } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

describe("faults: an MLSD refused with 500, 502 or 504 after its lines", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-mlsd-refused-late-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A server whose MLSD of /r/sub sends `lines` and then `code`, and whose
   * LIST of /r/sub is empty (as for a directory the user may not read).
   */
  async function server(code: number, lines: string[]): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/keep.txt": "k", "/r/sub/a.txt": "a" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/r/sub") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
      s.reply(code, "Internal error.");
    });
    srv.handle("LIST", async (s, arg) => {
      if (arg.replace(/^-a /, "") !== "/r/sub") return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData("");
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const code of [500, 502, 504]) {
    for (const pipelining of [true, false]) {
      it(`downloadDir with delete keeps the local copy of a directory whose MLSD sent its type=cdir line and then ${code} (pipelining: ${pipelining})`, async () => {
        const srv = await server(code, ["type=cdir;perm=el; ."]);
        const ftp = await fx.client(srv);
        writeFileSync(join(dir, "keep.txt"), "k");
        mkdirSync(join(dir, "sub"));
        writeFileSync(join(dir, "sub", "local.txt"), "only here");
        let error: unknown;
        await ftp.downloadDir("/r", dir, { delete: true, pipelining }).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(FtpDirTransferError);
        const failures = (error as FtpDirTransferError).failures;
        expect(failures.map((f) => f.path)).to.deep.equal(["sub"]);
        expect(failures[0].error).to.be.instanceOf(FtpPermError).and.include({ replyCode: code });
        expect(readdirSync(join(dir, "sub"))).to.deep.equal(["local.txt"]);
        expect(srv.commands.filter((command) => /^LIST .*\/r\/sub$/.test(command))).to.deep.equal([]);
      });
    }
  }

  it("list() rejects with the refusal after MLSD lines (entries yielded or not) and asks no LIST", async () => {
    for (const lines of [["type=cdir;perm=el; ."], ["type=cdir;perm=el; .", "type=file;size=1; a.txt"]]) {
      const srv = await server(500, lines);
      const ftp = await fx.client(srv);
      const names: string[] = [];
      let error: unknown;
      try {
        for await (const entry of ftp.list("/r/sub")) names.push(entry.name);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(FtpPermError).and.include({ replyCode: 500 });
      expect(names).to.deep.equal(lines.length > 1 ? ["a.txt"] : []);
      expect(srv.commands.filter((command) => command.startsWith("LIST"))).to.deep.equal([]);
    }
  });

  it("list() still asks LIST where MLSD is refused before any line (a server without MLSD)", async () => {
    const srv = await fx.server({ files: { "/r/sub/a.txt": "a" } });
    srv.handle("MLSD", (s) => s.reply(500, "'MLSD': command not understood."));
    const ftp = await fx.client(srv);
    const entries: ListEntry[] = [];
    for await (const entry of ftp.list("/r/sub")) entries.push(entry);
    expect(entries.map((entry) => entry.name)).to.deep.equal(["a.txt"]);
    expect(srv.commands.some((command) => command.startsWith("LIST"))).to.equal(true);
  });
});
