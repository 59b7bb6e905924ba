/**
 * Issue 3: the raw data socket forms, ftplib's ntransfercmd/transfercmd,
 * and how the caller hands the queue back (voidresp, or closing the socket).
 */
import type net from "node:net";
import { expect } from "chai";
import { FtpPermError, FtpReplyError, FtpTempError } from "../../lib/index.js";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { afterLogin, collect, Harness, rejection } from "./helpers.js";

const FILES = { "/f.bin": patternFile(100_000), "/notes.txt": "a\nb\n" };

/** Resolves once the socket has closed. */
function closed(socket: net.Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once("close", () => resolve()));
}

for (const mode of ["passive", "active"] as const) {
  describe(`ntransfercmd / transfercmd (${mode})`, () => {
    const harness = new Harness();
    let srv: FixtureServer;

    beforeEach(async () => {
      srv = await harness.server({ files: FILES });
    });
    afterEach(() => harness.close());

    async function client() {
      const ftp = await harness.client(srv);
      ftp.setPasv(mode === "passive");
      return ftp;
    }

    it("resolves to [socket, size] with the size from `150 ... (n bytes)`", async () => {
      const ftp = await client();
      // ntransfercmd sends no TYPE (as ftplib's): binary bytes need TYPE I first.
      await ftp.voidcmd("TYPE I");
      const [socket, size] = await ftp.ntransfercmd("RETR /f.bin");
      expect(size).to.equal(100_000);
      const data = await collect(socket);
      expect(data.length).to.equal(100_000);
      expect(patternMismatch(data)).to.equal(-1);
      expect(await ftp.voidresp()).to.match(/^226 /);
    });

    it("resolves size to null when the 150 reply names no size", async () => {
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData("payload");
        s.reply(226, "Done.");
      });
      const ftp = await client();
      const [socket, size] = await ftp.ntransfercmd("RETR /f.bin");
      expect(size).to.equal(null);
      expect((await collect(socket)).toString()).to.equal("payload");
      expect(await ftp.voidresp()).to.equal("226 Done.");
    });

    it("resolves size to null on a 125 reply, even one that names a size", async () => {
      srv.handle("RETR", async (s) => {
        s.reply(125, "Data connection already open; transfer starting (5 bytes).");
        await s.sendData("12345");
        s.reply(226, "Done.");
      });
      const ftp = await client();
      const [socket, size] = await ftp.ntransfercmd("RETR /f.bin");
      expect(size).to.equal(null);
      expect((await collect(socket)).toString()).to.equal("12345");
      expect(await ftp.voidresp()).to.equal("226 Done.");
    });

    it("transfercmd resolves to the socket alone; uploads work through it", async () => {
      const ftp = await client();
      await ftp.voidcmd("TYPE I");
      const socket = await ftp.transfercmd("STOR /up.bin");
      expect(socket.writable).to.equal(true);
      socket.end(patternBytes(0, 50_000));
      expect(await ftp.voidresp()).to.match(/^226 /);
      expect(srv.vfs.get("/up.bin")?.equals(patternBytes(0, 50_000))).to.equal(true);
    });

    it("sends REST before the command when rest is given", async () => {
      const ftp = await client();
      const [socket] = await ftp.ntransfercmd("RETR /f.bin", 99_990);
      const data = await collect(socket);
      expect(data.equals(patternBytes(99_990, 10))).to.equal(true);
      await ftp.voidresp();
      const sent = afterLogin(srv);
      expect(sent.slice(-2)).to.deep.equal(["REST 99990", "RETR /f.bin"]);
      // Like ftplib, ntransfercmd sends no TYPE: the caller chose it.
      expect(sent.some((line) => line.startsWith("TYPE"))).to.equal(false);
      expect(sent[0].split(" ")[0]).to.equal(mode === "passive" ? "EPSV" : "PORT");
    });

    it("rejects with FtpReplyError (and FtpPermError) when the server refuses REST with 502, without sending the command", async () => {
      srv.handle("REST", (s) => s.reply(502, "REST not implemented."));
      const ftp = await client();
      const error = await rejection(ftp.ntransfercmd("RETR /f.bin", 10));
      expect(error).to.be.instanceOf(FtpReplyError);
      expect(error).to.be.instanceOf(FtpPermError);
      expect((error as FtpReplyError).replyCode).to.equal(502);
      expect((error as FtpReplyError).response).to.equal("502 REST not implemented.");
      expect(srv.commands.some((line) => line.startsWith("RETR"))).to.equal(false);
      // The data connection it had prepared is gone and the client is usable.
      expect(await ftp.pwd()).to.equal("/");
    });

    it("a REST refused with 4xx answers to FtpReplyError and FtpTempError", async () => {
      srv.handle("REST", (s) => s.reply(451, "Try later."));
      const ftp = await client();
      const error = await rejection(ftp.ntransfercmd("RETR /f.bin", 10));
      expect(error).to.be.instanceOf(FtpReplyError);
      expect(error).to.be.instanceOf(FtpTempError);
    });

    it("a stream transfer's refused REST is an FtpReplyError too", async () => {
      srv.handle("REST", (s) => s.reply(502, "REST not implemented."));
      const ftp = await client();
      const error = await rejection(collect(ftp.retrbinary("RETR /f.bin", { rest: 10 })));
      expect(error).to.be.instanceOf(FtpReplyError);
      expect(error).to.be.instanceOf(FtpPermError);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("rejects with FtpPermError when the command gets 550, and the client stays usable", async () => {
      const ftp = await client();
      const error = await rejection(ftp.ntransfercmd("RETR /missing"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect((error as FtpPermError).replyCode).to.equal(550);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("holds the queue until voidresp() reads the final reply", async () => {
      const ftp = await client();
      const [socket] = await ftp.ntransfercmd("RETR /notes.txt");
      let pwdSettled = false;
      const pwd = ftp.pwd().finally(() => {
        pwdSettled = true;
      });
      socket.resume();
      await new Promise((resolve) => socket.once("end", resolve));
      // Let the queue run if it were free: PWD would be sent and answered.
      await ftp.voidresp().then((reply) => {
        expect(pwdSettled).to.equal(false);
        expect(reply).to.match(/^226 /);
      });
      expect(await pwd).to.equal("/");
      const sent = afterLogin(srv);
      expect(sent.indexOf("PWD")).to.be.greaterThan(sent.indexOf("RETR /notes.txt"));
    });

    it("frees the queue when the caller closes the socket, without voidresp()", async () => {
      const ftp = await client();
      const [socket] = await ftp.ntransfercmd("RETR /notes.txt");
      // Still in the session's first TYPE, A: the server sends CRLF.
      expect((await collect(socket)).toString()).to.equal("a\r\nb\r\n");
      await closed(socket);
      expect(await ftp.pwd()).to.equal("/");
      expect(await ftp.nlst()).to.include.members(["f.bin", "notes.txt"]);
    });

    it("voidresp() still returns the transfer's final reply when called after the socket closed and the reply came", async () => {
      const ftp = await client();
      // The debug log tells us, without guessing at timing, when the 226 has been read.
      let sawFinal: () => void = () => undefined;
      const finalRead = new Promise<void>((resolve) => {
        sawFinal = resolve;
      });
      ftp.setDebugLogger((line) => {
        if (line.startsWith("*resp* '226")) sawFinal();
      });
      ftp.setDebugLevel(1);
      const [socket] = await ftp.ntransfercmd("RETR /notes.txt");
      await collect(socket);
      await closed(socket);
      await finalRead;
      await new Promise((resolve) => setImmediate(resolve));
      // ftplib's idiom: close the data connection, then voidresp(), however much later.
      expect(await ftp.voidresp()).to.match(/^226 /);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("voidresp() rejects when the transfer ends with 451, and the client stays usable", async () => {
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData("partial");
        s.reply(451, "Local error in processing.");
      });
      const ftp = await client();
      const [socket] = await ftp.ntransfercmd("RETR /f.bin");
      await collect(socket);
      const error = await rejection(ftp.voidresp());
      expect(error).to.be.instanceOf(FtpTempError);
      expect((error as FtpTempError).replyCode).to.equal(451);
      expect(await ftp.pwd()).to.equal("/");
    });
  });
}
