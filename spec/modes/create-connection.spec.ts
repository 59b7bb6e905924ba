/**
 * The createConnection option: control and passive data connections made
 * by the caller's function, here through a small HTTP CONNECT proxy
 * written in the spec (as a user would plug in a SOCKS5 or CONNECT client
 * from their own package).
 */
import { expect } from "chai";
import * as net from "node:net";
import { FixtureServer } from "../../fixtures/server.js";
import { ConnectionRequest, CreateConnection, FTP, FtpConnectionError, FtpTimeoutError } from "../../lib/index.js";
import { rejectionOf } from "../core/helpers.js";

/** An HTTP CONNECT proxy on loopback that records each CONNECT target. */
async function startConnectProxy(): Promise<{ port: number; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      client.pause();
      const match = /^CONNECT (\S+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString("latin1"));
      if (!match) {
        client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
        return;
      }
      targets.push(`${match[1]}:${match[2]}`);
      const upstream = net.connect(Number(match[2]), match[1], () => {
        client.write("HTTP/1.1 200 Connection established\r\n\r\n");
        const rest = head.subarray(end + 4);
        if (rest.length > 0) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
      });
      sockets.add(upstream);
      upstream.on("close", () => {
        sockets.delete(upstream);
        client.destroy();
      });
      client.on("close", () => upstream.destroy());
      upstream.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    targets,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The user's side: a CreateConnection that tunnels through the proxy, resolving once the proxy said 200. */
function viaProxy(proxyPort: number, seen: ConnectionRequest[]): CreateConnection {
  return (request) => {
    seen.push(request);
    return new Promise((resolve, reject) => {
      const socket = net.connect(proxyPort, "127.0.0.1", () => {
        socket.write(`CONNECT ${request.host}:${request.port} HTTP/1.1\r\nHost: ${request.host}:${request.port}\r\n\r\n`);
      });
      socket.once("error", reject);
      let head = Buffer.alloc(0);
      // 'readable', not 'data': nothing read past the proxy's answer is lost before the client attaches.
      const onReadable = (): void => {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) continue;
          socket.off("readable", onReadable);
          socket.off("error", reject);
          const rest = head.subarray(end + 4);
          if (rest.length > 0) socket.unshift(rest);
          if (!/^HTTP\/1\.[01] 200/.test(head.toString("latin1"))) {
            socket.destroy();
            reject(new Error(`proxy refused: ${head.subarray(0, end).toString("latin1")}`));
          } else {
            resolve(socket);
          }
          return;
        }
      };
      socket.on("readable", onReadable);
    });
  };
}

describe("createConnection", function () {
  let srv: FixtureServer;
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
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
