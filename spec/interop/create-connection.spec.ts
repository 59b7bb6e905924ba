/**
 * The createConnection option against the real servers: a login, a LIST, a
 * download and an upload, with the control connection and every passive data
 * connection tunnelled through the HTTP CONNECT proxy of
 * spec/modes/connect-proxy.ts (the one the fixture spec uses).
 *
 * Passive only. In active mode the server opens the data connection, to a
 * port the client listens on (PORT/EPRT): createConnection is not asked for
 * it, and a CONNECT tunnel only carries connections the client opens (HTTP
 * CONNECT has no BIND as SOCKS has), so there is nothing for it to carry.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { type ConnectionRequest, FTP } from "../../lib/index.js";
import { type ConnectProxy, startConnectProxy, viaProxy } from "../modes/connect-proxy.js";
import { describeServers } from "./describe-server.js";
import { SAMPLE_FILES } from "./servers.js";

describeServers(
  "createConnection through an HTTP CONNECT proxy",
  () => [{ label: "passive" }],
  ({ server }) => {
    let proxy: ConnectProxy;
    const clients: FTP[] = [];

    beforeEach(async () => {
      proxy = await startConnectProxy();
    });

    afterEach(async () => {
      for (const ftp of clients.splice(0)) ftp.close();
      await proxy.close();
    });

    it("logs in, lists, downloads and uploads with every connection through the tunnel", async () => {
      const s = server();
      const seen: ConnectionRequest[] = [];
      const ftp = await FTP.create({
        host: s.host,
        port: s.port,
        user: s.user,
        password: s.password,
        timeout: 20_000,
        createConnection: viaProxy(proxy.port, seen),
      });
      clients.push(ftp);

      const lines: string[] = [];
      for await (const line of ftp.retrlines("LIST")) lines.push(line as string);
      expect(
        lines.some((line) => / hello\.txt$/.test(line)),
        lines.join("\n"),
      ).to.equal(true);

      const chunks: Buffer[] = [];
      await ftp.retrbinary("RETR sample.bin", (block) => chunks.push(block));
      expect(Buffer.concat(chunks).equals(SAMPLE_FILES["sample.bin"])).to.equal(true);

      // Larger than the socket buffers, so the tunnel carries it in many reads.
      const upload = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7) % 251));
      const reply = await ftp.storbinary("STOR tunnelled.bin", upload);
      expect(reply).to.match(/^2/);
      expect((await fs.readFile(path.join(s.home, "tunnelled.bin"))).equals(upload)).to.equal(true);
      await ftp.quit();

      expect(seen.map((request) => request.purpose)).to.deep.equal(["control", "data", "data", "data"]);
      expect(proxy.targets[0]).to.equal(`${s.host}:${s.port}`);
      // Each data connection went through the proxy to the server's host, on one of its passive ports.
      expect(proxy.targets).to.have.length(4);
      for (const target of proxy.targets.slice(1)) {
        const [host, port] = target.split(":");
        expect(host).to.equal(s.host);
        expect(Number(port)).to.be.within(s.pasvPorts[0], s.pasvPorts[1]);
      }
    });
  },
);
