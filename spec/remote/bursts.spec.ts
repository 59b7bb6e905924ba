/**
 * Commands written together whatever the `pipelining` option says:
 * sendcmds, lastMods and setLastMods, each answer in its place, a refusal
 * in its place too, and what must wait for its reply refused before
 * anything is sent; commands written ahead of a listing or a transfer
 * (`before`).
 */
import { expect } from "chai";
import { FtpError, FtpPermError } from "../../lib/index.js";
import { controlWrites, gate, rejectionOf, until, useFixtures } from "../core/helpers.js";

const TIME = new Date(Date.UTC(2023, 4, 5, 6, 7, 8));

describe("sendcmds, lastMods, setLastMods: one round trip for many commands", () => {
  const fx = useFixtures();

  it("sendcmds writes the commands together on a client without pipelining, each reply or refusal in its place", async () => {
    const srv = await fx.server({ files: { "/a": "abc" } });
    const ftp = await fx.client(srv, { pipelining: false });
    await ftp.voidcmd("TYPE I");
    const held = gate();
    srv.once("NOOP", async (s, arg) => {
      await held.passed;
      await s.defaultHandler("NOOP", arg);
    });
    const before = srv.commands.length;
    const replies = ftp.sendcmds(["NOOP", "SIZE a", "SIZE missing", "PWD"]);
    // Every line reaches the server while the first one's reply is held back.
    await until(() => srv.commands.length === before + 4, "all four commands reaching the server");
    held.open();
    const [noop, size, missing, pwd] = await replies;
    expect(noop).to.match(/^200/);
    expect(size).to.equal("213 3");
    expect(missing).to.be.instanceOf(FtpPermError).and.include({ replyCode: 550 });
    expect(pwd).to.match(/^257 "\/"/);
    // The session is in step afterwards.
    expect(await ftp.sendcmd("NOOP")).to.match(/^200/);
  });

  it("sendcmds answers hundreds of commands in order, written a window at a time", async () => {
    const srv = await fx.server({ files: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`/f${i}`, "x".repeat(i)])) });
    const ftp = await fx.client(srv);
    await ftp.voidcmd("TYPE I");
    const replies = await ftp.sendcmds(Array.from({ length: 300 }, (_, i) => `SIZE f${i}`));
    expect(replies).to.deep.equal(Array.from({ length: 300 }, (_, i) => `213 ${i}`));
  });

  it("writes each burst window in one socket write of at most 1 KiB, so a server reads it in one read (ftp-srv answers two reads at once)", async () => {
    const files = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`/some/longer/directory/name/file-${i}.csv`, "x".repeat(i % 7)]),
    );
    const srv = await fx.server({ files, features: ["EPSV", "MDTM", "SIZE"] });
    const { writes, createConnection } = controlWrites();
    const ftp = await fx.client(srv, { createConnection });
    await ftp.voidcmd("TYPE I");
    writes.length = 0;
    const paths = Object.keys(files);
    expect(await ftp.sendcmds(paths.map((path) => `SIZE ${path}`))).to.deep.equal(paths.map((_, i) => `213 ${i % 7}`));
    expect(writes.length).to.be.above(5);
    for (const write of writes) expect(Buffer.byteLength(write)).to.be.at.most(1024);
    expect(writes.join("").split("\r\n").filter(Boolean)).to.have.length(200);
    // A listing's `before` commands: what fits goes in the listing's own write, the rest ahead of it
    // (once a transfer has reached an EPSV port: the first one connects before its command goes).
    await ftp.nlst("/some");
    writes.length = 0;
    let replies: Array<string | Error> = [];
    const mdtms = paths.slice(0, 40).map((path) => `MDTM ${path}`);
    for await (const entry of ftp.list("/some/longer/directory/name", {
      commandWithEpsv: true,
      before: { lines: mdtms, onReplies: (r) => (replies = r) },
    }))
      void entry;
    expect(replies).to.have.length(40);
    expect(replies.every((reply) => typeof reply === "string" && reply.startsWith("213 "))).to.equal(true);
    for (const write of writes) expect(Buffer.byteLength(write)).to.be.at.most(1024);
    expect(writes[writes.length - 1]).to.match(/^(MDTM [^\r]+\r\n)+(TYPE A\r\n)?EPSV\r\nLIST -a \/some\/longer\/directory\/name\r\n$/);
  });

  it("sendcmds refuses, before anything is sent, a command that must wait for its reply, and a line that would inject another", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv);
    const before = srv.commands.length;
    for (const lines of [["NOOP", "RETR a"], ["USER x"], ["EPSV"], ["NOOP", "QUIT"], ["NOOP\r\nDELE a"]]) {
      const error = await rejectionOf(ftp.sendcmds(lines));
      expect(error, JSON.stringify(lines)).to.be.instanceOf(TypeError);
    }
    expect(srv.commands.slice(before)).to.deep.equal([]);
    expect(await ftp.sendcmds([])).to.deep.equal([]);
  });

  it("lastMods gives each file's time, or its error, in order", async () => {
    const srv = await fx.server({ files: { "/a": "1", "/b": "2" } });
    srv.vfs.set("/a", "1", TIME);
    const ftp = await fx.client(srv, { pipelining: false });
    const [a, missing, b] = await ftp.lastMods(["a", "missing", "b"]);
    expect(a).to.be.instanceOf(Date);
    expect((a as Date).toISOString()).to.equal(TIME.toISOString());
    expect(missing).to.be.instanceOf(FtpPermError);
    expect(b).to.be.instanceOf(Date);
    expect(srv.commands.filter((line) => line.startsWith("MDTM"))).to.deep.equal(["MDTM a", "MDTM missing", "MDTM b"]);
  });

  it("setLastMods finds out how the server sets times on the first file, then sends the rest together in that form", async () => {
    for (const { features, form } of [
      { features: ["EPSV", "MDTM", "MFMT", "SIZE"], form: /^MFMT \d{14} / },
      { features: ["EPSV", "MDTM", "SIZE"], form: /^MDTM \d{14} / },
    ]) {
      const srv = await fx.server({ files: { "/a": "1", "/b": "2", "/c": "3" }, features });
      const ftp = await fx.client(srv);
      const results = await ftp.setLastMods(["a", "missing", "b", "c"].map((path) => ({ path, date: TIME })));
      expect(results[0]).to.equal(null);
      expect(results[1]).to.be.instanceOf(FtpPermError);
      expect(results.slice(2)).to.deep.equal([null, null]);
      for (const path of ["/a", "/b", "/c"]) expect(srv.vfs.stat(path)!.mtime.toISOString(), path).to.equal(TIME.toISOString());
      expect(srv.commands.filter((line) => form.test(line))).to.have.length(4);
      // The form is kept for the session: a later setLastMod sends it at once.
      const before = srv.commands.length;
      await ftp.setLastMod("a", TIME);
      expect(srv.commands.slice(before)).to.have.length(1);
      expect(srv.commands[before]).to.match(form);
    }
  });

  it("setLastMods on a server that sets no times fails every file with ERR_FTP_UNSUPPORTED, asking once", async () => {
    const srv = await fx.server({ files: { "/a": "1", "/b": "2" }, features: ["EPSV", "SIZE"] });
    srv.handle("MDTM", (s, arg) => (/^\d{14} /.test(arg) ? s.reply(550, `${arg}: No such file.`) : s.defaultHandler("MDTM", arg)));
    srv.handle("SITE", (s) => s.reply(500, "Unknown SITE command."));
    const ftp = await fx.client(srv);
    const results = await ftp.setLastMods(["a", "b"].map((path) => ({ path, date: TIME })));
    for (const result of results) expect(result).to.be.instanceOf(FtpError).and.include({ code: "ERR_FTP_UNSUPPORTED" });
    expect(srv.commands.filter((line) => line.startsWith("SITE"))).to.have.length(1);
  });

  it("list() with `before` writes those commands ahead of its own, hands over their replies first, and refuses a transfer among them", async () => {
    const srv = await fx.server({ files: { "/d/a": "1", "/d/b": "22" } });
    const ftp = await fx.client(srv);
    const replies: Array<string | Error> = [];
    const names: string[] = [];
    for await (const entry of ftp.list("/d", {
      before: { lines: ["SIZE /d/a", "SIZE /d/missing"], onReplies: (r) => replies.push(...r) },
    })) {
      // Handed over before the first entry.
      expect(replies).to.have.length(2);
      names.push(entry.name);
    }
    expect(names.sort()).to.deep.equal(["a", "b"]);
    expect(replies[0]).to.equal("213 1");
    expect(replies[1]).to.be.instanceOf(FtpPermError);
    const verbs = srv.commands.map((line) => line.split(" ")[0]);
    expect(verbs.indexOf("SIZE")).to.be.below(verbs.indexOf("MLSD"));
    const before = srv.commands.length;
    const error = await rejectionOf(
      (async () => {
        for await (const entry of ftp.list("/d", { before: { lines: ["RETR /d/a"], onReplies: () => undefined } })) void entry;
      })(),
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(srv.commands.slice(before)).to.deep.equal([]);
  });

  it("a transfer with `before` writes those commands in its own write once its EPSV port was reached, hands over their replies, and refuses what must wait", async () => {
    const srv = await fx.server({ files: { "/a": "abc", "/b": "bcd" } });
    const control = controlWrites();
    const ftp = await fx.client(srv, { pipelining: true, createConnection: control.createConnection });
    // The first passive transfer reaches an EPSV port; after it, commands go with their EPSV.
    await ftp.retrbinary("RETR a", () => undefined);
    const replies: Array<string | Error> = [];
    const from = control.writes.length;
    const blocks: Buffer[] = [];
    await ftp.retrbinary("RETR b", (block) => void blocks.push(block), {
      before: { lines: ["MDTM a", "SIZE missing"], onReplies: (r) => replies.push(...r) },
    });
    expect(Buffer.concat(blocks).toString()).to.equal("bcd");
    expect(control.writes.slice(from)).to.deep.equal(["MDTM a\r\nSIZE missing\r\nEPSV\r\nRETR b\r\n"]);
    expect(replies[0]).to.match(/^213 \d{14}/);
    expect(replies[1]).to.be.instanceOf(FtpPermError).and.include({ replyCode: 550 });
    // An upload takes them too, and the session is in step afterwards.
    const uploaded: Array<string | Error> = [];
    await ftp.storbinary("STOR c", Buffer.from("cde"), { before: { lines: ["NOOP"], onReplies: (r) => uploaded.push(...r) } });
    expect(uploaded).to.have.length(1);
    expect(uploaded[0]).to.match(/^200/);
    expect(srv.vfs.get("/c")?.toString()).to.equal("cde");
    expect(await ftp.sendcmd("NOOP")).to.match(/^200/);
    const sent = srv.commands.length;
    for (const lines of [["PASV"], ["NOOP\r\nDELE a"]]) {
      const refused = await rejectionOf(ftp.retrbinary("RETR a", () => undefined, { before: { lines, onReplies: () => undefined } }));
      expect(refused).to.be.instanceOf(TypeError);
    }
    expect(srv.commands.slice(sent)).to.deep.equal([]);
  });
});
