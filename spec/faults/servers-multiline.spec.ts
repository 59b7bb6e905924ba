/**
 * Multi-line replies whose middle lines begin with the reply's own code:
 * a message file shown on CWD or login (wu-ftpd's and proftpd's
 * DisplayChdir, IIS banners) is sent line by line inside a `250-` reply,
 * and a line of it may begin with digits: `2500 users`. RFC 959 4.2 ends
 * the reply only at the same code followed by a space; ftplib (and the
 * parser before) at any character but `-`, so the reply ended at that line
 * and its real last line was read as the reply to the next command.
 */
import { expect } from "chai";
import { ReplyParser } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

describe("servers: multi-line replies with the reply's code inside", () => {
  const fx = useFixtures();

  it("the parser ends a 250- reply only at '250 ' or a bare '250', not at '2500 users'", () => {
    const parser = new ReplyParser();
    const replies = parser.push(Buffer.from('250-Welcome to /pub\r\n2500 users online\r\n250\tnot this\r\n250 CWD ok.\r\n257 "/pub"\r\n'));
    expect(replies.map((r) => r.lines)).to.deep.equal([
      ["250-Welcome to /pub", "2500 users online", "250\tnot this", "250 CWD ok."],
      ['257 "/pub"'],
    ]);
    expect(parser.push(Buffer.from("230-a\r\n230\r\n")).map((r) => r.text)).to.deep.equal(["230-a\n230"]);
  });

  it("a CWD whose message holds '2500 users' leaves the client in step: PWD gets its own 257", async () => {
    const srv = await fx.server({ files: { "/pub/a.txt": "a" } });
    srv.handle("CWD", (s) => s.send("250-Welcome to /pub\r\n2500 users online\r\n250 CWD command successful.\r\n"));
    srv.handle("PWD", (s) => s.reply(257, '"/pub" is the current directory'));
    const ftp = await fx.client(srv);
    expect(await ftp.cwd("/pub")).to.equal("250-Welcome to /pub\n2500 users online\n250 CWD command successful.");
    expect(await ftp.pwd()).to.equal("/pub");
  });

  it("a login banner holding '2300 files' leaves the client in step", async () => {
    const srv = await fx.server({ files: { "/a.txt": "a" } });
    srv.handle("PASS", (s) => s.send("230-Welcome\r\n2300 files here\r\n230 Login successful.\r\n"));
    const ftp = await fx.client(srv, { login: false });
    expect(await ftp.login("user", "pass")).to.equal("230-Welcome\n2300 files here\n230 Login successful.");
    expect(await ftp.sendcmd("NOOP")).to.match(/^200/);
  });
});
