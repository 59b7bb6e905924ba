/**
 * retrlines' stream form: a LineStream is a stream, not a Promise, and
 * `done()` is ftplib's one-line `retrlines(cmd)`.
 */
import { expect } from "chai";
import sinon from "sinon";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpTempError, LineStream } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "./helpers.js";

/** Every RETR sends `one\ntwo\n`, then ends with 451 instead of 226. */
function linesThen451(srv: FixtureServer): void {
  srv.handle("RETR", async (s) => {
    s.reply(150, "Here it comes.");
    await s.sendData("one\ntwo\n");
    s.reply(451, "Local error in processing.");
  });
}

describe("LineStream (retrlines without a callback)", function () {
  const fixtures = useFixtures();

  it("is no thenable: an async function returning one resolves to the stream itself, unread, and nothing is printed", async function () {
    const srv = await fixtures.server({ files: { "/notes.txt": "one\ntwo\n" } });
    const ftp = await fixtures.client(srv);
    const log = sinon.stub(console, "log");
    const lines: string[] = [];
    let stream: unknown;
    let adopted: unknown;
    try {
      const listing = async () => ftp.retrlines("RETR /notes.txt");
      stream = await listing();
      adopted = await Promise.resolve(stream);
      for await (const line of stream as LineStream) lines.push(line as string);
    } finally {
      log.restore();
    }
    expect(stream).to.be.instanceOf(LineStream);
    expect(adopted).to.equal(stream);
    expect(lines, "every line is still there to read").to.deep.equal(["one", "two"]);
    expect(log.callCount, "console.log calls").to.equal(0);
    expect((stream as LineStream).response).to.equal("226 Transfer complete.");
  });

  it("done() with the lines read elsewhere only waits: it prints nothing and resolves to the final reply", async function () {
    const srv = await fixtures.server({ files: { "/notes.txt": "one\ntwo\n" } });
    const ftp = await fixtures.client(srv);
    const log = sinon.stub(console, "log");
    const lines: string[] = [];
    let reply: string;
    try {
      const stream = ftp.retrlines("RETR /notes.txt");
      stream.on("data", (line: string) => lines.push(line));
      reply = await stream.done();
    } finally {
      log.restore();
    }
    expect(reply).to.equal("226 Transfer complete.");
    expect(lines).to.deep.equal(["one", "two"]);
    expect(log.callCount, "console.log calls").to.equal(0);
    expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "RETR /notes.txt"]);
  });

  it("done() rejects with FtpTempError when the server replies 451 after the lines, and the client goes on", async function () {
    const srv = await fixtures.server();
    linesThen451(srv);
    const ftp = await fixtures.client(srv);
    const log = sinon.stub(console, "log");
    let error: Error;
    try {
      error = await rejectionOf(ftp.retrlines("RETR /notes.txt").done());
    } finally {
      log.restore();
    }
    expect(error).to.be.instanceOf(FtpTempError);
    expect(await ftp.voidcmd("NOOP")).to.match(/^200/);
  });
});
