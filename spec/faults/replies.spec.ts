/**
 * Fault matrix, hostile replies: a non-numeric code, a multi-line reply
 * that never ends (silent, or growing without bound), an overlong line,
 * binary garbage — as the welcome, as the reply to a command, and as the
 * final reply of a transfer. The control stream is out of sync after any of
 * them, so each row: the operation fails with FtpProtoError (FtpTimeoutError
 * when the server just stops), queued calls fail once with FtpClosedError,
 * `ftp.closed` is true, nothing escapes or leaks.
 */
import { expect } from "chai";
import { FtpClosedError, FtpProtoError, FtpTimeoutError } from "../../lib/index.js";
import type { Session } from "../../fixtures/server.js";
import { expectStreamError, FaultCase, later, rejectsWith, watchStream } from "./helpers.js";

interface BadReply {
  name: string;
  /** Sends the bad reply; runs in a fixture handler. */
  send(s: Session): Promise<void> | void;
  error: typeof FtpProtoError | typeof FtpTimeoutError;
}

/** Bytes that are nothing like a reply: NUL, invalid UTF-8, Telnet IAC, a line end. */
const GARBAGE = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x1b, 0x5b, 0x32, 0x4a, 0x0d, 0x0a]);

const BAD_REPLIES: BadReply[] = [
  // "abc Hello": three letters where the code goes.
  { name: "a non-numeric code", send: (s) => s.send("abc Hello\r\n"), error: FtpProtoError },
  // "2x0 ok": a code with a letter in it.
  { name: "a code with a letter in it", send: (s) => s.send("2x0 ok\r\n"), error: FtpProtoError },
  // "600 what": a code outside 1xx-5xx.
  { name: "a code outside 1xx-5xx", send: (s) => s.send("600 what\r\n"), error: FtpProtoError },
  // "211-start" and one more line, then silence: the reply never ends.
  {
    name: "a multi-line reply that never ends (then silence)",
    send: (s) => s.send("211-start\r\n more\r\n"),
    error: FtpTimeoutError,
  },
  // "211-start" then 64 KiB lines forever (until the client hangs up): past maxReply (1 MiB).
  {
    name: "a multi-line reply that never ends (growing)",
    send: async (s) => {
      s.send("211-start\r\n");
      const line = ` ${"x".repeat(64 * 1024 - 3)}\r\n`;
      while (!s.closed) {
        s.send(line);
        await s.sleep(1);
      }
    },
    error: FtpProtoError,
  },
  // "200 " + 9000 x's + CRLF: one line over maxLine (8192).
  { name: "an overlong line", send: (s) => s.send(`200 ${"x".repeat(9000)}\r\n`), error: FtpProtoError },
  // "200 " + x's forever, no line end (until the client hangs up).
  {
    name: "an overlong line that never ends",
    send: async (s) => {
      s.send("200 ");
      while (!s.closed) {
        s.send("x".repeat(4096));
        await s.sleep(1);
      }
    },
    error: FtpProtoError,
  },
  // NUL, invalid UTF-8, IAC, an escape sequence, CRLF.
  { name: "binary garbage", send: (s) => s.send(GARBAGE), error: FtpProtoError },
];

describe("faults: hostile replies", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  for (const bad of BAD_REPLIES) {
    it(`rejects connect() with ${bad.error.name} on ${bad.name} as the welcome`, async () => {
      // Server: the bad reply instead of 220.
      fc = await FaultCase.start();
      fc.srv.onConnect((s) => bad.send(s));
      const ftp = fc.client({ login: false, timeout: 300 });
      const connecting = later(ftp.connect(fc.srv.host, fc.srv.port));
      const queued = later(ftp.login("user", "pass"));
      await rejectsWith(connecting, bad.error);
      await rejectsWith(queued, FtpClosedError);
      await fc.finish(ftp, true);
    });

    it(`rejects a command with ${bad.error.name} on ${bad.name} as its reply`, async () => {
      // Server: login; PWD -> the bad reply.
      fc = await FaultCase.start();
      fc.srv.once("PWD", (s) => bad.send(s));
      const ftp = fc.client({ timeout: 300 });
      await ftp.ready;
      const running = later(ftp.pwd());
      const queued = [later(ftp.voidcmd("NOOP")), later(ftp.size("/x"))];
      await rejectsWith(running, bad.error);
      for (const q of queued) await rejectsWith(q, FtpClosedError);
      await fc.finish(ftp, true);
    });

    it(`errors an upload with ${bad.error.name} on ${bad.name} instead of the 150`, async () => {
      // Server: STOR -> the bad reply (the data connection is open, unused).
      fc = await FaultCase.start();
      fc.srv.once("STOR", (s) => bad.send(s));
      const ftp = fc.client({ timeout: 300 });
      await ftp.ready;
      const upload = ftp.storbinary("STOR f");
      const done = watchStream(upload);
      upload.end("payload");
      const queued = later(ftp.pwd());
      expectStreamError(await done, bad.error);
      await rejectsWith(queued, FtpClosedError);
      await fc.finish(ftp, true);
    });

    it(`errors a download with ${bad.error.name} on ${bad.name} as its final reply`, async () => {
      // Server: RETR -> 150, the data, the data connection closed, the bad reply.
      fc = await FaultCase.start();
      fc.srv.once("RETR", async (s) => {
        s.reply(150, "Opening BINARY mode data connection.");
        await s.sendData("0123456789");
        await bad.send(s);
      });
      const ftp = fc.client({ timeout: 300 });
      await ftp.ready;
      const done = watchStream(ftp.retrbinary("RETR f"));
      const queued = later(ftp.pwd());
      expectStreamError(await done, bad.error);
      await rejectsWith(queued, FtpClosedError);
      await fc.finish(ftp, true);
    });
  }

  it("keeps the reply's text on an FtpProtoError for a reply that is not one", async () => {
    // Server: login; PWD -> "abc Hello".
    fc = await FaultCase.start();
    fc.srv.once("PWD", (s) => s.send("abc Hello\r\n"));
    const ftp = fc.client();
    await ftp.ready;
    const error = await rejectsWith(ftp.pwd(), FtpProtoError);
    expect(error.response).to.equal("abc Hello");
    expect(error).to.include({ code: "ERR_FTP_PROTO", replyCode: null });
    await fc.finish(ftp, true);
  });
});
