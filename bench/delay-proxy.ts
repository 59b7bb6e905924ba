/**
 * A small delaying TCP proxy for the WAN row, in its own process:
 *
 *   node build/bench/delay-proxy.js <upstream host> <upstream port> <ms each way>
 *
 * Listens on a free loopback port, prints `PORT <n>`, and forwards every
 * connection to the FTP server, holding each chunk `ms` milliseconds in
 * each direction (a round trip costs twice that). The server's passive
 * replies (227, 229) are rewritten to name a port of the proxy, which
 * forwards that data connection the same way, so the data pays the delay
 * too. Exits when its stdin ends.
 *
 * What it cannot delay: TCP handshakes. The kernel completes a connect to
 * the proxy at once, so a client that waits for its data connection's
 * handshake before sending the command loses no time here, while on a real
 * network it loses a round trip per transfer. The row undercounts that.
 */
import * as net from "node:net";

const [host, portText, delayText] = process.argv.slice(2);
const upstreamPort = Number(portText);
const delay = Number(delayText);
if (!host || !Number.isInteger(upstreamPort) || !Number.isFinite(delay)) {
  process.stderr.write("usage: delay-proxy.js <upstream host> <upstream port> <ms each way>\n");
  process.exit(2);
}

/**
 * Writes each chunk to `to` `delay` ms after it was read from `from`; the
 * same delay for every chunk keeps them in order. Ends `to` after the last.
 */
function forward(from: net.Socket, to: net.Socket, transform?: (chunk: Buffer) => Promise<Buffer>): void {
  let chain = Promise.resolve();
  from.on("data", (chunk: Buffer) => {
    const due = performance.now() + delay;
    chain = chain.then(async () => {
      const bytes = transform ? await transform(chunk) : chunk;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!to.destroyed) to.write(bytes);
    });
  });
  from.on("end", () => {
    const due = performance.now() + delay;
    chain = chain.then(async () => {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      to.end();
    });
  });
  from.on("error", () => to.destroy());
}

/** Pairs an accepted socket with a new connection to `port` upstream. */
function relay(client: net.Socket, port: number, control: boolean): void {
  client.setNoDelay(true);
  const server = net.connect({ host, port });
  server.setNoDelay(true);
  forward(client, server);
  forward(server, client, control ? rewriter() : undefined);
  client.on("error", () => server.destroy());
  server.on("error", () => client.destroy());
}

/** Rewrites passive replies in the server's control stream, line by line. */
function rewriter(): (chunk: Buffer) => Promise<Buffer> {
  let partial = "";
  return async (chunk) => {
    const text = partial + chunk.toString("latin1");
    const end = text.lastIndexOf("\r\n") + 2;
    partial = text.slice(end);
    const lines = text.slice(0, end).split("\r\n");
    for (let i = 0; i < lines.length; i++) {
      const pasv = /^227 .*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(lines[i]);
      const epsv = /^229 .*\(\|\|\|(\d+)\|\)/.exec(lines[i]);
      if (pasv) {
        const port = await dataListener(Number(pasv[5]) * 256 + Number(pasv[6]));
        lines[i] = `227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255}).`;
      } else if (epsv) {
        lines[i] = `229 Entering Extended Passive Mode (|||${await dataListener(Number(epsv[1]))}|)`;
      }
    }
    return Buffer.from(lines.join("\r\n"), "latin1");
  };
}

/** A one-connection listener that relays to the server's passive `port`. */
function dataListener(port: number): Promise<number> {
  return new Promise((resolve) => {
    const listener = net.createServer((socket) => {
      listener.close();
      relay(socket, port, false);
    });
    listener.listen(0, "127.0.0.1", () => resolve((listener.address() as net.AddressInfo).port));
  });
}

const proxy = net.createServer((socket) => relay(socket, upstreamPort, true));
proxy.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${(proxy.address() as net.AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
