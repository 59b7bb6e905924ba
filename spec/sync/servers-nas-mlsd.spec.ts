/**
 * NAS servers whose MLSD gives no `size` fact (type and modify only): the
 * tree transfers compared the listing's size, null, with the local file's
 * and found them different on every run, so an unchanged tree was moved
 * again in full each time. A size missing is now asked (SIZE), and the
 * time compared as for a listed size. (Found by helper v.)
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandsAfterLogin, useFixtures } from "../core/helpers.js";

describe("servers: a NAS whose MLSD gives no size", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-nas-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a second downloadDir of an unchanged tree fetches nothing; a file changed on the server (size) is fetched", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "hello\n", "/r/b.txt": "bee\n" } });
    srv.handle("MLSD", (s, arg) => {
      s.state.mlstFacts = ["type", "modify"];
      return s.defaultHandler("MLSD", arg);
    });
    const ftp = await fx.client(srv);
    expect((await ftp.downloadDir("/r", dir)).transferred).to.equal(2);
    const before = commandsAfterLogin(srv).length;
    const second = await ftp.downloadDir("/r", dir);
    const sent = commandsAfterLogin(srv).slice(before);
    expect(sent.filter((c) => c.startsWith("RETR"))).to.deep.equal([]);
    expect(sent.filter((c) => c.startsWith("SIZE")).length, sent.join(" / ")).to.equal(2);
    expect(second).to.include({ transferred: 0, skipped: 2 });
    // The same second, another size: asked, found to differ, fetched.
    await ftp.storbinary("STOR /r/b.txt", Buffer.from("bee, changed\n"));
    await ftp.sendcmd(`MFMT ${mdtmOf(await ftp.lastMod("/r/a.txt"))} /r/b.txt`);
    const third = await ftp.downloadDir("/r", dir);
    expect(third).to.include({ transferred: 1, skipped: 1 });
  });

  it("a second uploadDir of an unchanged tree sends nothing", async () => {
    const srv = await fx.server({ files: { "/t/.keep": "" } });
    srv.handle("MLSD", (s, arg) => {
      s.state.mlstFacts = ["type", "modify"];
      return s.defaultHandler("MLSD", arg);
    });
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "a.txt"), "hello\n");
    writeFileSync(join(dir, "sub", "b.txt"), "bee\n");
    const ftp = await fx.client(srv);
    expect((await ftp.uploadDir(dir, "/t")).transferred).to.equal(2);
    const before = commandsAfterLogin(srv).length;
    const second = await ftp.uploadDir(dir, "/t");
    const sent = commandsAfterLogin(srv).slice(before);
    expect(
      sent.filter((c) => /^(STOR|APPE)/.test(c)),
      sent.join(" / "),
    ).to.deep.equal([]);
    expect(second).to.include({ transferred: 0, skipped: 2 });
  });
});

/** A Date as MDTM and MFMT write it: YYYYMMDDHHMMSS, UTC. */
function mdtmOf(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
