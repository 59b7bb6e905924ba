/**
 * removeDir refuses the root and the working directory (`/`, `""`, `.`)
 * before anything is sent. It took other spellings of them for a
 * directory below: a Windows server (IIS, FileZilla Server) separates
 * segments at `\` too, so `\` is its root and `.\` its working directory,
 * and drops a segment's trailing dots and spaces, so ` ` and `. ` are `.`
 * there. removeDir(" ") listed the working directory on such a server,
 * deleted everything in it, and only then failed at its RMD. Each such
 * spelling is now refused as `.` is (FtpPathError, reason "root").
 */
import { expect } from "chai";
import { FtpPathError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

/** A path as a Windows server opens it: `\` a separator, each segment without its trailing dots and spaces (`.` where none is left). */
function windowsPath(path: string): string {
  return path
    .replace(/\\/g, "/")
    .split("/")
    .map((segment) => (/^\.{1,2}$/.test(segment) ? segment : segment.replace(/[. ]+$/, "") || (segment && ".")))
    .join("/");
}

describe("faults: removeDir of the root or the working directory spelled as a Windows server reads it", () => {
  const fx = useFixtures();

  for (const path of [" ", "/ ", ". ", "/. ", "\\", ".\\", "\\. ", "./ /.", " \\ "]) {
    it(`refuses ${JSON.stringify(path)} with FtpPathError (root) before sending anything, and deletes nothing`, async () => {
      const srv = await fx.server({ files: { "/home/keep.txt": "k", "/home/sub/keep.txt": "k" } });
      for (const verb of ["CWD", "LIST", "MLSD", "DELE", "RMD"]) {
        srv.handle(verb, (s, arg) => s.defaultHandler(verb, windowsPath(arg)));
      }
      const ftp = await fx.client(srv);
      await ftp.cwd("/home");
      const sentBefore = commandsAfterLogin(srv).length;
      const error = await rejectionOf(ftp.removeDir(path));
      expect(error).to.be.instanceOf(FtpPathError);
      expect((error as FtpPathError).reason).to.equal("root");
      expect(commandsAfterLogin(srv).slice(sentBefore)).to.deep.equal([]);
      expect(srv.vfs.paths().filter((p) => p.startsWith("/home/"))).to.have.members(["/home/keep.txt", "/home/sub", "/home/sub/keep.txt"]);
    });
  }

  it("still removes a directory whose name has blanks and dots around a letter (' d. ') on a server that opens names as given", async () => {
    const srv = await fx.server({ files: { "/ d. /x.txt": "x", "/keep.txt": "k" } });
    const ftp = await fx.client(srv);
    await ftp.removeDir(" d. ");
    expect(srv.vfs.paths().filter((p) => p !== "/")).to.deep.equal(["/keep.txt"]);
  });
});
