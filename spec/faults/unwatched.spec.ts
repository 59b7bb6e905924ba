/**
 * Transfer streams made up front and used later. A Node stream emits
 * 'error' at once, and with no listener that ends the process; a transfer
 * stream waiting in the queue behind another may fail long before its
 * caller gets to it. Such a stream keeps its error until it is watched
 * (pipeline, for await, finished(), an 'error' listener) or used, and
 * fails with it then; the queue moves on meanwhile.
 */
import { once } from "node:events";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { FtpClosedError, FtpConnectionError, FtpPermError } from "../../lib/index.js";
import { patternBytes } from "../../fixtures/server.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** A Writable that drops what it gets. */
function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

/** Lets queued failures run their course: a few turns of the event loop. */
async function settleQueue(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("faults: transfer streams nobody watches yet", function () {
  const fixtures = useFixtures();

  it("streams queued behind one whose connection drops fail when they are used, not as uncaught errors", async function () {
    const srv = await fixtures.server({ files: { "/b.bin": "b", "/c.txt": "c\n" } });
    srv.once("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      await s.sendData(patternBytes(0, 1000));
      s.drop();
    });
    const ftp = await fixtures.client(srv);
    const first = ftp.retrbinary("RETR /a.bin");
    const second = ftp.retrbinary("RETR /b.bin");
    const lines = ftp.retrlines("RETR /c.txt");
    const upload = ftp.storbinary("STOR /d.bin");
    const firstError = await rejectionOf(pipeline(first, discard()));
    expect(firstError).to.be.instanceOf(FtpConnectionError);
    // Had they emitted 'error' at once, mocha would have failed this spec
    // with an uncaught error by now.
    await settleQueue();
    expect(await rejectionOf(pipeline(second, discard()))).to.be.instanceOf(FtpClosedError);
    expect(
      await rejectionOf(
        (async () => {
          for await (const line of lines) expect.fail(`got a line: ${String(line)}`);
        })(),
      ),
    ).to.be.instanceOf(FtpClosedError);
    expect(await rejectionOf(pipeline(Readable.from([Buffer.from("d")]), upload))).to.be.instanceOf(FtpClosedError);
    expect(srv.commands.filter((line) => /^(RETR|STOR)/.test(line))).to.deep.equal(["RETR /a.bin"]);
  });

  it("a refused download made up front frees the queue at once, and errors once watched", async function () {
    const srv = await fixtures.server();
    const ftp = await fixtures.client(srv);
    const download = ftp.retrbinary("RETR /missing.bin");
    expect(await ftp.pwd()).to.equal("/");
    await settleQueue();
    expect(download.destroyed).to.equal(false);
    const [error] = (await once(download, "error")) as [Error];
    expect(error).to.be.instanceOf(FtpPermError);
    expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550 });
    expect(download.destroyed).to.equal(true);
  });

  it("a refused upload made up front frees the queue at once, and fails the pipeline that later feeds it", async function () {
    const srv = await fixtures.server();
    srv.handle("STOR", (s) => s.reply(553, "Could not create file."));
    const ftp = await fixtures.client(srv);
    const upload = ftp.storbinary("STOR /up.bin");
    expect(await ftp.pwd()).to.equal("/");
    await settleQueue();
    const error = await rejectionOf(pipeline(Readable.from([Buffer.from("data")]), upload));
    expect(error).to.be.instanceOf(FtpPermError);
    expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 553 });
  });

  it("a stream already watched errors at once, as any Node stream", async function () {
    const srv = await fixtures.server();
    const ftp = await fixtures.client(srv);
    const download = ftp.retrbinary("RETR /missing.bin");
    const errors: unknown[] = [];
    download.on("error", (error) => errors.push(error));
    expect(await ftp.pwd()).to.equal("/");
    await settleQueue();
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(FtpPermError);
  });
});
