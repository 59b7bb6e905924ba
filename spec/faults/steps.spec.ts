/**
 * Fault matrix, refusals: a 4xx and a 5xx at every step of a download and
 * of an upload — TYPE, EPSV and PASV (passive) or PORT and EPRT (active),
 * REST, RETR/STOR, and the final reply after the data. Each row: the stream
 * errors exactly once with FtpTempError (4xx) or FtpPermError (5xx),
 * carrying the server's code; nothing after the refused step is sent; the
 * client stays usable (the next command works); nothing escapes or leaks.
 */
import { expect } from "chai";
import { Readable, Writable } from "node:stream";
import { FTP, FtpError, FtpPermError, FtpReplyError, FtpTempError } from "../../lib/index.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { expectStreamError, FaultCase, later, receiveAtLeast, rejectsWith, until, watchStream } from "./helpers.js";

type Direction = "download" | "upload";

interface Step {
  /** What the row is called. */
  name: string;
  /** Scripts the refusal with `code`; the conversation is in the comment of each. */
  script(srv: FixtureServer, code: number, direction: Direction): void;
  /** The verb that must not be sent after the refusal. */
  notSent?: (direction: Direction) => string;
  passive?: boolean;
  rest?: number;
}

/** Server: STOR -> 150, reads 64 KiB, 552 (quota), closes the data connection. */
function refuseAfter64KiB(srv: FixtureServer): void {
  srv.handle("STOR", async (s) => {
    s.reply(150, "Ok to send data.");
    await receiveAtLeast(s, 64 * 1024);
    s.reply(552, "Quota exceeded.");
    await s.closeData();
  });
}

const transferVerb = (direction: Direction): string => (direction === "download" ? "RETR" : "STOR");

const STEPS: Step[] = [
  {
    // TYPE I -> code. Nothing else is sent for the transfer.
    name: "TYPE",
    script: (srv, code) => srv.once("TYPE", (s) => s.reply(code, "TYPE refused.")),
    notSent: transferVerb,
  },
  {
    // EPSV -> code, then (fallback) PASV -> code.
    name: "EPSV and then PASV",
    script: (srv, code) => {
      srv.once("EPSV", (s) => s.reply(code, "EPSV refused."));
      srv.once("PASV", (s) => s.reply(code, "PASV refused."));
    },
    notSent: transferVerb,
  },
  {
    // PORT -> code (a 500/501 would fall back to EPRT), EPRT -> code.
    name: "PORT and EPRT (active)",
    passive: false,
    script: (srv, code) => {
      srv.once("PORT", (s) => s.reply(code, "PORT refused."));
      srv.once("EPRT", (s) => s.reply(code, "EPRT refused."));
    },
    notSent: transferVerb,
  },
  {
    // EPSV -> 229, the client connects; REST 5 -> code.
    name: "REST",
    rest: 5,
    script: (srv, code) => srv.once("REST", (s) => s.reply(code, "REST refused.")),
    notSent: transferVerb,
  },
  {
    // RETR/STOR -> code at once, no 1xx.
    name: "RETR/STOR",
    script: (srv, code, direction) => {
      srv.once(transferVerb(direction), async (s) => {
        await s.closeData();
        s.reply(code, "Transfer refused.");
      });
    },
  },
  {
    // RETR/STOR -> 150, the data (sent, or read to its end), the data
    // connection closed, then code instead of 226.
    name: "the final reply",
    script: (srv, code, direction) => {
      srv.once(transferVerb(direction), async (s) => {
        s.reply(150, "Data connection open.");
        if (direction === "download") await s.sendData("0123456789");
        else await s.receiveAll();
        s.reply(code, "Transfer failed.");
      });
    },
  },
];

async function runTransfer(ftp: FTP, direction: Direction, rest: number | undefined): Promise<ReturnType<typeof watchStream>> {
  if (direction === "download") return watchStream(ftp.retrbinary("RETR f", rest === undefined ? {} : { rest }));
  const upload = ftp.storbinary("STOR f", rest === undefined ? {} : { rest });
  const done = watchStream(upload);
  Readable.from([Buffer.alloc(10_000, 1)]).pipe(upload);
  return done;
}

describe("faults: 4xx and 5xx at every step of a transfer", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  for (const direction of ["download", "upload"] as const) {
    for (const step of STEPS) {
      for (const [code, type] of [
        [451, FtpTempError],
        [553, FtpPermError],
      ] as const) {
        it(`${direction}: ${code} to ${step.name} errors the stream with ${type.name}, and the client goes on`, async () => {
          fc = await FaultCase.start({ files: { "/f": "0123456789" } });
          step.script(fc.srv, code, direction);
          const ftp = fc.client({ passive: step.passive ?? true });
          await ftp.ready;
          const sentBefore = fc.srv.commands.length;
          const done = runTransfer(ftp, direction, step.rest);
          const queued = later(ftp.pwd());
          const error = expectStreamError(await done, type);
          expect(error.replyCode).to.equal(code);
          expect(error.code).to.equal(code === 451 ? "ERR_FTP_TEMP" : "ERR_FTP_PERM");
          expect(error.response).to.match(new RegExp(`^${code} `));
          if (step.name === "REST") expect(error, "a refused REST is also an unexpected reply").to.be.instanceOf(FtpReplyError);
          expect(await queued).to.equal("/");
          const sent = fc.srv.commands.slice(sentBefore).map((line) => line.split(" ")[0]);
          if (step.notSent) expect(sent).not.to.include(step.notSent(direction));
          expect(sent).not.to.include("ABOR");
          await fc.finish(ftp, false);
        });
      }
    }
  }

  it("download: a 451 sent while data still flows errors the stream at once with FtpTempError", async () => {
    // Server: RETR -> 150, 64 KiB on the data connection (left open), 451,
    // then the data connection closed; the file was 1 MiB.
    fc = await FaultCase.start();
    fc.srv.handle("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection (1048576 bytes).");
      const sock = await s.openData();
      sock.write(Buffer.alloc(64 * 1024, 1));
      s.reply(451, "Local error: disk read failed.");
      await s.sleep(20);
      await s.closeData();
    });
    const ftp = fc.client();
    await ftp.ready;
    const done = watchStream(ftp.retrbinary("RETR f"));
    const queued = later(ftp.pwd());
    expect(expectStreamError(await done, FtpTempError).replyCode).to.equal(451);
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("upload: a 552 sent while data still flows errors the stream at once with FtpPermError", async () => {
    fc = await FaultCase.start();
    refuseAfter64KiB(fc.srv);
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR f");
    const done = watchStream(upload);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 1024; i++) yield Buffer.alloc(64 * 1024, 2);
      })(),
    );
    source.pipe(upload);
    const queued = later(ftp.pwd());
    expect(expectStreamError(await done, FtpPermError).replyCode).to.equal(552);
    source.destroy();
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("upload of a Buffer: a 552 sent while data still flows rejects with FtpPermError, and the client goes on", async () => {
    fc = await FaultCase.start();
    refuseAfter64KiB(fc.srv);
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR f", Buffer.alloc(32 * 1024 * 1024, 2));
    const queued = later(ftp.pwd());
    expect((await rejectsWith(upload, FtpPermError)).replyCode).to.equal(552);
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("upload of a Buffer: ftp.abort() while the server holds it rejects the upload, and the client goes on", async () => {
    // Server: STOR -> 150, reads 64 KiB and then nothing: the client's writes back up until ABOR.
    fc = await FaultCase.start();
    let holding = false;
    fc.srv.handle("STOR", async (s) => {
      s.reply(150, "Ok to send data.");
      await receiveAtLeast(s, 64 * 1024);
      holding = true;
    });
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR f", Buffer.alloc(32 * 1024 * 1024, 2));
    const outcome = upload.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(await until(() => holding), "the server holding the upload").to.equal(true);
    expect(await ftp.abort()).to.match(/^(225|226|426) /);
    expect(await outcome).to.be.instanceOf(FtpError);
    expect(await ftp.pwd()).to.equal("/");
    await fc.finish(ftp, false);
  });

  describe("every form of transfer", function () {
    const drain = async (iterable: AsyncIterable<unknown>): Promise<void> => {
      for await (const item of iterable) void item;
    };
    const FORMS: Record<string, { verb: string; run: (ftp: FTP) => Promise<unknown> }> = {
      "retrbinary(cmd, callback)": { verb: "RETR", run: (ftp) => ftp.retrbinary("RETR f", () => undefined) },
      "retrbinary(cmd, writable)": {
        verb: "RETR",
        run: (ftp) => ftp.retrbinary("RETR f", new Writable({ write: (_chunk, _encoding, callback) => callback() })),
      },
      "retrlines(cmd) iterated": { verb: "RETR", run: (ftp) => drain(ftp.retrlines("RETR f")) },
      "retrlines(cmd).done()": {
        verb: "RETR",
        run: async (ftp) => {
          const lines = ftp.retrlines("RETR f");
          lines.on("data", () => undefined); // consumed here, so done() does not print them
          return lines.done();
        },
      },
      "retrlines(cmd, callback)": { verb: "RETR", run: (ftp) => ftp.retrlines("RETR f", () => undefined) },
      "nlst()": { verb: "NLST", run: (ftp) => ftp.nlst() },
      "dir(callback)": { verb: "LIST", run: (ftp) => ftp.dir(() => undefined) },
      "mlsd() iterated": { verb: "MLSD", run: (ftp) => drain(ftp.mlsd()) },
      "list() iterated": { verb: "MLSD", run: (ftp) => drain(ftp.list()) },
      "storbinary(cmd, buffer)": { verb: "STOR", run: (ftp) => ftp.storbinary("STOR f", Buffer.alloc(10_000, 3)) },
      "storlines(cmd, text)": { verb: "STOR", run: (ftp) => ftp.storlines("STOR f", "a\nb\n") },
      "ntransfercmd + voidresp": {
        verb: "RETR",
        run: async (ftp) => {
          const [socket] = await ftp.ntransfercmd("RETR f");
          socket.resume();
          return ftp.voidresp();
        },
      },
    };
    for (const [form, { verb, run }] of Object.entries(FORMS)) {
      for (const [where, code, type] of [
        ["at once", 550, FtpPermError],
        ["as the final reply", 451, FtpTempError],
      ] as const) {
        it(`${form} rejects once with ${type.name} on a ${code} ${where}, and the client goes on`, async () => {
          // Server: <verb> -> 550 at once; or 150, the data (or all the
          // upload), the data connection closed, then 451.
          fc = await FaultCase.start({ files: { "/f": "line one\nline two\n" } });
          fc.srv.once(verb, async (s) => {
            if (where === "at once") {
              await s.closeData();
              s.reply(code, "Refused.");
              return;
            }
            s.reply(150, "Data connection open.");
            if (verb === "STOR") await s.receiveAll();
            else await s.sendData(verb === "MLSD" ? "type=file;size=1; f\r\n" : "line one\r\n");
            s.reply(code, "Failed.");
          });
          const ftp = fc.client();
          await ftp.ready;
          let rejections = 0;
          const result = run(ftp).catch((error: unknown) => {
            rejections++;
            throw error;
          });
          const queued = later(ftp.pwd());
          const error = await rejectsWith(result, type);
          expect(error.replyCode).to.equal(code);
          expect(await queued).to.equal("/");
          expect(rejections).to.equal(1);
          await fc.finish(ftp, false);
        });
      }
    }
  });

  it("falls back from a refused EPSV to PASV and completes the transfer", async () => {
    // Server: EPSV -> 500; PASV -> 227; RETR as usual. PASV is used from then on.
    fc = await FaultCase.start({ files: { "/f": "0123456789" } });
    fc.srv.handle("EPSV", (s) => s.reply(500, "EPSV not understood."));
    const ftp = fc.client();
    await ftp.ready;
    const first = await watchStream(ftp.retrbinary("RETR f"));
    const second = await watchStream(ftp.retrbinary("RETR f"));
    for (const record of [first, second]) {
      expect(record.errors.map(String)).to.deep.equal([]);
      expect(record.data.toString()).to.equal("0123456789");
    }
    expect(fc.srv.commands.filter((line) => line === "EPSV")).to.have.length(1);
    expect(fc.srv.commands.filter((line) => line === "PASV")).to.have.length(2);
    await fc.finish(ftp, false);
  });
});
