/**
 * A PROT P download's or listing's data connection ends well only with
 * the server's TLS close_notify. One whose TCP connection ends (a FIN)
 * with the TLS stream still open may have been cut short by anyone on
 * the path; with no size announced, the 226 after it proved nothing and
 * the truncated bytes ended as a good download (a listing so cut decides
 * what a tree transfer with `delete` removes). Every real server tested
 * sends close_notify first (see data-tls.ts).
 */
import { expect } from "chai";
import { once } from "node:events";
import { TLSSocket, createSecureContext } from "node:tls";
import type { Session } from "../../fixtures/server.js";
import { FtpConnectionError, FtpError, FtpSizeMismatchError } from "../../lib/index.js";
import { settle, useTlsFixture, openClearData } from "./tls-fixture.js";

/**
 * Sends `bytes` in TLS on the data connection (a full handshake, with the
 * suite's certificate), then ends it: with close_notify and a FIN
 * ("close_notify"), or with the FIN alone ("fin"). Resolves once the
 * client closed its side.
 */
async function sendInTls(s: Session, key: string, cert: string, bytes: Buffer, ending: "close_notify" | "fin"): Promise<void> {
  const raw = await openClearData(s);
  const secure = new TLSSocket(raw, { isServer: true, secureContext: createSecureContext({ key, cert }) });
  secure.on("error", () => undefined);
  secure.resume();
  await once(secure, "secure");
  const closed = once(raw, "close");
  if (ending === "close_notify") {
    secure.end(bytes);
  } else {
    await new Promise<void>((resolve) => secure.write(bytes, () => resolve()));
    // The TCP socket's own end: a FIN, the TLS stream left open.
    raw.end();
  }
  await closed;
}

/** Every entry of a listing, read to its end. */
async function entriesOf<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

const isTruncated = (error: unknown): void => {
  expect(error, String(error)).to.be.instanceOf(FtpConnectionError);
  expect((error as FtpError).code).to.equal("ERR_FTP_TLS_TRUNCATED");
  expect((error as Error).message).to.match(/close_notify/);
};

describe("FTPS: a PROT P data connection ended without TLS close_notify (T)", function () {
  this.timeout(20_000);
  const fx = useTlsFixture();
  const FILE = Buffer.from("first half, second half\n");

  /** A server whose `verb` sends `bytes` (default: the first 11 of FILE) with no size in its 150, ends as `ending` says, then replies 226. */
  async function serving(verb: string, ending: "close_notify" | "fin", bytes = FILE.subarray(0, 11)) {
    const srv = await fx.start({ files: { "/f.txt": FILE, "/dir/a.txt": "a" }, tls: { requireSessionReuse: false } });
    srv.handle(verb, async (s: Session) => {
      s.takeRest();
      s.reply(150, "Here it comes.");
      await sendInTls(s, fx.cert().key, fx.cert().cert, bytes, ending);
      s.reply(226, "Transfer complete.");
    });
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    return { srv, ftp };
  }

  it("fails a download ended by a FIN, even with a 226 after it, and the client goes on", async () => {
    const { ftp } = await serving("RETR", "fin");
    const chunks: Buffer[] = [];
    const download = await settle(ftp.retrbinary("RETR /f.txt", (chunk) => void chunks.push(chunk)));
    isTruncated(download.error);
    expect(await ftp.pwd()).to.equal("/");
  });

  it("fails the download stream with the error, never 'end'", async () => {
    const { ftp } = await serving("RETR", "fin");
    const stream = ftp.retrbinary("RETR /f.txt");
    let ended = false;
    stream.on("end", () => (ended = true));
    stream.resume();
    const [error] = (await once(stream, "error")) as [unknown];
    isTruncated(error);
    expect(ended).to.equal(false);
  });

  for (const verb of ["NLST", "LIST", "MLSD"]) {
    it(`fails a listing (${verb}) ended by a FIN`, async () => {
      const lines =
        verb === "MLSD" ? "type=file;size=1; a.txt\r\n" : verb === "LIST" ? "-rw-r--r-- 1 u g 1 Jan 1 2026 a.txt\r\n" : "a.txt\r\n";
      const { ftp } = await serving(verb, "fin", Buffer.from(lines));
      const listing = await settle<unknown>(
        verb === "NLST" ? ftp.nlst("/dir") : verb === "LIST" ? ftp.dir("/dir", () => undefined) : entriesOf(ftp.list("/dir")),
      );
      isTruncated(listing.error);
    });
  }

  /** A server whose RETR announces FILE's whole size in its 150, then sends its first 11 bytes ended by a FIN, then 226. */
  async function announcingSize() {
    const srv = await fx.start({ files: { "/f.txt": FILE }, tls: { requireSessionReuse: false } });
    srv.handle("RETR", async (s: Session) => {
      s.reply(150, `Opening BINARY mode data connection for /f.txt (${FILE.length} bytes).`);
      await sendInTls(s, fx.cert().key, fx.cert().cert, FILE.subarray(0, 11), "fin");
      s.reply(226, "Transfer complete.");
    });
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    return ftp;
  }

  it("a download whose 150 announced its size is failed by its byte count (TLS kept on the socket itself)", async () => {
    const ftp = await announcingSize();
    const download = await settle(ftp.retrbinary("RETR /f.txt", () => undefined));
    expect(download.error).to.be.instanceOf(FtpSizeMismatchError);
    expect(download.error).to.include({ expected: FILE.length, received: 11 });
  });

  it("with verifySize: false (no count checked), the same download is failed by its TLS end", async () => {
    const ftp = await announcingSize();
    const download = await settle(ftp.retrbinary("RETR /f.txt", () => undefined, { verifySize: false }));
    isTruncated(download.error);
  });

  it("ends a download whose TLS ended with close_notify, however slowly it is read", async () => {
    // 4 MiB read only once the server is done: the TLS layer holds what it
    // decrypted while the carrier meets the FIN, and that is no truncation.
    const big = Buffer.alloc(4 << 20, 7);
    const { ftp } = await serving("RETR", "close_notify", big);
    const stream = ftp.retrbinary("RETR /f.txt");
    const chunks: Buffer[] = [];
    await new Promise((resolve) => setTimeout(resolve, 300));
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(Buffer.concat(chunks).equals(big)).to.equal(true);
  });

  it("under retry, resumes a download ended by a FIN: the whole file arrives", async () => {
    const srv = await fx.start({ files: { "/f.txt": FILE }, tls: { requireSessionReuse: false } });
    srv.once("RETR", async (s: Session) => {
      s.reply(150, "Here it comes.");
      await sendInTls(s, fx.cert().key, fx.cert().cert, FILE.subarray(0, 11), "fin");
      s.reply(226, "Transfer complete.");
    });
    const ftp = fx.client({
      host: srv.host,
      port: srv.port,
      user: "user",
      password: "pass",
      timeout: 5000,
      retry: { attempts: 2, minDelay: 1, maxDelay: 5 },
    });
    const retries: FtpError[] = [];
    ftp.on("retry", (event) => retries.push(event.error));
    await ftp.ready;
    const chunks: Buffer[] = [];
    const download = await settle(ftp.retrbinary("RETR /f.txt", (chunk) => void chunks.push(chunk)));
    expect(download.error).to.equal(undefined);
    expect(Buffer.concat(chunks).toString()).to.equal(FILE.toString());
    expect(retries.map((error) => error.code)).to.deep.equal(["ERR_FTP_TLS_TRUNCATED"]);
  });
});
