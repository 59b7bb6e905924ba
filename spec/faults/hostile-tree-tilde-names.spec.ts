/**
 * A tree operation on the working directory ("") put a listed name at the
 * start of each path it sent: `DELE ~/x.txt` for the x.txt in a directory
 * named `~`. vsftpd, proftpd and inetutils ftpd read a `~` that begins a
 * path as a home directory (`~user` as that user's), so clearDir("") and
 * uploadDir to "" with `delete` deleted the home's x.txt, outside the
 * tree, and left the listed one. Such a name now goes as `./~`, as every
 * server reads it. The stand-in server here reads `~` as /home does.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { useFixtures } from "../core/helpers.js";

/** The verbs that take a path, each reading a `~` that begins it as /home (as vsftpd does). */
const PATH_VERBS = ["DELE", "RMD", "MKD", "STOR", "RETR", "SIZE", "MDTM", "MLSD", "MLST", "LIST", "NLST", "CWD"];

const FILES = {
  "/home/x.txt": "the home's",
  "/home/~keep/y.txt": "the home's",
  "/work/~/x.txt": "listed",
  "/work/~keep/y.txt": "listed",
  "/work/same.txt": "s",
};

describe("faults: a listed name beginning with ~ below the working directory", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-tilde-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function server(): Promise<FixtureServer> {
    const srv = await fx.server({ files: FILES });
    for (const verb of PATH_VERBS) {
      srv.handle(verb, (s, arg) => {
        const [, option = "", path] = /^(-a(?: |$))?(.*)$/.exec(arg)!;
        return s.defaultHandler(verb, option + (path.startsWith("~") ? `/home${path.slice(1)}` : path));
      });
    }
    return srv;
  }

  /** What the server holds below /home: none of it is in the tree. */
  function home(srv: FixtureServer): string[] {
    return srv.vfs.paths().filter((path) => path.startsWith("/home/"));
  }

  it('clearDir("") empties the working directory and deletes nothing in the home directory', async () => {
    const srv = await server();
    const ftp = await fx.client(srv);
    await ftp.cwd("/work");
    await ftp.clearDir("");
    expect(srv.vfs.paths().filter((path) => path.startsWith("/work/"))).to.deep.equal([]);
    expect(home(srv)).to.have.members(["/home/x.txt", "/home/~keep", "/home/~keep/y.txt"]);
    expect(srv.commands).to.include.members(["DELE ./~/x.txt", "RMD ./~", "DELE ./~keep/y.txt", "RMD ./~keep"]);
  });

  for (const pipelining of [true, false]) {
    it(`uploadDir to "" with delete removes the listed ~ and ~keep, not the home's (pipelining: ${pipelining})`, async () => {
      const srv = await server();
      const ftp = await fx.client(srv);
      await ftp.cwd("/work");
      writeFileSync(join(dir, "same.txt"), "s");
      await ftp.uploadDir(dir, "", { delete: true, pipelining });
      expect(srv.vfs.paths().filter((path) => path.startsWith("/work/"))).to.deep.equal(["/work/same.txt"]);
      expect(home(srv)).to.have.members(["/home/x.txt", "/home/~keep", "/home/~keep/y.txt"]);
    });

    it(`downloadDir of "" fetches the listed ~/x.txt, not the home's (pipelining: ${pipelining})`, async () => {
      const srv = await server();
      const ftp = await fx.client(srv);
      await ftp.cwd("/work");
      await ftp.downloadDir("", dir, { pipelining });
      expect(readFileSync(join(dir, "~", "x.txt"), "utf8")).to.equal("listed");
      expect(readFileSync(join(dir, "~keep", "y.txt"), "utf8")).to.equal("listed");
    });
  }

  it('walk("") gives the listed entries by paths every server reads as they are', async () => {
    const srv = await server();
    const ftp = await fx.client(srv);
    await ftp.cwd("/work");
    const paths: string[] = [];
    for await (const { path } of ftp.walk("")) paths.push(path);
    expect(paths.sort()).to.deep.equal(["./~", "./~/x.txt", "./~keep", "./~keep/y.txt", "same.txt"]);
  });
});
