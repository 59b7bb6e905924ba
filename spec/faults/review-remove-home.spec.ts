/**
 * removeDir refuses the root and the working directory in each spelling a
 * server reads as them (FtpPathError, reason "root"). A path beginning
 * with `~` is a home directory to vsftpd, proftpd and inetutils ftpd
 * (`~user` that user's), most often the login's own root: removeDir("~")
 * listed the home, deleted everything in it, then failed at its RMD. The
 * home itself is refused now as the root is; what is below it, and a
 * directory named `~` spelled `./~` or `/~`, are removed as before (the
 * stand-in server takes `~` as a name: `~/sub` is its /~/sub).
 */
import { expect } from "chai";
import { FtpPathError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

describe("faults: review of removeDir of a home directory", () => {
  const fx = useFixtures();

  for (const path of ["~", "~/", "~/.", " ~", "~ftp", "~ftp/", "~\\"]) {
    it(`refuses ${JSON.stringify(path)} with FtpPathError (root) before sending anything`, async () => {
      const srv = await fx.server({ files: { "/home/keep.txt": "k", "/home/sub/keep.txt": "k" } });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.removeDir(path));
      expect(error).to.be.instanceOf(FtpPathError);
      expect((error as FtpPathError).reason).to.equal("root");
      expect(commandsAfterLogin(srv)).to.deep.equal([]);
      expect(srv.vfs.exists("/home/keep.txt") && srv.vfs.exists("/home/sub/keep.txt")).to.equal(true);
    });
  }

  for (const [path, gone] of [
    ["./~", "/~"],
    ["/~", "/~"],
    ["~/sub", "/~/sub"],
  ] as const) {
    it(`still removes ${JSON.stringify(path)}`, async () => {
      const srv = await fx.server({ files: { [`${gone}/a.txt`]: "a", "/home/keep.txt": "k" } });
      const ftp = await fx.client(srv);
      await ftp.removeDir(path);
      expect(srv.vfs.exists(gone)).to.equal(false);
      expect(srv.vfs.exists("/home/keep.txt")).to.equal(true);
    });
  }
});
