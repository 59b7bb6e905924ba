/**
 * Proves the real-server harness itself, with Python's ftplib as an
 * independent client: each server starts fast, accepts our login (and only
 * it), moves bytes both ways in passive and active mode (plain and FTPS),
 * writes them where `home` says, and is really gone after stop().
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describeServers, type ServerVariant } from "./describe-server.js";
import { runFtplib } from "./ftplib-client.js";
import {
  findServer,
  lacks,
  listensOwn,
  makeCert,
  SAMPLE_FILES,
  SERVER_KINDS,
  startServer,
  TLS_SUPPORT,
  type ServerKind,
} from "./servers.js";

const VARIANTS = (kind: ServerKind): ServerVariant[] => [
  { label: "plain" },
  ...TLS_SUPPORT[kind].map((tls): ServerVariant => ({ label: `${tls} FTPS`, tls })),
];

describe("interop harness", () => {
  it("makeCert() makes a fresh self-signed certificate for localhost and 127.0.0.1", async () => {
    const { cert, key, dir } = await makeCert();
    expect(cert).to.match(/^-----BEGIN CERTIFICATE-----/);
    expect(key).to.match(/^-----BEGIN PRIVATE KEY-----/);
    const { X509Certificate } = await import("node:crypto");
    const x = new X509Certificate(cert);
    expect(x.subject).to.include("CN=localhost");
    expect(x.subjectAltName).to.include("IP Address:127.0.0.1");
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("listensOwn() tells a daemon's listening socket from another process's (a start whose port another run bound first goes again)", async () => {
    // A child listening on a port of its own, and this process on another.
    const child = spawn(
      process.execPath,
      ["-e", "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const childPort = Number(line.toString().trim());
      const ours = net.createServer();
      await new Promise<void>((resolve) => ours.listen(0, "127.0.0.1", resolve));
      const ourPort = (ours.address() as net.AddressInfo).port;
      try {
        expect(listensOwn(child.pid!, childPort)).to.equal(true);
        expect(listensOwn(child.pid!, ourPort)).to.equal(false);
        expect(listensOwn(process.pid, ourPort)).to.equal(true);
        // And what its descendants listen on (inetd's, Python's children).
        expect(listensOwn(process.pid, childPort)).to.equal(true);
      } finally {
        ours.close();
      }
    } finally {
      child.kill();
    }
  });
});

describeServers("interop harness", VARIANTS, ({ kind, variant, server }) => {
  let tmp: string;
  // Twisted refuses a bare NLST ("500 Syntax error: NLST requires an argument."): ftplib lists "." there.
  const nlstDir = lacks(kind, "bare NLST") ? "." : undefined;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-harness-"));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it("serves the sample files under home", async () => {
    const s = server();
    expect(s.host).to.equal("127.0.0.1");
    expect(s.version).to.not.equal("unknown");
    expect(s.tls).to.equal(variant.tls ?? false);
    if (s.tls) expect(s.ca).to.match(/BEGIN CERTIFICATE/);
    for (const [rel, content] of Object.entries(SAMPLE_FILES)) {
      expect(await fs.readFile(path.join(s.home, rel))).to.deep.equal(content);
    }
  });

  for (const passive of [true, false]) {
    const mode = passive ? "passive" : "active";
    it(`ftplib uploads and downloads in ${mode} mode; bytes land in home`, async () => {
      const s = server();
      const data = randomBytes(200_000 + (passive ? 1 : 2));
      const src = path.join(tmp, `up-${mode}.bin`);
      const dst = path.join(tmp, `down-${mode}.bin`);
      await fs.writeFile(src, data);
      const remote = `harness-${mode}.bin`;
      const r = await runFtplib(s, { passive, remote, upload: src, download: dst, nlstDir });
      expect(r.welcome).to.match(/^220/);
      expect(r.login).to.match(/^230/);
      expect(r.stor).to.match(/^2[25]6/);
      expect(r.retr).to.match(/^2[25]6/);
      if (s.tls) {
        expect(r.prot).to.match(/^200/);
        expect(r.tls_version).to.match(/^TLSv1\.[23]$/);
      }
      expect(r.pwd).to.equal("/"); // chrooted: home is "/"
      expect(r.nlst).to.include(remote);
      expect(await fs.readFile(path.join(s.home, remote))).to.deep.equal(data);
      expect(await fs.readFile(dst)).to.deep.equal(data);
    });
  }

  if (!variant.tls) {
    it("refuses a wrong password with 530", async () => {
      const r = await runFtplib(server(), { passive: true, password: "wrong-password" });
      expect(r.login_error).to.match(/^530/);
    });

    it("lets anonymous read where the server offers it, and refuses it (530) where it does not", async function () {
      const s = server();
      if (!s.anonymous) {
        // pure-ftpd runs with --noanonymous (anonymous needs a system "ftp" account), as
        // do the inetd daemons here; ftp-srv runs with anonymous: false.
        const refused = await runFtplib(s, { passive: true, user: "anonymous", password: "anon@" });
        expect(refused.login_error).to.match(/^530/);
        return;
      }
      const dst = path.join(tmp, "anon-hello.txt");
      const r = await runFtplib(s, { passive: true, user: "anonymous", password: "anon@", remote: "hello.txt", download: dst, nlstDir });
      expect(r.login).to.match(/^230/);
      expect(await fs.readFile(dst)).to.deep.equal(SAMPLE_FILES["hello.txt"]);
    });
  }

  it(`starts, and is gone after stop() (${kind})`, async () => {
    const other = await startServer(kind, { tls: variant.tls });
    const home = other.home;
    await other.stop();
    await other.stop(); // safe twice
    await fs.access(home).then(
      () => expect.fail("home still exists"),
      () => undefined,
    );
    const refused = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: "127.0.0.1", port: other.port });
      sock.once("connect", () => {
        sock.destroy();
        resolve(false);
      });
      sock.once("error", () => resolve(true));
    });
    expect(refused, "port still accepts connections").to.equal(true);
  });
});

describe("interop harness: server discovery", () => {
  it("findServer() answers for every kind", () => {
    expect(SERVER_KINDS).to.have.length(8);
    for (const kind of SERVER_KINDS) {
      const f = findServer(kind);
      expect(f.found || typeof f.why === "string", kind).to.equal(true);
    }
  });
});
