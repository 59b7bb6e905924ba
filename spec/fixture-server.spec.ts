import { execFile } from "node:child_process";
import { once } from "node:events";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { constants as cryptoConstants } from "node:crypto";
import { expect } from "chai";
import { makeSelfSignedCert, type TestCert } from "../fixtures/cert.js";
import { FixtureServer, patternBytes, patternFile, patternMismatch } from "../fixtures/server.js";

interface Reply {
  code: number;
  /** The whole reply, lines joined with "\n", without the final line end. */
  text: string;
}

/** Just enough of an FTP client to pin the fixture's wire behaviour byte for byte. */
class RawClient {
  private buffered = "";
  private readonly replies: Reply[] = [];
  private waiter: ((r: Reply) => void) | null = null;
  private pending: string[] = [];

  private constructor(public sock: net.Socket) {
    this.listen(sock);
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    const sock = net.connect({ port, host });
    await once(sock, "connect");
    return new RawClient(sock);
  }

  private listen(sock: net.Socket): void {
    sock.setEncoding("utf8");
    sock.on("data", (text: string) => {
      this.buffered += text;
      let i: number;
      while ((i = this.buffered.indexOf("\r\n")) >= 0) {
        const line = this.buffered.slice(0, i);
        this.buffered = this.buffered.slice(i + 2);
        this.pending.push(line);
        const first = this.pending[0];
        const done = this.pending.length === 1 ? /^\d{3} /.test(line) || /^\d{3}$/.test(line) : line.startsWith(first.slice(0, 3) + " ");
        if (done) {
          const reply = { code: Number(first.slice(0, 3)), text: this.pending.join("\n") };
          this.pending = [];
          if (this.waiter) {
            const w = this.waiter;
            this.waiter = null;
            w(reply);
          } else this.replies.push(reply);
        }
      }
    });
    sock.on("error", () => {});
  }

  reply(timeoutMs = 3000): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply")), timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  send(raw: string | Buffer): void {
    this.sock.write(raw);
  }

  async cmd(line: string): Promise<Reply> {
    this.send(line + "\r\n");
    return this.reply();
  }

  async login(user = "user", pass = "pass"): Promise<void> {
    expect((await this.reply()).code).to.equal(220);
    expect((await this.cmd(`USER ${user}`)).code).to.equal(331);
    expect((await this.cmd(`PASS ${pass}`)).code).to.equal(230);
  }

  /** EPSV, then connects the data socket to the announced port on the control peer. */
  async epsv(): Promise<net.Socket> {
    const r = await this.cmd("EPSV");
    expect(r.code).to.equal(229);
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)![1]);
    const data = net.connect({ port, host: this.sock.remoteAddress! });
    data.on("error", () => {});
    await once(data, "connect");
    return data;
  }

  /** AUTH TLS and continues over TLS. */
  async startTls(ca: string, extra: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
    expect((await this.cmd("AUTH TLS")).code).to.equal(234);
    this.sock.removeAllListeners("data");
    const secure = tls.connect({ socket: this.sock, ca, servername: "localhost", ...extra });
    await once(secure, "secureConnect");
    this.sock = secure;
    this.listen(secure);
    return secure;
  }

  close(): void {
    this.sock.destroy();
  }
}

function readAll(sock: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  sock.on("data", (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    sock.on("end", () => resolve(Buffer.concat(chunks)));
    sock.on("error", reject);
  });
}

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs a python3 script (ftplib is the independent client); resolves with its stdout. */
function python(script: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("python3", ["-c", script], { timeout: 8000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3 failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe("fixture server", function () {
  let server: FixtureServer | undefined;
  const clients: RawClient[] = [];

  async function start(opts: Parameters<typeof FixtureServer.start>[0] = {}): Promise<FixtureServer> {
    server = await FixtureServer.start(opts);
    return server;
  }
  async function client(host?: string): Promise<RawClient> {
    const c = await RawClient.connect(server!.port, host ?? server!.host);
    clients.push(c);
    return c;
  }

  afterEach(async function () {
    for (const c of clients.splice(0)) c.close();
    if (server) {
      // Every spec ends with a leak check: once the clients are gone, so is every socket.
      await until(() => server!.openConnections() === 0);
      expect(server.errors).to.deep.equal([]);
      await server.close();
      server = undefined;
    }
  });

  describe("login", function () {
    it("sends a multi-line welcome verbatim and logs in", async function () {
      const srv = await start({ welcome: "220-hello\r\n220 world" });
      const c = await client();
      expect(await c.reply()).to.deep.equal({ code: 220, text: "220-hello\n220 world" });
      expect((await c.cmd("SYST")).text).to.equal("530 Please login with USER and PASS.");
      expect((await c.cmd("USER user")).code).to.equal(331);
      expect((await c.cmd("PASS nope")).text).to.equal("530 Login incorrect.");
      expect((await c.cmd("USER user")).code).to.equal(331);
      expect((await c.cmd("PASS pass")).text).to.equal("230 Login successful.");
      expect((await c.cmd("PWD")).text).to.equal('257 "/" is the current directory');
      expect((await c.cmd("XYZZY")).code).to.equal(500);
      expect((await c.cmd("QUIT")).text).to.equal("221 Goodbye.");
      expect(srv.commands).to.deep.equal(["SYST", "USER user", "PASS nope", "USER user", "PASS pass", "PWD", "XYZZY", "QUIT"]);
    });

    it("asks for ACCT when requireAcct is set", async function () {
      await start({ requireAcct: true, anonymous: false });
      const c = await client();
      await c.reply();
      await c.cmd("USER anonymous");
      expect((await c.cmd("PASS x")).code).to.equal(530);
      await c.cmd("USER user");
      expect((await c.cmd("PASS pass")).code).to.equal(332);
      expect((await c.cmd("ACCT dept")).code).to.equal(230);
    });

    it("answers 500 to an over-long command line and carries on", async function () {
      await start();
      const c = await client();
      await c.login();
      expect((await c.cmd("NOOP " + "x".repeat(9000))).text).to.equal("500 Command line too long.");
      expect((await c.cmd("NOOP")).code).to.equal(200);
    });
  });

  describe("transfers", function () {
    it("serves a patternFile, with REST, and replies 226 only after the data connection closed", async function () {
      const size = 3 * 1024 * 1024 + 17;
      await start({ files: { "/data/big.bin": patternFile(size) } });
      const c = await client();
      await c.login();
      expect((await c.cmd("TYPE I")).code).to.equal(200);
      expect((await c.cmd("SIZE /data/big.bin")).text).to.equal(`213 ${size}`);
      for (const rest of [0, 100_003]) {
        const data = await c.epsv();
        let dataEndedAt = 0;
        const body = readAll(data).then((b) => ((dataEndedAt = Date.now()), b));
        if (rest) expect((await c.cmd(`REST ${rest}`)).code).to.equal(350);
        expect((await c.cmd("RETR /data/big.bin")).text).to.equal(
          `150 Opening BINARY mode data connection for /data/big.bin (${size} bytes).`,
        );
        const final = await c.reply();
        expect(final.text).to.equal("226 Transfer complete.");
        expect(dataEndedAt, "data EOF before 226").to.be.greaterThan(0);
        const bytes = await body;
        expect(bytes.length).to.equal(size - rest);
        expect(patternMismatch(bytes, rest)).to.equal(-1);
      }
    });

    it("stores uploads in the vfs, converting CRLF in ASCII mode", async function () {
      const srv = await start();
      const c = await client();
      await c.login();
      expect((await c.cmd("TYPE I")).code).to.equal(200);
      const payload = patternBytes(0, 200_000);
      let data = await c.epsv();
      expect((await c.cmd("STOR /up.bin")).code).to.equal(150);
      data.end(payload);
      expect((await c.reply()).text).to.equal("226 Transfer complete.");
      expect(srv.vfs.get("/up.bin")!.equals(payload)).to.equal(true);

      await c.cmd("TYPE A");
      data = await c.epsv();
      await c.cmd("STOR notes.txt");
      // A CR split from its LF across writes must still be converted.
      data.write("one\r");
      await new Promise((r) => setTimeout(r, 20));
      data.end("\ntwo\r\n");
      expect((await c.reply()).code).to.equal(226);
      expect(srv.vfs.get("/notes.txt")!.toString()).to.equal("one\ntwo\n");

      data = await c.epsv();
      const body = readAll(data);
      await c.cmd("RETR notes.txt");
      expect((await c.reply()).code).to.equal(226);
      expect((await body).toString()).to.equal("one\r\ntwo\r\n");
    });

    it("answers commands written together in one segment one by one, in order (pipelined input)", async function () {
      await start({ files: { "/f": patternFile(1000) } });
      const c = await client();
      expect((await c.reply()).code).to.equal(220);
      c.sock.setNoDelay(true);
      // One write: the server gets them in one segment and must split and queue them.
      c.send("USER user\r\nPASS pass\r\nTYPE I\r\nSIZE f\r\nSIZE missing\r\nMKD d\r\nPWD\r\nNOOP\r\n");
      const texts: string[] = [];
      for (let i = 0; i < 8; i++) texts.push((await c.reply()).text);
      expect(texts.map((text) => text.slice(0, 3))).to.deep.equal(["331", "230", "200", "213", "550", "257", "257", "200"]);
      expect(texts[3]).to.equal("213 1000");
      expect(texts[5]).to.match(/"\/d"/);
      expect(texts[6]).to.match(/"\/"/);
    });

    it("takes EPSV, RETR and the next command in one segment: the transfer waits for the data connection", async function () {
      await start({ files: { "/f": patternFile(4096) } });
      const c = await client();
      await c.login();
      c.send("TYPE I\r\nEPSV\r\nRETR f\r\nNOOP\r\n");
      expect((await c.reply()).code).to.equal(200);
      const epsv = await c.reply();
      const port = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv.text)![1]);
      const data = net.connect({ port, host: c.sock.remoteAddress! });
      const body = readAll(data);
      expect((await c.reply()).code).to.equal(150);
      expect((await c.reply()).code).to.equal(226);
      expect((await c.reply()).code).to.equal(200);
      expect((await body).equals(patternBytes(0, 4096))).to.equal(true);
    });

    it("queues commands sent during a transfer and answers them after its 226", async function () {
      await start({ files: { "/f": patternFile(1024 * 1024) } });
      const c = await client();
      await c.login();
      expect((await c.cmd("TYPE I")).code).to.equal(200);
      const data = await c.epsv();
      const body = readAll(data);
      c.send("RETR f\r\nNOOP\r\n");
      expect((await c.reply()).code).to.equal(150);
      expect((await c.reply()).code).to.equal(226);
      expect((await c.reply()).code).to.equal(200);
      expect((await body).length).to.equal(1024 * 1024);
    });

    it("starts a session in TYPE A, as real servers do: text goes out with CRLF until TYPE I", async function () {
      await start({ files: { "/notes.txt": "one\ntwo\n" } });
      const c = await client();
      await c.login();
      const fetch = async (): Promise<string> => {
        const data = await c.epsv();
        const body = readAll(data);
        expect((await c.cmd("RETR notes.txt")).code).to.equal(150);
        expect((await c.reply()).code).to.equal(226);
        return (await body).toString();
      };
      expect(await fetch()).to.equal("one\r\ntwo\r\n");
      await c.cmd("TYPE I");
      expect(await fetch()).to.equal("one\ntwo\n");
    });

    it("refuses transfers without PASV/PORT and of missing files", async function () {
      await start();
      const c = await client();
      await c.login();
      expect((await c.cmd("RETR nothing")).text).to.equal("425 Use PORT or PASV first.");
      const data = await c.epsv();
      expect((await c.cmd("RETR nothing")).text).to.equal("550 Failed to open file.");
      await once(data, "close");
    });
  });

  describe("listings", function () {
    it("lists as ls -l, NLST and MLSD", async function () {
      await start({ files: { "/pub/a.txt": "abc", "/pub/sub/": "", '/pub/q"uote': "" } });
      const c = await client();
      await c.login();
      const get = async (cmd: string) => {
        const data = await c.epsv();
        const body = readAll(data);
        expect((await c.cmd(cmd)).code).to.equal(150);
        expect((await c.reply()).code).to.equal(226);
        return (await body).toString();
      };
      expect(await get("LIST -la /pub")).to.equal(
        "-rw-r--r--    1 ftp      ftp             3 Jan 15  2024 a.txt\r\n" +
          '-rw-r--r--    1 ftp      ftp             0 Jan 15  2024 q"uote\r\n' +
          "drwxr-xr-x    2 ftp      ftp          4096 Jan 15  2024 sub\r\n",
      );
      expect(await get("NLST /pub")).to.equal('/pub/a.txt\r\n/pub/q"uote\r\n/pub/sub\r\n');
      expect(await get("MLSD /pub")).to.equal(
        "type=cdir;modify=20240115123456; .\r\n" +
          "type=pdir;modify=20240115123456; ..\r\n" +
          "type=file;size=3;modify=20240115123456; a.txt\r\n" +
          'type=file;size=0;modify=20240115123456; q"uote\r\n' +
          "type=dir;modify=20240115123456; sub\r\n",
      );
      expect((await c.cmd("MLST /pub/a.txt")).text).to.equal(
        "250-Listing /pub/a.txt\n type=file;size=3;modify=20240115123456; /pub/a.txt\n250 End",
      );
      expect((await c.cmd('MKD /pub/x"y')).text).to.equal('257 "/pub/x""y" created');
    });
  });

  describe("scripting", function () {
    it("lets handle() replace a verb: RETR sends the data, then 451", async function () {
      const srv = await start({ files: { "/f": "content" } });
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData("partial");
        s.reply(451, "Local error in processing.");
      });
      const c = await client();
      await c.login();
      const data = await c.epsv();
      const body = readAll(data);
      expect((await c.cmd("RETR f")).code).to.equal(150);
      expect((await c.reply()).text).to.equal("451 Local error in processing.");
      expect((await body).toString()).to.equal("partial");
    });

    it("applies once() to the next occurrence only, and can wrap the default", async function () {
      const srv = await start();
      srv.once("NOOP", async (s, arg) => {
        await s.sleep(20);
        await s.defaultHandler("NOOP", arg);
      });
      srv.once("NOOP", (s) => s.sendSlowly("200-split\r\n200 slowly\r\n", { chunkSize: 3 }));
      const c = await client();
      await c.login();
      expect((await c.cmd("NOOP")).text).to.equal("200 NOOP ok.");
      expect((await c.cmd("NOOP")).text).to.equal("200-split\n200 slowly");
      expect((await c.cmd("NOOP")).text).to.equal("200 NOOP ok.");
    });

    it("hangs up after a final reply with s.close(), and close() ends a running transfer", async function () {
      const srv = await start({ files: { "/huge": patternFile(1024 ** 3) } });
      srv.once("NOOP", (s) => {
        s.reply(421, "Timeout.");
        s.close();
      });
      const c = await client();
      await c.login();
      expect((await c.cmd("NOOP")).text).to.equal("421 Timeout.");
      await once(c.sock, "close");

      const c2 = await client();
      await c2.login();
      const data = await c2.epsv();
      data.pause();
      expect((await c2.cmd("RETR huge")).code).to.equal(150);
      await until(() => srv.openConnections() === 2); // control + data; the first client has gone
      await srv.close();
      expect(srv.openConnections()).to.equal(0);
      server = undefined;
    });

    it("answers 451 and records the error when a handler throws", async function () {
      const srv = await start();
      srv.handle("NOOP", () => {
        throw new Error("boom");
      });
      const c = await client();
      await c.login();
      expect((await c.cmd("NOOP")).text).to.equal("451 Fixture handler failed: boom");
      expect(srv.errors).to.have.length(1);
      srv.errors.length = 0;
    });
  });

  describe("ABOR", function () {
    it("strips IAC IP / IAC DM however chunked, and aborts a running transfer with 426 then 226", async function () {
      const srv = await start({ files: { "/huge": patternFile(1024 ** 3) } });
      const c = await client();
      await c.login();
      const data = await c.epsv();
      data.pause(); // never read: the server blocks on backpressure mid-transfer
      expect((await c.cmd("RETR huge")).code).to.equal(150);
      const abor = Buffer.concat([Buffer.from([0xff, 0xf4, 0xff]), Buffer.from([0xf2]), Buffer.from("AB"), Buffer.from("OR\r\n")]);
      for (let i = 0; i < abor.length; i += 2) {
        c.send(abor.subarray(i, i + 2));
        await new Promise((r) => setTimeout(r, 2));
      }
      expect((await c.reply()).text).to.equal("426 Connection closed; transfer aborted.");
      expect((await c.reply()).text).to.equal("226 ABOR successful.");
      expect(srv.commands.slice(-2)).to.deep.equal(["RETR huge", "ABOR"]);
      expect((await c.cmd("ABOR")).text).to.equal("225 No transfer to abort.");
      data.destroy();
      await until(() => srv.openConnections() === 1);
    });
  });

  describe("FTPS", function () {
    let cert: TestCert;
    before(async function () {
      cert = await makeSelfSignedCert();
    });

    for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
      for (const tickets of version === "TLSv1.2" ? [true, false] : [true]) {
        it(`enforces session reuse on PROT P data connections (${version}${tickets ? "" : ", session IDs"})`, async function () {
          await start({
            tls: { ...cert, minVersion: version, maxVersion: version },
            files: { "/f.bin": patternFile(300_000) },
          });
          const c = await client();
          expect((await c.reply()).code).to.equal(220);
          const secureOptions = tickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET;
          const control = await c.startTls(cert.cert, { secureOptions });
          await c.cmd("USER user");
          await c.cmd("PASS pass");
          expect((await c.cmd("PBSZ 0")).code).to.equal(200);
          expect((await c.cmd("PROT P")).text).to.equal("200 PROT now Private.");
          expect((await c.cmd("TYPE I")).code).to.equal(200);

          const fresh = await c.epsv();
          expect((await c.cmd("RETR f.bin")).code).to.equal(150);
          const refused = tls.connect({ socket: fresh, ca: cert.cert, servername: "localhost", secureOptions });
          refused.on("error", () => {});
          expect((await c.reply()).text).to.equal("522 SSL connection failed: session reuse required");
          refused.destroy();

          const raw = await c.epsv();
          expect((await c.cmd("RETR f.bin")).code).to.equal(150);
          const data = tls.connect({ socket: raw, ca: cert.cert, servername: "localhost", session: control.getSession(), secureOptions });
          const body = readAll(data);
          await once(data, "secureConnect");
          expect(data.isSessionReused()).to.equal(true);
          expect((await c.reply()).code).to.equal(226);
          expect(patternMismatch(await body)).to.equal(-1);
        });
      }
    }

    it("works with Python's ftplib.FTP_TLS: 522 as is, transfers when it reuses the session", async function () {
      const srv = await start({ tls: cert, files: { "/f.bin": patternFile(100_000) } });
      const dir = await mkdtemp(join(tmpdir(), "fixture-spec-"));
      try {
        await writeFile(join(dir, "ca.pem"), cert.cert);
        const out = await python(
          `
import ftplib, io, os, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA"])
class Reusing(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
for cls in (ftplib.FTP_TLS, Reusing):
    f = cls(context=ctx)
    f.connect("localhost", ${srv.port})
    f.login("user", "pass")
    f.prot_p()
    buf = io.BytesIO()
    try:
        f.retrbinary("RETR f.bin", buf.write)
        print(cls.__name__, "ok", len(buf.getvalue()))
        f.storbinary("STOR up.bin", io.BytesIO(b"z" * 5000))
    except Exception:
        try:
            f.getresp()
        except ftplib.error_perm as e:
            print(cls.__name__, "error", e)
    f.close()
`,
          { CA: join(dir, "ca.pem") },
        );
        expect(out).to.equal("FTP_TLS error 522 SSL connection failed: session reuse required\nReusing ok 100000\n");
        expect(srv.vfs.get("/up.bin")!.length).to.equal(5000);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("refuses every PROT P data connection with refuseResumption", async function () {
      await start({ tls: { ...cert, refuseResumption: true }, files: { "/f": "x" } });
      const c = await client();
      await c.reply();
      const control = await c.startTls(cert.cert);
      await c.cmd("USER user");
      await c.cmd("PASS pass");
      await c.cmd("PBSZ 0");
      await c.cmd("PROT P");
      const raw = await c.epsv();
      expect((await c.cmd("RETR f")).code).to.equal(150);
      const data = tls.connect({ socket: raw, ca: cert.cert, servername: "localhost", session: control.getSession() });
      data.on("error", () => {});
      expect((await c.reply()).code).to.equal(522);
      data.destroy();
    });

    it("speaks implicit FTPS from the first byte", async function () {
      const srv = await start({ tls: { ...cert, implicit: true }, files: { "/f": "secret" } });
      const sock = tls.connect({ port: srv.port, host: "127.0.0.1", ca: cert.cert, servername: "localhost" });
      const first = await once(sock, "data");
      expect(String(first[0])).to.equal("220 ftpstream fixture ready\r\n");
      sock.destroy();
    });
  });

  describe("IPv6", function () {
    it("listens on ::1 and serves over EPSV", async function () {
      const srv = await start({ host: "::1", files: { "/f": "six" } });
      expect(srv.url).to.equal(`ftp://[::1]:${srv.port}`);
      const c = await client();
      await c.login();
      expect((await c.cmd("EPSV 1")).code).to.equal(522);
      const data = await c.epsv();
      const body = readAll(data);
      await c.cmd("RETR f");
      expect((await c.reply()).code).to.equal(226);
      expect((await body).toString()).to.equal("six");
    });
  });

  describe("against Python's ftplib", function () {
    it("serves a full session: listings, transfers, rename, active mode, abort", async function () {
      const srv = await start({ files: { "/pub/a.txt": "hello\nworld\n", "/big.bin": patternFile(5_000_000) } });
      const out = await python(`
import ftplib, io
f = ftplib.FTP()
f.connect("127.0.0.1", ${srv.port})
f.login("user", "pass")
print(f.nlst("/pub"))
lines = []
f.retrlines("RETR /pub/a.txt", lines.append)
print(lines)
print(sorted(n for n, _ in f.mlsd("/", ["type", "size"])))
f.storbinary("STOR up.bin", io.BytesIO(b"x" * 100000))
print(f.size("up.bin"))
f.rename("up.bin", "moved.bin")
f.set_pasv(False)
buf = io.BytesIO()
f.retrbinary("RETR big.bin", buf.write, rest=10)
print(len(buf.getvalue()))
conn = f.transfercmd("RETR big.bin")
conn.recv(1000)
print(f.abort())
print(f.voidresp())
conn.close()
print(f.voidcmd("NOOP"))
print(f.quit())
`);
      expect(out.split("\n")).to.deep.equal([
        "['/pub/a.txt']",
        "['hello', 'world']",
        "['.', '..', 'big.bin', 'pub']",
        "100000",
        "4999990",
        "426 Connection closed; transfer aborted.",
        "226 ABOR successful.",
        "200 NOOP ok.",
        "221 Goodbye.",
        "",
      ]);
      expect(srv.vfs.get("/moved.bin")!.length).to.equal(100000);
    });
  });
});
