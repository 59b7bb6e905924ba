/**
 * Fault matrix, passive replies: PASV replies with numbers out of range or
 * no address, PASV replies naming a foreign host, EPSV replies malformed.
 * The reply itself is well-formed FTP, so the control connection is still
 * in step: each malformed one fails the transfer with FtpProtoError, sends
 * nothing further for it, and leaves the client usable. A foreign host is
 * ignored (the control connection's peer is used) unless `trustPasvHost`.
 * Once an EPSV port was reached in the session, the transfer command goes
 * out while the data connection's TCP handshake is under way; when that
 * connect fails, the command's replies are read before the error is
 * reported, so the queue stays in step.
 */
import { expect } from "chai";
import { FtpConnectionError, FtpProtoError } from "../../lib/index.js";
import { expectStreamError, FaultCase, later, watchStream } from "./helpers.js";

const BAD_PASV = [
  "227 Entering Passive Mode (127,0,0,1,300,1).",
  "227 Entering Passive Mode (127,0,0,256,4,1).",
  "227 Entering Passive Mode (127,0,0,1,0,0).",
  "227 Entering Passive Mode (127,0,0,1,-4,1).",
  "227 Entering Passive Mode (127,0,0,1,99999999999999999999,1).",
  "227 Entering Passive Mode.",
  "227 Entering Passive Mode (127,0,0,1,4).",
];

const BAD_EPSV = [
  "229 Entering Extended Passive Mode (|||70000|)",
  "229 Entering Extended Passive Mode (|||0|)",
  "229 Entering Extended Passive Mode (|||abc|)",
  "229 Entering Extended Passive Mode (|||-21|)",
  "229 Entering Extended Passive Mode (|||123456|)",
  "229 Entering Extended Passive Mode (||12345|)",
  "229 Entering Extended Passive Mode (!!!12345|)",
  "229 Entering Extended Passive Mode |||12345|",
  "229 Entering Extended Passive Mode (|||12345",
  "229 Entering Extended Passive Mode ()",
];

describe("faults: PASV and EPSV replies", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  for (const reply of BAD_PASV) {
    it(`errors a download with FtpProtoError on ${JSON.stringify(reply)}, and the client goes on`, async () => {
      // Server (useEpsv: false): PASV -> the reply. RETR must never be sent.
      fc = await FaultCase.start({ files: { "/f": "x" } });
      fc.srv.once("PASV", (s) => s.send(reply + "\r\n"));
      const ftp = fc.client({ useEpsv: false });
      await ftp.ready;
      const done = watchStream(ftp.retrbinary("RETR f"));
      const queued = later(ftp.pwd());
      const error = expectStreamError(await done, FtpProtoError);
      expect(error.response).to.equal(reply);
      expect(await queued).to.equal("/");
      expect(fc.srv.commands).not.to.include("RETR f");
      await fc.finish(ftp, false);
    });
  }

  for (const reply of BAD_EPSV) {
    it(`errors a download with FtpProtoError on ${JSON.stringify(reply)}, and the client goes on`, async () => {
      // Server: EPSV -> the reply. Neither PASV nor RETR is sent after it.
      fc = await FaultCase.start({ files: { "/f": "x" } });
      fc.srv.once("EPSV", (s) => s.send(reply + "\r\n"));
      const ftp = fc.client();
      await ftp.ready;
      const done = watchStream(ftp.retrbinary("RETR f"));
      const queued = later(ftp.pwd());
      const error = expectStreamError(await done, FtpProtoError);
      expect(error.response).to.equal(reply);
      expect(await queued).to.equal("/");
      expect(fc.srv.commands).not.to.include("RETR f");
      expect(fc.srv.commands).not.to.include("PASV");
      await fc.finish(ftp, false);
    });
  }

  it("ignores a foreign host in a 227 reply and connects to the control connection's peer", async () => {
    // Server (useEpsv: false): PASV -> a real passive port, announced as
    // 192.0.2.1 (TEST-NET, unroutable); RETR as usual.
    fc = await FaultCase.start({ files: { "/f": "0123456789" } });
    fc.srv.once("PASV", async (s) => {
      const port = await s.passiveListen();
      s.reply(227, `Entering Passive Mode (192,0,2,1,${port >> 8},${port & 255}).`);
    });
    const ftp = fc.client({ useEpsv: false });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR f"));
    expect(record.errors.map(String)).to.deep.equal([]);
    expect(record.data.toString()).to.equal("0123456789");
    await fc.finish(ftp, false);
  });

  it("with trustPasvHost, errors with FtpConnectionError when the 227 host refuses, and the client goes on", async () => {
    // Server (useEpsv: false): PASV -> a real passive port on 127.0.0.1,
    // announced as 127.0.0.2, where nothing listens: the connect is refused.
    // RETR went out while the connect was under way; the server, never
    // connected to, answers it with 425 once its listener gives up.
    fc = await FaultCase.start({ files: { "/f": "0123456789" }, passiveTimeoutMs: 200 });
    fc.srv.once("PASV", async (s) => {
      const port = await s.passiveListen();
      s.reply(227, `Entering Passive Mode (127,0,0,2,${port >> 8},${port & 255}).`);
    });
    const ftp = fc.client({ useEpsv: false, trustPasvHost: true });
    await ftp.ready;
    const done = watchStream(ftp.retrbinary("RETR f"));
    const queued = later(ftp.pwd());
    expectStreamError(await done, FtpConnectionError);
    expect(await queued).to.equal("/");
    expect(fc.srv.commands).to.include("RETR f");
    await fc.finish(ftp, false);
  });

  it("errors with FtpConnectionError when an EPSV port refuses the connection after its command went out, and the client goes on", async () => {
    // Server: a first RETR over EPSV as usual (the client has reached an
    // EPSV port, so it no longer waits for the connect before the command;
    // a refusal before the command falls back to PASV: spec/modes/epsv-fallback);
    // then EPSV -> a port where nothing listens (one just closed).
    fc = await FaultCase.start({ files: { "/f": "x" } });
    const deadPort = await closedPort();
    const ftp = fc.client();
    await ftp.ready;
    expect((await watchStream(ftp.retrbinary("RETR f"))).errors).to.deep.equal([]);
    fc.srv.once("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${deadPort}|)`));
    const done = watchStream(ftp.retrbinary("RETR f"));
    const queued = later(ftp.pwd());
    expectStreamError(await done, FtpConnectionError);
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("reads the final reply of a command the server took before the refused connect, so the next command gets its own", async () => {
    // Server: a first RETR over EPSV as usual; then EPSV -> a port where
    // nothing listens; RETR -> 150 (the server thought it had a connection),
    // then, once the client has had time to see the refusal, 426. The client
    // fails the transfer with the connect's error; the 426 is read for it,
    // and PWD gets its 257.
    fc = await FaultCase.start({ files: { "/f": "x" } });
    const deadPort = await closedPort();
    const ftp = fc.client();
    await ftp.ready;
    expect((await watchStream(ftp.retrbinary("RETR f"))).errors).to.deep.equal([]);
    fc.srv.once("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${deadPort}|)`));
    fc.srv.handle("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection.");
      await s.sleep(50);
      s.reply(426, "Connection closed; transfer aborted.");
    });
    const done = watchStream(ftp.retrbinary("RETR f"));
    const queued = later(ftp.pwd());
    expectStreamError(await done, FtpConnectionError);
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });
});

/** A loopback port where nothing listens (one just closed): a connect to it is refused. */
async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
