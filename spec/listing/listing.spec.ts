import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { entryFromFacts, FTP, FtpLimitError, FtpListingError, ListEntry, parseListLine, parseMlsdTime } from "../../lib/index.js";

describe("parseListLine", () => {
  const now = new Date(Date.UTC(2026, 10, 25, 12, 0));

  it("reads a Unix file line with a time in the last six months", () => {
    const entry = parseListLine("-rw-r--r--   1 owner    group        1234 Nov 25 10:20 report 2026.csv", now);
    expect(entry).to.include({ name: "report 2026.csv", type: "file", size: 1234, permissions: "rw-r--r--", target: null });
    expect(entry?.modified?.toISOString()).to.equal("2026-11-25T10:20:00.000Z");
  });

  it("puts a time that would lie in the future into last year", () => {
    const entry = parseListLine("-rw-r--r--   1 0 0 5 Dec 24 18:00 x", now);
    expect(entry?.modified?.getUTCFullYear()).to.equal(2025);
  });

  it("reads directories, years and numeric owners", () => {
    const entry = parseListLine("drwxr-xr-x   2 0        0            4096 Jan  3  1994 pub", now);
    expect(entry).to.include({ name: "pub", type: "dir", size: 4096 });
    expect(entry?.modified?.toISOString()).to.equal("1994-01-03T00:00:00.000Z");
  });

  it("splits a symbolic link into name and target", () => {
    const entry = parseListLine("lrwxrwxrwx   1 root root 7 Mar  1 09:00 latest -> v2/data", now);
    expect(entry).to.include({ name: "latest", type: "link", target: "v2/data" });
  });

  it("reads a listing without a group column", () => {
    expect(parseListLine("-rw-r--r-- 1 ftp 42 Feb 10 2020 notes.txt", now)).to.include({ name: "notes.txt", size: 42 });
  });

  it("reads DOS/IIS lines, directories and 12-hour times", () => {
    const dir = parseListLine("11-25-26  10:20AM       <DIR>          Reports", now);
    expect(dir).to.include({ name: "Reports", type: "dir", size: null });
    expect(dir?.modified?.toISOString()).to.equal("2026-11-25T10:20:00.000Z");
    const file = parseListLine("01-02-2024  12:05AM            10240 a b.txt", now);
    expect(file).to.include({ name: "a b.txt", type: "file", size: 10240 });
    expect(file?.modified?.toISOString()).to.equal("2024-01-02T00:05:00.000Z");
    expect(parseListLine("01-02-2024  12:05PM 1 noon", now)?.modified?.getUTCHours()).to.equal(12);
  });

  it("returns undefined for lines that are not entries", () => {
    expect(parseListLine("total 12", now)).to.equal(undefined);
    expect(parseListLine("", now)).to.equal(undefined);
  });
});

describe("entryFromFacts and parseMlsdTime", () => {
  it("maps MLSD facts to an entry", () => {
    const entry = entryFromFacts("a.txt", { type: "file", size: "12", modify: "20240115123456.5", perm: "adfr" });
    expect(entry).to.include({ name: "a.txt", type: "file", size: 12, permissions: "adfr" });
    expect(entry.modified?.toISOString()).to.equal("2024-01-15T12:34:56.500Z");
    expect(entryFromFacts("d", { type: "cdir" }).type).to.equal("dir");
    expect(entryFromFacts("l", { type: "OS.unix=slink:/x" }).type).to.equal("link");
    expect(entryFromFacts("n", { size: "x" }).size).to.equal(null);
  });

  it("refuses malformed times", () => {
    expect(parseMlsdTime("2024011512")).to.equal(null);
    expect(parseMlsdTime("20241315123456")).to.equal(null);
  });
});

describe("FTP.list and FTP.walk", () => {
  let server: FixtureServer;
  let ftp: FTP;

  beforeEach(async () => {
    server = await FixtureServer.start({
      files: {
        "/data/a.csv": "1,2\n",
        "/data/2026/jan.csv": "jan\n",
        "/data/2026/feb/x.bin": Buffer.alloc(3),
        "/data/empty/": "",
      },
    });
    ftp = await FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" });
  });

  afterEach(async () => {
    ftp.close();
    await server.close();
  });

  async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of items) out.push(item);
    return out;
  }

  const byName = (entries: ListEntry[]): Record<string, ListEntry> => Object.fromEntries(entries.map((e) => [e.name, e]));

  it("lists with MLSD, leaving out . and ..", async () => {
    const entries = byName(await all(ftp.list("/data")));
    expect(Object.keys(entries).sort()).to.deep.equal(["2026", "a.csv", "empty"]);
    expect(entries["a.csv"]).to.include({ type: "file", size: 4 });
    expect(entries["2026"]?.type).to.equal("dir");
    expect(server.commands).to.include("MLSD /data");
  });

  it("falls back to LIST when the server has no MLSD, and stays there", async () => {
    server.handle("MLSD", (s) => s.reply(500, "Unknown command."));
    const first = byName(await all(ftp.list("/data")));
    expect(first["a.csv"]).to.include({ type: "file", size: 4 });
    expect(first["2026"]?.type).to.equal("dir");
    await all(ftp.list("/data/2026"));
    expect(server.commands.filter((c) => c.startsWith("MLSD"))).to.have.length(1);
    expect(server.commands).to.include("LIST -a /data/2026");
  });

  it("reads FEAT before the first listing and sends no MLSD where FEAT lists other features but not MLST", async () => {
    const lean = await FixtureServer.start({ files: { "/data/a.csv": "1,2\n" }, features: ["MDTM", "SIZE", "EPSV", "UTF8"] });
    const client = await FTP.create({ host: lean.host, port: lean.port, user: "user", password: "pass" });
    try {
      expect((await all(client.list("/data"))).map((e) => e.name)).to.deep.equal(["a.csv"]);
      expect(lean.commands.filter((c) => /^(FEAT|MLSD|LIST)/.test(c))).to.deep.equal(["FEAT", "LIST -a /data"]);
    } finally {
      client.close();
      await lean.close();
    }
  });

  it("still tries MLSD on a server whose FEAT names no features", async () => {
    const bare = await FixtureServer.start({ files: { "/data/a.csv": "1,2\n" }, features: [] });
    const client = await FTP.create({ host: bare.host, port: bare.port, user: "user", password: "pass" });
    try {
      expect((await all(client.list("/data"))).map((e) => e.name)).to.deep.equal(["a.csv"]);
      expect(bare.commands).to.include("MLSD /data");
    } finally {
      client.close();
      await bare.close();
    }
  });

  it("does not hide a real MLSD failure behind LIST", async () => {
    const error = await all(ftp.list("/missing")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550 });
    expect(server.commands.some((c) => c.startsWith("LIST"))).to.equal(false);
  });

  it("walks a tree depth-first with full paths", async () => {
    const paths = (await all(ftp.walk("/data"))).map((item) => `${item.entry.type}:${item.path}`);
    expect(paths).to.have.members([
      "dir:/data/2026",
      "file:/data/a.csv",
      "dir:/data/empty",
      "file:/data/2026/jan.csv",
      "dir:/data/2026/feb",
      "file:/data/2026/feb/x.bin",
    ]);
    expect(paths.indexOf("file:/data/2026/feb/x.bin")).to.be.greaterThan(paths.indexOf("dir:/data/2026/feb"));
  });

  it("walk yields no name that is not one path segment (., .., empty, with a slash), so a hostile listing can neither loop it nor lead it out of the tree, and reports them", async () => {
    // Every MLSD answers the same: a loop back to itself or its parent as
    // plain directories, names with slashes, and one honest file.
    server.handle("MLSD", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(
        ["type=dir; .", "type=dir; ..", "type=dir; ../../etc", "type=file; a/b.txt", "type=dir; ", "type=file;size=2; ok.txt", ""].join(
          "\r\n",
        ),
      );
      s.reply(226, "Directory send OK.");
    });
    const reported: Array<[string, string]> = [];
    const paths = (await all(ftp.walk("/data", { onUnreadable: (line, dir) => reported.push([line, dir]) }))).map((item) => item.path);
    expect(paths).to.deep.equal(["/data/ok.txt"]);
    expect(reported.map(([line]) => line)).to.have.length(3);
    expect(reported.every(([, dir]) => dir === "/data")).to.equal(true);
    expect(server.commands.filter((c) => c.startsWith("MLSD"))).to.deep.equal(["MLSD /data"]);
    // Without onUnreadable the same walk throws at that directory.
    const error = await all(ftp.walk("/data")).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(FtpListingError);
    expect(error).to.include({ path: "/data", total: 3 });
  });

  it("walk reports names with a backslash or a NUL, which are separators or cut-offs elsewhere", async () => {
    server.handle("MLSD", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(
        ["type=file;size=1; ..\\..\\boot.ini", "type=file;size=1; nul\0x", "type=file;size=1; ...", "type=file;size=2; ok.txt", ""].join(
          "\r\n",
        ),
      );
      s.reply(226, "Directory send OK.");
    });
    const reported: string[] = [];
    const paths = (await all(ftp.walk("/data", { onUnreadable: (line) => reported.push(line) }))).map((item) => item.path);
    expect(paths).to.deep.equal(["/data/ok.txt"]);
    expect(reported).to.have.length(3);
  });

  it("walk stops with FtpLimitError when one directory holds more than maxEntries", async () => {
    server.handle("MLSD", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(Array.from({ length: 50 }, (_, i) => `type=file;size=1; f${i}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    const error = await all(ftp.walk("/data", { maxEntries: 10 })).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ code: "ERR_FTP_LIMIT", limit: "listingEntries", max: 10 });
    expect(await ftp.voidcmd("NOOP")).to.match(/^200/);
  });

  it("list leaves out . and .. even when MLSD calls them plain directories", async () => {
    server.handle("MLSD", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData("type=dir; .\r\ntype=dir; ..\r\ntype=file;size=1; f\r\n");
      s.reply(226, "Directory send OK.");
    });
    expect((await all(ftp.list("/data"))).map((entry) => entry.name)).to.deep.equal(["f"]);
  });

  it("stops at maxDepth", async () => {
    const paths = (await all(ftp.walk("/data", { maxDepth: 1 }))).map((item) => item.path);
    expect(paths).to.have.members(["/data/2026", "/data/a.csv", "/data/empty"]);
  });
});
