/**
 * A PROT P data connection whose TLS session was not resumed from the
 * control connection's must show the control connection's certificate
 * (FileZilla checks the same). With verification off (`rejectUnauthorized:
 * false`, usual for a self-signed server) any certificate was taken, so
 * whoever answered the data connection read uploads and replaced
 * downloads; with verification on, any certificate trusted for the host.
 * The refusal is a failure to secure the connection: never retried.
 */
import { expect } from "chai";
import sinon from "sinon";
import { TLSSocket, createSecureContext, type ConnectionOptions } from "node:tls";
import { makeCertificate, type TestCert } from "../../fixtures/cert.js";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { ControlConnection } from "../../lib/control.js";
import { FtpError, FTP_TLS } from "../../lib/index.js";
import { isSecurityFailure } from "../../lib/security-verbs.js";
import { settle, useTlsFixture, openClearData } from "./tls-fixture.js";

const SECRET = "the secret payload\n";

describe("FTPS: a data connection's certificate is the control connection's (T)", function () {
  this.timeout(20_000);
  const fx = useTlsFixture();
  /** Another certificate for the same host. */
  let other: TestCert;

  before(async () => {
    other = await makeCertificate("localhost", "DNS:localhost,IP:127.0.0.1,IP:::1");
  });

  /**
   * A server whose RETR and STOR serve the data connection in TLS with
   * `cert()` (a full handshake: never a resumed session), sending SECRET
   * on a RETR; what a STOR's client sent, as the server decrypted it, goes
   * to `received`.
   */
  async function server(cert: () => TestCert, received: Buffer[]): Promise<FixtureServer> {
    const srv = await fx.start({ files: { "/secret.txt": SECRET }, tls: { requireSessionReuse: false } });
    for (const verb of ["RETR", "STOR"]) {
      srv.handle(verb, async (s: Session) => {
        s.reply(150, "Here it comes.");
        const raw = await openClearData(s);
        const { key, cert: pem } = cert();
        const secure = new TLSSocket(raw, { isServer: true, secureContext: createSecureContext({ key, cert: pem }) });
        secure.on("error", () => undefined);
        secure.on("data", (chunk: Buffer) => received.push(chunk));
        const closed = new Promise((resolve) => raw.once("close", resolve));
        if (verb === "RETR") secure.end(SECRET);
        await closed;
        s.reply(226, "Transfer complete.");
      });
    }
    return srv;
  }

  function client(srv: FixtureServer, tls: ConnectionOptions, retry = false): FTP_TLS {
    return fx.track(
      new FTP_TLS({
        host: srv.host,
        port: srv.port,
        user: "user",
        password: "pass",
        timeout: 5000,
        tls,
        ...(retry ? { retry: { attempts: 2, minDelay: 1, maxDelay: 5 } } : {}),
      }),
    );
  }

  const refused = (error: unknown): void => {
    expect(error, String(error)).to.be.instanceOf(FtpError);
    expect((error as FtpError).code).to.equal("ERR_FTP_DATA_CERTIFICATE");
    expect(isSecurityFailure(error), "a security failure").to.equal(true);
  };

  const verifications: Array<[string, () => ConnectionOptions]> = [
    ["verification off", () => ({ rejectUnauthorized: false })],
    ["verification on, both certificates trusted", () => ({ ca: [fx.cert().cert, other.cert] })],
  ];

  it("a control connection that gave no TLS session (a TLS 1.3 server issuing no ticket) still binds its data connections to the certificate its handshake showed", async () => {
    // As if the server had issued no session: nothing to resume, no certificate to read out of one.
    const noSession = sinon.stub(ControlConnection.prototype, "tlsSession").get(() => undefined);
    try {
      const srv = await server(() => fx.cert(), []);
      const ftp = client(srv, { rejectUnauthorized: false });
      await ftp.ready;
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
      expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
      const misleading = await server(() => other, []);
      const misled = client(misleading, { rejectUnauthorized: false });
      await misled.ready;
      const download = await settle(misled.retrbinary("RETR /secret.txt", () => undefined));
      refused(download.error);
    } finally {
      noSession.restore();
    }
  });

  for (const [how, tls] of verifications) {
    it(`${how}: a download whose data certificate is another fails, delivering nothing, and is not retried`, async () => {
      const srv = await server(() => other, []);
      const ftp = client(srv, tls(), true);
      let retries = 0;
      ftp.on("retry", () => retries++);
      await ftp.ready;
      const chunks: Buffer[] = [];
      const download = await settle(ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk)));
      refused(download.error);
      expect(Buffer.concat(chunks).toString()).to.equal("");
      expect(retries).to.equal(0);
    });

    it(`${how}: an upload whose data certificate is another fails, and the server gets none of it`, async () => {
      const received: Buffer[] = [];
      const srv = await server(() => other, received);
      const ftp = client(srv, tls());
      await ftp.ready;
      const upload = await settle(ftp.storbinary("STOR /out.txt", Buffer.from(SECRET)));
      refused(upload.error);
      expect(Buffer.concat(received).toString()).to.equal("");
    });

    it(`${how}: a data connection not resumed but showing the control connection's certificate goes through`, async () => {
      const received: Buffer[] = [];
      const srv = await server(() => fx.cert(), received);
      const ftp = client(srv, tls());
      await ftp.ready;
      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk));
      expect(Buffer.concat(chunks).toString()).to.equal(SECRET);
      await ftp.storbinary("STOR /out.txt", Buffer.from(SECRET));
      expect(Buffer.concat(received).toString()).to.equal(SECRET);
    });
  }
});
