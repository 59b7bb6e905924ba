/**
 * A refused TLS certificate is never retried: under the `retry` option it
 * fails the call at once, on the one connection that met it, and closes
 * the client, so that no later call reconnects past it (in the clear, or
 * to try the same certificate again).
 */
import { expect } from "chai";
import { FTP_TLS, FtpClosedError, FtpConnectionError, FtpTempError, FtpTimeoutError } from "../../lib/index.js";
import type { RetryEvent } from "../../lib/index.js";
import { isCertificateFailure } from "../../lib/retry.js";
import { rejectsWith } from "../faults/helpers.js";
import { useTlsFixture } from "./tls-fixture.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };

describe("retry never retries a refused TLS certificate", () => {
  const fx = useTlsFixture();

  for (const implicit of [false, true]) {
    const how = implicit ? "implicit FTPS" : "AUTH TLS";
    it(`${how}: a self-signed certificate fails at once on one connection, with its own code, and closes the client`, async () => {
      const srv = await fx.start({ tls: { implicit } });
      // Trusts nothing but the default CAs: the fixture's certificate is refused.
      const ftp = fx.track(
        new FTP_TLS({ host: srv.host, port: srv.port, implicit, user: "user", password: "pass", timeout: 5000, retry: FAST }),
      );
      const events: RetryEvent[] = [];
      ftp.on("retry", (event) => events.push(event));
      const error = await rejectsWith(ftp.ready, FtpConnectionError);
      expect(error.code).to.equal("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect(events).to.deep.equal([]);
      expect(srv.sessions).to.have.length(1);
      expect(srv.commands).to.not.include("PASS pass");
      expect(ftp.closed).to.equal(true);
      // Nothing reconnects later either.
      await rejectsWith(ftp.pwd(), FtpClosedError);
      expect(srv.sessions).to.have.length(1);
    });
  }

  it("a reconnect that meets a refused certificate stops there: no further attempts, the call rejects with it", async () => {
    const srv = await fx.start();
    let handshakes = 0;
    // The first handshake passes; every later one finds the wrong name, as
    // if the server's certificate had changed while the client was away.
    const checkServerIdentity = (): Error | undefined =>
      ++handshakes > 1
        ? Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: "ERR_TLS_CERT_ALTNAME_INVALID" })
        : undefined;
    const ftp = fx.client({ timeout: 5000, retry: FAST, tls: { checkServerIdentity } });
    const events: RetryEvent[] = [];
    ftp.on("retry", (event) => events.push(event));
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    srv.once("PWD", (s) => s.drop());
    const error = await rejectsWith(ftp.pwd(), FtpConnectionError);
    expect(error.code).to.equal("ERR_TLS_CERT_ALTNAME_INVALID");
    // One retry for the drop; the certificate ends it.
    expect(events).to.have.length(1);
    expect(srv.sessions).to.have.length(2);
    expect(handshakes).to.equal(2);
    expect(ftp.closed).to.equal(true);
    await rejectsWith(ftp.pwd(), FtpClosedError);
    expect(srv.sessions).to.have.length(2);
  });

  describe("isCertificateFailure", () => {
    const failure = (code: string): Error => Object.assign(new Error(code), { code });

    for (const code of [
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "CERT_HAS_EXPIRED",
      "CERT_NOT_YET_VALID",
      "HOSTNAME_MISMATCH",
      "ERR_TLS_CERT_ALTNAME_INVALID",
      "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
    ]) {
      it(`takes ${code}, bare or as the cause of an FtpConnectionError, for a refused certificate`, () => {
        expect(isCertificateFailure(failure(code))).to.equal(true);
        expect(isCertificateFailure(new FtpConnectionError("TLS on the control connection failed", failure(code)))).to.equal(true);
      });
    }

    it("does not take a reset, a timeout, a TLS handshake timeout or a 4xx for one", () => {
      expect(isCertificateFailure(new FtpConnectionError("control connection failed", failure("ECONNRESET")))).to.equal(false);
      expect(isCertificateFailure(failure("ERR_TLS_HANDSHAKE_TIMEOUT"))).to.equal(false);
      expect(isCertificateFailure(new FtpTimeoutError("no reply"))).to.equal(false);
      expect(isCertificateFailure(new FtpTempError("421 Timeout."))).to.equal(false);
      expect(isCertificateFailure(undefined)).to.equal(false);
    });
  });
});
