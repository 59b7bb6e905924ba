/**
 * An HTTP CONNECT proxy on loopback, and the user's side of it: a
 * CreateConnection that tunnels through it (as a user would plug in a
 * SOCKS5 or CONNECT client from their own package). Used by the
 * createConnection specs, against the fixture and the real servers.
 */
import * as net from "node:net";
import type { ConnectionRequest, CreateConnection } from "../../lib/index.js";

export interface ConnectProxy {
  port: number;
  /** Each CONNECT's target ("host:port"), in order. */
  targets: string[];
  close(): Promise<void>;
}

/** An HTTP CONNECT proxy on loopback that records each CONNECT target. */
export async function startConnectProxy(): Promise<ConnectProxy> {
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
export function viaProxy(proxyPort: number, seen: ConnectionRequest[]): CreateConnection {
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
