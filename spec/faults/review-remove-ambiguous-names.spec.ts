/**
 * removeDir and clearDir of a name its parent's LIST shows in more than
 * one way. A link line is `name -> target`: where the name or the target
 * holds ` -> ` (`a -> b -> ../keep`), the line was unreadable and passed
 * over, and `a -> b` was walked as the directory it seemed, what the link
 * points to deleted; a line `a -> b` (the link `a`, or on a server showing
 * no targets the link `a -> b`) left `a -> b` walked too. And a path
 * ending in blanks (`dir `, `dir\t`) whose parent holds both it and
 * `dir`: a server trimming its argument opens `dir`, a link there, and the
 * walk deleted what it points to. Each now fails with FtpPathError
 * (`"ambiguous"`), nothing deleted. The stand-in server holds what a link
 * points to under the path as given, as such a server shows it.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpPathError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

const line = (kind: "d" | "l" | "-", name: string): string => `${kind}rwxrwxrwx    1 ftp      ftp             7 Jan 15 12:34 ${name}`;

describe("faults: review of removeDir and clearDir of names a LIST shows in more than one way", () => {
  const fx = useFixtures();

  /** A server whose LIST of /r gives `lines`, holding /r/other.txt and, below `path`, what a walk of it would delete. */
  async function server(path: string, lines: string[]): Promise<FixtureServer> {
    const srv = await fx.server({ files: { [`${path}/precious.txt`]: "p", [`${path}/deep/more.txt`]: "m", "/r/other.txt": "o" } });
    srv.handle("LIST", async (s, arg) => {
      if (arg.replace(/^-a( |$)/, "") !== "/r") return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData([...lines, "-rw-r--r--    1 ftp      ftp             1 Jan 15 12:34 other.txt"].map((l) => `${l}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  const removals = (srv: FixtureServer): string[] => commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command));

  const cases: Array<[string, string, string[]]> = [
    ["the link `a -> b` to ../keep, or `a` to `b -> ../keep`", "/r/a -> b", [line("l", "a -> b -> ../keep")]],
    ["the same line, the path its shorter reading", "/r/a", [line("l", "a -> b -> ../keep")]],
    ["the link `a` to `b`, or `a -> b` on a server showing no targets", "/r/a -> b", [line("l", "a -> b")]],
    ["`dir` (a link) and `dir ` (a directory), the path `dir `", "/r/dir ", [line("l", "dir -> ../keep"), line("d", "dir ")]],
    ["`dir` (a link) and `dir\\t` (a directory), the path `dir\\t`", "/r/dir\t", [line("l", "dir -> ../keep"), line("d", "dir\t")]],
    ["`dir` and `dir `, both directories, the path `dir `", "/r/dir ", [line("d", "dir"), line("d", "dir ")]],
  ];
  for (const [what, path, lines] of cases) {
    for (const method of ["removeDir", "clearDir"] as const) {
      it(`${method}(${JSON.stringify(path)}) beside ${what}: FtpPathError (ambiguous), nothing deleted`, async () => {
        const srv = await server(path, lines);
        const ftp = await fx.client(srv);
        const error = await rejectionOf(ftp[method](path));
        expect(error).to.be.instanceOf(FtpPathError);
        expect((error as FtpPathError).reason).to.equal("ambiguous");
        expect(removals(srv)).to.deep.equal([]);
        expect(srv.vfs.exists(`${path}/precious.txt`)).to.equal(true);
      });
    }
  }

  it("a walk that finds `d ` beside `d` refuses before deleting anything (its LIST, DELE or RMD of `d ` would reach `d` on a trimming server)", async () => {
    const srv = await fx.server({ files: { "/r/t/d /x.txt": "x", "/r/t/d/y.txt": "y", "/r/t/z.txt": "z" } });
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.removeDir("/r/t"));
    expect(error).to.be.instanceOf(FtpPathError);
    expect(error).to.include({ reason: "ambiguous", path: "/r/t/d " });
    expect(removals(srv)).to.deep.equal([]);
  });

  it("still removes a directory named `a -> b` (a `d` line) and one named `dir ` listed alone", async () => {
    for (const [path, lines] of [
      ["/r/a -> b", [line("d", "a -> b")]],
      ["/r/dir ", [line("d", "dir ")]],
    ] as const) {
      const srv = await server(path, [...lines]);
      const ftp = await fx.client(srv);
      await ftp.removeDir(path);
      expect(srv.vfs.exists(path)).to.equal(false);
      expect(srv.vfs.get("/r/other.txt")?.toString()).to.equal("o");
    }
  });
});
