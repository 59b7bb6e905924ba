/**
 * maxEntries bounds the entries of a listing, but a listing may also send
 * lines that are no entry: the directory itself and its parent (`.`,
 * `..`, MLSD's cdir and pdir), blank lines, `total N`, lines that cannot
 * be read. A server sending nothing else, without end, held nothing but
 * was read for as long as it sent: walk(), removeDir and the tree
 * transfers never settled. Such lines are bounded as entries are (ListOptions.maxNonEntryLines,
 * which walk(), removeDir and the tree transfers set to their bound): past it the
 * listing is aborted with FtpLimitError, and the client goes on.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpLimitError } from "../../lib/index.js";
import { removeDir } from "../../lib/remote-ops.js";
import { useFixtures } from "../core/helpers.js";

/** The bound the specs set. */
const MAX = 1000;
/** Lines the server sends at most: many times MAX (a listing read to its end settles otherwise than one stopped at the bound). */
const SENT = 20_000;

/** Each kind of line that is no entry, as MLSD or LIST sends it. */
const NON_ENTRIES: Array<{ what: string; verb: "MLSD" | "LIST"; line: string }> = [
  { what: "MLSD's cdir", verb: "MLSD", line: "type=cdir;perm=el; ." },
  { what: "MLSD's pdir", verb: "MLSD", line: "type=pdir;perm=el; .." },
  { what: "an MLSD line that cannot be read", verb: "MLSD", line: "garbage" },
  { what: "LIST's '.'", verb: "LIST", line: "drwxr-xr-x    2 0        0            4096 Jan 01  2020 ." },
  { what: "a blank line", verb: "LIST", line: "" },
  { what: "'total N'", verb: "LIST", line: "total 8" },
  { what: "a LIST line that cannot be read", verb: "LIST", line: "garbage" },
];

describe("faults: a listing of lines that are no entry, without end", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-non-entries-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose listings of /r/sub send `line` SENT times (or until the client closes the data connection), then 226. */
  async function server(verb: "MLSD" | "LIST", line: string): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/sub/": "", "/r/a.txt": "a" } });
    if (verb === "LIST") srv.handle("MLSD", (s) => s.reply(500, "Unknown command."));
    let sent = 0;
    srv.handle(verb, async (s, arg) => {
      if (arg.replace(/^-a ?/, "") !== "/r/sub") return s.defaultHandler(verb, arg);
      s.reply(150, "Here comes the directory listing.");
      const sock: Socket = await s.openData();
      const chunk = Buffer.from(`${line}\r\n`.repeat(1000));
      while (sent < SENT && !sock.destroyed) {
        sent += 1000;
        if (!sock.write(chunk)) await new Promise((resolve) => sock.once("drain", resolve).once("close", resolve));
      }
      sock.end();
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const { what, verb, line } of NON_ENTRIES) {
    it(`downloadDir stops with FtpLimitError at maxEntries lines of ${what}, and the client goes on`, async () => {
      const srv = await server(verb, line);
      const ftp = await fx.client(srv);
      let error: unknown;
      await ftp.downloadDir("/r", dir, { maxEntries: MAX, pipelining: false }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpLimitError);
      expect(await ftp.pwd()).to.equal("/");
    });

    it(`removeDir stops the same way at its bound's lines of ${what}, having deleted nothing`, async () => {
      const srv = await server(verb, line);
      const ftp = await fx.client(srv);
      const client = { run: () => Promise.reject(new Error("nothing is to be deleted")), list: ftp.list.bind(ftp) };
      let error: unknown;
      await removeDir(client, "/r/sub", { maxEntries: MAX }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpLimitError);
      expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
    });

    it(`walk() stops the same way at maxEntries lines of ${what}`, async () => {
      const srv = await server(verb, line);
      const ftp = await fx.client(srv);
      let error: unknown;
      try {
        for await (const entry of ftp.walk("/r", { maxEntries: MAX, onUnreadable: () => undefined })) void entry;
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(FtpLimitError);
    });
  }

  it("walk() stops at maxEntries entries whose name is not one path segment (reported, not held)", async () => {
    const srv = await server("MLSD", "type=file;size=1; a\\b");
    const ftp = await fx.client(srv);
    let reported = 0;
    let error: unknown;
    try {
      for await (const entry of ftp.walk("/r", { maxEntries: MAX, onUnreadable: () => void reported++ })) void entry;
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(reported).to.equal(MAX);
  });

  it("list() takes maxNonEntryLines lines that are no entry, and throws at the next", async () => {
    const srv = await fx.server({ files: { "/r/": "" } });
    srv.handle("MLSD", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(["type=cdir; .", "type=file;size=1; a", "type=pdir; ..", "type=file;size=1; b"].map((l) => `${l}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    const ftp = await fx.client(srv);
    const names: string[] = [];
    for await (const entry of ftp.list("/r", { maxNonEntryLines: 2 })) names.push(entry.name);
    expect(names).to.deep.equal(["a", "b"]);
    let error: unknown;
    try {
      for await (const entry of ftp.list("/r", { maxNonEntryLines: 1 })) void entry;
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "listingEntries", max: 1 });
    expect(await ftp.pwd()).to.equal("/");
  });
});
