/**
 * removeDir and clearDir ask their parent's LIST whether the path is a
 * link before walking it (a link's listing shows where it points). That
 * check took any failure of the LIST as "not known" and walked on: a
 * listing that broke off after some entries (a 426, a data connection
 * lost) or ran past its bound may hold the link in what was not read,
 * and the walk then deleted what the link points to. Now only a LIST
 * refused outright (a reply, nothing listed: a parent the login may not
 * read) leaves the removal as it was; a broken or overlong one rejects
 * with nothing deleted. A parent whose LIST a server may read as a
 * pattern or an option (`/a[1]`, `-d`) was not asked at all: a link below
 * it was walked into; it is asked now (`-d` as `./-d`).
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpError, FtpLimitError } from "../../lib/index.js";
import { removeDir, type RemoteClient } from "../../lib/remote-ops.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

/** /r/link stands for a link to a directory: the fixture holds what it points to below it. */
const FILES = { "/r/link/precious.txt": "p", "/r/link/deep/more.txt": "m", "/r/other.txt": "o" };
const LINK_LINE = "lrwxrwxrwx    1 ftp      ftp             7 Jan 15 12:34 link -> ../keep";
const fileLine = (name: string): string => `-rw-r--r--    1 ftp      ftp             1 Jan 15 12:34 ${name}`;

describe("faults: review of removeDir's link check when the parent's LIST is cut", () => {
  const fx = useFixtures();

  /** The server, whose LIST of /r is `lines` (the link last) and then `end`. */
  async function server(lines: string[], end: [number, string]): Promise<FixtureServer> {
    const srv = await fx.server({ files: FILES });
    srv.handle("LIST", async (s, arg) => {
      const path = arg.replace(/^-a( |$)/, "");
      if (path !== "/r") return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
      s.reply(...end);
    });
    return srv;
  }

  /** Nothing was deleted, of the link's target or anything else. */
  function expectNothingDeleted(srv: FixtureServer): void {
    expect(commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
    expect(["/r/link/precious.txt", "/r/link/deep/more.txt", "/r/other.txt"].every((p) => srv.vfs.exists(p))).to.equal(true);
  }

  for (const remove of ["removeDir", "clearDir"] as const) {
    it(`${remove} rejects, deleting nothing, when the parent's LIST breaks off (426) after some entries`, async () => {
      const srv = await server([fileLine("other.txt")], [426, "Connection closed; transfer aborted."]);
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp[remove]("/r/link"));
      expect(error).to.be.instanceOf(FtpError);
      expectNothingDeleted(srv);
    });
  }

  it("removeDir rejects with FtpLimitError, deleting nothing, when the parent lists more than its bound before the link", async () => {
    const srv = await server([fileLine("a"), fileLine("b"), fileLine("c"), LINK_LINE], [226, "Directory send OK."]);
    const ftp = await fx.client(srv);
    const client = (ftp as unknown as { remote: RemoteClient }).remote;
    const error = await rejectionOf(removeDir(client, "/r/link", { maxParentEntries: 3 }));
    expect(error).to.be.instanceOf(FtpLimitError);
    expectNothingDeleted(srv);
  });

  it("takes a parent listing of exactly the bound, and deletes the link itself", async () => {
    const srv = await server([fileLine("a"), fileLine("b"), LINK_LINE], [226, "Directory send OK."]);
    srv.handle("DELE", (s, arg) => (arg === "/r/link" ? s.reply(250, "Delete operation successful.") : s.defaultHandler("DELE", arg)));
    const ftp = await fx.client(srv);
    const client = (ftp as unknown as { remote: RemoteClient }).remote;
    await removeDir(client, "/r/link", { maxParentEntries: 3 });
    expect(commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal(["DELE /r/link"]);
  });

  for (const [parent, listedAs] of [
    ["/r[1]", "/r[1]"],
    ["/r{a,b}", "/r{a,b}"],
    ["-d", "./-d"],
  ] as const) {
    it(`removeDir asks the LIST of a parent a server may read as a pattern or an option (${parent}) too, and deletes the link itself`, async () => {
      const srv = await fx.server({ files: { [`/${parent.replace(/^\//, "")}/link/precious.txt`]: "p", "/r/other.txt": "o" } });
      srv.handle("LIST", async (s, arg) => {
        if (arg.replace(/^-a( |$)/, "") !== listedAs) return s.defaultHandler("LIST", arg);
        s.reply(150, "Here comes the directory listing.");
        await s.sendData(`${LINK_LINE}\r\n`);
        s.reply(226, "Directory send OK.");
      });
      srv.handle("DELE", (s, arg) =>
        arg === `${parent}/link` ? s.reply(250, "Delete operation successful.") : s.defaultHandler("DELE", arg),
      );
      const ftp = await fx.client(srv);
      await ftp.removeDir(`${parent}/link`);
      expect(commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([`DELE ${parent}/link`]);
      expect(srv.vfs.exists(`/${parent.replace(/^\//, "")}/link/precious.txt`)).to.equal(true);
    });
  }
});
