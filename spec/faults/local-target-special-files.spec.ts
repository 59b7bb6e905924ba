/**
 * A FIFO, socket or device node where a download is to put its file. The
 * part is renamed over the target, so nothing blocks on a FIFO nor is
 * written into a device, but the rename replaced the node by a regular
 * file: a named pipe another program reads from, or a device under /dev
 * for a process run as root. `ftpstream get`, the tree download's plan and
 * the queue worker refused such a target before, each for itself;
 * FtpPool.downloadSegmented did not, and replaced it, nor did a tree
 * download whose target became one after its walk (a program making its
 * FIFO there meanwhile). Both now refuse it (FtpPathError, reason
 * "special"), the node left as it was and no part file left.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILTINS } from "../../fixtures/builtins.js";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpDirTransferError, FtpPathError, FtpPool } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** Makes a socket file at `path`; resolves to its server, to close. */
function socketAt(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

describe("faults: local target, a FIFO or socket where a download puts its file", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ftpstream-special-target-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe("FtpPool.downloadSegmented", () => {
    let server: FixtureServer;
    let pool: FtpPool;
    beforeEach(async () => {
      server = await FixtureServer.start({ files: { "/f.bin": Buffer.alloc(4096, 7) } });
      pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    });
    afterEach(async () => {
      await pool.close();
      await server.close();
    });

    it("into a FIFO: refused before anything is fetched, the FIFO left, no part file", async () => {
      const target = join(root, "f.bin");
      execFileSync("mkfifo", [target]);
      const error = await rejectionOf(pool.downloadSegmented("/f.bin", target, { segments: 2, minSegmentSize: 1024 }));
      expect(error).to.be.instanceOf(FtpPathError);
      expect((error as FtpPathError).reason).to.equal("special");
      expect((error as FtpPathError).path).to.equal(target);
      expect(error.message).to.include("a FIFO");
      expect(lstatSync(target).isFIFO()).to.equal(true);
      expect(readdirSync(root)).to.deep.equal(["f.bin"]);
      expect(server.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
    });

    it("into a socket: refused, the socket left, no part file", async () => {
      const target = join(root, "f.bin");
      const listening = await socketAt(target);
      try {
        const error = await rejectionOf(pool.downloadSegmented("/f.bin", target, { segments: 2, minSegmentSize: 1024 }));
        expect((error as FtpPathError).reason).to.equal("special");
        expect(error.message).to.include("a socket");
        expect(lstatSync(target).isSocket()).to.equal(true);
        expect(readdirSync(root)).to.deep.equal(["f.bin"]);
      } finally {
        await new Promise((resolve) => listening.close(resolve));
      }
    });
  });

  describe("downloadDir", () => {
    const fixtures = useFixtures();

    for (const pipelining of [true, false]) {
      it(`a FIFO made at a file's target during its transfer (pipelining ${pipelining}): that file fails, the FIFO left, no part file; the others are written`, async () => {
        const srv = await fixtures.server({ files: { "/t/a.txt": "aaa", "/t/fifo.txt": "fff" } });
        const local = join(root, "t");
        mkdirSync(local);
        srv.handle("RETR", async (s, arg) => {
          // After the walk and the plan: the target was not there when they looked.
          if (arg.endsWith("/fifo.txt")) execFileSync("mkfifo", [join(local, "fifo.txt")]);
          await BUILTINS.RETR(s, arg);
        });
        const ftp = await fixtures.client(srv);
        const error = await rejectionOf(ftp.downloadDir("/t", local, { pipelining }));
        expect(error).to.be.instanceOf(FtpDirTransferError);
        const failures = (error as FtpDirTransferError).failures;
        expect(failures.map((f) => f.path)).to.deep.equal(["fifo.txt"]);
        expect((failures[0].error as FtpPathError).reason).to.equal("special");
        expect(lstatSync(join(local, "fifo.txt")).isFIFO()).to.equal(true);
        expect(readdirSync(local).sort()).to.deep.equal(["a.txt", "fifo.txt"]);
        expect(existsSync(join(local, ".fifo.txt.ftpstream-part"))).to.equal(false);
      });
    }
  });
});
