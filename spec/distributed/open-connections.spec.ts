/**
 * The queue specs' count of connections open at once (open-connections.ts)
 * counts what was open, not the lines of a /proc/net/tcp reading the
 * kernel put together while connections came and went: the readings here
 * are the ones that made the queue-mirror spec see 7 connections under a
 * cap of 6.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { establishedTo, OpenConnections } from "./open-connections.js";

const SERVER = 21000;

/** One /proc/net/tcp line: 127.0.0.1:`local` to 127.0.0.1:`remote`, in state `st`, socket inode `inode`. */
function line(local: number, remote: number, st: string, inode: number): string {
  const hex = (port: number): string => `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return `  1: ${hex(local)} ${hex(remote)} ${st} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;
}

/** Client connection `n` to the server, ESTABLISHED. */
const client = (n: number): string => line(40000 + n, SERVER, "01", 900 + n);

function reading(...lines: string[]): string {
  return ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", ...lines, ""].join("\n");
}

function most(...readings: string[]): number {
  const open = new OpenConnections(SERVER);
  for (const text of readings) open.read(text);
  return open.most;
}

describe("counting the connections open at once from /proc/net/tcp (the queue specs' sampler)", () => {
  const six = [1, 2, 3, 4, 5, 6].map(client);

  it("counts a connection once when one reading lists it two or three times", () => {
    // The kernel resumed a read() at a position that had moved: 5 and 6 again, twice.
    const repeated = reading(...six, client(5), client(6), client(5), client(6));
    expect(repeated.split("\n").filter((l) => / 01 /.test(l)).length, "lines").to.equal(10);
    expect(most(repeated, reading(...six))).to.equal(6);
  });

  it("does not count a connection closed during a reading beside the one opened after it", () => {
    // 1 was listed before it closed, 7 after it opened: never 7 open at once.
    const straddling = reading(...six, client(7));
    expect(most(reading(...six), straddling, reading(...six.slice(1), client(7)))).to.equal(6);
  });

  it("still counts an excess that two readings in a row show", () => {
    expect(most(reading(...six), reading(...six, client(7)), reading(...six, client(7)))).to.equal(7);
  });

  it("counts only the client side of connections to the server's port, established", () => {
    const others = reading(
      client(1),
      line(SERVER, 40001, "01", 800), // the server's side of 1
      line(40002, SERVER, "06", 0), // TIME_WAIT
      line(40003, SERVER, "08", 903), // CLOSE_WAIT: the server has closed
      line(40004, SERVER + 1, "01", 904), // a data connection
    );
    expect([...establishedTo(others, SERVER)]).to.have.length(1);
    expect(most(others, others)).to.equal(1);
  });

  it("reads this machine's /proc/net/tcp: three connections to a loopback server are three", async () => {
    const server = net.createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(port, "127.0.0.1");
        await new Promise((resolve) => socket.once("connect", resolve));
        sockets.push(socket);
      }
      const open = new OpenConnections(port);
      // Four readings: a line the kernel skipped in one (see open-connections.ts) spoils two pairs, not all three.
      for (let i = 0; i < 4; i++) open.read(readFileSync("/proc/net/tcp", "utf8"));
      expect(open.most).to.equal(3);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
