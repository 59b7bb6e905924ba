import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP } from "../../lib/index.js";

describe("await using", () => {
  let server: FixtureServer;

  beforeEach(async () => {
    server = await FixtureServer.start();
  });

  afterEach(async () => {
    await server.close();
  });

  it("quits politely when the scope ends", async () => {
    let outside: FTP | undefined;
    {
      await using ftp = await FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" });
      outside = ftp;
      expect(await ftp.pwd()).to.equal("/");
    }
    expect(server.commands[server.commands.length - 1]).to.equal("QUIT");
    expect(outside.closed).to.equal(true);
  });

  it("closes without a word when the connection is already gone", async () => {
    let outside: FTP | undefined;
    {
      await using ftp = await FTP.create({ host: server.host, port: server.port });
      outside = ftp;
      ftp.close();
    }
    expect(server.commands).to.not.include("QUIT");
    expect(outside.closed).to.equal(true);
  });
});
