/**
 * An MLSD line is `fact=value;` facts, one space, then the name (RFC 3659
 * 7.2). Split at its first space, a line whose facts hold a space of their
 * own (a value with a space, a stray space before or in them) or that is
 * no facts at all gives a name that is not the file's: the real name goes
 * missing, and a tree download with `delete` took it for a file the server
 * lacks. The structured listing reads a line as an entry only when all
 * before its first space is facts; any other line is unreadable, so
 * nothing in its directory is deleted. ftplib's own mlsd() still yields
 * every line as ftplib does.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpListingError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { expectDownloadKeepsLocal } from "./tree-keeps-local.js";

const KEEP = "type=file;size=1;modify=20200101000000; keep.txt";

/** Lines standing for `important.txt` that are not `fact=value;` facts, a space and the name. */
const MALFORMED = {
  "a fact value with a space": "type=file;UNIX.ownername=John Smith;size=1;modify=20200101000000; important.txt",
  "a space before a semicolon": "type=file;size=1 ;modify=20200101000000; important.txt",
  "a LIST line (a server answering MLSD as LIST)": "-rw-r--r--    1 0        0               1 Jan 01  2020 important.txt",
  "a line that is no facts": "important.txt is here",
};

/** Lines of the MLSD servers the interop specs run (proftpd, pure-ftpd, pyftpdlib), a line without facts, and the names they give. */
const WELL_FORMED: Array<[string, string]> = [
  [
    "modify=20261207053225;perm=adfr;size=1;type=file;unique=FE00U213FF8;UNIX.group=0;UNIX.groupname=ftpstream;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftpuser; with space.txt",
    "with space.txt",
  ],
  ["type=OS.unix=slink:;size=9;modify=20261207053225;UNIX.mode=0777;UNIX.uid=0;UNIX.gid=0;unique=fe00g213ffd; link", "link"],
  ["type=file;size=1;modify=20261207053225;UNIX.mode=0644;UNIX.uid=0;UNIX.gid=0;unique=fe00g213ffb; semi;colon=x; y", "semi;colon=x; y"],
  ["modify=20261207053226;perm=radfwMT;size=1;type=file;unique=fe00g213fe1;  lead", " lead"],
  [" bare", "bare"],
];

describe("faults: MLSD lines whose facts are not facts", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-mlsd-facts-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose MLSD of /r sends `lines` (and "." first), then 226. */
  async function server(lines: string[]): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/keep.txt": "k", "/r/important.txt": "i" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/r") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(["type=cdir;perm=el; .", ...lines].map((line) => `${line}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const [what, line] of Object.entries(MALFORMED)) {
    for (const pipelining of [true, false]) {
      it(`downloadDir with delete keeps every local file beside ${what}, and names the directory (pipelining: ${pipelining})`, async () => {
        const ftp = await fx.client(await server([KEEP, line]));
        await expectDownloadKeepsLocal(ftp, dir, pipelining);
      });
    }

    it(`list() yields the other entries, then throws FtpListingError naming ${what}`, async () => {
      const ftp = await fx.client(await server([KEEP, line]));
      const names: string[] = [];
      let error: unknown;
      try {
        for await (const entry of ftp.list("/r")) names.push(entry.name);
      } catch (e) {
        error = e;
      }
      expect(names).to.deep.equal(["keep.txt"]);
      expect(error).to.be.instanceOf(FtpListingError);
      expect((error as FtpListingError).lines).to.deep.equal([line]);
    });

    it(`uploadDir with delete sends no DELE into a remote directory listing ${what}`, async () => {
      const srv = await server([KEEP, line]);
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "keep.txt"), "k");
      await ftp.uploadDir(dir, "/r", { delete: true }).catch(() => undefined);
      expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
    });
  }

  it("reads the lines real servers send, and a line without facts, as entries named as they are", async () => {
    const ftp = await fx.client(await server(WELL_FORMED.map(([line]) => line)));
    const names: string[] = [];
    for await (const entry of ftp.list("/r")) names.push(entry.name);
    expect(names).to.deep.equal(WELL_FORMED.map(([, name]) => name));
  });

  it("mlsd(), ftplib's, still yields such a line as ftplib does: split at its first space", async () => {
    const ftp = await fx.client(await server([MALFORMED["a line that is no facts"]]));
    const names: string[] = [];
    for await (const [name] of ftp.mlsd("/r")) names.push(name);
    expect(names).to.deep.equal([".", "is here"]);
  });
});
