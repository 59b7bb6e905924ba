/**
 * The chaos proxy in `opaque` mode carries an FTPS control connection (it
 * cannot read it, so data connections go straight to the server), and its
 * faults on that connection reach the client: a session through it logs in
 * secured and downloads byte for byte; a reset, close or stall inside the
 * TLS handshake fails `ready` with FtpConnectionError as soon as the
 * connection is gone (not after the client's timeout, nor never when it
 * has none), with nothing escaping.
 *
 * Server conversation: the TLS fixture (AUTH TLS, USER, PASS, PBSZ 0,
 * PROT P, TYPE I, EPSV, RETR /f.bin with `150 ... (n bytes)`, data, 226).
 */
import { expect } from "chai";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FtpConnectionError } from "../../lib/index.js";
import { EscapeTrap, outcome } from "../faults/helpers.js";
import { useTlsFixture } from "../tls/tls-fixture.js";
import { ChaosProxy } from "./proxy.js";

const SIZE = 100_000;

describe("chaos proxy, opaque (FTPS control connection)", () => {
  const fx = useTlsFixture();
  let srv: FixtureServer;
  let proxy: ChaosProxy | undefined;
  let trap: EscapeTrap;

  beforeEach(async () => {
    trap = new EscapeTrap();
    srv = await fx.start({ files: { "/f.bin": patternFile(SIZE) } });
  });
  afterEach(async () => {
    trap.release();
    await proxy?.close();
    proxy = undefined;
  });

  const client = (timeout = 5000) => fx.client({ host: proxy!.host, port: proxy!.port, user: "user", password: "pass", timeout });

  it("carries an explicit FTPS session, split and delayed: login secured, a PROT P download byte for byte", async () => {
    proxy = await ChaosProxy.start({
      target: { host: srv.host, port: srv.port },
      opaque: true,
      splitRate: 0.5,
      delayRate: 0.5,
      maxDelayMs: 2,
    });
    const ftp = client();
    await ftp.ready;
    expect(ftp.secure).to.equal(true);
    await ftp.prot_p();
    const chunks: Buffer[] = [];
    for await (const chunk of ftp.retrbinary("RETR /f.bin")) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    expect(data.length).to.equal(SIZE);
    expect(patternMismatch(data)).to.equal(-1);
    expect(proxy.stats.dataConnections, "data connections through the proxy").to.equal(0);
    expect(trap.escaped.map(String)).to.deep.equal([]);
  });

  // The replies before the handshake (the fixture's 220 and the 234 to AUTH TLS) are under 60 bytes; the server's first flight is well over 400.
  for (const kind of ["reset", "close", "stall"] as const) {
    for (const afterBytes of [60, 400]) {
      it(`a control ${kind} after ${afterBytes} bytes of replies (inside the TLS handshake) fails ready with FtpConnectionError, not its timeout`, async () => {
        // The stall resets both sides after 200 ms; the client would wait its own 60 s timeout for a handshake.
        proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port }, opaque: true, stallMs: 200 });
        proxy.inject({ channel: "control", kind, afterBytes });
        const ftp = client(60_000);
        const ready = await outcome(ftp.ready);
        expect(proxy.stats.log.length, "the fault fired").to.equal(1);
        expect(ready.ok, "ready after the fault").to.equal(false);
        if (!ready.ok) expect(ready.error).to.be.instanceOf(FtpConnectionError);
        expect(ftp.closed).to.equal(true);
        expect(trap.escaped.map(String)).to.deep.equal([]);
      });
    }
  }

  it("implicit FTPS: a control reset inside the TLS handshake fails ready with FtpConnectionError, not its timeout", async () => {
    const implicit = await fx.start({ files: {}, tls: { implicit: true } });
    proxy = await ChaosProxy.start({ target: { host: implicit.host, port: implicit.port }, opaque: true });
    proxy.inject({ channel: "control", kind: "reset", afterBytes: 200 });
    const ftp = fx.client({ host: proxy.host, port: proxy.port, user: "user", password: "pass", timeout: 60_000, implicit: true });
    const ready = await outcome(ftp.ready);
    expect(proxy.stats.log.length, "the fault fired").to.equal(1);
    expect(ready.ok).to.equal(false);
    if (!ready.ok) expect(ready.error).to.be.instanceOf(FtpConnectionError);
  });

  it("a control reset inside the TLS handshake settles ready with no timeout set (timeout 0)", async () => {
    proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port }, opaque: true });
    proxy.inject({ channel: "control", kind: "reset", afterBytes: 400 });
    const ftp = client(0);
    const ready = await outcome(ftp.ready);
    expect(ready.ok).to.equal(false);
    if (!ready.ok) expect(ready.error).to.be.instanceOf(FtpConnectionError);
  });
});
