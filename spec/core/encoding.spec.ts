/**
 * Legacy encodings (issue 24): `encoding` takes any WHATWG label for
 * commands, replies and listings, and a name whose bytes do not decode is
 * still downloaded, renamed and deleted, its bytes carried in the string
 * as escapes (Python's surrogateescape).
 */
import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP } from "../../lib/index.js";
import { codecFor } from "../../lib/text-codec.js";
import { rejectionOf } from "./helpers.js";

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
});
