/**
 * removeDir and clearDir tell a link by their parent's LIST, matching the
 * path's last name exactly. A server folding letter case (IIS, FileZilla
 * Server) or trimming names (Windows drops trailing dots and spaces) opens
 * `/r/LINK`, `/r/link.` or `/r/link ` as the link `link` its LIST shows:
 * not matched, the path was walked, and what the link points to deleted.
 * A link listed in such a spelling (and none listed by the path's own)
 * counts now. The stand-in server holds what the link points to under the
 * path as given, as such a server shows it.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpPathError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

const LINK_LINE = "lrwxrwxrwx    1 ftp      ftp             7 Jan 15 12:34 link -> ../keep";

describe("faults: review of removeDir's link check for a path spelled otherwise than the listed link", () => {
  const fx = useFixtures();

  async function server(path: string): Promise<FixtureServer> {
    const srv = await fx.server({ files: { [`${path}/precious.txt`]: "p", [`${path}/deep/more.txt`]: "m", "/r/other.txt": "o" } });
    srv.handle("LIST", async (s, arg) => {
      if (arg.replace(/^-a( |$)/, "") !== "/r") return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(`${LINK_LINE}\r\n-rw-r--r--    1 ftp      ftp             1 Jan 15 12:34 other.txt\r\n`);
      s.reply(226, "Directory send OK.");
    });
    srv.handle("DELE", (s, arg) => (arg === path ? s.reply(250, "Delete operation successful.") : s.defaultHandler("DELE", arg)));
    return srv;
  }

  const removals = (srv: FixtureServer): string[] => commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command));

  for (const path of ["/r/LINK", "/r/Link.", "/r/link "]) {
    it(`removeDir(${JSON.stringify(path)}) deletes the link itself, nothing it points to`, async () => {
      const srv = await server(path);
      const ftp = await fx.client(srv);
      await ftp.removeDir(path);
      expect(removals(srv)).to.deep.equal([`DELE ${path}`]);
      expect(srv.vfs.exists(`${path}/precious.txt`)).to.equal(true);
    });

    it(`clearDir(${JSON.stringify(path)}) refuses it (FtpPathError, link), deleting nothing`, async () => {
      const srv = await server(path);
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.clearDir(path));
      expect(error).to.be.instanceOf(FtpPathError);
      expect((error as FtpPathError).reason).to.equal("link");
      expect(removals(srv)).to.deep.equal([]);
    });
  }

  it("still walks a directory listed by its own spelling beside a link spelled otherwise", async () => {
    const srv = await fx.server({ files: { "/r/LINK/a.txt": "a", "/r/other.txt": "o" } });
    srv.handle("LIST", async (s, arg) => {
      if (arg.replace(/^-a( |$)/, "") !== "/r") return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(`${LINK_LINE}\r\ndrwxr-xr-x    2 ftp      ftp          4096 Jan 15 12:34 LINK\r\n`);
      s.reply(226, "Directory send OK.");
    });
    const ftp = await fx.client(srv);
    await ftp.removeDir("/r/LINK");
    expect(removals(srv)).to.deep.equal(["DELE /r/LINK/a.txt", "RMD /r/LINK"]);
  });
});
