/**
 * Issue 24: active mode behind NAT. `activeAddress` is announced in
 * PORT/EPRT instead of the control connection's local address (lftp's
 * `ftp:port-ipv4`), and `activePortRange` bounds the local port listened
 * on (lftp's `ftp:port-range`, curl's `--ftp-port addr:lo-hi`). The fixture
 * records what was announced and connects to 127.0.0.1 on the announced
 * port, as a NAT forwarding that port would: a transfer only succeeds if
 * the client listens on the port it announced.
 */
import net from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { FTP, FtpConnectionError } from "../../lib/index.js";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { collect, Harness, rejection } from "./helpers.js";

const FILES = { "/f.bin": patternFile(100_000) };

/**
 * A range of `count` ports somewhere in 20000-31999, so parallel runs rarely
 * share one: below Linux's ephemeral ports (32768-60999), which a busy host's
 * outgoing and TIME_WAIT connections keep bound.
 */
function someRange(count: number): [number, number] {
  const low = 20_000 + Math.floor(Math.random() * (12_000 - count));
  return [low, low + count - 1];
}

/** What the fixture was told in PORT and EPRT, and the client ports it connected to. */
interface Seen {
  announced: Array<{ verb: string; host: string; port: number }>;
  connectedTo: number[];
}

/**
 * PORT and EPRT recorded and then pointed at 127.0.0.1 (the NAT's
 * forwarding); every data connection's far port recorded in RETR and STOR.
 */
function natServer(srv: FixtureServer): Seen {
  const seen: Seen = { announced: [], connectedTo: [] };
  srv.handle("PORT", (s, arg) => {
    const n = arg.split(",").map(Number);
    const port = n[4] * 256 + n[5];
    seen.announced.push({ verb: "PORT", host: n.slice(0, 4).join("."), port });
    s.setActive("127.0.0.1", port);
    s.reply(200, "PORT command successful.");
  });
  srv.handle("EPRT", (s, arg) => {
    const [, , host, port] = arg.split(arg[0]);
    seen.announced.push({ verb: "EPRT", host, port: Number(port) });
    s.setActive("127.0.0.1", Number(port));
    s.reply(200, "EPRT command successful.");
  });
  for (const verb of ["RETR", "STOR"]) {
    srv.handle(verb, async (s, arg) => {
      // Connected before the 150: the client listens from PORT on.
      const data = await s.openData();
      seen.connectedTo.push(data.remotePort!);
      await s.defaultHandler(verb, arg);
    });
  }
  return seen;
}

/** Listeners on every port of `range` on 127.0.0.1, so none is free there. */
async function occupy(range: [number, number]): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  try {
    for (let port = range[0]; port <= range[1]; port++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
    }
  } catch (error) {
    // Taken by something else: no listener of ours may outlive the spec.
    for (const server of servers) server.close();
    throw error;
  }
  return servers;
}

describe("active mode behind NAT: activeAddress and activePortRange", function () {
  this.timeout(5000);
  const harness = new Harness();
  let srv: FixtureServer;
  let seen: Seen;

  beforeEach(async () => {
    srv = await harness.server({ files: FILES });
    seen = natServer(srv);
  });
  afterEach(() => harness.close());

  it("announces activeAddress in PORT and listens on a port of activePortRange", async () => {
    const range = someRange(10);
    const ftp = await harness.client(srv, { passive: false, activeAddress: "203.0.113.7", activePortRange: range });
    for (let i = 0; i < 3; i++) {
      const data = await collect(ftp.retrbinary("RETR /f.bin"));
      expect(patternMismatch(data)).to.equal(-1);
    }
    expect(seen.announced.map((a) => a.verb)).to.deep.equal(["PORT", "PORT", "PORT"]);
    for (const [i, announced] of seen.announced.entries()) {
      expect(announced.host).to.equal("203.0.113.7");
      expect(announced.port).to.be.within(range[0], range[1]);
      expect(seen.connectedTo[i]).to.equal(announced.port);
    }
  });

  it("uploads the same way", async () => {
    const range = someRange(5);
    const ftp = await harness.client(srv, { passive: false, activeAddress: "198.51.100.20", activePortRange: range });
    const payload = patternBytes(5, 70_000);
    await pipeline(Readable.from([payload]), ftp.storbinary("STOR /up.bin"));
    expect(srv.vfs.get("/up.bin")?.equals(payload)).to.equal(true);
    expect(seen.announced).to.deep.equal([{ verb: "PORT", host: "198.51.100.20", port: seen.connectedTo[0] }]);
    expect(seen.connectedTo[0]).to.be.within(range[0], range[1]);
  });

  it("announces an IPv6 activeAddress with EPRT |2|", async () => {
    const ftp = await harness.client(srv, { passive: false, activeAddress: "2001:db8::7" });
    expect(patternMismatch(await collect(ftp.retrbinary("RETR /f.bin")))).to.equal(-1);
    expect(srv.commands.filter((line) => /^(PORT|EPRT)/.test(line))).to.deep.equal([`EPRT |2|2001:db8::7|${seen.connectedTo[0]}|`]);
  });

  it("falls back to EPRT |1| with activeAddress when PORT is refused", async () => {
    srv.once("PORT", (s) => s.reply(500, "PORT not understood."));
    const ftp = await harness.client(srv, { passive: false, activeAddress: "203.0.113.7" });
    expect(patternMismatch(await collect(ftp.retrbinary("RETR /f.bin")))).to.equal(-1);
    const sent = srv.commands.filter((line) => /^(PORT|EPRT)/.test(line));
    expect(sent[0]).to.match(/^PORT 203,0,113,7,\d+,\d+$/);
    expect(sent[1]).to.equal(`EPRT |1|203.0.113.7|${seen.connectedTo[0]}|`);
  });

  it("with activePortRange alone, announces the local address and a port of the range", async () => {
    const range = someRange(3);
    const ftp = await harness.client(srv, { passive: false, activePortRange: range });
    expect(patternMismatch(await collect(ftp.retrbinary("RETR /f.bin")))).to.equal(-1);
    expect(seen.announced[0].host).to.equal("127.0.0.1");
    expect(seen.announced[0].port).to.be.within(range[0], range[1]);
    expect(seen.connectedTo).to.deep.equal([seen.announced[0].port]);
  });

  it("takes the one free port of a range whose other ports are in use", async () => {
    const range = someRange(4);
    const busy = await occupy([range[0], range[0] + 2]);
    try {
      const ftp = await harness.client(srv, { passive: false, activePortRange: range });
      expect(patternMismatch(await collect(ftp.retrbinary("RETR /f.bin")))).to.equal(-1);
      expect(seen.connectedTo).to.deep.equal([range[1]]);
    } finally {
      for (const server of busy) server.close();
    }
  });

  it("fails with FtpConnectionError (EADDRINUSE) when no port of the range is free, sends nothing, and the client goes on", async () => {
    const range = someRange(2);
    const busy = await occupy(range);
    let ftp: FTP;
    try {
      ftp = await harness.client(srv, { passive: false, activePortRange: range });
      const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
      expect(error).to.be.instanceOf(FtpConnectionError);
      expect((error as FtpConnectionError).code).to.equal("EADDRINUSE");
      expect((error as Error).message).to.contain(`no free port in activePortRange ${range[0]}-${range[1]}`);
      expect(srv.commands.some((line) => /^(PORT|EPRT|RETR)/.test(line))).to.equal(false);
      expect(ftp.closed).to.equal(false);
      expect(await ftp.pwd()).to.equal("/");
    } finally {
      for (const server of busy) server.close();
    }
    expect(patternMismatch(await collect(ftp.retrbinary("RETR /f.bin")))).to.equal(-1);
  });

  it("refuses a bad activeAddress or activePortRange at construction", () => {
    expect(() => new FTP({ activeAddress: "nat.example" })).to.throw(TypeError, /activeAddress/);
    for (const range of [
      [0, 10],
      [10, 9],
      [1, 65536],
      [1.5, 3],
    ] as Array<[number, number]>) {
      expect(() => new FTP({ activePortRange: range }), JSON.stringify(range)).to.throw(RangeError, /activePortRange/);
    }
  });
});
