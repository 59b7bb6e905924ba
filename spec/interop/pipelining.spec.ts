/**
 * Issue 11: every real server, in both data connection modes, answers a
 * pipelined window correctly: 200 mixed commands and transfers issued at
 * once on one client, each checked against what its own command must get.
 * Issue 24, Twisted: no EPSV (so no transfer is written with its EPSV: PASV
 * is answered first) and TYPE A downloads fail server-side (550 internal
 * server error, "TYPE A" in LACKS): each retrlines there must reject with
 * that typed error, and the calls around it still get their own replies.
 * ftp-srv runs the commands of two socket reads at once ("pipelining" in
 * LACKS): there the same calls run with pipelining off, one at a time, and
 * must still each get their own reply.
 */
import { expect } from "chai";
import { once } from "node:events";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as path from "node:path";
import { FTP, FTP_TLS, FtpError, FtpPermError } from "../../lib/index.js";
import { describeServers, type ServerVariant } from "./describe-server.js";
import { lacks, SAMPLE_FILES, TLS_SUPPORT, type ServerKind } from "./servers.js";

const MODES = (kind: ServerKind): ServerVariant[] => [
  { label: "passive", passive: true },
  { label: "active", passive: false },
  ...(TLS_SUPPORT[kind].includes("explicit") ? [{ label: "explicit FTPS, PROT P, passive", tls: "explicit" as const, passive: true }] : []),
];

const CALLS = 200;

describeServers("interop pipelining", MODES, ({ kind, variant, server }) => {
  let ftp: FTP | undefined;

  afterEach(async () => {
    ftp?.close();
    ftp = undefined;
    for (const name of await fs.readdir(server().home)) {
      if (name.startsWith("pipe-")) await fs.rm(path.join(server().home, name), { recursive: true, force: true });
    }
  });

  /** Most commands written and not yet answered at any one time, from the level-1 debug lines. */
  let mostInFlight = 0;
  /** Transfers whose command was written right behind EPSV, before its 229. */
  let writtenWithEpsv = 0;

  async function connect(pipelineWindow?: number): Promise<FTP> {
    const s = server();
    let inFlight = 0;
    let afterEpsv = false;
    mostInFlight = 0;
    writtenWithEpsv = 0;
    const options = {
      timeout: 20_000,
      // Where pipelined replies come back interleaved, the same calls issued at once run one at a time.
      pipelining: !lacks(kind, "pipelining"),
      pipelineWindow,
      debugLevel: 1,
      logger: (line: string) => {
        if (line.startsWith("*cmd*")) {
          mostInFlight = Math.max(mostInFlight, ++inFlight);
          if (afterEpsv && /^\*cmd\* '(RETR|STOR|LIST|NLST|MLSD)/.test(line)) writtenWithEpsv++;
          afterEpsv = line === "*cmd* 'EPSV'";
        } else if (line.startsWith("*resp*")) {
          afterEpsv = false;
          if (/^\*resp\* ['"][2-5]/.test(line)) inFlight--;
        }
      },
    };
    const client = s.tls ? new FTP_TLS({ ...options, tls: { ca: s.ca } }) : new FTP(options);
    ftp = client;
    await client.connect(s.host, s.port);
    await client.login(s.user, s.password);
    if (client instanceof FTP_TLS) await client.prot_p();
    return ftp;
  }

  it(`answers ${CALLS} mixed commands and transfers issued at once, each with its own reply`, async () => {
    const client = await connect();
    client.setPasv(variant.passive ?? true);
    // Each call checks the reply only its own command can get: sizes are
    // all different, so a reply handed to the wrong call shows.
    const checks: Array<Promise<void>> = [];
    const lines: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const upload = `pipe-${i}.bin`;
      switch (i % 10) {
        case 0:
          checks.push(client.size("hello.txt").then((size) => void expect(size, `size #${i}`).to.equal(SAMPLE_FILES["hello.txt"].length)));
          break;
        case 1:
          checks.push(
            client.size("sample.bin").then((size) => void expect(size, `size #${i}`).to.equal(SAMPLE_FILES["sample.bin"].length)),
          );
          break;
        case 2:
          checks.push(client.pwd().then((dir) => void expect(dir, `pwd #${i}`).to.equal("/")));
          break;
        case 3:
          checks.push(
            client.size(`pipe-missing-${i}`).then(
              () => expect.fail(`size of a missing file #${i} resolved`),
              (error: unknown) => void expect(error, `missing #${i}`).to.be.instanceOf(FtpPermError),
            ),
          );
          break;
        case 4:
          // Upload i bytes, then ask its size: written in one burst behind the upload.
          checks.push(
            client.storbinary(`STOR ${upload}`, Buffer.alloc(i, i)).then((reply) => void expect(reply, `STOR #${i}`).to.match(/^2\d\d/)),
            client.size(upload).then((size) => void expect(size, `size of upload #${i}`).to.equal(i)),
          );
          break;
        case 5:
          checks.push(client.sendcmd("NOOP").then((reply) => void expect(reply, `NOOP #${i}`).to.match(/^200/)));
          break;
        case 6:
          checks.push(
            client.retrbinary("RETR hello.txt", () => undefined).then((reply) => void expect(reply, `RETR #${i}`).to.match(/^2\d\d/)),
          );
          break;
        case 7:
          checks.push(
            client.mkd(`pipe-dir-${i}`).then((made) => void expect(made, `mkd #${i}`).to.match(new RegExp(`pipe-dir-${i}$`))),
            client.cwd(`pipe-dir-${i}`).then((reply) => void expect(reply, `cwd #${i}`).to.match(/^250/)),
            client.pwd().then((dir) => void expect(dir, `pwd in #${i}`).to.equal(`/pipe-dir-${i}`)),
            client.cwd("/").then((reply) => void expect(reply, `cwd / #${i}`).to.match(/^250/)),
          );
          break;
        case 8:
          checks.push(
            client
              .retrlines("RETR lines.txt", (line) => lines.push(line))
              .then(
                (reply) => void expect(reply, `retrlines #${i}`).to.match(/^2\d\d/),
                (error: unknown) => {
                  if (!lacks(kind, "TYPE A")) throw error;
                  expect(error, `retrlines #${i} in TYPE A`).to.be.instanceOf(FtpError).with.property("replyCode", 550);
                },
              ),
          );
          break;
        case 9:
          checks.push(
            client.size(`sub/nested.txt`).then((size) => void expect(size, `nested #${i}`).to.equal(SAMPLE_FILES["sub/nested.txt"].length)),
          );
          break;
      }
    }
    await Promise.all(checks);
    if (lacks(kind, "TYPE A")) expect(lines).to.deep.equal([]);
    else expect(lines).to.have.length(3 * (CALLS / 10));
    // In step afterwards: the next reply is this command's.
    expect(await client.size("sample.bin")).to.equal(SAMPLE_FILES["sample.bin"].length);
    // One at a time where the server lacks pipelining (see connect()).
    if (lacks(kind, "pipelining")) expect(mostInFlight, "commands in flight at once").to.be.at.most(1);
    else expect(mostInFlight, "commands in flight at once").to.be.greaterThan(3);
    // Passive, every transfer after the first EPSV's 229 wrote its command with its EPSV.
    if (variant.passive && !lacks(kind, "EPSV") && !lacks(kind, "pipelining"))
      expect(writtenWithEpsv, "transfers written with their EPSV").to.equal((3 * CALLS) / 10 - 1);
    else expect(writtenWithEpsv).to.equal(0);
  });

  it("answers a burst of 1000 commands through full windows, each with its own reply", async () => {
    // A window smaller than the burst (the default, 1,024, would hold it whole), so windows are refilled as replies come.
    const client = await connect(64);
    const calls = Array.from({ length: 1000 }, (_, i) => {
      if (i % 3 === 0) return client.size("hello.txt").then((size) => expect(size).to.equal(SAMPLE_FILES["hello.txt"].length));
      if (i % 3 === 1) return client.size("sample.bin").then((size) => expect(size).to.equal(SAMPLE_FILES["sample.bin"].length));
      return client.sendcmd("NOOP").then((reply) => expect(reply).to.match(/^200/));
    });
    await Promise.all(calls);
    if (lacks(kind, "pipelining")) expect(mostInFlight, "commands in flight at once").to.be.at.most(1);
    else expect(mostInFlight, "commands in flight at once").to.equal(64);
  });
});

/**
 * Why nothing is written behind a transfer's command until its final reply
 * (lib/exchange.ts, README "Pipelining"): pyftpdlib reads the control
 * connection during a transfer and answers what it finds at once, so a
 * command written behind RETR gets its reply before the RETR's 226.
 */
describeServers(
  "interop: commands written during a transfer",
  () => [{ label: "passive", passive: true }],
  ({ server }) => {
    it("pyftpdlib answers a NOOP written during a RETR before the RETR's final reply", async () => {
      const s = server();
      // Far more than socket buffers hold: the transfer cannot end while its data is not read.
      await fs.writeFile(path.join(s.home, "pipe-big.bin"), Buffer.alloc(32 * 1024 * 1024, 7));
      const control = net.connect({ host: s.host, port: s.port });
      const data: net.Socket[] = [];
      try {
        const replies = replyReader(control);
        const exchange = async (line: string): Promise<string> => {
          control.write(line + "\r\n");
          return replies.next();
        };
        expect(await replies.next()).to.match(/^220/);
        expect(await exchange(`USER ${s.user}`)).to.match(/^331/);
        expect(await exchange(`PASS ${s.password}`)).to.match(/^230/);
        expect(await exchange("TYPE I")).to.match(/^200/);
        const epsv = await exchange("EPSV");
        const port = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv)![1]);
        const socket = net.connect({ host: s.host, port });
        data.push(socket);
        await once(socket, "connect");
        // Never read: the server's writes stall once the buffers are full.
        socket.pause();
        expect(await exchange("RETR pipe-big.bin")).to.match(/^1\d\d/);
        expect(await exchange("NOOP")).to.match(/^200/);
      } finally {
        for (const socket of data) socket.destroy();
        control.destroy();
        await fs.rm(path.join(s.home, "pipe-big.bin"), { force: true });
      }
    });
  },
  ["pyftpdlib"],
);

/** Complete replies (multi-line joined) from a raw control connection, in order. */
function replyReader(socket: net.Socket): { next(): Promise<string> } {
  const complete: string[] = [];
  const waiting: Array<(reply: string) => void> = [];
  let text = "";
  let current: string[] = [];
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
    for (let end = text.indexOf("\r\n"); end >= 0; end = text.indexOf("\r\n")) {
      const line = text.slice(0, end);
      text = text.slice(end + 2);
      current.push(line);
      if (!/^\d{3} /.test(line) && !/^\d{3}$/.test(line)) continue;
      if (current.length > 1 && !line.startsWith(current[0].slice(0, 3))) continue;
      const reply = current.join("\n");
      current = [];
      const waiter = waiting.shift();
      if (waiter) waiter(reply);
      else complete.push(reply);
    }
  });
  return {
    next: () => {
      const ready = complete.shift();
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/**
 * Downloads written ahead of their turn (lib/transfer-ahead.ts): on the
 * servers whose welcome the client takes for one that leaves commands
 * unread while it waits for a data connection and sends a file, the next
 * download's EPSV and RETR go out right behind the one in front's, and
 * every file still gets its own bytes; on the others nothing is written
 * ahead and the same downloads come out the same.
 */
const HOLD_COMMANDS: readonly ServerKind[] = ["vsftpd", "inetutils-ftpd", "netkit-ftpd"];

describeServers(
  "interop: downloads written ahead of their turn",
  (kind) => (lacks(kind, "EPSV") ? [] : [{ label: "passive", passive: true }]),
  ({ kind, server }) => {
    it(`${HOLD_COMMANDS.includes(kind) ? "writes" : "writes no"} download ahead, and each of 20 issued at once gets its own bytes`, async () => {
      const s = server();
      const names = Array.from({ length: 20 }, (_, i) => `pipe-ahead-${i}.bin`);
      for (const [i, name] of names.entries()) await fs.writeFile(path.join(s.home, name), Buffer.alloc(3000 + i * 97, i + 1));
      const wire: string[] = [];
      const ftp = new FTP({
        timeout: 10000,
        debugLevel: 1,
        logger: (line) => {
          if (/^\*cmd\* 'RETR /.test(line)) wire.push("RETR");
          else if (/^\*resp\* '226/.test(line)) wire.push("226");
        },
      });
      try {
        await ftp.connect(s.host, s.port);
        await ftp.login(s.user, s.password);
        // The session's first EPSV port is connected before its command goes out.
        await ftp.retrbinary(`RETR ${names[0]}`, () => undefined);
        wire.length = 0;
        const fetched = await Promise.all(
          names.map(async (name) => {
            const chunks: Buffer[] = [];
            await ftp.retrbinary(`RETR ${name}`, (chunk) => void chunks.push(chunk), { commandWithEpsv: true, writeAhead: true });
            return Buffer.concat(chunks);
          }),
        );
        for (const [i, bytes] of fetched.entries()) expect(bytes.equals(Buffer.alloc(3000 + i * 97, i + 1)), names[i]).to.equal(true);
        // A RETR written while an earlier one still waits for its 226.
        let waiting = 0;
        let ahead = 0;
        for (const entry of wire) {
          if (entry === "226") waiting--;
          else if (waiting++ > 0) ahead++;
        }
        if (HOLD_COMMANDS.includes(kind)) expect(ahead, wire.join(" ")).to.equal(names.length - 1);
        else expect(ahead, wire.join(" ")).to.equal(0);
        await ftp.quit();
      } finally {
        ftp.close();
      }
    });
  },
);
