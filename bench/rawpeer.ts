/**
 * The far end of the raw-socket rows, in its own process (it gets the other
 * core, as vsftpd does): `node build/bench/rawpeer.js send|sink <bytes>`.
 * Listens on a free loopback port, prints `PORT <n>`, and serves every
 * connection until the parent ends it.
 *  - send: writes <bytes> from one pre-made 1 MiB block, then ends.
 *  - sink: reads and discards until the client ends, then ends its side
 *    (so the client knows every byte arrived).
 * No FTP at all: what is left is the cost of moving bytes through Node
 * sockets on this machine, the bound for any Node FTP client.
 */
import * as net from "node:net";
import { patternBytes } from "../fixtures/pattern.js";

const BLOCK = patternBytes(0, 1024 * 1024);

function send(socket: net.Socket, size: number): void {
  let left = size;
  const more = (): void => {
    while (left > 0) {
      const n = Math.min(BLOCK.length, left);
      left -= n;
      if (!socket.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n))) {
        socket.once("drain", more);
        return;
      }
    }
    socket.end();
  };
  more();
}

function main(): void {
  const [mode, sizeArg] = process.argv.slice(2);
  const size = Number(sizeArg);
  if ((mode !== "send" && mode !== "sink") || !Number.isSafeInteger(size)) {
    throw new Error("usage: rawpeer.js send|sink <bytes>");
  }
  const server = net.createServer((socket) => {
    socket.on("error", () => socket.destroy());
    if (mode === "send") {
      socket.resume();
      send(socket, size);
    } else {
      socket.on("data", () => undefined);
      socket.on("end", () => socket.end());
    }
  });
  server.listen({ host: "127.0.0.1", port: 0 }, () => {
    process.stdout.write(`PORT ${(server.address() as net.AddressInfo).port}\n`);
  });
  // The parent closing our stdin (or dying) ends us.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}

main();
