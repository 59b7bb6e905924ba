/**
 * The createConnection option: control and passive data connections made
 * by the caller's function, here through a small HTTP CONNECT proxy
 * (connect-proxy.ts; spec/interop/create-connection.spec.ts tunnels to the
 * real servers through the same one).
 */
import { expect } from "chai";
import * as net from "node:net";
import { FixtureServer } from "../../fixtures/server.js";
import { ConnectionRequest, CreateConnection, FTP, FtpConnectionError, FtpTimeoutError } from "../../lib/index.js";
import { rejectionOf } from "../core/helpers.js";
import { type ConnectProxy, startConnectProxy, viaProxy } from "./connect-proxy.js";

describe("createConnection", function () {
  let srv: FixtureServer;
  let proxy: ConnectProxy;
  const clients: FTP[] = [];

  beforeEach(async () => {
    srv = await FixtureServer.start({ files: { "/pub/a.txt": "through the tunnel\n" } });
    proxy = await startConnectProxy();
  });

  afterEach(async () => {
    for (const ftp of clients.splice(0)) ftp.close();
    await proxy.close();
    await srv.close();
  });

  it("carries the control connection and every passive data connection through an HTTP CONNECT proxy", async () => {
    const seen: ConnectionRequest[] = [];
    const ftp = await FTP.create({
      host: srv.host,
      port: srv.port,
      user: "user",
      password: "pass",
      createConnection: viaProxy(proxy.port, seen),
    });
    clients.push(ftp);
    const chunks: Buffer[] = [];
    await ftp.retrbinary("RETR /pub/a.txt", (block) => chunks.push(block));
    expect(Buffer.concat(chunks).toString()).to.equal("through the tunnel\n");
    await ftp.storbinary("STOR /pub/b.txt", "uploaded\n");
    expect(srv.vfs.get("/pub/b.txt")?.toString()).to.equal("uploaded\n");
    const names: string[] = [];
    for await (const entry of ftp.list("/pub")) names.push(entry.name);
    expect(names.sort()).to.deep.equal(["a.txt", "b.txt"]);
    expect(seen.map((request) => request.purpose)).to.deep.equal(["control", "data", "data", "data"]);
    // Every connection went through the proxy, each data connection to the server's host (not the proxy's).
    expect(proxy.targets).to.have.length(4);
    expect(proxy.targets.every((target) => target.startsWith(`${srv.host}:`))).to.equal(true);
    expect(proxy.targets[0]).to.equal(`${srv.host}:${srv.port}`);
  });

  it("takes a socket returned still connecting (net.connect under another name)", async () => {
    const purposes: string[] = [];
    const direct: CreateConnection = ({ host, port, purpose }) => {
      purposes.push(purpose);
      return net.connect({ host, port });
    };
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", createConnection: direct });
    clients.push(ftp);
    expect(await ftp.nlst("/pub")).to.deep.equal(["/pub/a.txt"]);
    expect(purposes).to.deep.equal(["control", "data"]);
  });

  it("fails connect with FtpConnectionError when the function fails, and closes the client", async () => {
    const ftp = new FTP({
      createConnection: () => Promise.reject(new Error("proxy unreachable")),
    });
    clients.push(ftp);
    const error = await rejectionOf(ftp.connect(srv.host, srv.port));
    expect(error).to.be.instanceOf(FtpConnectionError);
    expect(error.message).to.include("proxy unreachable");
    expect(ftp.closed).to.equal(true);
  });

  it("fails connect with FtpTimeoutError when the function's socket never comes", async () => {
    const ftp = new FTP({ timeout: 100, createConnection: () => new Promise<net.Socket>(() => undefined) });
    clients.push(ftp);
    expect(await rejectionOf(ftp.connect(srv.host, srv.port))).to.be.instanceOf(FtpTimeoutError);
  });

  it("refuses a function that returns something other than a socket", async () => {
    const ftp = new FTP({ createConnection: () => ({}) as net.Socket });
    clients.push(ftp);
    expect(await rejectionOf(ftp.connect(srv.host, srv.port))).to.be.instanceOf(TypeError);
  });
});
