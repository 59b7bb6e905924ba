/**
 * A dry run must not promise what the real run refuses. With an encoding
 * in which a name's bytes hold 0xFF (Telnet IAC: "ÿ" in latin1), the
 * client sends no command naming it to a server whose telnetIac handling
 * is "refuse" (the default for a server its welcome does not name, as the
 * fixture): the real run's RETR or STOR failed with ERR_FTP_TELNET_IAC
 * where the dry run listed the file as a transfer and resolved. Such a
 * path is now refused with the plan, in both runs alike; where the
 * handling sends 0xFF ("raw", "double"), it is transferred in both.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpDirTransferError, type DirTransferOptions, type FtpPathFailure } from "../../lib/index.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { useFixtures } from "../core/helpers.js";
import { localTree } from "./trees.js";

/** What a run said: files planned (onPlan, or found on the disk after a real download), each failure's path and code, and whether it resolved. */
interface Told {
  planned: string[];
  failures: string[];
  resolved: boolean;
}

const failed = (failures: readonly FtpPathFailure[]): string[] =>
  failures.map(({ path, error }) => `${path} ${(error as { code?: string }).code ?? error.name}`).sort();

/** "ÿ" is byte 0xFF in latin1, the fixture's command encoding too. */
const IAC_NAME = "\u00ff.txt";

describe("tree transfers: a dry run refuses a name holding 0xFF (Telnet IAC) where the real run's command would be refused", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-dry-run-iac-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fx = useFixtures();

  /**
   * A server reading commands as latin1 (its vfs names are those bytes as
   * latin1), holding /r/ok.txt and /r/ÿ.txt, whose MLSD of /r sends its
   * names' bytes as they are (the fixture's own listing is UTF-8).
   */
  async function server(): Promise<FixtureServer> {
    const srv = await fx.server({ commandEncoding: "latin1", files: { "/r/ok.txt": "o", [`/r/${IAC_NAME}`]: "y" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/r") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      const lines = [
        "type=cdir;modify=20240101000000; .",
        "type=file;size=1;modify=20240101000000; ok.txt",
        `type=file;size=1;modify=20240101000000; ${IAC_NAME}`,
      ];
      await s.sendData(Buffer.from(lines.map((line) => `${line}\r\n`).join(""), "latin1"));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const pipelining of [true, false]) {
    it(`download, pipelining ${pipelining ? "on" : "off"}: fails the name in the dry run as in the real run, and keeps the local namesake`, async () => {
      const srv = await server();
      const ftp = await fx.client(srv, { encoding: "latin1" });
      const runs: Told[] = [];
      let after: Record<string, string | null> = {};
      for (const dryRun of [true, false]) {
        const local = join(dir, dryRun ? "dry" : "real");
        mkdirSync(local);
        // With delete: its directory is not fully known, so nothing there is deleted in either run.
        writeFileSync(join(local, IAC_NAME), "old");
        const planned: string[] = [];
        const settings: DirTransferOptions = {
          pipelining,
          delete: true,
          ...(dryRun ? { dryRun, onPlan: (plan) => planned.push(...plan.map((file) => file.path)) } : {}),
        };
        const outcome = await ftp.downloadDir("/r", local, settings).catch((error: unknown) => error as Error);
        if (!(outcome instanceof FtpDirTransferError) && outcome instanceof Error) throw outcome;
        if (!dryRun) {
          after = localTree(local);
          planned.push(...Object.keys(after).filter((path) => path !== IAC_NAME));
        }
        const failures = outcome instanceof FtpDirTransferError ? failed(outcome.failures) : [];
        runs.push({ planned: planned.sort(), failures, resolved: !(outcome instanceof Error) });
      }
      const [dry, real] = runs;
      expect(dry).to.deep.equal({ planned: ["ok.txt"], failures: [`${IAC_NAME} ERR_FTP_TELNET_IAC`], resolved: false });
      expect(real).to.deep.equal(dry);
      expect(after).to.deep.equal({ "ok.txt": "o", [IAC_NAME]: "old" });
      // No command naming it went out.
      expect(srv.commands.filter((line) => line.includes("\u00ff"))).to.deep.equal([]);
    });
  }

  it("upload: fails the local name in the dry run as in the real run, nothing sent for it", async () => {
    const srv = await server();
    const ftp = await fx.client(srv, { encoding: "latin1" });
    const local = join(dir, "src");
    mkdirSync(local);
    writeFileSync(join(local, "ok.txt"), "new");
    writeFileSync(join(local, IAC_NAME), "new");
    const runs: Told[] = [];
    for (const dryRun of [true, false]) {
      const planned: string[] = [];
      const settings: DirTransferOptions = { dryRun, onPlan: (plan) => planned.push(...plan.map((file) => file.path)) };
      const outcome = await ftp.uploadDir(local, "/r", settings).catch((error: unknown) => error as Error);
      if (!(outcome instanceof FtpDirTransferError) && outcome instanceof Error) throw outcome;
      const failures = outcome instanceof FtpDirTransferError ? failed(outcome.failures) : [];
      runs.push({ planned: planned.sort(), failures, resolved: !(outcome instanceof Error) });
    }
    const [dry, real] = runs;
    expect(dry).to.deep.equal({ planned: ["ok.txt"], failures: [`${IAC_NAME} ERR_FTP_TELNET_IAC`], resolved: false });
    expect(real).to.deep.equal(dry);
    expect(srv.vfs.get("/r/ok.txt")?.toString()).to.equal("new");
    expect(srv.vfs.get(`/r/${IAC_NAME}`)?.toString()).to.equal("y");
    expect(srv.commands.filter((line) => line.includes("\u00ff"))).to.deep.equal([]);
  });

  // The fixture reads commands as Telnet (as GNU inetutils): "double" is how it gets the name.
  it('telnetIac "double": the name is planned and transferred in both runs', async () => {
    const srv = await server();
    const ftp = await fx.client(srv, { encoding: "latin1", telnetIac: "double" });
    const planned: string[] = [];
    await ftp.downloadDir("/r", join(dir, "dry"), { dryRun: true, onPlan: (plan) => planned.push(...plan.map((file) => file.path)) });
    expect(planned.sort()).to.deep.equal(["ok.txt", IAC_NAME]);
    await ftp.downloadDir("/r", join(dir, "real"));
    expect(localTree(join(dir, "real"))).to.deep.equal({ "ok.txt": "o", [IAC_NAME]: "y" });
  });
});
