/**
 * ftpcp (FXP) with FTPS on either side: the data connection goes between
 * the two servers and ftpcp cannot secure it, so a copy with PROT P in
 * force on either client is refused, typed, before PASV; one with clear
 * data on both (prot_c(), as asked) copies.
 */
import { expect } from "chai";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP, FtpError, ftpcp, type FTP_TLS } from "../../lib/index.js";
import { useTlsFixture } from "./tls-fixture.js";

/** The data-connection commands a server got: none means no data connection was set up. */
const dataCommands = (srv: FixtureServer): string[] => srv.commands.filter((line) => /^(PASV|EPSV|PORT|EPRT|STOR|RETR)\b/.test(line));

describe("ftpcp with FTPS", () => {
  const fx = useTlsFixture();
  const plain: FTP[] = [];

  afterEach(() => {
    for (const ftp of plain.splice(0)) ftp.close();
  });

  async function tlsClient(srv: FixtureServer): Promise<FTP_TLS> {
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 3000 });
    await ftp.ready;
    return ftp;
  }

  async function plainClient(srv: FixtureServer): Promise<FTP> {
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 3000 });
    plain.push(ftp);
    return ftp;
  }

  const cases: Array<[string, boolean, boolean]> = [
    ["both sides", true, true],
    ["the source only (the target's server waits for a TLS client that never comes)", true, false],
    ["the target only (the source's server would send the file in the clear)", false, true],
  ];
  for (const [where, sourceTls, targetTls] of cases) {
    it(`refuses a copy with PROT P on ${where}, typed, before any data connection is set up`, async () => {
      const from = await fx.start({ files: { "/src.bin": patternFile(100_000) } });
      const to = await fx.start();
      const source = sourceTls ? await tlsClient(from) : await plainClient(from);
      const target = targetTls ? await tlsClient(to) : await plainClient(to);
      const started = Date.now();
      const error = await ftpcp(source, "/src.bin", target, "/copy.bin").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(FtpError);
      expect(error).to.include({ code: "ERR_FTP_FXP_PROTECTED" });
      expect(Date.now() - started).to.be.below(2000);
      expect(dataCommands(from)).to.deep.equal([]);
      expect(dataCommands(to)).to.deep.equal([]);
      expect(to.vfs.get("/copy.bin")).to.equal(undefined);
      // Both clients go on.
      expect(await source.pwd()).to.equal("/");
      expect(await target.pwd()).to.equal("/");
    });
  }

  it("copies with clear data on both sides after prot_c(), as the user asked", async () => {
    const from = await fx.start({ files: { "/src.bin": patternFile(100_000) } });
    const to = await fx.start();
    const source = await tlsClient(from);
    const target = await tlsClient(to);
    await source.prot_c();
    await target.prot_c();
    expect(await ftpcp(source, "/src.bin", target, "/copy.bin")).to.match(/^226/);
    const copy = to.vfs.get("/copy.bin")!;
    expect(copy.length).to.equal(100_000);
    expect(patternMismatch(copy)).to.equal(-1);
  });

  it("asks when both queues reach the copy: a prot_p() queued before it counts", async () => {
    const from = await fx.start({ files: { "/src.bin": patternFile(100_000) } });
    const to = await fx.start();
    const source = await tlsClient(from);
    const target = await tlsClient(to);
    await source.prot_c();
    await target.prot_c();
    void target.prot_p();
    const error = await ftpcp(source, "/src.bin", target, "/copy.bin").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.include({ code: "ERR_FTP_FXP_PROTECTED" });
    expect(dataCommands(to)).to.deep.equal([]);
  });
});
