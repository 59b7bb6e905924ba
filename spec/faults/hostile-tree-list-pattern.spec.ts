/**
 * inetutils and netkit ftpd run LIST through `ls`, its argument split at
 * white space and each word expanded as a glob pattern: `LIST /t/sub[1]`
 * lists `/t/sub1`, (inetutils) `LIST /t/x{b,c}` lists `/t/xb`, and
 * `LIST /t/y ` (a name ending in a space) lists `/t/y`, with nothing to
 * tell it from the listing asked for when one other name matches. A tree
 * download from such a server took that listing for the directory's and,
 * with `delete`, removed the local files the other directory lacks. A
 * directory listed with LIST whose path such a server may read as another
 * is not known to be read: nothing below it is deleted, and that is a
 * failure where it spares something. MLSD takes no pattern (RFC 3659), and
 * is trusted as before.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpListingError } from "../../lib/index.js";
import { listMayNameOther } from "../../lib/list-command.js";
import { useFixtures } from "../core/helpers.js";
import { localTree } from "../sync/trees.js";

/** `pattern` as ftpd's glob reads it, as a RegExp: `[...]` a class, `{a,b}` either, all else itself. */
function globRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const close = c === "[" ? pattern.indexOf("]", i + 1) : c === "{" ? pattern.indexOf("}", i + 1) : -1;
    if (close > i) {
      const inner = pattern.slice(i + 1, close);
      out += c === "[" ? `[${inner.replace(/[\\\]^]/g, "\\$&")}]` : `(?:${inner.split(",").map(escape).join("|")})`;
      i = close;
    } else out += escape(c);
  }
  return new RegExp(`^${out}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("faults: a LIST path read as ls arguments (inetutils and netkit ftpd)", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-list-pattern-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A server of `files` that lists as inetutils ftpd does: no MLSD, and a
   * LIST path that is one word once split at white space, and that
   * matches, as a pattern, one other path, lists that one.
   */
  async function globbing(files: Record<string, string>, mlsd = false): Promise<FixtureServer> {
    const srv = await fx.server({ files });
    if (!mlsd) srv.handle("MLSD", (s) => s.reply(500, "'MLSD': command not understood."));
    srv.handle("LIST", async (s, arg) => {
      const path = arg.replace(/^-a /, "");
      const words = path.trim().split(/\s+/);
      const pattern = globRegExp(words[0]);
      const matches = srv.vfs.paths().filter((known) => known !== path && pattern.test(known));
      await s.defaultHandler("LIST", words.length === 1 && matches.length === 1 ? matches[0] : arg);
    });
    return srv;
  }

  const TREE = {
    "/t/sub[1]/precious.txt": "precious",
    "/t/sub1/other.txt": "other",
    "/t/x{b,c}/kept.txt": "kept",
    "/t/xb/elsewhere.txt": "elsewhere",
    "/t/y /spaced.txt": "spaced",
    "/t/y/plain.txt": "plain",
  };

  for (const pipelining of [true, false]) {
    it(`downloadDir with delete keeps the local files of such a directory, and names it (pipelining: ${pipelining})`, async () => {
      const ftp = await fx.client(await globbing(TREE));
      for (const name of ["sub[1]", "x{b,c}", "y "]) mkdirSync(join(dir, name));
      writeFileSync(join(dir, "sub[1]", "precious.txt"), "precious");
      writeFileSync(join(dir, "x{b,c}", "kept.txt"), "kept");
      writeFileSync(join(dir, "y ", "spaced.txt"), "spaced");
      let error: unknown;
      await ftp.downloadDir("/t", dir, { delete: true, pipelining }).catch((e: unknown) => (error = e));
      expect(localTree(dir)).to.include({ "sub[1]/precious.txt": "precious", "x{b,c}/kept.txt": "kept", "y /spaced.txt": "spaced" });
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const refused = (error as FtpDirTransferError).failures.filter((f) => f.error instanceof FtpListingError).map((f) => f.path);
      expect(refused.sort()).to.deep.equal(["sub[1]", "x{b,c}", "y "]);
    });
  }

  it("keeps the local tree when the root itself is such a path", async () => {
    const ftp = await fx.client(await globbing(TREE));
    writeFileSync(join(dir, "precious.txt"), "precious");
    let error: unknown;
    await ftp.downloadDir("/t/sub[1]", dir, { delete: true }).catch((e: unknown) => (error = e));
    expect(localTree(dir)).to.include({ "precious.txt": "precious" });
    expect(error).to.be.instanceOf(FtpDirTransferError);
  });

  it("is no failure when nothing below such a directory would be deleted", async () => {
    const ftp = await fx.client(await globbing({ "/t/sub[1]/precious.txt": "precious", "/t/a.txt": "a" }));
    mkdirSync(join(dir, "sub[1]"));
    writeFileSync(join(dir, "sub[1]", "precious.txt"), "old");
    writeFileSync(join(dir, "gone.txt"), "extra");
    await ftp.downloadDir("/t", dir, { delete: true });
    expect(localTree(dir)).to.deep.equal({ "a.txt": "a", "sub[1]": null, "sub[1]/precious.txt": "precious" });
  });

  it("deletes below such a directory when it is listed with MLSD, which takes no pattern", async () => {
    const ftp = await fx.client(await globbing(TREE, true));
    mkdirSync(join(dir, "sub[1]"));
    writeFileSync(join(dir, "sub[1]", "stale.txt"), "stale");
    await ftp.downloadDir("/t", dir, { delete: true });
    expect(localTree(dir)).to.deep.equal({
      "sub[1]": null,
      "sub[1]/precious.txt": "precious",
      sub1: null,
      "sub1/other.txt": "other",
      "x{b,c}": null,
      "x{b,c}/kept.txt": "kept",
      xb: null,
      "xb/elsewhere.txt": "elsewhere",
      "y ": null,
      "y /spaced.txt": "spaced",
      y: null,
      "y/plain.txt": "plain",
    });
  });

  it("takes as such a path one with [ or {, or beginning with ~, - or white space, or ending in white space; not * ? or a space inside", () => {
    const other = ["/t/sub[1]", "/t/x{b,c}", "~user/x", "-la", " x", "/t/y ", "/t/y\t"];
    const itself = ["/t/a*", "/t/q?x", "/t/my dir", "/t/a]b", "/t/a}b", "/t/~x", "/t/-x", "x", ""];
    expect(other.filter((path) => !listMayNameOther(path))).to.deep.equal([]);
    expect(itself.filter((path) => listMayNameOther(path))).to.deep.equal([]);
  });
});
