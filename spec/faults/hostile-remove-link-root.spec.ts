/**
 * removeDir and clearDir of a path that is itself a symbolic link to a
 * directory: listed, the link shows the directory it points to (vsftpd,
 * proftpd, pure-ftpd and pyftpdlib all list it so), and the walk's checks
 * look only below the path. removeDir("/r/link") with link -> ../keep
 * deleted everything in /keep (pyftpdlib, and the others where the login
 * may delete there), and only then failed at its RMD of the link. Now the
 * parent's LIST is asked first: removeDir deletes a link it shows as the
 * link itself (DELE), as `rm -r` does, and clearDir refuses it
 * (FtpPathError, reason "link"), deleting nothing. A parent that cannot
 * be listed, or that shows the path as a directory, leaves the removal
 * as it was.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpPathError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

/** /r/link stands for a link to a directory: the fixture holds what it points to below it, and /r's LIST shows it as a link. */
const FILES = { "/r/link/precious.txt": "p", "/r/link/deep/more.txt": "m", "/r/other.txt": "o" };
const LINK_LINE = "lrwxrwxrwx    1 ftp      ftp             7 Jan 15 12:34 link -> ../keep";
const OTHER_LINE = "-rw-r--r--    1 ftp      ftp             1 Jan 15 12:34 other.txt";

describe("faults: removeDir and clearDir of a path that is a link to a directory", () => {
  const fx = useFixtures();

  /** The server; DELE of the link itself removes it (and what the fixture holds for its target stays, as it would). */
  async function server(parentListing: "link" | "refused" = "link"): Promise<FixtureServer> {
    const srv = await fx.server({ files: FILES });
    srv.handle("LIST", async (s, arg) => {
      const path = arg.replace(/^-a( |$)/, "");
      if (path !== "/r" && path !== "r" && !(path === "" && s.state.cwd === "/r")) return s.defaultHandler("LIST", arg);
      if (parentListing === "refused") return s.reply(550, "Permission denied.");
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(`${LINK_LINE}\r\n${OTHER_LINE}\r\n`);
      s.reply(226, "Directory send OK.");
    });
    srv.handle("DELE", (s, arg) => {
      if (!/^(\/?r\/)?link$/.test(arg)) return s.defaultHandler("DELE", arg);
      s.reply(250, "Delete operation successful.");
    });
    return srv;
  }

  /** The DELE and RMD the client sent below the link: each would act where the link points. */
  function throughLink(srv: FixtureServer): string[] {
    return commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) .*link\/./.test(command));
  }

  for (const [path, cwd, link] of [
    ["/r/link", undefined, "/r/link"],
    ["/r/link/", undefined, "/r/link"],
    ["r/./link", undefined, "r/link"],
    ["link", "/r", "link"],
  ] as const) {
    it(`removeDir(${JSON.stringify(path)}) deletes the link itself (DELE ${link}) and nothing it points to${cwd ? ` (in ${cwd})` : ""}`, async () => {
      const srv = await server();
      const ftp = await fx.client(srv);
      if (cwd) await ftp.cwd(cwd);
      await ftp.removeDir(path);
      expect(throughLink(srv)).to.deep.equal([]);
      expect(commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([`DELE ${link}`]);
      expect(srv.vfs.exists("/r/link/precious.txt") && srv.vfs.exists("/r/link/deep/more.txt")).to.equal(true);
    });

    it(`clearDir(${JSON.stringify(path)}) refuses with FtpPathError (link), deleting nothing${cwd ? ` (in ${cwd})` : ""}`, async () => {
      const srv = await server();
      const ftp = await fx.client(srv);
      if (cwd) await ftp.cwd(cwd);
      const error = await rejectionOf(ftp.clearDir(path));
      expect(error).to.be.instanceOf(FtpPathError);
      expect((error as FtpPathError).reason).to.equal("link");
      expect(commandsAfterLogin(srv).filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
    });
  }

  it("still removes the directory as before where its parent cannot be listed", async () => {
    const srv = await server("refused");
    const ftp = await fx.client(srv);
    await ftp.removeDir("/r/link");
    expect(srv.vfs.exists("/r/link")).to.equal(false);
    expect(srv.vfs.exists("/r/other.txt")).to.equal(true);
  });

  it("still removes a directory its parent's listing shows as one", async () => {
    const srv = await fx.server({ files: FILES });
    const ftp = await fx.client(srv);
    await ftp.removeDir("/r/link");
    expect(srv.vfs.paths().filter((p) => p.startsWith("/r/"))).to.deep.equal(["/r/other.txt"]);
    expect(commandsAfterLogin(srv)).to.include("LIST -a /r");
  });
});
