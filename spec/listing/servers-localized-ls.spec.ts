/**
 * inetutils and netkit ftpd answer LIST with `ls -lgA` run in the
 * server's locale: the month names are its language's (corpus.spec.ts),
 * and so is the `total` line heading the listing: `insgesamt 8` under
 * LANG=de_DE, `итого 8` under ru_RU, `合計 8` under ja_JP. Taken for a line
 * that may stand for a file, it made list() throw FtpListingError for every
 * directory of such a server, and a tree transfer fail. So did a month
 * printed in Latin-1 (`Mär` under de_DE.ISO-8859-1) and read as UTF-8, the
 * default: its `ä` is an escaped byte, no letter.
 */
import { expect } from "chai";
import { isListNoise } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

/** `ls -lgA` of a directory with one file, under each LANG (the words from coreutils' own translations). */
const LISTINGS: Record<string, string[]> = {
  de_DE: ["insgesamt 4", "-rw-r--r-- 1 ftp 5 Mär 10 12:00 a.txt"],
  ru_RU: ["итого 4", "-rw-r--r-- 1 ftp 5 мар 10 12:00 a.txt"],
  ja_JP: ["合計 4", "-rw-r--r-- 1 ftp 5  3月 10 12:00 a.txt"],
  zh_CN: ["总用量 4", "-rw-r--r-- 1 ftp 5 3月 10 12:00 a.txt"],
  pl_PL: ["razem 4", "-rw-r--r-- 1 ftp 5 mar 10 12:00 a.txt"],
  it_IT: ["totale 4", "-rw-r--r-- 1 ftp 5 mar 10 12:00 a.txt"],
};

describe("servers: ls run in the server's locale", () => {
  const fx = useFixtures();

  for (const [lang, lines] of Object.entries(LISTINGS)) {
    it(`list() reads a LIST of ls -lgA under LANG=${lang}, its ${JSON.stringify(lines[0])} line no entry`, async () => {
      const srv = await fx.server({ files: { "/d/a.txt": "hello" } });
      srv.handle("LIST", async (s) => {
        s.reply(150, "Opening ASCII mode data connection for '/bin/ls'.");
        await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fx.client(srv);
      const names: string[] = [];
      for await (const entry of ftp.list("/d", { command: "LIST" }))
        names.push(`${entry.name} ${entry.size} ${entry.modified?.getUTCMonth()}`);
      expect(names).to.deep.equal(["a.txt 5 2"]);
    });
  }

  it("list() reads months ls printed in Latin-1 (LANG=de_DE.ISO-8859-1, fr_FR.ISO-8859-1) with the default UTF-8", async () => {
    const srv = await fx.server({ files: { "/d/a.txt": "hello" } });
    const latin1 = [
      "insgesamt 16",
      "-rw-r--r-- 1 ftp 5 M\xe4r 10 12:00 m\xe4rz.txt",
      "-rw-r--r-- 1 ftp 5 10 f\xe9vr. 12:00 fevrier.txt",
      "-rw-r--r-- 1 ftp 5 15 ao\xfbt  2024 aout.txt",
      "-rw-r--r-- 1 ftp 5  1 d\xe9c. 10:00 dec.txt",
    ];
    srv.handle("LIST", async (s) => {
      s.reply(150, "Opening ASCII mode data connection for '/bin/ls'.");
      await s.sendData(Buffer.from(latin1.map((line) => `${line}\r\n`).join(""), "latin1"));
      s.reply(226, "Transfer complete.");
    });
    const ftp = await fx.client(srv);
    const entries: Array<[string, number | undefined]> = [];
    for await (const entry of ftp.list("/d", { command: "LIST" })) entries.push([entry.name, entry.modified?.getUTCMonth()]);
    // The name keeps its undecodable byte escaped, as every name does: it goes back to the server as that byte.
    expect(entries).to.deep.equal([
      ["m\udce4rz.txt", 2],
      ["fevrier.txt", 1],
      ["aout.txt", 7],
      ["dec.txt", 11],
    ]);
  });

  it("isListNoise knows the total line in each language of coreutils, and nothing that only looks like it", () => {
    const totals = ["insgesamt 8", "итого 0", "合計 12", "합계 8", "总计 8", "總用量 8", "összesen 4", "Yhteensä 4", "σύνολο 4"];
    expect(totals.filter((line) => !isListNoise(line))).to.deep.equal([]);
    const not = ["insgesamt", "insgesamt acht", "Gesamt 8", "insgesamt 8 Dateien", "a.txt 8", "итого: 8"];
    expect(not.filter(isListNoise)).to.deep.equal([]);
  });
});
