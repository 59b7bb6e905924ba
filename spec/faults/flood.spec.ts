/**
 * A server that floods the control connection: replies nobody asked for,
 * written as fast as the client reads them while it is idle; preliminary
 * replies during a download; a multi-line reply that never ends. What the
 * client holds must stay bounded (checked on the control connection's own
 * counts, not on RSS), and the client either goes on working (replies
 * nothing will read are dropped on arrival) or fails with FtpLimitError
 * (a bound was reached) — it never grows or hangs.
 */
import type { Socket } from "node:net";
import { expect } from "chai";
import { FtpClosedError, FtpLimitError, FtpProtoError } from "../../lib/index.js";
import type { FTP } from "../../lib/index.js";
import type { ControlConnection } from "../../lib/control.js";
import { MAX_HELD_PRELIMINARY_REPLIES } from "../../lib/control.js";
import { DEFAULT_MAX_LINE, DEFAULT_MAX_REPLY, MAX_REPLY_LINES } from "../../lib/reply.js";
import { patternBytes } from "../../fixtures/server.js";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** The client's control connection (a private field), to read what it holds. */
function controlOf(ftp: FTP): ControlConnection {
  return (ftp as unknown as { control: ControlConnection }).control;
}

/** `unit` repeated to about 64 KiB: one write of the flood. */
function block(unit: string): Buffer {
  return Buffer.from(unit.repeat(Math.ceil((64 * 1024) / unit.length)));
}

/**
 * Writes `bytes` over and over on `socket` for `ms` milliseconds, as fast as
 * the client reads them (each write waits for the last to drain), or until
 * the socket closes. Resolves to the bytes written.
 */
async function flood(socket: Socket, bytes: Buffer, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let written = 0;
  while (Date.now() < until && !socket.destroyed && socket.writable) {
    written += bytes.length;
    if (!socket.write(bytes) && !(await drainedOrClosed(socket))) break;
  }
  return written;
}

/** Resolves to true when `socket` drains, false when it closes first (the client hung up). */
function drainedOrClosed(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (drained: boolean): void => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(drained);
    };
    const onDrain = (): void => settle(true);
    const onClose = (): void => settle(false);
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}

/** Resolves once `condition` holds (polled every millisecond); the spec's timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Samples `read()` every millisecond until `stop` settles; resolves to the largest value seen. */
async function largestWhile(read: () => number, stop: Promise<unknown>): Promise<number> {
  let largest = read();
  const timer = setInterval(() => {
    largest = Math.max(largest, read());
  }, 1);
  try {
    await stop;
  } finally {
    clearInterval(timer);
  }
  return Math.max(largest, read());
}

/**
 * Logs the client in, runs one NOOP and resolves to the server's side of
 * the session once the client has read the 200: the client is idle from
 * then on, and what the spec writes next is a reply nobody asked for.
 */
async function idleClient(fixtures: ReturnType<typeof useFixtures>, srv: FixtureServer): Promise<{ ftp: FTP; session: Session }> {
  let session: Session | undefined;
  srv.once("NOOP", (s) => {
    session = s;
    s.reply(200, "NOOP ok.");
  });
  const ftp = await fixtures.client(srv);
  await ftp.voidcmd("NOOP");
  return { ftp, session: session! };
}

describe("faults: a server flooding the control connection", function () {
  this.timeout(20_000);
  const fixtures = useFixtures();

  it("drops replies nobody asked for as they arrive while idle: nothing is held, and the client keeps working", async function () {
    // Server: login; NOOP -> 200, then "200 flood" lines as fast as the client reads them for 1.5 s; then PWD as usual.
    const srv = await fixtures.server();
    const { ftp, session } = await idleClient(fixtures, srv);
    const flooding = flood(session.socket, block("200 flood\r\n"), 1500);
    const control = controlOf(ftp);
    // Every "200 flood" written (11 bytes each) is read and dropped before
    // PWD goes out: sent earlier, PWD would take one as its reply, as any
    // FTP client would.
    let sent = 0;
    const allRead = flooding.then((written) => {
      sent = written / 11;
      return until(() => control.droppedReplies === sent);
    });
    const heldReplies = await largestWhile(() => control.heldReplies, allRead);
    const written = sent * 11;
    expect(control.droppedReplies, "replies dropped").to.equal(sent);
    expect(heldReplies, "replies held at once").to.equal(0);
    expect(written, "bytes the server wrote").to.be.above(1024 * 1024);
    expect(await ftp.pwd()).to.equal("/");
    expect(ftp.closed).to.equal(false);
  });

  it("keeps an unsolicited 421 among a flood of other replies, and the next command fails with it", async function () {
    // Server: login; NOOP -> 200, 1 s of "200 flood" with one "421 Bye." at the front, then silence.
    const srv = await fixtures.server();
    const { ftp, session } = await idleClient(fixtures, srv);
    session.send("421 Bye.\r\n");
    const flooding = flood(session.socket, block("200 flood\r\n"), 1000);
    const control = controlOf(ftp);
    const heldReplies = await largestWhile(() => control.heldReplies, flooding);
    expect(heldReplies, "replies held at once").to.equal(1);
    const error = await rejectionOf(ftp.pwd());
    expect(error).to.include({ replyCode: 421 });
  });

  it("fails a download with FtpLimitError (unsolicitedReplies) when the server floods 1xx replies during it, instead of holding them", async function () {
    // Server: RETR -> 150, the first 64 KiB of data, then "150 more" lines as fast as the client reads them (the data connection stays open).
    const srv = await fixtures.server({ files: { "/a.bin": patternBytes(0, 1024 * 1024) } });
    let flooding: Promise<number> | undefined;
    srv.once("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const data = await s.openData();
      data.write(patternBytes(0, 64 * 1024));
      flooding = flood(s.socket, block("150 more\r\n"), 2000);
      await flooding;
      data.destroy();
    });
    const ftp = await fixtures.client(srv);
    const error = await rejectionOf(ftp.retrbinary("RETR /a.bin", () => undefined));
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "unsolicitedReplies", max: MAX_HELD_PRELIMINARY_REPLIES, code: "ERR_FTP_LIMIT" });
    expect(controlOf(ftp).heldReplies).to.equal(0);
    expect(ftp.closed).to.equal(true);
    const next = await rejectionOf(ftp.pwd());
    expect(next).to.be.instanceOf(FtpClosedError);
    await flooding;
  });

  for (const { what, unit, limit, max } of [
    { what: "lines of 8000 bytes", unit: ` ${"x".repeat(7997)}\r\n`, limit: "replyBytes", max: DEFAULT_MAX_REPLY },
    { what: "empty lines", unit: "\r\n", limit: "replyLines", max: MAX_REPLY_LINES },
    { what: "two-byte lines", unit: "x\r\n", limit: "replyLines", max: MAX_REPLY_LINES },
  ]) {
    it(`closes with FtpLimitError (${limit}) on an endless multi-line reply of ${what} while idle, and the next call fails with it`, async function () {
      // Server: login; NOOP -> 200, then "211-start" and `unit` over and over, as fast as the client reads, for up to 2 s.
      const srv = await fixtures.server();
      const { ftp, session } = await idleClient(fixtures, srv);
      session.send("211-start\r\n");
      const flooding = flood(session.socket, block(unit), 2000);
      const control = controlOf(ftp);
      const heldBytes = await largestWhile(() => control.heldReplyBytes, flooding);
      expect(heldBytes, "bytes the parser held at once").to.be.at.most(DEFAULT_MAX_REPLY + DEFAULT_MAX_LINE);
      expect(ftp.closed).to.equal(true);
      const reason = control.closeReason;
      expect(reason).to.be.instanceOf(FtpLimitError);
      expect(reason).to.be.instanceOf(FtpProtoError);
      expect(reason).to.include({ limit, max, code: "ERR_FTP_LIMIT" });
      const next = await rejectionOf(ftp.pwd());
      expect(next).to.be.instanceOf(FtpClosedError);
      expect(next.cause).to.equal(reason);
    });
  }

  it("rejects the running command with FtpLimitError (replyBytes) when its reply is an endless multi-line reply", async function () {
    // Server: login; PWD -> "257-start", then 64 KiB lines as fast as the client reads, for up to 2 s.
    const srv = await fixtures.server();
    let flooding: Promise<number> | undefined;
    srv.once("PWD", (s) => {
      s.send("257-start\r\n");
      flooding = flood(s.socket, block(` ${"y".repeat(1021)}\r\n`), 2000);
    });
    const ftp = await fixtures.client(srv);
    const error = await rejectionOf(ftp.pwd());
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "replyBytes", max: DEFAULT_MAX_REPLY });
    await flooding;
  });

  it("closes with FtpLimitError (replyLine) on a line that never ends while idle", async function () {
    // Server: login; NOOP -> 200, then "200 " and x's without a line end, for up to 2 s.
    const srv = await fixtures.server();
    const { ftp, session } = await idleClient(fixtures, srv);
    session.send("200 ");
    const flooding = flood(session.socket, block("x"), 2000);
    const control = controlOf(ftp);
    const heldBytes = await largestWhile(() => control.heldReplyBytes, flooding);
    expect(heldBytes).to.be.at.most(DEFAULT_MAX_LINE);
    expect(control.closeReason).to.be.instanceOf(FtpLimitError);
    expect(control.closeReason).to.include({ limit: "replyLine", max: DEFAULT_MAX_LINE });
    expect(await rejectionOf(ftp.pwd())).to.be.instanceOf(FtpClosedError);
  });
});
