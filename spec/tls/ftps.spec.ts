import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tls from "node:tls";
import { FixtureServer, patternFile, patternMismatch, type Session } from "../../fixtures/server.js";
import { FTP_TLS, FtpConnectionError, FtpError, FtpTempError } from "../../lib/index.js";
import { useTlsFixture } from "./tls-fixture.js";

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(chunks);
}

describe("FTP_TLS against the fixture server", function () {
  const fx = useTlsFixture();

  async function explicitServer(
    extra: { minVersion?: "TLSv1.2" | "TLSv1.3"; maxVersion?: "TLSv1.2" | "TLSv1.3" } = {},
  ): Promise<FixtureServer> {
    return fx.start({
      tls: { requireSessionReuse: true, ...extra },
      files: { "/pub/big.bin": patternFile(3 * 1024 * 1024), "/pub/notes.txt": "one\ntwo\n" },
    });
  }

  for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
    for (const passive of [true, false]) {
      it(`moves 10 MiB both ways under PROT P with session reuse required (${version}, ${passive ? "passive" : "active"})`, async () => {
        const srv = await explicitServer({ minVersion: version, maxVersion: version });
        const ftp = fx.client({ timeout: 10_000 });
        await ftp.connect(srv.host, srv.port);
        await ftp.login("user", "pass");
        expect(ftp.secure).to.equal(true);
        expect(await ftp.prot_p()).to.match(/^200/);
        ftp.setPasv(passive);

        const payload = randomBytes(10 * 1024 * 1024);
        const upload = ftp.storbinary("STOR /pub/up.bin");
        await pipeline(Readable.from([payload.subarray(0, 4_000_000), payload.subarray(4_000_000)]), upload);
        expect(upload.response).to.match(/^226/);
        expect(sha256(srv.vfs.get("/pub/up.bin")!)).to.equal(sha256(payload));

        const back = await collect(ftp.retrbinary("RETR /pub/up.bin"));
        expect(sha256(back)).to.equal(sha256(payload));
        // The fixture refuses (522) any data connection that does not resume
        // the control connection's session, so getting here proves reuse.
        expect(srv.commands).to.include.members(["AUTH TLS", "PBSZ 0", "PROT P"]);
        expect(srv.commands.some((c) => c.startsWith(passive ? "EPSV" : "PORT"))).to.equal(true);
      });
    }
  }

  it("lists with MLSD over an encrypted data connection", async () => {
    const srv = await explicitServer();
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    const entries: Array<[string, Record<string, string>]> = [];
    for await (const entry of ftp.mlsd("/pub", ["type", "size"])) entries.push(entry);
    const files = Object.fromEntries(entries.filter(([, facts]) => facts.type === "file"));
    expect(files["big.bin"]?.size).to.equal(String(3 * 1024 * 1024));
    expect(files["notes.txt"]?.size).to.equal("8");
  });

  it("aborts an encrypted download half-way and keeps the client usable", async () => {
    const srv = await explicitServer();
    srv.vfs.set("/pub/huge.bin", patternFile(64 * 1024 * 1024));
    const ftp = fx.client({ timeout: 10_000 });
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    const stream = ftp.retrbinary("RETR /pub/huge.bin");
    let received = 0;
    const outcome = new Promise<unknown>((resolve) => {
      stream.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > 1024 * 1024) stream.destroy();
      });
      stream.on("close", () => resolve(undefined));
      stream.on("end", () => resolve("ended"));
    });
    expect(await outcome).to.equal(undefined);
    expect(received).to.be.lessThan(64 * 1024 * 1024);
    expect(await ftp.pwd()).to.equal("/");
    const small = await collect(ftp.retrbinary("RETR /pub/notes.txt"));
    expect(small.toString()).to.equal("one\ntwo\n");
  });

  it("goes back to clear data connections after prot_c()", async () => {
    const srv = await explicitServer();
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    expect(await ftp.prot_c()).to.match(/^200/);
    const data = await collect(ftp.retrbinary("RETR /pub/big.bin"));
    expect(patternMismatch(data)).to.equal(-1);
    expect(srv.commands).to.include("PROT C");
  });

  it("refuses a self-signed certificate by default, naming the problem", async () => {
    const srv = await explicitServer();
    const ftp = fx.track(new FTP_TLS({ timeout: 5000 }));
    await ftp.connect(srv.host, srv.port);
    const error = await ftp.login("user", "pass").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpConnectionError);
    expect((error as FtpConnectionError).code).to.equal("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect((error as Error).message).to.match(/self.signed/);
    expect(srv.commands).to.not.include("PASS pass");
    expect(ftp.closed).to.equal(true);
  });

  it("accepts the certificate when the user opts out of verification", async () => {
    const srv = await explicitServer();
    const ftp = fx.track(new FTP_TLS({ tls: { rejectUnauthorized: false } }));
    await ftp.connect(srv.host, srv.port);
    expect(await ftp.login("user", "pass")).to.match(/^230/);
    await ftp.prot_p();
    const data = await collect(ftp.retrbinary("RETR /pub/notes.txt"));
    expect(data.toString()).to.equal("one\ntwo\n");
  });

  it("checks the certificate's name against the host", async () => {
    const srv = await explicitServer();
    const ftp = fx.client({ tls: { servername: "elsewhere.example" }, timeout: 5000 });
    await ftp.connect(srv.host, srv.port);
    const error = await ftp.auth().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpConnectionError);
    expect((error as FtpConnectionError).code).to.equal("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  for (const [what, answer] of [
    ["refused with 534", (s: Session) => s.reply(534, "Request denied for policy reasons.")],
    ["answered 234 by a server that then speaks no TLS", (s: Session) => s.send("234 Proceed.\r\n220 Not really.\r\n")],
  ] as const) {
    it(`login() fails and never sends the user or password in the clear when AUTH TLS is ${what}`, async () => {
      const srv = await explicitServer();
      srv.handle("AUTH", answer);
      const ftp = fx.client({ timeout: 2000 });
      await ftp.connect(srv.host, srv.port);
      const error = await ftp.login("user", "secret").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(FtpError);
      // After a fake 234 the server sees the TLS ClientHello as lines; never USER or PASS.
      expect(srv.commands[0]).to.equal("AUTH TLS");
      expect(srv.commands.filter((line) => /^(USER|PASS)\b/.test(line))).to.deep.equal([]);
    });
  }

  it("refuses auth() twice", async () => {
    const srv = await explicitServer();
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.auth();
    const error = await ftp.auth().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpError);
    expect((error as FtpError).code).to.equal("ERR_FTP_TLS_ACTIVE");
    expect(srv.commands.filter((c) => c === "AUTH TLS")).to.have.length(1);
  });

  it("ntransfercmd under PROT P resolves to a TLS socket whose handshake is done, the session resumed", async () => {
    const srv = await explicitServer({ minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    const [sock] = await ftp.ntransfercmd("RETR /pub/notes.txt");
    expect(sock).to.be.instanceOf(tls.TLSSocket);
    const secured = sock as tls.TLSSocket;
    // Checked at once, before any data: these read false/undefined mid-handshake.
    expect(secured.isSessionReused()).to.equal(true);
    expect(secured.getProtocol()).to.equal("TLSv1.2");
    // Still in the session's first TYPE, A: the server sends CRLF.
    expect((await collect(secured)).toString()).to.equal("one\r\ntwo\r\n");
    expect(await ftp.voidresp()).to.match(/^226/);
  });

  it("refuses ccc() on a control connection that is not secure, sending nothing", async () => {
    const srv = await explicitServer();
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass", "", false);
    const error = await ftp.ccc().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as FtpError).code).to.equal("ERR_FTP_TLS_INACTIVE");
    expect(srv.commands).to.not.include("CCC");
  });

  it("speaks implicit FTPS from the first byte", async () => {
    const server = await fx.start({
      tls: { implicit: true },
      files: { "/a.txt": "implicit\n" },
    });
    const ftp = fx.client({ implicit: true });
    const welcome = await ftp.connect(server.host, server.port);
    expect(welcome).to.match(/^220/);
    expect(ftp.secure).to.equal(true);
    await ftp.login("user", "pass");
    expect(server.commands).to.not.include("AUTH TLS");
    await ftp.prot_p();
    const data = await collect(ftp.retrbinary("RETR /a.txt"));
    expect(data.toString()).to.equal("implicit\n");
  });

  it("errors a download whose server fails after the data, under TLS too", async () => {
    const srv = await explicitServer();
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      await s.sendData("partial");
      s.reply(451, "Local error in processing.");
    });
    const ftp = fx.client();
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    const stream = ftp.retrbinary("RETR /pub/notes.txt");
    let ended = false;
    stream.on("end", () => {
      ended = true;
    });
    const error = await collect(stream).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpTempError);
    expect((error as FtpTempError).replyCode).to.equal(451);
    expect(ended).to.equal(false);
    expect(await ftp.pwd()).to.equal("/");
  });
});
