/**
 * Under PROT P a data connection is of use only once its TLS handshake is
 * done. A server that takes the connection and never answers the client's
 * hello (a plain data side, or one that stalls) gets the client's timeout
 * on every form: no call waits for ever on a handshake.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import type { Session } from "../../fixtures/server.js";
import { FtpTimeoutError, type FTP_TLS } from "../../lib/index.js";
import { settledWithin } from "../faults/helpers.js";
import { useTlsFixture } from "./tls-fixture.js";

/** A RETR handler: 150, then the data connection taken as plain TCP and held, silent, until the client lets go. */
async function silentDataSide(s: Session): Promise<void> {
  s.reply(150, "Opening BINARY mode data connection.");
  // The server's data side skips TLS: the client's hello gets no answer.
  s.state.prot = "C";
  const data: Socket = await s.openData();
  data.resume();
  await new Promise((resolve) => data.once("close", resolve));
}

describe("FTPS: a data connection whose TLS handshake never completes", () => {
  const fx = useTlsFixture();

  async function client(): Promise<FTP_TLS> {
    const srv = await fx.start({ files: { "/f.bin": "data" } });
    srv.handle("RETR", silentDataSide);
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 300 });
    await ftp.ready;
    return ftp;
  }

  it("ntransfercmd rejects with FtpTimeoutError instead of waiting for ever", async () => {
    const ftp = await client();
    const result = await settledWithin(ftp.ntransfercmd("RETR /f.bin"), 5000);
    expect(result, "ntransfercmd settled").to.not.equal("pending");
    if (result === "pending" || result.ok) return expect.fail("ntransfercmd should have failed");
    expect(result.error).to.be.instanceOf(FtpTimeoutError);
  });

  it("retrbinary rejects with FtpTimeoutError", async () => {
    const ftp = await client();
    const result = await settledWithin(
      ftp.retrbinary("RETR /f.bin", () => undefined),
      5000,
    );
    expect(result, "retrbinary settled").to.not.equal("pending");
    if (result === "pending" || result.ok) return expect.fail("retrbinary should have failed");
    expect(result.error).to.be.instanceOf(FtpTimeoutError);
  });
});
