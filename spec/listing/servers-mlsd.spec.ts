/**
 * MLSD and MLST as servers beyond the tested four send them. RFC 3659's
 * ABNF strings are case-independent, its own example capitalises fact
 * names (`Type=cdir;Modify=...`) and names the directory itself by its
 * path (`Type=cdir; tmp`), not `.`: a listing that took an upper-case
 * `Type=CDIR; tmp` for an entry showed a directory `tmp` inside `tmp`, and
 * a walk went down into it. RFC 3659 ends the facts with `;`; from a
 * server that leaves it out, ftplib's parse dropped the last character of
 * the last fact anyway: `size=1234` was 123 bytes.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpProtoError, type ListEntry } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

/** RFC 3659 7.7.4's example listing of `tmp`, its first lines. */
const RFC_EXAMPLE = [
  "Type=cdir;Modify=19981107085215;Perm=el; tmp",
  "Type=cdir;Modify=19981107085215;Perm=el; /tmp",
  "Type=pdir;Modify=19990112030508;Perm=el; ..",
  "Type=file;Size=25730;Modify=19940728095854;Perm=; capmux.tar.z",
  "Type=file;Size=1830;Modify=19940916055648;Perm=r; hatch.c",
];

describe("servers: MLSD and MLST facts as servers send them", () => {
  const fx = useFixtures();

  /** A server whose MLSD of /tmp sends `lines`, then 226. */
  async function server(lines: string[]): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/tmp/hatch.c": "x" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/tmp") return s.defaultHandler("MLSD", arg);
      s.reply(150, "BINARY connection open for MLSD tmp");
      await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
      s.reply(226, "MLSD completed");
    });
    return srv;
  }

  async function listed(srv: FixtureServer): Promise<ListEntry[]> {
    const ftp = await fx.client(srv);
    const entries: ListEntry[] = [];
    for await (const entry of ftp.list("/tmp")) entries.push(entry);
    return entries;
  }

  it("reads RFC 3659's own example: capitalised facts, the directory itself by its name and its path", async () => {
    const entries = await listed(await server(RFC_EXAMPLE));
    expect(entries.map((e) => [e.name, e.type, e.size])).to.deep.equal([
      ["capmux.tar.z", "file", 25730],
      ["hatch.c", "file", 1830],
    ]);
    expect(entries[1].modified?.toISOString()).to.equal("1994-09-16T05:56:48.000Z");
  });

  it("takes upper-case CDIR and PDIR for the directory itself and its parent, not for entries", async () => {
    const lines = ["TYPE=CDIR;PERM=el; tmp", "TYPE=PDIR;PERM=el; ..", "TYPE=FILE;SIZE=5;MODIFY=20240101120000; hatch.c"];
    const entries = await listed(await server(lines));
    expect(entries.map((e) => [e.name, e.type, e.size])).to.deep.equal([["hatch.c", "file", 5]]);
  });

  it("walk() does not go down into an upper-case CDIR line's name", async () => {
    const srv = await server(["Type=CDir;Perm=el; tmp", "Type=file;Size=5; hatch.c"]);
    const ftp = await fx.client(srv);
    const paths: string[] = [];
    for await (const { path } of ftp.walk("/tmp")) paths.push(path);
    expect(paths).to.deep.equal(["/tmp/hatch.c"]);
    expect(commandsAfterLogin(srv).filter((c) => c.startsWith("MLSD"))).to.deep.equal(["MLSD /tmp"]);
  });

  it("mlsd() keeps the last fact whole when the facts lack their closing ';'", async () => {
    const srv = await server(["type=file;modify=20240101120000;size=1234 hatch.c"]);
    const ftp = await fx.client(srv);
    const facts: Array<[string, Record<string, string>]> = [];
    for await (const pair of ftp.mlsd("/tmp")) facts.push(pair);
    expect(facts).to.deep.equal([["hatch.c", { type: "file", modify: "20240101120000", size: "1234" }]]);
  });

  it("stat() reads the MLST of Android servers: the facts line with no space before it, between blank lines", async () => {
    const srv = await server([]);
    srv.handle("MLST", (s) =>
      s.send("250-\r\nSize=53248;Modify=20230327134339.000;Type=dir; Download\r\n\r\n250 Requested file action okay, completed.\r\n"),
    );
    const ftp = await fx.client(srv);
    const entry = await ftp.stat("/Download");
    expect(entry).to.include({ name: "Download", type: "dir", size: 53248 });
    expect(entry.modified?.toISOString()).to.equal("2023-03-27T13:43:39.000Z");
  });

  it("stat() takes no facts line from an MLST reply with two lines that could be one", async () => {
    const srv = await server([]);
    srv.handle("MLST", (s) => s.send("250-\r\ntype=file;size=1; a\r\ntype=file;size=2; b\r\n250 End\r\n"));
    const ftp = await fx.client(srv);
    expect(await rejectionOf(ftp.stat("/a"))).to.be.instanceOf(FtpProtoError);
  });

  it("stat() reads the size and time of an MLST facts line without its closing ';'", async () => {
    const srv = await server([]);
    srv.handle("MLST", (s, arg) => s.send(`250-Listing ${arg}\r\n type=file;modify=20240101120000;size=1234 ${arg}\r\n250 End\r\n`));
    const ftp = await fx.client(srv);
    const entry = await ftp.stat("/tmp/hatch.c");
    expect(entry).to.include({ name: "hatch.c", type: "file", size: 1234 });
    srv.handle("MLST", (s, arg) => s.send(`250-Listing ${arg}\r\n type=file;size=1234;modify=20240101120000 ${arg}\r\n250 End\r\n`));
    expect((await ftp.stat("/tmp/hatch.c")).modified?.toISOString()).to.equal("2024-01-01T12:00:00.000Z");
  });
});
