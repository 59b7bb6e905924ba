/**
 * Issue 3: `sourceAddress: [host, port]` binds the control connection's
 * local side; data connections (passive connects, the active listener) bind
 * the host. 127.0.0.2 is loopback too, so the fixture can tell it apart.
 */
import net from "node:net";
import { expect } from "chai";
import { FtpConnectionError, type FTP } from "../../lib/index.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { collect, Harness, rejection } from "./helpers.js";

const FILES = { "/a.txt": "alpha\n", "/b.txt": "beta\n" };

/** A TCP port that was free a moment ago. */
async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Records the client's address on every data connection the fixture makes or accepts for RETR. */
function recordDataPeers(srv: FixtureServer): string[] {
  const peers: string[] = [];
  srv.handle("RETR", async (s, arg) => {
    s.reply(150, "Here it comes.");
    const socket = await s.openData();
    peers.push(socket.remoteAddress ?? "");
    await s.sendData(s.vfs.get(s.resolvePath(arg)) ?? "");
    s.reply(226, "Transfer complete.");
  });
  return peers;
}

describe("sourceAddress", () => {
  const harness = new Harness();
  let srv: FixtureServer;

  beforeEach(async () => {
    srv = await harness.server({ files: FILES });
  });
  afterEach(() => harness.close());

  it("binds the control connection to the chosen host and port (connect option)", async () => {
    const port = await freePort("127.0.0.1");
    const ftp = harness.bare();
    await ftp.connect(srv.host, srv.port, { sourceAddress: ["127.0.0.1", port] });
    const control = srv.lastSession!.socket;
    expect(control.remoteAddress).to.equal("127.0.0.1");
    expect(control.remotePort).to.equal(port);
  });

  it("binds to the chosen host and port given to the constructor", async () => {
    const port = await freePort("127.0.0.2");
    const ftp = harness.bare({ host: srv.host, port: srv.port, user: "user", password: "pass", sourceAddress: ["127.0.0.2", port] });
    await ftp.ready;
    const control = srv.lastSession!.socket;
    expect(control.remoteAddress).to.equal("127.0.0.2");
    expect(control.remotePort).to.equal(port);
  });

  it("port 0 lets the OS choose the port on the chosen host", async () => {
    const ftp = harness.bare();
    await ftp.connect(srv.host, srv.port, { sourceAddress: ["127.0.0.2", 0] });
    expect(srv.lastSession!.socket.remoteAddress).to.equal("127.0.0.2");
    expect(srv.lastSession!.socket.remotePort).to.be.above(0);
  });

  async function boundClient(): Promise<FTP> {
    const ftp = harness.bare();
    await ftp.connect(srv.host, srv.port, { sourceAddress: ["127.0.0.2", 0] });
    await ftp.login("user", "pass");
    return ftp;
  }

  it("passive data connections come from the chosen host (its port is left to the OS)", async () => {
    const peers = recordDataPeers(srv);
    const ftp = await boundClient();
    expect((await collect(ftp.retrbinary("RETR /a.txt"))).toString()).to.equal("alpha\n");
    expect((await collect(ftp.retrbinary("RETR /b.txt"))).toString()).to.equal("beta\n");
    expect(peers).to.deep.equal(["127.0.0.2", "127.0.0.2"]);
    const [socket] = await ftp.ntransfercmd("RETR /a.txt");
    expect(socket.localAddress).to.equal("127.0.0.2");
    await collect(socket);
    await ftp.voidresp();
  });

  it("active mode listens on, and announces, the chosen host", async () => {
    const peers = recordDataPeers(srv);
    const ftp = await boundClient();
    ftp.setPasv(false);
    expect((await collect(ftp.retrbinary("RETR /a.txt"))).toString()).to.equal("alpha\n");
    const port = srv.commands.find((line) => line.startsWith("PORT "))!;
    expect(port).to.match(/^PORT 127,0,0,2,\d+,\d+$/);
    expect(peers).to.deep.equal(["127.0.0.2"]);
  });

  it("an address the host does not have fails the connect with FtpConnectionError", async () => {
    const ftp = harness.bare();
    const error = await rejection(ftp.connect(srv.host, srv.port, { sourceAddress: ["192.0.2.1", 0] }));
    expect(error).to.be.instanceOf(FtpConnectionError);
    expect((error as FtpConnectionError).code).to.equal("EADDRNOTAVAIL");
  });
});
