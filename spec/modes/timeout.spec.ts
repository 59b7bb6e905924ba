/**
 * Issue 3: `timeout` bounds the connect, every reply, and every wait on a
 * data connection. Expiry fails the running operation with FtpTimeoutError
 * and closes the client; nothing hangs. Each spec's own mocha timeout is far
 * below the 30 s default, so a client that ignored the option would fail here.
 */
import { expect } from "chai";
import { FtpError, FtpTimeoutError, type FTP } from "../../lib/index.js";
import { patternFile, type FixtureServer } from "../../fixtures/server.js";
import { HangingListener } from "./hanging-listener.js";
import { collect, Harness, rejection } from "./helpers.js";

const TIMEOUT = 300;
const FILES = { "/f.bin": patternFile(1000), "/big.bin": patternFile(8 * 1024 * 1024) };

/** After a timeout the client is closed, and says so to every later call. */
async function expectClosed(ftp: FTP): Promise<void> {
  expect(ftp.closed).to.equal(true);
  const later = await rejection(ftp.pwd());
  expect(later).to.be.instanceOf(FtpError);
  expect(later).to.not.be.instanceOf(FtpTimeoutError);
}

/** A handler that never answers. */
const silent = (): void => undefined;

describe("timeouts", function () {
  this.timeout(5000);
  const harness = new Harness();
  let srv: FixtureServer;

  beforeEach(async () => {
    srv = await harness.server({ files: FILES });
  });
  afterEach(() => harness.close());

  it("FtpTimeoutError is an FtpError with code ERR_FTP_TIMEOUT", () => {
    const error = new FtpTimeoutError("x");
    expect(error).to.be.instanceOf(FtpError);
    expect(error.code).to.equal("ERR_FTP_TIMEOUT");
  });

  describe("active mode", () => {
    it("a server that answers 150 but never connects: the transfer fails with FtpTimeoutError and the client is closed", async () => {
      srv.handle("RETR", (s) => s.reply(150, "Opening BINARY mode data connection."));
      const ftp = await harness.client(srv, { timeout: TIMEOUT, passive: false });
      const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
      expect(error).to.be.instanceOf(FtpTimeoutError);
      expect((error as Error).message).to.contain(`${TIMEOUT} ms`);
      expect(srv.commands.some((line) => line.startsWith("PORT "))).to.equal(true);
      await expectClosed(ftp);
    });

    it("the same through ntransfercmd", async () => {
      srv.handle("RETR", (s) => s.reply(150, "Opening BINARY mode data connection."));
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      ftp.setPasv(false);
      const error = await rejection(ftp.ntransfercmd("RETR /f.bin"));
      expect(error).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("the same for an upload, with the timeout given to connect()", async () => {
      srv.handle("STOR", (s) => s.reply(150, "Ok to send data."));
      const ftp = harness.bare({ passive: false });
      await ftp.connect(srv.host, srv.port, { timeout: TIMEOUT });
      await ftp.login("user", "pass");
      const error = await rejection(ftp.storbinary("STOR /up.bin", Buffer.from("data")));
      expect(error).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("queued calls behind the stuck transfer fail too, and none hangs", async () => {
      srv.handle("RETR", (s) => s.reply(150, "Opening BINARY mode data connection."));
      const ftp = await harness.client(srv, { timeout: TIMEOUT, passive: false });
      const transfer = rejection(collect(ftp.retrbinary("RETR /f.bin")));
      const queued = rejection(ftp.pwd());
      expect(await transfer).to.be.instanceOf(FtpTimeoutError);
      const error = await queued;
      expect(error).to.be.instanceOf(FtpError);
    });
  });

  describe("a server that stops answering", () => {
    it("no reply to a command: FtpTimeoutError, client closed", async () => {
      srv.handle("PWD", silent);
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const error = await rejection(ftp.pwd());
      expect(error).to.be.instanceOf(FtpTimeoutError);
      expect((error as Error).message).to.contain(`${TIMEOUT} ms`);
      await expectClosed(ftp);
      expect(srv.lastSession!.closed || (await waitClosed(srv))).to.equal(true);
    });

    it("no welcome: connect() fails with FtpTimeoutError", async () => {
      srv.onConnect(silent);
      const ftp = harness.bare({ timeout: TIMEOUT });
      const error = await rejection(ftp.connect(srv.host, srv.port));
      expect(error).to.be.instanceOf(FtpTimeoutError);
      expect(ftp.closed).to.equal(true);
    });

    it("no reply to login's USER", async () => {
      srv.handle("USER", silent);
      const ftp = harness.bare({ timeout: TIMEOUT });
      await ftp.connect(srv.host, srv.port);
      expect(await rejection(ftp.login("user", "pass"))).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("no reply to EPSV", async () => {
      srv.handle("EPSV", silent);
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      expect(await rejection(ftp.nlst())).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("no 1xx to RETR", async () => {
      srv.handle("RETR", silent);
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      expect(await rejection(collect(ftp.retrbinary("RETR /f.bin")))).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("no final reply after the data: the download errors (never ends) with FtpTimeoutError", async () => {
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData("all the data");
      });
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const download = ftp.retrbinary("RETR /f.bin");
      let ended = false;
      download.on("end", () => {
        ended = true;
      });
      expect(await rejection(collect(download))).to.be.instanceOf(FtpTimeoutError);
      expect(ended).to.equal(false);
      await expectClosed(ftp);
    });

    it("no final reply after an upload: the upload errors (never finishes) with FtpTimeoutError", async () => {
      srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        await s.receiveAll();
      });
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      expect(await rejection(ftp.storbinary("STOR /up.bin", Buffer.from("payload")))).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("no final reply after ntransfercmd: voidresp() rejects with FtpTimeoutError", async () => {
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData("x");
      });
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const [socket] = await ftp.ntransfercmd("RETR /f.bin");
      await collect(socket);
      expect(await rejection(ftp.voidresp())).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });

    it("a data connection that goes silent mid-download", async () => {
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        const sock = await s.openData();
        sock.write(Buffer.alloc(1000, 1));
        await s.sleep(5000);
      });
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const download = ftp.retrbinary("RETR /f.bin");
      let received = 0;
      download.on("data", (chunk: Buffer) => {
        received += chunk.length;
      });
      expect(await rejection(collect(download))).to.be.instanceOf(FtpTimeoutError);
      expect(received).to.equal(1000);
      await expectClosed(ftp);
    });

    it("a server that never answers ABOR", async () => {
      srv.handle("ABOR", silent);
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      expect(await rejection(ftp.abort())).to.be.instanceOf(FtpTimeoutError);
      await expectClosed(ftp);
    });
  });

  describe("what is not a timeout", () => {
    it("a slow consumer pausing a download is backpressure, not a dead server", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT, highWaterMark: 64 * 1024 });
      const download = ftp.retrbinary("RETR /big.bin");
      const first = await new Promise<Buffer>((resolve) => download.once("data", resolve));
      download.pause();
      // Stay paused for longer than the timeout, then read the rest.
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT * 2));
      const rest = await collect(download);
      expect(first.length + rest.length).to.equal(8 * 1024 * 1024);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("an idle client between commands", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT * 2));
      expect(await ftp.pwd()).to.equal("/");
      expect(ftp.closed).to.equal(false);
    });

    it("each reply gets the whole timeout from its own command, not from an earlier one's", async () => {
      // Two slow replies back to back, each well within the timeout: the
      // second's deadline runs from PWD, past the time the first (NOOP)
      // would have expired.
      const timeout = 1000;
      srv.once("NOOP", async (s, arg) => {
        await s.sleep(600);
        await s.defaultHandler("NOOP", arg);
      });
      srv.once("PWD", async (s, arg) => {
        await s.sleep(600);
        await s.defaultHandler("PWD", arg);
      });
      const ftp = await harness.client(srv, { timeout });
      expect(await ftp.voidcmd("NOOP")).to.match(/^200/);
      expect(await ftp.pwd()).to.equal("/");
      expect(ftp.closed).to.equal(false);
    });

    it("timeout: 0 waits as long as it takes", async () => {
      srv.once("PWD", async (s, arg) => {
        await s.sleep(300);
        await s.defaultHandler("PWD", arg);
      });
      const ftp = await harness.client(srv, { timeout: 0 });
      expect(await ftp.pwd()).to.equal("/");
    });
  });

  describe("TCP handshakes that never complete", () => {
    let listener: HangingListener;

    beforeEach(async () => {
      listener = await HangingListener.start();
    });
    afterEach(() => listener.close());

    it("connect() fails with FtpTimeoutError", async () => {
      const ftp = harness.bare({ timeout: TIMEOUT });
      const error = await rejection(ftp.connect("127.0.0.1", listener.port));
      expect(error).to.be.instanceOf(FtpTimeoutError);
      expect((error as Error).message).to.contain(`${TIMEOUT} ms`);
    });

    it("a passive data connection: RETR goes out without waiting for the handshake; then FtpTimeoutError, client closed", async () => {
      // A first download reaches an EPSV port, so the next transfer no longer
      // waits for its connect before its command (spec/modes/epsv-fallback).
      // The handshake never completes, so RETR reaching the server shows the
      // client did not wait for it (the fixture, with no listener of its
      // own, answers 425; the client still waits for its connect to settle).
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      await collect(ftp.retrbinary("RETR /f.bin"));
      srv.handle("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${listener.port}|)`));
      const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
      expect(error).to.be.instanceOf(FtpTimeoutError);
      expect((error as Error).message).to.contain("data connection");
      expect(srv.commands).to.include("RETR /f.bin");
      await expectClosed(ftp);
    });

    it("a transfer refused while its data connection's handshake hangs: the reply's error, and the client outlives its timeout", async () => {
      // After a first download over EPSV, RETR -> 550 while the connect is
      // still under way. The connect is dropped with the transfer; its
      // deadline must go with it, not close the client a timeout later.
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      await collect(ftp.retrbinary("RETR /f.bin"));
      srv.handle("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${listener.port}|)`));
      srv.handle("RETR", (s) => s.reply(550, "No such file."));
      const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
      expect((error as FtpError).replyCode).to.equal(550);
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT * 2));
      expect(ftp.closed).to.equal(false);
      expect(await ftp.pwd()).to.equal("/");
    });
  });
});

/** Resolves true once the fixture's last session has closed (the client hung up after its timeout). */
async function waitClosed(srv: FixtureServer): Promise<boolean> {
  while (!srv.lastSession!.closed) await new Promise((resolve) => setTimeout(resolve, 5));
  return true;
}
