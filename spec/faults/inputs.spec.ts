/**
 * Input checks: a CR, LF or NUL in any path or command argument of any
 * public method is refused before anything is sent (the server's command
 * log does not move); a `rest` that is negative or not an integer is
 * refused; a port outside 1..65535 is refused. The refusal is a TypeError
 * (ERR_INVALID_ARG_VALUE) or RangeError (ERR_OUT_OF_RANGE), and the client
 * stays usable. How it arrives is part of the API: a method that returns a
 * Promise rejects (never throws at the call, as fs/promises); one that
 * returns a stream throws at the call (as fs.createReadStream); an async
 * iterator rejects its first step.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { FTP, FTP_TLS } from "../../lib/index.js";
import { makeSelfSignedCert } from "../../fixtures/cert.js";
import { ftpcp } from "../../lib/ftpcp.js";
import { FtpPool } from "../../lib/pool.js";
import { FaultCase, settleIo } from "./helpers.js";

const INJECTIONS = ["x\r\nDELE victim", "x\nDELE victim", "x\rDELE victim", "x\0victim"];

/** How a refusal arrived: thrown at the call, as the returned promise's rejection, or as an async iterator's first step. */
type Via = "throw" | "rejection" | "iteration";

/**
 * Runs `call` and returns what it was refused with and how. Fails the spec
 * if it was not refused, or if a stream came back (a stream-returning method
 * must throw at the call instead).
 */
async function refusalWithVia(call: () => unknown): Promise<{ error: unknown; via: Via }> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { error, via: "throw" };
  }
  if (result instanceof Promise) {
    return result.then(
      () => expect.fail("resolved instead of refusing"),
      (error: unknown) => ({ error, via: "rejection" as const }),
    );
  }
  if (result instanceof Readable || result instanceof Writable) return expect.fail("made a stream instead of throwing at the call");
  if (typeof result === "object" && result !== null && Symbol.asyncIterator in result) {
    const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    try {
      await iterator.next();
    } catch (error) {
      return { error, via: "iteration" };
    }
    return expect.fail("iterated instead of refusing");
  }
  return expect.fail(`returned ${String(result)} instead of refusing`);
}

/** The refusal of `call`, which must arrive `via` that way. */
async function refusal(call: () => unknown, via: Via): Promise<unknown> {
  const refused = await refusalWithVia(call);
  expect(refused.via, `how ${String(refused.error)} arrived`).to.equal(via);
  return refused.error;
}

/** How a row's method reports bad arguments: streams throw, async iterators reject their first step, the rest reject. */
function viaForRow(row: string): Via {
  if (row.includes("(stream)")) return "throw";
  if (["mlsd", "list", "walk"].includes(methodName(row))) return "iteration";
  return "rejection";
}

type Call = (ftp: FTP, bad: string) => unknown;

/** Every public method that takes a path or command text, each argument position on its own. */
const ARGUMENT_CALLS: Record<string, Call> = {
  "login(user)": (ftp, bad) => ftp.login(bad, "pass"),
  "login(passwd)": (ftp, bad) => ftp.login("user", bad),
  "login(acct)": (ftp, bad) => ftp.login("user", "pass", bad),
  acct: (ftp, bad) => ftp.acct(bad),
  sendcmd: (ftp, bad) => ftp.sendcmd(`NOOP ${bad}`),
  voidcmd: (ftp, bad) => ftp.voidcmd(`NOOP ${bad}`),
  ntransfercmd: (ftp, bad) => ftp.ntransfercmd(`RETR ${bad}`),
  transfercmd: (ftp, bad) => ftp.transfercmd(`RETR ${bad}`),
  "retrbinary (stream)": (ftp, bad) => ftp.retrbinary(`RETR ${bad}`),
  "retrbinary (callback)": (ftp, bad) => ftp.retrbinary(`RETR ${bad}`, () => undefined),
  "retrlines (stream)": (ftp, bad) => ftp.retrlines(`RETR ${bad}`),
  "retrlines (callback)": (ftp, bad) => ftp.retrlines(`RETR ${bad}`, () => undefined),
  "storbinary (stream)": (ftp, bad) => ftp.storbinary(`STOR ${bad}`),
  "storbinary (source)": (ftp, bad) => ftp.storbinary(`STOR ${bad}`, Buffer.from("data")),
  "storlines (stream)": (ftp, bad) => ftp.storlines(`STOR ${bad}`),
  "storlines (source)": (ftp, bad) => ftp.storlines(`STOR ${bad}`, "data\n"),
  "mlsd(path)": (ftp, bad) => ftp.mlsd(bad),
  "mlsd(facts)": (ftp, bad) => ftp.mlsd("", ["type", bad]),
  list: (ftp, bad) => ftp.list(bad),
  walk: (ftp, bad) => ftp.walk(bad),
  nlst: (ftp, bad) => ftp.nlst(bad),
  dir: (ftp, bad) => ftp.dir(bad, () => undefined),
  "rename(fromname)": (ftp, bad) => ftp.rename(bad, "b"),
  "rename(toname)": (ftp, bad) => ftp.rename("a", bad),
  delete: (ftp, bad) => ftp.delete(bad),
  cwd: (ftp, bad) => ftp.cwd(bad),
  size: (ftp, bad) => ftp.size(bad),
  mkd: (ftp, bad) => ftp.mkd(bad),
  rmd: (ftp, bad) => ftp.rmd(bad),
  ensureDir: (ftp, bad) => ftp.ensureDir(`a/${bad}`),
  removeDir: (ftp, bad) => ftp.removeDir(bad),
  clearDir: (ftp, bad) => ftp.clearDir(bad),
  isDirectory: (ftp, bad) => ftp.isDirectory(bad),
  lastMod: (ftp, bad) => ftp.lastMod(bad),
  setLastMod: (ftp, bad) => ftp.setLastMod(bad, new Date()),
  lastMods: (ftp, bad) => ftp.lastMods(["a", bad]),
  setLastMods: (ftp, bad) => ftp.setLastMods([{ path: bad, date: new Date() }]),
  sendcmds: (ftp, bad) => ftp.sendcmds(["NOOP", bad]),
  stat: (ftp, bad) => ftp.stat(bad),
  downloadDir: (ftp, bad) => ftp.downloadDir(bad, "ftpstream-never-made"),
  uploadDir: (ftp, bad) => ftp.uploadDir(".", bad),
};

/**
 * Public members that take no path or command text (or, for connect, a
 * host that never goes on the control connection). A method missing from
 * both lists fails the completeness check below, so a new one gets a row.
 */
const NO_TEXT_ARGUMENT = new Set([
  "constructor",
  "connect",
  "getWelcome",
  "setDebugLevel",
  "debugLevel",
  "setDebugLogger",
  "setPasv",
  "getresp",
  "voidresp",
  "abort",
  "pwd",
  "features",
  "quit",
  "close",
  "closed",
  // An event name and a listener: nothing reaches the server.
  "on",
  "off",
  // FTP_TLS
  "secure",
  "auth",
  "prot_p",
  "prot_c",
  "ccc",
]);

/** Names of the public instance members of `className` in a lib/ source file, read with the TypeScript compiler. */
function publicMembers(file: string, className: string): string[] {
  const path = fileURLToPath(new URL(`../../../lib/${file}`, import.meta.url));
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.ES2022, true);
  const names: string[] = [];
  source.forEachChild((node) => {
    if (!ts.isClassDeclaration(node) || node.name?.text !== className) return;
    for (const member of node.members) {
      const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
      const hidden = modifiers.some((m) =>
        [ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.StaticKeyword].includes(m.kind),
      );
      if (hidden || !member.name || !ts.isIdentifier(member.name)) continue;
      if (ts.isMethodDeclaration(member) || ts.isGetAccessor(member)) names.push(member.name.text);
    }
  });
  expect(names, `public members of ${className} in lib/${file}`).not.to.deep.equal([]);
  return names;
}

function methodName(row: string): string {
  return row.split(/[ (]/)[0];
}

describe("input checks", function () {
  let fc: FaultCase;
  before(async () => {
    fc = await FaultCase.start({ files: { "/victim": "keep me" } });
  });
  after(async () => {
    await fc.dispose();
  });

  it("covers every public method of FTP and FTP_TLS (each either has a row or takes no path/command text)", function () {
    // Static members (create, connect) are covered by the URL and port rows below.
    const rows = new Set(Object.keys(ARGUMENT_CALLS).map(methodName));
    const members = new Set([...publicMembers("client.ts", "FTP"), ...publicMembers("tls.ts", "FTP_TLS")]);
    const uncovered = [...members].filter((name) => !rows.has(name) && !NO_TEXT_ARGUMENT.has(name));
    expect(uncovered, "public methods with no input-check row").to.deep.equal([]);
  });

  for (const [row, call] of Object.entries(ARGUMENT_CALLS)) {
    it(`${row} refuses CR, LF and NUL before sending anything`, async () => {
      // Server: login; then nothing may arrive until the closing PWD.
      const ftp = fc.client();
      await ftp.ready;
      for (const bad of INJECTIONS) {
        const before = fc.srv.commands.length;
        const error = await refusal(() => call(ftp, bad), viaForRow(row));
        expect(error, `${row} with ${JSON.stringify(bad)}: ${String(error)}`).to.be.instanceOf(TypeError);
        expect((error as { code?: string }).code).to.equal("ERR_INVALID_ARG_VALUE");
        await settleIo();
        expect(fc.srv.commands.slice(before), `sent for ${JSON.stringify(bad)}`).to.deep.equal([]);
      }
      expect(fc.srv.vfs.exists("/victim")).to.equal(true);
      await fc.finish(ftp, false);
    });
  }

  it("FTP_TLS.login refuses CR, LF and NUL before sending anything (AUTH TLS included)", async () => {
    // Server: FTPS (explicit); the client connects; then nothing may arrive.
    const cert = await makeSelfSignedCert();
    const secure = await FaultCase.start({ tls: { ...cert } });
    try {
      const ftp = new FTP_TLS({ timeout: 5000, tls: { ca: cert.cert } });
      await ftp.connect(secure.srv.host, secure.srv.port);
      for (const bad of INJECTIONS) {
        for (const call of [() => ftp.login(bad, "pass"), () => ftp.login("user", bad), () => ftp.login("user", "pass", bad)]) {
          const before = secure.srv.commands.length;
          const error = await refusal(call, "rejection");
          expect(error, String(error)).to.be.instanceOf(TypeError);
          await settleIo();
          expect(secure.srv.commands.slice(before)).to.deep.equal([]);
        }
      }
      await ftp.login("user", "pass");
      await secure.finish(ftp, false);
    } finally {
      await secure.dispose();
    }
  });

  it("ftpcp refuses CR, LF and NUL in either name before sending anything", async () => {
    // Server: two logins; then nothing.
    const source = fc.client();
    const target = fc.client();
    await Promise.all([source.ready, target.ready]);
    for (const bad of INJECTIONS) {
      const before = fc.srv.commands.length;
      for (const call of [() => ftpcp(source, bad, target), () => ftpcp(source, "a", target, bad)]) {
        const error = await refusal(call, "rejection");
        expect(error).to.be.instanceOf(TypeError);
      }
      expect(fc.srv.commands.slice(before)).to.deep.equal([]);
    }
    target.close();
    await fc.finish(source, false);
  });

  it("FtpPool.downloadSegmented refuses CR, LF and NUL in the remote path before sending anything but the login", async () => {
    // Server: the pool's client logs in (USER, PASS); then nothing.
    const pool = new FtpPool({ connect: () => FTP.create({ host: fc.srv.host, port: fc.srv.port, user: "user", password: "pass" }) });
    for (const bad of INJECTIONS) {
      const before = fc.srv.commands.length;
      const error = await refusal(() => pool.downloadSegmented(bad, "/dev/null"), "rejection");
      expect(error).to.be.instanceOf(TypeError);
      expect(fc.srv.commands.slice(before).filter((line) => !/^(USER|PASS) /.test(line))).to.deep.equal([]);
    }
    await pool.close();
    await fc.expectNoLeaks();
  });

  it("FTP.connect(url) refuses a percent-encoded CR/LF in the URL's path, user or password before connecting", async () => {
    // Server: no connection may arrive.
    const base = `ftp://${fc.srv.host}:${fc.srv.port}`;
    const sessions = fc.srv.sessions.length;
    for (const url of [
      `${base}/a%0D%0ADELE%20victim`,
      `ftp://us%0Aer:pw@${fc.srv.host}:${fc.srv.port}/`,
      `ftp://user:p%00w@${fc.srv.host}:${fc.srv.port}/`,
    ]) {
      const error = await refusal(() => FTP.connect(url), "rejection");
      expect(error, url).to.be.instanceOf(TypeError);
    }
    expect(fc.srv.sessions.length).to.equal(sessions);
    await fc.expectNoLeaks();
  });

  describe("rest", function () {
    const BAD_REST: Array<number | string> = [
      -1,
      1.5,
      Number.NaN,
      Infinity,
      -0.5,
      "-1",
      "1.5",
      "abc",
      "1e3",
      "",
      " 1",
      "1\r\nDELE victim",
      2 ** 53,
    ];
    const REST_CALLS: Record<string, (ftp: FTP, rest: number | string) => unknown> = {
      "retrbinary (stream)": (ftp, rest) => ftp.retrbinary("RETR victim", { rest }),
      "retrbinary (callback, options)": (ftp, rest) => ftp.retrbinary("RETR victim", () => undefined, { rest }),
      "retrbinary (callback, blocksize, rest)": (ftp, rest) => ftp.retrbinary("RETR victim", () => undefined, 8192, rest),
      "retrlines (stream)": (ftp, rest) => ftp.retrlines("RETR victim", { rest }),
      "retrlines (callback)": (ftp, rest) => ftp.retrlines("RETR victim", () => undefined, { rest }),
      "storbinary (stream)": (ftp, rest) => ftp.storbinary("STOR victim", { rest }),
      "storbinary (source, options)": (ftp, rest) => ftp.storbinary("STOR victim", Buffer.from("x"), { rest }),
      "storbinary (source, blocksize, callback, rest)": (ftp, rest) =>
        ftp.storbinary("STOR victim", Buffer.from("x"), 8192, undefined, rest),
      "storlines (stream)": (ftp, rest) => ftp.storlines("STOR victim", { rest }),
      ntransfercmd: (ftp, rest) => ftp.ntransfercmd("RETR victim", rest),
      transfercmd: (ftp, rest) => ftp.transfercmd("RETR victim", rest),
    };
    for (const [row, call] of Object.entries(REST_CALLS)) {
      it(`${row} refuses a negative or non-integer rest before sending anything`, async () => {
        // Server: login; then nothing may arrive until the closing PWD.
        const ftp = fc.client();
        await ftp.ready;
        for (const rest of BAD_REST) {
          const before = fc.srv.commands.length;
          const error = await refusal(() => call(ftp, rest), viaForRow(row));
          expect(error, `rest ${JSON.stringify(rest)}: ${String(error)}`).to.be.instanceOf(RangeError);
          expect((error as { code?: string }).code).to.equal("ERR_OUT_OF_RANGE");
          await settleIo();
          expect(fc.srv.commands.slice(before), `sent for rest ${JSON.stringify(rest)}`).to.deep.equal([]);
        }
        expect(fc.srv.vfs.get("/victim")?.toString()).to.equal("keep me");
        await fc.finish(ftp, false);
      });
    }
  });

  describe("blocksize", function () {
    const BAD_BLOCKSIZE = [0, -1, 1.5, Number.NaN, Infinity];
    const BLOCKSIZE_CALLS: Record<string, (ftp: FTP, blocksize: number) => Promise<string>> = {
      "retrbinary (callback, options)": (ftp, blocksize) => ftp.retrbinary("RETR victim", () => undefined, { blocksize }),
      "retrbinary (callback, blocksize)": (ftp, blocksize) => ftp.retrbinary("RETR victim", () => undefined, blocksize),
      "storbinary (source, options)": (ftp, blocksize) => ftp.storbinary("STOR victim", Buffer.from("x"), { blocksize }),
      "storbinary (source, blocksize)": (ftp, blocksize) => ftp.storbinary("STOR victim", Buffer.from("x"), blocksize),
    };
    for (const [row, call] of Object.entries(BLOCKSIZE_CALLS)) {
      it(`${row} rejects a blocksize that is not a positive integer before sending anything`, async () => {
        // Server: login; then nothing may arrive until the closing PWD.
        const ftp = fc.client();
        await ftp.ready;
        for (const blocksize of BAD_BLOCKSIZE) {
          const before = fc.srv.commands.length;
          const error = await refusal(() => call(ftp, blocksize), "rejection");
          expect(error, `blocksize ${blocksize}`).to.be.instanceOf(RangeError);
          expect((error as { code?: string }).code).to.equal("ERR_OUT_OF_RANGE");
          await settleIo();
          expect(fc.srv.commands.slice(before), `sent for blocksize ${blocksize}`).to.deep.equal([]);
        }
        expect(fc.srv.vfs.get("/victim")?.toString()).to.equal("keep me");
        await fc.finish(ftp, false);
      });
    }
  });

  describe("port", function () {
    const BAD_PORTS = [-1, 65536, 70000, 1.5, Number.NaN, Infinity, -21];

    it("connect() refuses a port outside 1..65535 (0 means the default, 21) without connecting", async () => {
      // Server: no connection may arrive.
      const sessions = fc.srv.sessions.length;
      for (const port of BAD_PORTS) {
        const ftp = new FTP({ timeout: 2000 });
        const error = await refusal(() => ftp.connect(fc.srv.host, port), "rejection");
        expect(error, `port ${port}: ${String(error)}`).to.be.instanceOf(RangeError);
        expect((error as { code?: string }).code).to.equal("ERR_OUT_OF_RANGE");
        ftp.close();
      }
      expect(fc.srv.sessions.length).to.equal(sessions);
      await fc.expectNoLeaks();
    });

    it("the FTP constructor refuses a port outside 1..65535", async () => {
      const sessions = fc.srv.sessions.length;
      for (const port of [...BAD_PORTS, 0]) {
        const error = await refusal(() => new FTP({ host: fc.srv.host, port }), "throw");
        expect(error, `port ${port}`).to.be.instanceOf(RangeError);
      }
      expect(fc.srv.sessions.length).to.equal(sessions);
      await fc.expectNoLeaks();
    });

    it("FTP.connect(url) refuses a port outside 1..65535", async () => {
      const sessions = fc.srv.sessions.length;
      for (const port of ["0", "65536", "99999"]) {
        const error = await refusal(() => FTP.connect(`ftp://${fc.srv.host}:${port}/`), "rejection");
        // WHATWG URL itself refuses ports over 65535 (TypeError); 0 parses and is refused as a port.
        expect(error instanceof TypeError || error instanceof RangeError, `port ${port}: ${String(error)}`).to.equal(true);
      }
      expect(fc.srv.sessions.length).to.equal(sessions);
      await fc.expectNoLeaks();
    });
  });
});
