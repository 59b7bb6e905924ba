/**
 * A tree download from a source root that lists nothing, on the real
 * servers. Measured (Debian's versions in LACKS' header): vsftpd 3.0.3
 * answers LIST and NLST of a missing path with 226 and no lines (its CWD
 * says 550); proftpd answers LIST of a missing path 450, pure-ftpd 226 and
 * no lines to LIST but 550 to MLSD, pyftpdlib and Twisted 550; inetutils
 * and netkit ftpd send ls's complaint as the one line of a 226 listing.
 * For a directory the user may not read (mode 000 or 0111), proftpd and
 * pure-ftpd answer LIST with an empty 226 (MLSD: 550), vsftpd lists the
 * directory itself; pyftpdlib, Twisted and ftp-srv run as root here.
 * A missing root rejects on each of them, with or without delete (vsftpd's
 * empty answer is told by its CWD); an empty directory with delete and no
 * maxDelete deletes nothing.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpDeleteLimitError, FtpDirTransferError, FtpError, FtpListingError } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";

describeServers(
  "interop downloadDir from a source root that lists nothing",
  () => [{ label: "passive" }],
  ({ server }) => {
    let ftp: FTP;
    let local: string;

    before(async () => {
      await fs.mkdir(path.join(server().home, "empty-src"));
      const { host, port, user, password } = server();
      ftp = await FTP.create({ host, port, user, password, timeout: 10_000 });
    });

    beforeEach(async () => {
      local = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-empty-source-"));
      await fs.mkdir(path.join(local, "old"));
      await fs.writeFile(path.join(local, "old", "x.txt"), "x\n");
      await fs.writeFile(path.join(local, "mine.txt"), "mine\n");
    });

    afterEach(() => fs.rm(local, { recursive: true, force: true }));
    after(() => ftp?.close());

    for (const options of [{}, { delete: true }]) {
      it(`rejects for a root that is not there${options.delete ? ", with delete" : ""}, and changes nothing`, async () => {
        const error = await ftp.downloadDir("/no-such-dir", local, options).then(
          () => expect.fail("downloadDir of a missing root should reject"),
          (caught: unknown) => caught,
        );
        expect(error).to.be.instanceOf(FtpError);
        expect((await fs.readdir(local)).sort()).to.deep.equal(["mine.txt", "old"]);
      });
    }

    it("with delete and no maxDelete, deletes nothing for an empty directory", async () => {
      const error = await ftp.downloadDir("/empty-src", local, { delete: true }).then(
        () => expect.fail("downloadDir should refuse to delete for a source listing nothing"),
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((failure) => failure.path)).to.deep.equal(["."]);
      // Where nothing proves the empty listing was a read, that is said instead: nothing is deleted either way.
      const cause = failures[0].error;
      if (cause instanceof FtpDeleteLimitError) expect(cause.reason).to.equal("empty-source");
      else expect(cause).to.be.instanceOf(FtpListingError);
      expect((await fs.readdir(local)).sort()).to.deep.equal(["mine.txt", "old"]);
      expect(await fs.readFile(path.join(local, "old", "x.txt"), "utf8")).to.equal("x\n");
    });
  },
);
