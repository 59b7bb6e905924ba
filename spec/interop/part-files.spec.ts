/**
 * uploadDir with `partFiles` against the real servers: each file STORed
 * to its part name, then renamed over the target with SIZE of the part
 * written with the RNFR (part-rename.ts). A second run's STOR of the same
 * part coming in between the first run's 226 and that check leaves the
 * first run's file failed, the target as it was and the second run's part
 * alone; and the connection goes on: proftpd refuses every command but
 * NOOP and RNTO while an RNFR waits for its RNTO (501 Bad sequence), so
 * the RNFR written with SIZE must be ended. A part the second run already
 * renamed into place is not made room for by deleting the target.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpDirTransferError, FtpError, FtpSizeMismatchError, type FtpOptions } from "../../lib/index.js";
import { controlWrites, rejectionOf } from "../core/helpers.js";
import { heldBeforePart } from "../sync/part-race.js";
import { describeServers } from "./describe-server.js";
import { FIRST_FOUR, type RealServer } from "./servers.js";

const A_COPY = "run A's whole copy of a.txt";
const B_FIRST = "run B's fir";

describeServers(
  "interop uploadDir partFiles",
  () => [{ label: "passive" }],
  ({ server }) => {
    let work: string;
    const clients: FTP[] = [];
    let dirs = 0;

    const connect = async (s: RealServer, options: FtpOptions = {}): Promise<FTP> => {
      const ftp = await FTP.create({ host: s.host, port: s.port, user: s.user, password: s.password, timeout: 20_000, ...options });
      clients.push(ftp);
      return ftp;
    };

    /** A remote directory of this test's own, holding a.txt's old copy. */
    const remoteDir = async (): Promise<string> => {
      const dir = `/parts${++dirs}`;
      const setup = await connect(server());
      await setup.mkd(dir);
      await setup.storbinary(`STOR ${dir}/a.txt`, Buffer.from("the old copy"));
      return dir;
    };

    const onServer = (remote: string): Promise<string> => fs.readFile(path.join(server().home, remote), "utf8");

    beforeEach(async () => {
      work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-parts-"));
      await fs.writeFile(path.join(work, "a.txt"), A_COPY);
      await fs.writeFile(path.join(work, "b.txt"), "bbb");
    });

    afterEach(async () => {
      for (const ftp of clients.splice(0)) ftp.close();
      await fs.rm(work, { recursive: true, force: true });
    });

    it("renames each part over its target, SIZE and RNFR written together, leaving no part", async () => {
      const dir = await remoteDir();
      const wire = controlWrites();
      const a = await connect(server(), { createConnection: wire.createConnection });
      expect(await a.uploadDir(work, dir, { partFiles: true })).to.include({ transferred: 2 });
      // The server took SIZE and RNFR in one write, and RNTO after them.
      for (const name of ["a.txt", "b.txt"]) {
        const part = `${dir}/.${name}.ftpstream-part`;
        expect(wire.writes.filter((w) => w.includes(`RNFR ${part}`) || w.includes(`RNTO ${dir}/${name}`))).to.deep.equal([
          `SIZE ${part}\r\nRNFR ${part}\r\n`,
          `RNTO ${dir}/${name}\r\n`,
        ]);
      }
      expect(await onServer(`${dir}/a.txt`)).to.equal(A_COPY);
      expect(await onServer(`${dir}/b.txt`)).to.equal("bbb");
      expect((await fs.readdir(path.join(server().home, dir))).sort()).to.deep.equal(["a.txt", "b.txt"]);
    });

    it("fails the file whose part a second run's STOR took, leaving the target and that part alone, and the connection goes on", async () => {
      const dir = await remoteDir();
      const part = `${dir}/.a.txt.ftpstream-part`;
      const race = heldBeforePart("RNFR", part, async () => {
        const b = await connect(server());
        await b.storbinary(`STOR ${part}`, Buffer.from(B_FIRST));
      });
      const a = await connect(server(), { createConnection: race.createConnection });
      const error = (await rejectionOf(a.uploadDir(work, dir, { partFiles: true }))) as FtpDirTransferError;
      expect(race.raced()).to.equal(true);
      expect(error.failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
      expect(error.failures[0].error).to.be.instanceOf(FtpSizeMismatchError);
      expect(await onServer(`${dir}/a.txt`)).to.equal("the old copy");
      expect(await onServer(part)).to.equal(B_FIRST);
      expect(await onServer(`${dir}/b.txt`)).to.equal("bbb");
      // No rename left waiting on A's connection: the next command is answered (proftpd: 501 with one waiting).
      expect(await a.size(`${dir}/b.txt`)).to.equal(3);
    });

    it("deletes nothing when the second run already renamed the part over the target", async () => {
      const dir = await remoteDir();
      const part = `${dir}/.a.txt.ftpstream-part`;
      const race = heldBeforePart("RNFR", part, async () => {
        const b = await connect(server());
        await b.storbinary(`STOR ${part}`, Buffer.from("run B's whole copy"));
        await b.rename(part, `${dir}/a.txt`);
      });
      const a = await connect(server(), { createConnection: race.createConnection });
      const error = (await rejectionOf(a.uploadDir(work, dir, { partFiles: true }))) as FtpDirTransferError;
      expect(error.failures.map((f) => [f.path, (f.error as FtpError).code])).to.deep.equal([["a.txt", "ERR_FTP_PART_FILE"]]);
      expect(await onServer(`${dir}/a.txt`)).to.equal("run B's whole copy");
    });
  },
  FIRST_FOUR,
);
