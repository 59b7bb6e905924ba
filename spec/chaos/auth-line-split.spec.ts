/**
 * The fixture's AUTH TLS when the client's "AUTH TLS\r\n" arrives in two
 * reads, split between its CR and its LF, as the chaos proxy's split writes
 * deliver it (retry-close seed 1084900837). The fixture ends a line at a
 * bare CR (for ftplib's ABOR), so it used to answer 234 and switch to TLS
 * at the CR; the LF, read after the switch, was taken for the first byte of
 * the ClientHello ("wrong version number") and the fixture closed the
 * control connection during the first handshake. Like vsftpd, which reads a
 * command through its LF before it acts on it, AUTH now answers once the
 * line is whole.
 *
 * Raw sockets, no proxy: the CR half is written, the fixture is seen to
 * have read the command, then the LF is written on its own.
 */
import { expect } from "chai";
import { once } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import { useTlsFixture } from "../tls/tls-fixture.js";
import { until } from "../faults/helpers.js";

/** Collects a socket's CRLF-ended reply lines; `next()` waits for the next one. */
class ReplyLines {
  private buffered = "";
  private readonly lines: string[] = [];

  constructor(sock: net.Socket) {
    sock.on("data", (chunk: Buffer) => {
      this.buffered += chunk.toString("latin1");
      let end: number;
      while ((end = this.buffered.indexOf("\r\n")) >= 0) {
        this.lines.push(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end + 2);
      }
    });
  }

  async next(): Promise<string> {
    if (!(await until(() => this.lines.length > 0, 3000))) throw new Error("no reply line within 3 s");
    return this.lines.shift()!;
  }
}

/** Resolves with "secure" once the handshake is done, or with what ended it instead. */
function handshakeOutcome(secure: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    secure.once("secureConnect", () => resolve("secure"));
    secure.once("error", (err: Error) => resolve(`error: ${err.message}`));
    secure.once("close", () => resolve("closed"));
  });
}

describe("fixture: AUTH TLS whose CRLF arrives split between CR and LF", function () {
  const fx = useTlsFixture();
  const sockets: net.Socket[] = [];

  afterEach(() => {
    for (const sock of sockets.splice(0)) sock.destroy();
  });

  it("answers 234 once the LF has come, and the handshake and login go on over TLS", async function () {
    const srv = await fx.start();
    const raw = net.connect({ host: srv.host, port: srv.port });
    sockets.push(raw);
    raw.on("error", () => undefined);
    await once(raw, "connect");
    // Each write its own segment.
    raw.setNoDelay(true);
    const plain = new ReplyLines(raw);
    expect(await plain.next()).to.match(/^220 /);

    raw.write("AUTH TLS\r");
    // The fixture has read the line (it logs a command at its line end): before the fix it had answered and switched to TLS by now.
    expect(await until(() => srv.commands.includes("AUTH TLS"), 3000), "the fixture read AUTH TLS").to.equal(true);
    raw.write("\n");
    expect(await plain.next()).to.match(/^234 /);

    raw.removeAllListeners("data");
    const secure = tls.connect({ socket: raw, ca: fx.cert().cert, servername: "localhost" });
    sockets.push(secure);
    expect(await handshakeOutcome(secure)).to.equal("secure");
    const lines = new ReplyLines(secure);
    secure.write("USER user\r\n");
    expect(await lines.next()).to.match(/^331 /);
    secure.write("PASS pass\r\n");
    expect(await lines.next()).to.match(/^230 /);
    expect(srv.commands).to.deep.equal(["AUTH TLS", "USER user", "PASS pass"]);
  });
});
