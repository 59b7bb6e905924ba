/**
 * A path given as `./~/...` (as joinRemote spells a name beginning with
 * `~` below the working directory) names the directory `~` there; `~/...`
 * is the login's home to vsftpd, proftpd and inetutils ftpd. removeDir and
 * ensureDir split the path into its levels and dropped the `./`: ensureDir
 * sent MKD ~/sub (a directory made in the home), and removeDir listed `~`
 * (the home) to tell whether the path is a link, and on finding one there
 * sent DELE ~/link, outside the path named. The `./` is kept now. The
 * stand-in server lists the home for `~` as those servers do.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { commandsAfterLogin, useFixtures } from "../core/helpers.js";

const HOME_LINK = "lrwxrwxrwx    1 ftp      ftp             7 Jan 15 12:34 link -> /elsewhere";

describe("faults: review of paths given with ./ before a name beginning with ~", () => {
  const fx = useFixtures();

  /** The server, whose LIST of `~` or `~/...` is the home's, holding a link named link. */
  async function server(files: Record<string, string>): Promise<FixtureServer> {
    const srv = await fx.server({ files });
    srv.handle("LIST", async (s, arg) => {
      if (!/^(-a )?~(\/|$)/.test(arg)) return s.defaultHandler("LIST", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(`${HOME_LINK}\r\n`);
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  /** The commands after login whose path begins with ~ (the home's, to those servers). */
  const homeward = (srv: FixtureServer): string[] => commandsAfterLogin(srv).filter((command) => /^\S+ (-a )?~/.test(command));

  it("ensureDir('./~/sub') makes ./~ and ./~/sub, never ~/sub", async () => {
    const srv = await server({ "/r/keep.txt": "k" });
    const ftp = await fx.client(srv);
    await ftp.cwd("/r");
    await ftp.ensureDir("./~/sub");
    expect(homeward(srv)).to.deep.equal([]);
    expect(srv.vfs.isDir("/r/~/sub")).to.equal(true);
  });

  it("removeDir('./~/link') lists ./~ for the link check and removes the directory there, nothing of the home's", async () => {
    const srv = await server({ "/r/~/link/a.txt": "a", "/r/~/link/deep/b.txt": "b", "/r/other.txt": "o" });
    const ftp = await fx.client(srv);
    await ftp.cwd("/r");
    await ftp.removeDir("./~/link");
    expect(homeward(srv)).to.deep.equal([]);
    expect(srv.vfs.exists("/r/~/link")).to.equal(false);
    expect(srv.vfs.isDir("/r/~")).to.equal(true);
  });
});
