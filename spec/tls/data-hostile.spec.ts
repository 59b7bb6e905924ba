/**
 * Under PROT P a data connection is TLS with the server's own, verified
 * certificate, or nothing goes over it: a server (or whoever sits between)
 * that answers in the clear, or with another certificate, fails the
 * transfer, and no byte of an upload leaves in the clear.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import { TLSSocket, createSecureContext } from "node:tls";
import { makeCertificate, type TestCert } from "../../fixtures/cert.js";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { FtpError } from "../../lib/index.js";
import { useTlsFixture, settle, openClearData } from "./tls-fixture.js";

/** Everything the client sends on `socket` until it closes it. */
function received(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

describe("FTPS: a PROT P data connection that is not the server's TLS", () => {
  const fx = useTlsFixture();
  /** Not trusted by the client. */
  let stranger: TestCert;
  /** Trusted by the client (see client()), but for another host. */
  let elsewhere: TestCert;

  before(async () => {
    stranger = await makeCertificate("localhost", "DNS:localhost");
    elsewhere = await makeCertificate("elsewhere.example", "DNS:elsewhere.example");
  });

  /** A client of `srv` that trusts the fixture's certificate and `elsewhere`'s, logging in by itself (PROT P). */
  function client(srv: FixtureServer): ReturnType<typeof fx.client> {
    return fx.client({
      host: srv.host,
      port: srv.port,
      user: "user",
      password: "pass",
      timeout: 5000,
      tls: { ca: [fx.cert().cert, elsewhere.cert] },
    });
  }

  /** Serves the data connection as a TLS server with `cert`. */
  function tlsWith(cert: () => TestCert): (s: Session, raw: Socket) => Promise<Socket> {
    return async (_s, raw) => {
      const { key, cert: pem } = cert();
      const secure = new TLSSocket(raw, { isServer: true, secureContext: createSecureContext({ key, cert: pem }) });
      secure.on("error", () => undefined);
      return secure;
    };
  }

  const SECRET = "the secret payload\n";

  /** A server that takes PROT P and then, for RETR and STOR, serves the data connection as `serve` says. */
  async function server(serve: (s: Session, raw: Socket) => Promise<Socket>, seen: Buffer[]): Promise<FixtureServer> {
    const srv = await fx.start({ files: { "/secret.txt": SECRET } });
    for (const verb of ["RETR", "STOR"]) {
      srv.handle(verb, async (s) => {
        s.reply(150, "Here it comes.");
        const raw = await openClearData(s);
        const got = received(raw);
        const socket = await serve(s, raw);
        if (verb === "RETR") socket.write(SECRET);
        socket.end();
        seen.push(await got);
        s.reply(226, "Transfer complete.");
      });
    }
    return srv;
  }

  const servings: Array<[string, (s: Session, raw: Socket) => Promise<Socket>]> = [
    ["in the clear", async (_s, raw) => raw],
    ["TLS with a certificate the client does not trust", tlsWith(() => stranger)],
    ["TLS with a trusted certificate for another host", tlsWith(() => elsewhere)],
  ];

  for (const [how, serve] of servings) {
    for (const passive of [true, false]) {
      const mode = passive ? "passive" : "active";
      it(`a download served ${how} fails, and delivers nothing (${mode})`, async () => {
        const seen: Buffer[] = [];
        const srv = await server(serve, seen);
        const ftp = client(srv);
        await ftp.ready;
        ftp.setPasv(passive);
        const chunks: Buffer[] = [];
        const download = await settle(ftp.retrbinary("RETR /secret.txt", (chunk) => void chunks.push(chunk)));
        expect(download.error, "download").to.be.instanceOf(FtpError);
        expect(Buffer.concat(chunks).toString()).to.equal("");
      });

      it(`an upload served ${how} fails, and no byte of it goes in the clear (${mode})`, async () => {
        const seen: Buffer[] = [];
        const srv = await server(serve, seen);
        const ftp = client(srv);
        await ftp.ready;
        ftp.setPasv(passive);
        const upload = await settle(ftp.storbinary("STOR /out.txt", Buffer.from(SECRET)));
        expect(upload.error, "upload").to.be.instanceOf(FtpError);
        expect(Buffer.concat(seen).includes("secret payload")).to.equal(false);
      });
    }
  }
});
