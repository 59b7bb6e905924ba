/**
 * Under `retry`, a reconnect whose AUTH TLS a middlebox splits between its
 * CR and its LF (see auth-split-real): the connection drops mid-session,
 * the next call reconnects, and on proftpd 1.3.8, which leaves the split
 * line unanswered, that connection's AUTH TLS times out and the one after
 * it gets through: the call succeeds over TLS, nothing sent in the clear.
 * vsftpd and pure-ftpd answer the split line: one reconnect.
 */
import { expect } from "chai";
import { FtpTimeoutError, type FTP_TLS } from "../../lib/index.js";
import { AuthSplitProxy, noLoginInClear, RETRY, splitClient } from "./auth-split-proxy.js";
import { describeServers } from "./describe-server.js";

describeServers(
  "interop: a reconnect's AUTH TLS split between CR and LF",
  () => [{ label: "explicit FTPS", tls: "explicit" }],
  ({ kind, server }) => {
    const waits = kind === "proftpd";
    let proxy: AuthSplitProxy | undefined;
    const clients: FTP_TLS[] = [];
    afterEach(async () => {
      for (const ftp of clients.splice(0)) ftp.close();
      noLoginInClear(proxy);
      await proxy?.close();
      proxy = undefined;
    });

    it("the connection dropped mid-session, the reconnect's AUTH TLS split: the next call gets through over TLS", async () => {
      proxy = await AuthSplitProxy.start(server().port, [2]);
      const { ftp, retries } = splitClient(server(), proxy, RETRY);
      clients.push(ftp);
      await ftp.ready;
      proxy.dropAll();
      expect(await ftp.pwd()).to.equal("/");
      expect(ftp.secure).to.equal(true);
      // The dropped connection's failure, then on proftpd the unanswered AUTH TLS (and rarely a slow welcome).
      expect(retries.length).to.be.within(waits ? 2 : 1, RETRY.attempts);
      if (waits) expect(retries[1].error).to.be.instanceOf(FtpTimeoutError);
      expect(proxy.connections).to.equal(waits ? retries.length + 1 : 2);
    });
  },
  ["proftpd", "vsftpd", "pure-ftpd"],
);
