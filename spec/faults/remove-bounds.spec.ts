/**
 * removeDir and clearDir walk the whole tree, bounded as a tree transfer's
 * walk is (lib/tree-bounds.ts), before their first DELE: a server that
 * answers every directory with one more below it, or lists more entries
 * than the bound, fails the call with FtpLimitError and nothing deleted,
 * instead of being walked (and deleted from) for ever with memory growing.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpLimitError } from "../../lib/index.js";
import type { ListEntry } from "../../lib/listing.js";
import { removeDir, type RemoteClient } from "../../lib/remote-ops.js";
import type { Session } from "../../lib/session.js";
import { useFixtures } from "../core/helpers.js";

describe("faults: removeDir and clearDir on a tree without a bottom or an end", () => {
  const fx = useFixtures();

  /**
   * A server whose every MLSD lists a file `f.txt` and one directory `name`
   * in it; it acknowledges every DELE and RMD without doing it, and takes
   * command lines of any length. Past `giveUpAfter` listings (more than the
   * bounds allow) it refuses with 550, so a walk without a bound fails
   * instead of running on.
   */
  async function bottomless(
    name: string,
    giveUpAfter: number,
  ): Promise<{ srv: FixtureServer; listings: () => number; deletes: () => string[] }> {
    const srv = await fx.server({ files: { "/d/": "" }, maxLineLength: 1 << 30 });
    let listings = 0;
    const deletes: string[] = [];
    srv.handle("MLSD", async (s) => {
      if (++listings > giveUpAfter) return s.reply(550, "Enough.");
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(
        `type=cdir;perm=el; .\r\ntype=file;size=1;modify=20200101000000; f.txt\r\ntype=dir;perm=el;modify=20200101000000; ${name}\r\n`,
      );
      s.reply(226, "Directory send OK.");
    });
    for (const verb of ["DELE", "RMD"]) {
      srv.handle(verb, (s, arg) => {
        deletes.push(`${verb} ${arg}`);
        s.reply(250, "Done.");
      });
    }
    return { srv, listings: () => listings, deletes: () => deletes };
  }

  it("removeDir stops with FtpLimitError (treeDepth) after 1,000 levels, having deleted nothing", async () => {
    const { srv, listings, deletes } = await bottomless("a", 1100);
    const ftp = await fx.client(srv);
    let error: unknown;
    await ftp.removeDir("/d").catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "treeDepth", max: 1000 });
    // "/d" and the 1,000 levels below it were listed; the 1,001st was not.
    expect(listings()).to.equal(1001);
    expect(deletes()).to.deep.equal([]);
  });

  it("clearDir stops at 32,767 characters below the directory, whatever the depth, having deleted nothing", async () => {
    const { srv, listings, deletes } = await bottomless("n".repeat(4000), 20);
    const ftp = await fx.client(srv);
    let error: unknown;
    await ftp.clearDir("/d").catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "treeDepth" });
    // "/d" and 8 levels of 4,000 characters (32,007 with the slashes) were listed; the 9th level is too long.
    expect(listings()).to.equal(9);
    expect(deletes()).to.deep.equal([]);
  });

  it("still removes a bounded tree, everything in a directory before its RMD", async () => {
    const srv = await fx.server({ files: { "/t/a.txt": "a", "/t/s/b.txt": "b", "/t/s/u/c.txt": "c", "/t/e/": "" } });
    const ftp = await fx.client(srv);
    await ftp.removeDir("/t");
    expect(srv.vfs.exists("/t")).to.equal(false);
    const removals = srv.commands.filter((line) => /^(DELE|RMD) /.test(line));
    expect(removals).to.have.length(7);
    for (const [i, line] of removals.entries()) {
      const path = line.slice(line.indexOf(" ") + 1);
      // Nothing below a path is removed after it.
      expect(
        removals.slice(i + 1).some((later) => later.includes(`${path}/`)),
        line,
      ).to.equal(false);
    }
  });
});

describe("removeDir: the bound on entries", () => {
  /** A RemoteClient whose every directory lists `files` files and whose commands are recorded, not sent. */
  function wide(files: number): { client: RemoteClient; sent: string[] } {
    const sent: string[] = [];
    // All a delete asks of its session.
    const session = {
      voidCommand: async (line: string): Promise<string> => {
        sent.push(line);
        return "250 Done.";
      },
    } as unknown as Session;
    const client: RemoteClient = {
      run: (task) => task(session),
      async *list(): AsyncIterable<ListEntry> {
        for (let i = 0; i < files; i++) {
          yield { name: `f${i}`, type: "file", size: 1, modified: null, permissions: null, target: null, raw: `type=file;size=1; f${i}` };
        }
      },
    };
    return { client, sent };
  }

  it("refuses, with FtpLimitError (treeEntries) and nothing deleted, a directory listing more entries than the bound", async () => {
    const { client, sent } = wide(11);
    let error: unknown;
    await removeDir(client, "d", { maxEntries: 10 }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "treeEntries", max: 10 });
    expect(sent).to.deep.equal([]);
  });

  it("takes a tree of exactly the bound", async () => {
    const { client, sent } = wide(10);
    await removeDir(client, "d", { maxEntries: 10 });
    expect(sent).to.have.length(11);
    expect(sent[10]).to.equal("RMD d");
  });
});
