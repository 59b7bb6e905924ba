/**
 * The `retry` option on FTP_TLS against the fixture: a new connection is
 * secured as the old one was (AUTH TLS before the login, PBSZ and PROT P
 * after it) before the command runs again, and a protected download
 * resumes on it.
 */
import { expect } from "chai";
import { patternBytes, patternFile, patternMismatch } from "../../fixtures/server.js";
import { useTlsFixture } from "../tls/tls-fixture.js";

describe("retry on FTP_TLS: a new connection gets AUTH TLS, PBSZ and PROT P again", () => {
  const fx = useTlsFixture();

  it("re-secures, logs in, protects data and changes directory before re-sending PWD and resuming a download", async () => {
    const srv = await fx.start({ tls: { requireSessionReuse: true }, files: { "/pub/f.bin": patternFile(500_000) } });
    const ftp = fx.client({ timeout: 10_000, retry: { attempts: 2, minDelay: 1, maxDelay: 5 } });
    let retries = 0;
    ftp.on("retry", () => retries++);
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    await ftp.cwd("/pub");
    srv.once("PWD", (s) => s.drop());
    expect(await ftp.pwd()).to.equal("/pub");
    const after = srv.commands.slice(srv.commands.indexOf("PWD"));
    expect(after).to.deep.equal(["PWD", "AUTH TLS", "USER user", "PASS pass", "PBSZ 0", "PROT P", "CWD /pub", "PWD"]);
    expect(ftp.secure).to.equal(true);

    let sent = 0;
    srv.once("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection for f.bin (500000 bytes).");
      const data = await s.openData();
      const bytes = patternBytes(0, 100_000);
      data.write(bytes, () => {
        sent = bytes.length;
        data.end(() => s.drop());
      });
    });
    const chunks: Buffer[] = [];
    for await (const chunk of ftp.retrbinary("RETR f.bin")) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    expect(sent).to.equal(100_000);
    expect(data.length).to.equal(500_000);
    expect(patternMismatch(data)).to.equal(-1);
    expect(retries).to.equal(2);
  });
});
