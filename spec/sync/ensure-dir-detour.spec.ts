/**
 * ensureDir on a server without MLST tells a directory from a file by
 * CWD there and back, inside one queue task. Under `retry` that detour
 * must stay invisible to the record of the working directory: when the
 * connection drops between the two CWDs, the new connection goes back to
 * where the session worked, not to the directory it only looked into.
 */
import { expect } from "chai";
import { defaultFeatures } from "../../fixtures/server.js";
import { FtpConnectionError } from "../../lib/index.js";
import { FaultCase, rejectsWith } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const NO_MLST = defaultFeatures(false).filter((line) => !line.startsWith("MLST"));

/** The lines from `from` on that name or change a directory (FEAT and OPTS left out). */
const dirCommands = (commands: string[], from: number): string[] => commands.slice(from).filter((line) => /^(MKD|PWD|CWD)/.test(line));

describe("ensureDir's CWD detour under retry", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it("a drop after the detour's first CWD: the reconnect restores the original directory, not the detour's", async () => {
    fc = await FaultCase.start({ features: NO_MLST, files: { "/start/": "", "/a/b/": "" } });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    await ftp.cwd("/start");
    // MKD /a/b is refused (it exists), so ensureDir looks: PWD, CWD /a/b
    // (answered, then the connection drops), and the CWD back never goes out.
    fc.srv.once("CWD", async (s, arg) => {
      await s.defaultHandler("CWD", arg);
      s.drop();
    });
    const before = fc.srv.commands.length;
    await rejectsWith(ftp.ensureDir("/a/b"), FtpConnectionError);
    const dropped = fc.srv.commands.length;
    expect(dirCommands(fc.srv.commands, before)).to.deep.equal(["MKD /a/b", "PWD", "CWD /a/b"]);
    expect(await ftp.pwd()).to.equal("/start");
    expect(fc.srv.commands.slice(dropped)).to.deep.equal(["USER user", "PASS pass", "CWD /start", "PWD"]);
  });

  it("a completed detour leaves the recorded directory where it was", async () => {
    fc = await FaultCase.start({ features: NO_MLST, files: { "/start/": "", "/a/b/": "" } });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    await ftp.cwd("/start");
    const before = fc.srv.commands.length;
    await ftp.ensureDir("/a/b");
    expect(dirCommands(fc.srv.commands, before)).to.deep.equal(["MKD /a/b", "PWD", "CWD /a/b", "CWD /start"]);
    fc.srv.once("PWD", (s) => s.drop());
    const dropped = fc.srv.commands.length;
    expect(await ftp.pwd()).to.equal("/start");
    expect(fc.srv.commands.slice(dropped)).to.deep.equal(["PWD", "USER user", "PASS pass", "CWD /start", "PWD"]);
  });
});
