/**
 * Under `retry`, what a reconnect replays of the session's directory
 * changes stays bounded for a client that lives for days. A loop that
 * changes into a directory and back up (cwd("in"), cwd("..")) recorded two
 * more steps each time, kept them for the client's life, and a reconnect
 * sent every one again: 400 CWDs and CDUPs after 200 rounds. Now a PWD
 * (the caller's pwd(), or one the client asks after each
 * MAX_REPLAYED_DIRS changes) replaces them with the directory it names.
 */
import { expect } from "chai";
import type { FTP } from "../../lib/index.js";
import { MAX_REPLAYED_DIRS } from "../../lib/reconnect.js";
import { FaultCase } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const ROUNDS = 200;

describe("retry: the directory changes a reconnect replays stay bounded", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  /** cwd into /d/in and back up, ROUNDS times. */
  async function inAndOut(ftp: FTP): Promise<void> {
    for (let i = 0; i < ROUNDS; i++) {
      await ftp.cwd("in");
      await ftp.cwd("..");
    }
  }

  /** The directory commands the server got from the last login on. */
  function replayed(): string[] {
    const commands = fc.srv.commands;
    return commands.slice(commands.lastIndexOf("PASS pass")).filter((line) => /^(CWD|CDUP|PWD)/.test(line));
  }

  it("after pwd(), a reconnect changes to the directory PWD named, with one CWD", async () => {
    fc = await FaultCase.start({ files: { "/d/in/x": "x", "/f": "1" } });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    await ftp.cwd("/d");
    await inAndOut(ftp);
    expect(await ftp.pwd()).to.equal("/d");
    fc.srv.once("SIZE", (s) => s.drop());
    expect(await ftp.size("/f")).to.equal(1);
    expect(fc.srv.sessions).to.have.length(2);
    expect(replayed()).to.deep.equal(["CWD /d"]);
    expect(await ftp.pwd()).to.equal("/d");
    ftp.close();
    await fc.expectNoLeaks();
  });

  it(`without pwd(), the client asks PWD after every ${MAX_REPLAYED_DIRS} changes: a reconnect replays fewer than that`, async () => {
    fc = await FaultCase.start({ files: { "/d/in/x": "x", "/f": "1" } });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    await ftp.cwd("/d");
    await inAndOut(ftp);
    const asked = fc.srv.commands.filter((line) => line === "PWD").length;
    expect(asked).to.equal(Math.floor((2 * ROUNDS) / MAX_REPLAYED_DIRS));
    fc.srv.once("SIZE", (s) => s.drop());
    expect(await ftp.size("/f")).to.equal(1);
    expect(fc.srv.sessions).to.have.length(2);
    const again = replayed();
    expect(again[0]).to.equal("CWD /d");
    expect(again).to.have.length(1 + ((2 * ROUNDS) % MAX_REPLAYED_DIRS));
    expect(await ftp.pwd()).to.equal("/d");
    ftp.close();
    await fc.expectNoLeaks();
  });

  it("a server whose PWD names its directories in another form (C:\\d) still gets a bounded list, replayed with that form", async () => {
    fc = await FaultCase.start({ files: { "/d/in/x": "x", "/f": "1" } });
    // As a Windows server answers: the drive and backslashes, which its CWD takes back.
    fc.srv.handle("PWD", (s) => s.reply(257, `"C:${s.state.cwd.replaceAll("/", "\\")}" is current directory.`));
    fc.srv.handle("CWD", (s, arg) => {
      const path = arg.startsWith("C:") ? arg.slice(2).replaceAll("\\", "/") : s.resolvePath(arg);
      if (!s.vfs.isDir(path)) return s.reply(550, "The system cannot find the path specified.");
      s.state.cwd = path;
      s.reply(250, "CWD command successful.");
    });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    await ftp.cwd("d");
    await inAndOut(ftp);
    fc.srv.once("SIZE", (s) => s.drop());
    expect(await ftp.size("/f")).to.equal(1);
    expect(fc.srv.sessions).to.have.length(2);
    const again = replayed();
    expect(again[0]).to.equal("CWD C:\\d");
    expect(again.length, "directory commands replayed").to.be.at.most(MAX_REPLAYED_DIRS + 1);
    expect(await ftp.pwd()).to.equal("C:\\d");
    ftp.close();
    await fc.expectNoLeaks();
  });

  it("sendcmds() bursts of directory changes are bounded too: PWD after the burst, and a reconnect lands where the burst left", async () => {
    fc = await FaultCase.start({ files: { "/d/in/x": "x", "/f": "1" } });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    await ftp.cwd("/d");
    const burst = Array.from({ length: ROUNDS }, (_, i) => (i % 2 === 0 ? "CWD in" : "CDUP"));
    await ftp.sendcmds([...burst, "CWD in"]);
    expect(fc.srv.commands.filter((line) => line === "PWD").length, "PWDs asked").to.be.at.least(1);
    fc.srv.once("SIZE", (s) => s.drop());
    expect(await ftp.size("/f")).to.equal(1);
    expect(fc.srv.sessions).to.have.length(2);
    expect(replayed()).to.have.length.below(MAX_REPLAYED_DIRS + 1);
    expect(await ftp.pwd()).to.equal("/d/in");
    ftp.close();
    await fc.expectNoLeaks();
  });
});
