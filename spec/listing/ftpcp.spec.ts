import { expect } from "chai";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP, ftpcp, FtpPermError, FtpProtoError } from "../../lib/index.js";

describe("ftpcp (server-to-server copy)", () => {
  let from: FixtureServer;
  let to: FixtureServer;
  let source: FTP;
  let target: FTP;

  beforeEach(async () => {
    from = await FixtureServer.start({ files: { "/src.bin": patternFile(2_000_000) } });
    to = await FixtureServer.start();
    source = await FTP.create({ host: from.host, port: from.port, user: "user", password: "pass" });
    target = await FTP.create({ host: to.host, port: to.port, user: "user", password: "pass" });
  });

  afterEach(async () => {
    source.close();
    target.close();
    await from.close();
    await to.close();
  });

  it("copies a file directly between two servers, as ftplib's ftpcp", async () => {
    const reply = await ftpcp(source, "/src.bin", target, "/copy.bin");
    expect(reply).to.match(/^226/);
    const copy = to.vfs.get("/copy.bin")!;
    expect(copy.length).to.equal(2_000_000);
    expect(patternMismatch(copy)).to.equal(-1);
    expect(from.commands).to.include.members(["TYPE I", "PASV", "RETR /src.bin"]);
    expect(to.commands.some((c) => /^PORT 127,0,0,1,\d+,\d+$/.test(c))).to.equal(true);
    // Both clients are in step afterwards.
    expect(await source.pwd()).to.equal("/");
    expect(await target.pwd()).to.equal("/");
  });

  it("uses the source name on the target when no target name is given", async () => {
    await ftpcp(source, "/src.bin", target);
    expect(to.vfs.get("/src.bin")?.length).to.equal(2_000_000);
  });

  it("raises the target's refusal", async () => {
    to.handle("STOR", (s) => s.reply(553, "Could not create file."));
    const error = await ftpcp(source, "/src.bin", target, "/x").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpPermError);
    expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 553 });
  });

  it("refuses a preliminary reply that is not 125/150", async () => {
    to.handle("STOR", (s) => s.reply(120, "Wait."));
    const error = await ftpcp(source, "/src.bin", target, "/x").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpProtoError);
  });
});
