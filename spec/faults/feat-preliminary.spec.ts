/**
 * FEAT answered with a 1xx (a broken or hostile server). FEAT opens no
 * transfer, so a 1xx is no answer to it: the client treats it as it
 * treats a 1xx to any other such command (voidcmd, PWD, MLST): the call
 * rejects with FtpReplyError carrying that reply, and the final reply the
 * 1xx announced is skipped when the next command goes. Before, features()
 * resolved with the 1xx as if it were the FEAT answer: an empty map, kept
 * for the login, so the client believed the server had no extensions.
 */
import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpReplyError } from "../../lib/index.js";
import { rejectsWith } from "./helpers.js";

const FEATURES = ["211-Features:", " MLST type*;size*;modify*;", " EPSV", " SIZE", "211 End"].join("\r\n") + "\r\n";

describe("faults: FEAT answered with a preliminary (1xx) reply", function () {
  let srv: FixtureServer | undefined;
  let ftp: FTP | undefined;
  afterEach(async () => {
    ftp?.close();
    ftp = undefined;
    await srv?.close();
    srv = undefined;
  });

  async function start(): Promise<FTP> {
    srv = await FixtureServer.start();
    const { host, port } = srv;
    ftp = await FTP.create({ host, port, user: "user", password: "pass", timeout: 5000 });
    return ftp;
  }

  it("features() rejects with FtpReplyError carrying the 1xx; the next command reads its own reply", async () => {
    const client = await start();
    srv!.once("FEAT", (s) => s.send("150 Here come the features.\r\n" + FEATURES));
    const error = await rejectsWith(client.features(), FtpReplyError);
    expect(error.code).to.equal("ERR_FTP_REPLY");
    expect(error.response).to.match(/^150 /);
    // The 211 the 150 announced is not taken as PWD's reply.
    expect(await client.pwd()).to.equal("/");
  });

  it("the 1xx is not kept as the login's features: the next features() asks FEAT again", async () => {
    const client = await start();
    srv!.once("FEAT", (s) => s.send("120 Features in a moment.\r\n" + FEATURES));
    await rejectsWith(client.features(), FtpReplyError);
    const features = await client.features();
    expect([...features.keys()]).to.include.members(["MLST", "EPSV", "SIZE"]);
  });

  it("a 1xx alone, its final reply coming only once the next command is sent, leaves that command its own reply", async () => {
    const client = await start();
    srv!.once("FEAT", (s) => s.send("150 Wait for it.\r\n"));
    await rejectsWith(client.features(), FtpReplyError);
    srv!.once("NOOP", (s) => s.send(FEATURES + "200 NOOP ok.\r\n"));
    expect(await client.voidcmd("NOOP")).to.match(/^200 /);
  });
});
