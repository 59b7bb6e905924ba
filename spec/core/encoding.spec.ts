/**
 * Legacy encodings (issue 24): `encoding` takes any WHATWG label for
 * commands, replies and listings, and a name whose bytes do not decode is
 * still downloaded, renamed and deleted, its bytes carried in the string
 * as escapes (Python's surrogateescape).
 */
import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpError, type FtpOptions } from "../../lib/index.js";
import { codecFor, doubleIac, telnetIacOf } from "../../lib/text-codec.js";
import { controlWrites, rejectionOf } from "./helpers.js";

/** Names in the encodings users meet, and the bytes each must have (as CPython's codecs give them). */
const SAMPLES: Array<[label: string, text: string, hex: string]> = [
  ["windows-1251", "Отчёт.txt", "cef2f7b8f22e747874"],
  ["koi8-r", "Отчёт.txt", "efd4dea3d42e747874"],
  ["iso-8859-2", "żółć.txt", "bff3b3e62e747874"],
  ["windows-1252", "café €.txt", "636166e920802e747874"],
  ["gbk", "文件.txt", "cec4bcfe2e747874"],
  ["shift_jis", "ファイル.txt", "837483408343838b2e747874"],
  ["euc-kr", "파일.txt", "c6c4c0cf2e747874"],
  ["big5", "檔案.txt", "c0c9aed72e747874"],
];

describe("text encodings", () => {
  describe("codecFor", () => {
    for (const [label, text, hex] of SAMPLES) {
      it(`${label}: encodes ${JSON.stringify(text)} to its bytes and decodes them back`, () => {
        const codec = codecFor(label);
        expect(codec.encode(text).toString("hex")).to.equal(hex);
        expect(codec.decode(Buffer.from(hex, "hex"))).to.equal(text);
      });
    }

    it("keeps bytes that do not decode as U+DC80..U+DCFF escapes, which encode back to the same bytes", () => {
      // Latin-1 "café" on a UTF-8 connection, and a byte windows-1251 has no character for.
      const cases: Array<[string, string]> = [
        ["utf8", "636166e9"],
        ["shift_jis", "41ff42"],
        ["euc-kr", "41ff42"],
      ];
      for (const [label, hex] of cases) {
        const codec = codecFor(label);
        const text = codec.decode(Buffer.from(hex, "hex"));
        expect(text, label).to.match(/[\udc80-\udcff]/);
        expect(codec.encode(text).toString("hex"), label).to.equal(hex);
      }
      expect(codecFor("utf8").decode(Buffer.from("636166e9", "hex"))).to.equal("caf\udce9");
    });

    it("refuses an unknown label and a character the encoding has no bytes for, with TypeError ERR_INVALID_ARG_VALUE", () => {
      expect(() => codecFor("no-such-encoding"))
        .to.throw(TypeError)
        .with.property("code", "ERR_INVALID_ARG_VALUE");
      expect(() => new FTP({ encoding: "no-such-encoding" })).to.throw(TypeError);
      expect(() => codecFor("windows-1251").encode("文"))
        .to.throw(TypeError)
        .with.property("code", "ERR_INVALID_ARG_VALUE");
      expect(() => codecFor("latin1").encode("Ж")).to.throw(TypeError);
    });
  });

  describe("on the wire", () => {
    let srv: FixtureServer;
    afterEach(async () => srv?.close());

    /** A server whose names are windows-1251 bytes (seen by the fixture as latin1 strings), one of them holding a byte that does not decode. */
    async function legacyServer(): Promise<FixtureServer> {
      const latin1 = (bytes: Buffer): string => bytes.toString("latin1");
      srv = await FixtureServer.start({
        commandEncoding: "latin1",
        features: ["EPSV", "SIZE"],
        files: {
          [`/${latin1(codecFor("windows-1251").encode("Отчёт.txt"))}`]: "report",
          [`/${latin1(Buffer.from("41983f2e747874", "hex"))}`]: "odd",
        },
      });
      srv.handle("LIST", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        const lines = s.vfs
          .entries("/")
          .map((entry) =>
            Buffer.concat([
              Buffer.from(`-rw-r--r-- 1 ftp ftp ${entry.size} Nov 10 12:00 `, "latin1"),
              Buffer.from(entry.name, "latin1"),
              Buffer.from("\r\n"),
            ]),
          );
        await s.sendData(Buffer.concat(lines));
        s.reply(226, "Directory send OK.");
      });
      return srv;
    }

    it("lists windows-1251 names as text, and downloads, renames and deletes them by the listed string", async () => {
      await legacyServer();
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", encoding: "windows-1251" });
      try {
        const names: string[] = [];
        for await (const entry of ftp.list()) names.push(entry.name);
        // WHATWG's windows-1251 reads every byte (0x98 as U+0098): the string still carries it back.
        expect(names).to.have.members(["Отчёт.txt", "A\u0098?.txt"]);
        const odd = names.find((name) => name.startsWith("A"))!;
        const chunks: Buffer[] = [];
        await ftp.retrbinary(`RETR ${odd}`, (chunk) => chunks.push(chunk));
        expect(Buffer.concat(chunks).toString()).to.equal("odd");
        await ftp.rename("Отчёт.txt", "Итог.txt");
        await ftp.delete(odd);
        const sent = srv.commands.map((line) => Buffer.from(line, "latin1").toString("hex"));
        expect(sent).to.include(Buffer.from(`RETR ${"\u0041\u0098?.txt"}`, "latin1").toString("hex"));
        expect(sent).to.include(Buffer.concat([Buffer.from("RNTO "), codecFor("windows-1251").encode("Итог.txt")]).toString("hex"));
        expect(srv.vfs.exists(`/${Buffer.from("41983f2e747874", "hex").toString("latin1")}`)).to.equal(false);
        expect(srv.vfs.exists(`/${codecFor("windows-1251").encode("Итог.txt").toString("latin1")}`)).to.equal(true);
      } finally {
        ftp.close();
      }
    });

    it("refuses a command holding a character the encoding lacks before sending it, and the client goes on", async () => {
      await legacyServer();
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", encoding: "windows-1251" });
      try {
        const before = srv.commands.length;
        const error = await rejectionOf(ftp.delete("文件.txt"));
        expect(error).to.be.instanceOf(TypeError);
        expect(srv.commands.slice(before)).to.deep.equal([]);
        expect(await ftp.voidcmd("NOOP")).to.match(/^200/);
      } finally {
        ftp.close();
      }
    });

    it("on UTF-8 (the default) a Latin-1 name is still listed, fetched and deleted by its escaped string", async () => {
      srv = await FixtureServer.start({
        commandEncoding: "latin1",
        features: ["EPSV", "SIZE", "UTF8"],
        files: { "/caf\u00e9.txt": "latin" },
      });
      srv.handle("LIST", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData(
          Buffer.concat([Buffer.from("-rw-r--r-- 1 ftp ftp 5 Nov 10 12:00 caf"), Buffer.from([0xe9]), Buffer.from(".txt\r\n")]),
        );
        s.reply(226, "Directory send OK.");
      });
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" });
      try {
        const names: string[] = [];
        for await (const entry of ftp.list()) names.push(entry.name);
        expect(names).to.deep.equal(["caf\udce9.txt"]);
        await ftp.delete(names[0]);
        expect(srv.vfs.exists("/caf\u00e9.txt")).to.equal(false);
      } finally {
        ftp.close();
      }
    });
  });

  describe("byte 0xFF (Telnet IAC) in commands", () => {
    let srv: FixtureServer;
    afterEach(async () => srv?.close());

    const cp1251 = (text: string): string => codecFor("windows-1251").encode(text).toString("latin1");
    /** "я" is 0xFF in windows-1251: the name's bytes, as the fixture (reading latin1) sees them. */
    const NAME = "отчёт-я.txt";

    async function serverWith(welcome?: string): Promise<FixtureServer> {
      srv = await FixtureServer.start({
        commandEncoding: "latin1",
        features: ["EPSV", "SIZE"],
        ...(welcome ? { welcome } : {}),
        files: { [`/${cp1251(NAME)}`]: "report", [`/${cp1251("отчёт-txt")}`]: "decoy", "/d\u00ff\u00ffe/": "" },
      });
      return srv;
    }

    const hexOf = (line: string): string => Buffer.from(line, "latin1").toString("hex");
    /** The fixture reads commands as Telnet (IAC IAC is 0xFF, IAC and a plain byte are dropped), as GNU inetutils ftpd does. */
    const sentHex = (): string[] => srv.commands.map(hexOf);
    /** The command lines a client wrote on its control socket, as bytes (hex, CRLF cut). */
    function wire(): { lines: string[]; createConnection: NonNullable<FtpOptions["createConnection"]> } {
      const lines: string[] = [];
      const { createConnection } = controlWrites((bytes) => {
        for (const line of bytes.toString("latin1").split("\r\n").slice(0, -1)) lines.push(hexOf(line));
      });
      return { lines, createConnection };
    }

    it("codec helpers: doubleIac doubles each 0xFF (and only copies when there is one); telnetIacOf knows the measured servers' welcomes", () => {
      const plain = Buffer.from("DELE a.txt\r\n");
      expect(doubleIac(plain)).to.equal(plain);
      expect(doubleIac(Buffer.from("41ff42ffff", "hex")).toString("hex")).to.equal("41ffff42ffffffff");
      const welcomes: Array<[string, string | undefined, boolean]> = [
        ["(vsFTPd 3.0.3)", "raw", true],
        ["---------- Welcome to Pure-FTPd [privsep] ----------", "raw", false],
        ["ProFTPD Server (ftpstream proftpd) [127.0.0.1]", "double", false],
        ["localhost FTP server (GNU inetutils 2.4) ready.", "double", false],
        ["vm FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready.", "double", false],
        ["pyftpdlib 1.5.7 ready.", undefined, false],
        ["Twisted 22.4.0 FTP Server", undefined, false],
        ["Ready", undefined, false],
        ["ftpstream fixture ready", undefined, false],
      ];
      for (const [welcome, commands, doublesReplies] of welcomes) {
        const known = telnetIacOf(welcome);
        expect(known?.commands, welcome).to.equal(commands);
        if (known) expect(known.doublesReplies, welcome).to.equal(doublesReplies);
      }
    });

    it("by default refuses, before sending anything, a command holding 0xFF to a server whose welcome says nothing, with FtpError ERR_FTP_TELNET_IAC; the client goes on", async () => {
      await serverWith();
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", encoding: "windows-1251" });
      try {
        const before = srv.commands.length;
        for (const call of [
          () => ftp.delete(NAME),
          () => ftp.size(NAME),
          () => ftp.rename(NAME, "итог.txt"),
          () => ftp.rename("отчёт-txt", "я.txt"),
        ]) {
          const error = await rejectionOf(call());
          expect(error).to.be.instanceOf(FtpError);
          expect(error).to.have.property("code", "ERR_FTP_TELNET_IAC");
          expect(error.message).to.match(/0xFF \(Telnet IAC\).*telnetIac/);
        }
        const readied = srv.commands.length;
        const download = await rejectionOf(ftp.retrbinary(`RETR ${NAME}`, () => undefined));
        expect(download).to.have.property("code", "ERR_FTP_TELNET_IAC");
        const upload = await rejectionOf(ftp.storbinary(`STOR ${NAME}`, Buffer.from("x")));
        expect(upload).to.have.property("code", "ERR_FTP_TELNET_IAC");
        // Refused before EPSV (or TYPE) readied a data connection that nothing would use.
        expect(srv.commands.slice(readied)).to.deep.equal([]);
        // Nothing holding 0xFF went out; the rename whose RNFR was plain stopped before RNTO.
        expect(
          sentHex()
            .slice(before)
            .some((hex) => hex.includes("ff")),
        ).to.equal(false);
        expect(srv.vfs.exists(`/${cp1251(NAME)}`)).to.equal(true);
        expect(srv.vfs.exists(`/${cp1251("отчёт-txt")}`)).to.equal(true);
        expect(await ftp.size("отчёт-txt")).to.equal(5);
        expect(await ftp.voidcmd("NOOP")).to.match(/^200/);
      } finally {
        ftp.close();
      }
    });

    it("refuses an escaped 0xFF byte on UTF-8 too, and never looks for 0xFF in a plain UTF-8 command", async () => {
      await serverWith();
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" });
      try {
        const error = await rejectionOf(ftp.delete("d\udcffe"));
        expect(error).to.have.property("code", "ERR_FTP_TELNET_IAC");
        expect(await ftp.voidcmd("NOOP ÿ я")).to.match(/^200/);
        expect(sentHex().at(-1)).to.equal(hexOf(Buffer.from("NOOP ÿ я", "utf8").toString("latin1")));
      } finally {
        ftp.close();
      }
    });

    it('telnetIac "double" sends each 0xFF as 0xFF 0xFF, and a Telnet server acts on the name given; "raw" sends it as it is (ftplib)', async () => {
      await serverWith();
      for (const [telnetIac, bytes] of [
        ["double", "ffff"],
        ["raw", "ff"],
      ] as const) {
        const { lines, createConnection } = wire();
        const ftp = await FTP.create({
          host: srv.host,
          port: srv.port,
          user: "user",
          password: "pass",
          encoding: "windows-1251",
          telnetIac,
          createConnection,
        });
        try {
          const size = await ftp.size(NAME);
          expect(lines.at(-1), telnetIac).to.equal(hexOf(`SIZE ${cp1251(NAME)}`).replace("ff", bytes));
          // The fixture reads Telnet: doubled, the name is the one given; raw, 0xFF and the "." after it are dropped, as GNU inetutils does, and the decoy "отчёт-txt" answers.
          expect(size, telnetIac).to.equal(telnetIac === "double" ? 6 : 5);
        } finally {
          ftp.close();
        }
      }
    });

    it('telnetIac "refuse" refuses even where the welcome names a server; an unknown value throws a TypeError', async () => {
      await serverWith("220 ProFTPD Server (x) [127.0.0.1]");
      const ftp = await FTP.create({
        host: srv.host,
        port: srv.port,
        user: "user",
        password: "pass",
        encoding: "windows-1251",
        telnetIac: "refuse",
      });
      try {
        expect(await rejectionOf(ftp.delete(NAME))).to.have.property("code", "ERR_FTP_TELNET_IAC");
        expect(srv.vfs.exists(`/${cp1251(NAME)}`)).to.equal(true);
      } finally {
        ftp.close();
      }
      expect(() => new FTP({ telnetIac: "yes" as never }))
        .to.throw(TypeError)
        .with.property("code", "ERR_INVALID_ARG_VALUE");
    });

    it("by default doubles 0xFF for a server whose welcome is ProFTPD's, GNU inetutils' or BSD ftpd's, and sends it raw to vsftpd and pure-ftpd", async () => {
      const cases: Array<[string, string]> = [
        ["220 ProFTPD Server (ftpstream proftpd) [127.0.0.1]", "ffff"],
        ["220 localhost FTP server (GNU inetutils 2.4) ready.", "ffff"],
        ["220 vm FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready.", "ffff"],
        ["220 (vsFTPd 3.0.3)", "ff"],
        [
          "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220 You will be disconnected after 15 minutes of inactivity.",
          "ff",
        ],
      ];
      for (const [welcome, bytes] of cases) {
        await serverWith(welcome);
        const { lines, createConnection } = wire();
        const ftp = await FTP.create({
          host: srv.host,
          port: srv.port,
          user: "user",
          password: "pass",
          encoding: "windows-1251",
          createConnection,
        });
        try {
          await ftp.sendcmd(`MDTM ${NAME}`).catch(() => undefined);
          expect(lines.at(-1), welcome).to.equal(hexOf(`MDTM ${cp1251(NAME)}`).replace("ff", bytes));
        } finally {
          ftp.close();
          await srv.close();
        }
      }
    });

    it("reads vsftpd's doubled 0xFF in replies as one byte, also when the pair is split between two reads", async () => {
      await serverWith("220 (vsFTPd 3.0.3)");
      srv.handle("PWD", async (s) => {
        s.send(Buffer.from('257 "/d\xff', "latin1"));
        await new Promise((resolve) => setTimeout(resolve, 20));
        s.send(Buffer.from('\xffe" is the current directory\r\n', "latin1"));
      });
      srv.handle("XPWD", (s) => s.send(Buffer.from('257 "/d\xff\xff\xff\xffe" is the current directory\r\n', "latin1")));
      const { lines, createConnection } = wire();
      const ftp = await FTP.create({
        host: srv.host,
        port: srv.port,
        user: "user",
        password: "pass",
        encoding: "latin1",
        createConnection,
      });
      try {
        expect(await ftp.pwd()).to.equal("/dÿe");
        expect(await ftp.sendcmd("XPWD")).to.equal('257 "/dÿÿe" is the current directory');
        // And the name goes back raw, as vsftpd reads it.
        await ftp.sendcmd("CWD /dÿe").catch(() => undefined);
        expect(lines.at(-1)).to.equal(hexOf("CWD /d\u00ffe"));
      } finally {
        ftp.close();
      }
    });

    it("takes 0xFF 0xFF in replies of other servers as two bytes", async () => {
      await serverWith("220 ProFTPD Server (x) [127.0.0.1]");
      srv.handle("PWD", (s) => s.send(Buffer.from('257 "/d\xff\xffe" is the current directory\r\n', "latin1")));
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", encoding: "latin1" });
      try {
        expect(await ftp.pwd()).to.equal("/dÿÿe");
      } finally {
        ftp.close();
      }
    });
  });
});
