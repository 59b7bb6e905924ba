/**
 * The netrc reader behind the CLI's --netrc and --netrc-file (lib/netrc.ts).
 *
 * The cases under "reads as Python's netrc does" were each run through
 * Python 3.11's netrc module (netrc.netrc(file).hosts) when this spec was
 * written, and the entries expected here are what it gave; they are
 * hard-coded because nothing else in spec/cli/ runs python3. Where this
 * reader is stricter than Python, or Python 3.11 fails on a comment, the
 * case says so.
 */
import { expect } from "chai";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpError, FtpNetrcError, FtpNoPasswordError } from "../../lib/errors.js";
import { jobServer, resolveLogin, type LoginSources } from "../../lib/credentials.js";
import { defaultNetrcPath, findNetrcEntry, netrcExposure, parseNetrc, readNetrc, type NetrcEntry } from "../../lib/netrc.js";
import { parseFtpUrl } from "../../lib/url.js";
import { serverUrl } from "../../lib/queue-jobs.js";

/** Entries as Python's netrc.hosts shows them: name -> [login, account, password], "" for none. */
function asPython(entries: NetrcEntry[]): Record<string, [string, string, string]> {
  return Object.fromEntries(entries.map((e) => [e.machine ?? "default", [e.login ?? "", e.account ?? "", e.password ?? ""]]));
}

function syntaxError(text: string): FtpNetrcError {
  try {
    parseNetrc(text, "/home/u/.netrc");
  } catch (error) {
    expect(error).to.be.instanceOf(FtpNetrcError).and.instanceOf(FtpError);
    return error as FtpNetrcError;
  }
  throw new Error(`parsed without an error: ${JSON.stringify(text)}`);
}

describe("netrc files: parsing", () => {
  describe("reads as Python's netrc does", () => {
    const cases: Array<[string, Record<string, [string, string, string]>]> = [
      ["machine h login u password p\n", { h: ["u", "", "p"] }],
      ["machine h\n\tlogin u\n\tpassword p\n\taccount a\n", { h: ["u", "a", "p"] }],
      ["machine h user u password p\n", { h: ["u", "", "p"] }],
      ['machine h login u password "a b\\"c"\n', { h: ["u", "", 'a b"c'] }],
      ["machine h login u password a\\ b\n", { h: ["u", "", "a b"] }],
      ['machine h login u password ""\n', { h: ["u", "", ""] }],
      ["machine h login u password p\r\nmachine g login v password q\r\n", { h: ["u", "", "p"], g: ["v", "", "q"] }],
      ["# comment\nmachine h login u password p\n", { h: ["u", "", "p"] }],
      ["machine h login u # trailing words\n password p\n", { h: ["u", "", "p"] }],
      ["machine h login u password p #trailing\n", { h: ["u", "", "p"] }],
      // After a keyword, the next word is its value, whatever it starts with.
      ["machine h password #notacomment\n", { h: ["", "", "#notacomment"] }],
      ["macdef init\ncd /pub\nbin\n\nmachine h login u password p\n", { h: ["u", "", "p"] }],
      ["machine h login u password p macdef m\nx\n\nmachine g login v password q\n", { h: ["u", "", "p"], g: ["v", "", "q"] }],
      ["default login anonymous password me@example.com\n", { default: ["anonymous", "", "me@example.com"] }],
      ["machine h login u password p\ndefault login anonymous password me\n", { h: ["u", "", "p"], default: ["anonymous", "", "me"] }],
      ["machine h login u password p", { h: ["u", "", "p"] }],
    ];
    for (const [text, want] of cases) {
      it(JSON.stringify(text), () => {
        expect(asPython(parseNetrc(text, "f"))).to.deep.equal(want);
      });
    }
  });

  it("keeps every entry in file order with its line, the default entry as machine null", () => {
    const entries = parseNetrc("machine a login x password 1\n\nmachine a login y password 2\ndefault login z\n", "f");
    expect(entries).to.deep.equal([
      { machine: "a", login: "x", password: "1", line: 1 },
      { machine: "a", login: "y", password: "2", line: 3 },
      { machine: null, login: "z", line: 4 },
    ]);
  });

  it("refuses what Python's netrc refuses, as FtpNetrcError (ERR_FTP_NETRC, reason syntax) naming the file and line", () => {
    for (const [text, line, what] of [
      ["machine h login u password p q\n", 1, /a word where a keyword/],
      ["\n\nmachine\n", 3, /"machine" has no value/],
      ["macdef init\ncd /pub\n", 1, /macdef has no empty line/],
      ["login u password p\n", 1, /not inside an entry/],
      ["Machine h login u password p\n", 1, /a word where a keyword/],
      ['machine h login u password "ab"cd\n', 1, /a word where a keyword/],
      ["machine h\n port 21 login u\n", 2, /a word where a keyword/],
      // A login after a macdef belongs to no entry (Python: "bad toplevel token").
      ["machine h macdef m\nx\n\nlogin u\n", 4, /not inside an entry/],
    ] as const) {
      const error = syntaxError(text);
      expect(error.code, text).to.equal("ERR_FTP_NETRC");
      expect(error.reason, text).to.equal("syntax");
      expect(error.line, text).to.equal(line);
      expect(error.message, text).to.match(what).and.include(`/home/u/.netrc, line ${line}:`);
    }
  });

  it("is stricter than Python where Python reads a value that is not there: a keyword ending the file, a value given twice, an unclosed quote", () => {
    // Python 3.11: login '' (no error), the later login, and a password running to the end of the file.
    expect(syntaxError("machine h login").message).to.match(/"login" has no value/);
    expect(syntaxError("machine h login a login b password p\n").message).to.match(/gives its login twice/);
    expect(syntaxError("machine h user a login b\n").message).to.match(/gives its login twice/);
    const unclosed = syntaxError('machine h login u password "abc\nmachine g login v password q\n');
    expect([unclosed.line, unclosed.message]).to.deep.equal([
      1,
      "/home/u/.netrc, line 1: a quoted value is not closed on its line (a missing '\"'?)",
    ]);
  });

  it("refuses a value holding a line break (escaped) or NUL, which no FTP command can carry, without showing it", () => {
    for (const text of ["machine h login u password ab\\\ncd\n", "machine h login u password ab\0cd\n", "machine h\\\nx login u\n"]) {
      const error = syntaxError(text);
      expect(error.message, JSON.stringify(text))
        .to.match(/holds a line break or NUL/)
        .and.not.include("ab");
    }
  });

  it("reads a comment to the end of its line wherever a keyword may stand (Python 3.11 fails these three)", () => {
    expect(asPython(parseNetrc("#comment words\nmachine h login u password p\n", "f"))).to.deep.equal({ h: ["u", "", "p"] });
    expect(asPython(parseNetrc("\n# c x\nmachine h login u password p\n", "f"))).to.deep.equal({ h: ["u", "", "p"] });
    expect(asPython(parseNetrc("machine h login u\n\n# c x\n password p\n", "f"))).to.deep.equal({ h: ["u", "", "p"] });
  });

  it("never shows a word of the file in its message: a stray word may be half of an unquoted password", () => {
    for (const text of ["machine h login u password correct horse\n", "machine h login u password pa55 w0rd\n", "zebra-secret\n"]) {
      const error = syntaxError(text);
      for (const word of text.split(/\s+/).filter((w) => !["machine", "h", "login", "u", "password", ""].includes(w))) {
        expect(error.message, text).not.to.include(word);
      }
    }
  });

  it("skips a UTF-8 byte order mark and reads UTF-8 values", () => {
    expect(asPython(parseNetrc("\uFEFFmachine h login ü password pä\n", "f"))).to.deep.equal({ h: ["ü", "", "pä"] });
  });
});

describe("netrc files: choosing the entry", () => {
  const entries = parseNetrc(
    [
      "machine Files.Example.com login alice password a1",
      "machine files.example.com login bob password b1",
      "machine files.example.com login alice password a2",
      "machine ::1 login six password 6",
      "machine nologin.example password shared",
      "default login anonymous password me@example.com",
    ].join("\n"),
    "f",
  );

  it("takes the first entry for the host, its case ignored, when the URL names no user (curl; Python keeps the last)", () => {
    expect(findNetrcEntry(entries, "files.example.com")).to.include({ login: "alice", password: "a1" });
  });

  it("with a user, takes the first entry for the host with that login", () => {
    expect(findNetrcEntry(entries, "files.example.com", "bob")).to.include({ password: "b1" });
    expect(findNetrcEntry(entries, "FILES.example.com", "alice")).to.include({ password: "a1" });
  });

  it("lets an entry without a login serve any user of its host", () => {
    expect(findNetrcEntry(entries, "nologin.example", "carol")).to.include({ password: "shared" });
  });

  it("falls back to default only when no machine entry fits, and only for its own login", () => {
    expect(findNetrcEntry(entries, "elsewhere.example")).to.include({ login: "anonymous", password: "me@example.com" });
    expect(findNetrcEntry(entries, "files.example.com", "dave")).to.equal(undefined);
    expect(findNetrcEntry(entries, "files.example.com", "anonymous")).to.include({ machine: null });
  });

  it("matches an IPv6 host with or without brackets", () => {
    expect(findNetrcEntry(entries, "::1")).to.include({ login: "six" });
    expect(findNetrcEntry(parseNetrc("machine [::1] login b password p", "f"), "::1")).to.include({ login: "b" });
  });

  it("finds nothing in a file without the host and without default", () => {
    expect(findNetrcEntry(parseNetrc("machine a login x password y", "f"), "b")).to.equal(undefined);
  });
});

describe("netrc files: who may read them", () => {
  const secret = parseNetrc("machine h login alice password s3cret", "f");
  const uid = 1000;

  it("refuses a file holding a password that group or others may read, write or run (Python's S_IRWXG | S_IRWXO)", () => {
    for (const mode of [0o100644, 0o100640, 0o100604, 0o100620, 0o100602, 0o100610, 0o100601]) {
      expect(netrcExposure({ uid, mode }, secret, uid), mode.toString(8)).to.equal("permissions");
    }
    expect(netrcExposure({ uid, mode: 0o100600 }, secret, uid)).to.equal(null);
    expect(netrcExposure({ uid, mode: 0o100400 }, secret, uid)).to.equal(null);
  });

  it("refuses a file holding a password that another user owns", () => {
    expect(netrcExposure({ uid: 0, mode: 0o100600 }, secret, uid)).to.equal("owner");
  });

  it("does not mind a file that holds no password, or only an anonymous login's", () => {
    expect(netrcExposure({ uid: 0, mode: 0o100644 }, parseNetrc("machine h login alice", "f"), uid)).to.equal(null);
    expect(netrcExposure({ uid: 0, mode: 0o100644 }, parseNetrc("default login anonymous password me@x", "f"), uid)).to.equal(null);
    // A password without a login is a secret (Python checks it too).
    expect(netrcExposure({ uid, mode: 0o100644 }, parseNetrc("machine h password p", "f"), uid)).to.equal("permissions");
  });

  describe("readNetrc", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "ftpstream-netrc-"));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    const write = (name: string, text: string | Buffer, mode: number): string => {
      const file = join(dir, name);
      writeFileSync(file, text);
      chmodSync(file, mode);
      return file;
    };
    const failure = (promise: Promise<unknown>): Promise<FtpNetrcError> =>
      promise.then(
        () => {
          throw new Error("read without an error");
        },
        (error: unknown) => {
          expect(error).to.be.instanceOf(FtpNetrcError);
          return error as FtpNetrcError;
        },
      );

    it("with private (what --netrc reads), refuses mode 0644 and says to chmod 600; without it (--netrc-file), reads it", async () => {
      const file = write("netrc", "machine h login alice password s3cret\n", 0o644);
      const error = await failure(readNetrc(file, { private: true }));
      expect(error.reason).to.equal("permissions");
      expect(error.message).to.include(`mode 0644`).and.include(`chmod 600 ${file}`).and.not.include("s3cret");
      expect(await readNetrc(file, { private: false })).to.have.length(1);
      chmodSync(file, 0o600);
      expect(await readNetrc(file, { private: true })).to.deep.equal([{ machine: "h", login: "alice", password: "s3cret", line: 1 }]);
    });

    it("a missing file, a directory, bytes that are not UTF-8: typed errors, never an empty netrc", async () => {
      expect((await failure(readNetrc(join(dir, "absent"), { private: true }))).reason).to.equal("unreadable");
      expect((await failure(readNetrc(dir, { private: false }))).message).to.match(/not a regular file/);
      const latin1 = write("latin1", Buffer.from("machine h login alice password p\xe4ss\n", "latin1"), 0o600);
      expect((await failure(readNetrc(latin1, { private: true }))).reason).to.equal("encoding");
      const broken = write("broken", "machine h login alice password pa ss\n", 0o600);
      const error = await failure(readNetrc(broken, { private: true }));
      expect([error.reason, error.line, error.file]).to.deep.equal(["syntax", 1, broken]);
    });
  });

  it("--netrc reads $NETRC when set, else ~/.netrc", () => {
    expect(defaultNetrcPath({ NETRC: "/run/secrets/netrc" })).to.equal("/run/secrets/netrc");
    expect(defaultNetrcPath({})).to.match(/\/\.netrc$/);
  });
});

describe("the CLI's login: URL, then netrc, then FTPSTREAM_PASSWORD", () => {
  const netrc = { file: "/home/u/.netrc", entries: parseNetrc("machine h login alice password from-netrc\nmachine g login carol", "f") };
  const resolve = (url: string, sources: LoginSources) => resolveLogin(parseFtpUrl(url), sources);

  it("a password in the URL wins over netrc and the environment", () => {
    expect(resolve("ftp://alice:from-url@h/", { netrc, envPassword: "from-env" })).to.deep.equal({
      user: "alice",
      password: "from-url",
      source: "url",
    });
  });

  it("netrc's account comes with its password, for ACCT", () => {
    const withAccount = { file: "f", entries: parseNetrc("machine h login alice password p account acc", "f") };
    expect(resolve("ftp://alice@h/", { netrc: withAccount })).to.deep.equal({
      user: "alice",
      password: "p",
      account: "acc",
      source: "netrc",
    });
  });

  it("netrc gives the password for the URL's user, or user and password for a URL without one", () => {
    expect(resolve("ftp://alice@h/", { netrc, envPassword: "from-env" })).to.deep.equal({
      user: "alice",
      password: "from-netrc",
      source: "netrc",
    });
    expect(resolve("ftp://h/", { netrc })).to.deep.equal({ user: "alice", password: "from-netrc", source: "netrc" });
  });

  it("FTPSTREAM_PASSWORD (with --env-password) serves a named user that netrc has no password for", () => {
    expect(resolve("ftp://bob@h/", { netrc, envPassword: "from-env" })).to.deep.equal({ user: "bob", password: "from-env", source: "env" });
    expect(resolve("ftp://g/", { netrc, envPassword: "" })).to.deep.equal({ user: "carol", password: "", source: "env" });
  });

  it("an anonymous login stays anonymous: the environment's password is never sent for it", () => {
    expect(resolve("ftp://other/", { netrc, envPassword: "from-env" })).to.deep.equal({ user: "anonymous", password: "", source: "none" });
    expect(resolve("ftp://anonymous@other/", { envPassword: "from-env" })).to.deep.equal({
      user: "anonymous",
      password: "",
      source: "none",
    });
    expect(resolve("ftp://ftp@other/", { envPassword: "from-env" })).to.deep.equal({ user: "ftp", password: "", source: "none" });
  });

  it("a named user with no password from anywhere is FtpNoPasswordError (ERR_FTP_NO_PASSWORD) saying where to put one", () => {
    for (const [url, sources, looked] of [
      ["ftp://bob@h:2121/x", { netrc }, "/home/u/.netrc has no password for it"],
      ["ftp://bob@[::1]/x", {}, "no netrc file was given"],
      ["ftp://g/", { netrc }, "--env-password was not given"],
    ] as const) {
      let error: unknown;
      try {
        resolve(url, sources);
      } catch (caught) {
        error = caught;
      }
      expect(error, url).to.be.instanceOf(FtpNoPasswordError).and.instanceOf(FtpError);
      const typed = error as FtpNoPasswordError;
      expect(typed.code).to.equal("ERR_FTP_NO_PASSWORD");
      expect(typed.message, url).to.include(looked).and.include("--netrc").and.include("--env-password");
    }
  });

  it("the server a queue job names keeps the user and drops a password that did not come from the URL", () => {
    const job = (url: string, sources: LoginSources): string => {
      const parsed = parseFtpUrl(url);
      return serverUrl(jobServer(parsed, resolveLogin(parsed, sources)));
    };
    expect(job("ftp://alice@h/data", { netrc })).to.equal("ftp://alice@h:21");
    expect(job("ftp://h/data", { netrc })).to.equal("ftp://alice@h:21");
    expect(job("ftpes://bob@h/data", { envPassword: "from-env" })).to.equal("ftpes://bob@h:21");
    expect(job("ftp://other/data", { netrc })).to.equal("ftp://other:21");
    // As before: a password given in the URL is kept (mirror --queue warns about it).
    expect(job("ftp://alice:from-url@h/data", { netrc })).to.equal("ftp://alice:from-url@h:21");
  });
});
