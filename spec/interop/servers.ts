/**
 * Real FTP servers for the interop specs: vsftpd, proftpd, pure-ftpd,
 * pyftpdlib, GNU inetutils ftpd, the netkit/BSD ftpd (Debian's ftpd-ssl),
 * Twisted's FTP server and ftp-srv (npm), each configured from scratch in a
 * temp dir, started on a free loopback port, and killed (whole process
 * group) when the spec is done. What each one lacks is said once, in LACKS.
 *
 * The three C daemons are not installed through dpkg (they conflict on
 * `ftp-server`); spec/interop/install-servers.sh unpacks their .debs under
 * $FTPSTREAM_SERVERS_DIR (default /opt/ftpstream-servers) and we run the
 * binaries from there. pyftpdlib is Debian's python3-pyftpdlib, so it must run
 * under Debian's /usr/bin/python3, not whatever `python3` is first on PATH.
 *
 * Logins are virtual users (never a system password): vsftpd authenticates
 * through a PAM service using pam_userdb, proftpd through AuthUserFile,
 * pure-ftpd through a puredb, pyftpdlib through DummyAuthorizer. Files written
 * by the C daemons are owned by the locked system account `ftpstream`.
 *
 * inetutils ftpd and the netkit ftpd only run under inetd here: their `-D`
 * daemon mode listens on the `ftp` service port (21) with no option for
 * another, and they pick passive ports from the kernel's ephemeral range. An
 * inetd stand-in (INETD_STANDIN, Python) listens on our loopback port and
 * spawns the daemon per connection with the socket as stdin/stdout. They log
 * in system accounts (crypt / PAM): `ftpstream-inetutils` and
 * `ftpstream-netkit`, made by install-servers.sh with the password
 * FTP_PASSWORD and a shell that only allows FTP, listed in /etc/ftpchroot so
 * each session is chrooted to the account's home,
 * /var/lib/ftpstream/homes/<kind>. The stand-in bind-mounts this server's
 * temp home there in a mount namespace of its own (so two servers of a kind
 * never share a home), or, where namespaces are refused, points a symlink
 * there (one server per kind at a time). Chrooted, both run `/bin/ls` for
 * LIST inside the home, so each home holds bin/ls and the libraries it
 * needs (root-owned bin/, lib/, lib64/), as ftpd(8) says ~ftp/bin must.
 */
import { spawn, spawnSync, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { createRequire } from "node:module";

export type ServerKind = "vsftpd" | "proftpd" | "pure-ftpd" | "pyftpdlib" | "inetutils-ftpd" | "netkit-ftpd" | "twisted" | "ftp-srv";
export const SERVER_KINDS: ServerKind[] = [
  "vsftpd",
  "proftpd",
  "pure-ftpd",
  "pyftpdlib",
  "inetutils-ftpd",
  "netkit-ftpd",
  "twisted",
  "ftp-srv",
];
/** The four servers the interop specs ran on before issue 24. */
export const FIRST_FOUR: readonly ServerKind[] = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib"];

/**
 * What a server lacks or does differently from the first four, each with
 * why, measured on the Debian/npm version installed. A spec that depends on
 * one of these asserts the client's behaviour there instead (a fallback, or
 * a typed error): nothing is skipped silently.
 */
export type Lack =
  | "EPSV" // no EPSV: the client must use PASV
  | "MLSD" // no MLSD/MLST: listings come from LIST
  | "FEAT" // FEAT unknown (500)
  | "MFMT" // no MFMT: a modification time is set with MDTM <time> <path>, or not at all
  | "ABOR" // ABOR unknown (502): a download is ended by closing its data connection
  | "REST" // REST unknown (502): no resumed download or upload
  | "bare NLST" // NLST needs an argument
  | "TYPE A" // TYPE A transfers fail
  | "APPE" // APPE unknown
  | "absolute 257" // MKD answers 257 with the name as given (relative), not the path
  | "late 225" // ABOR's 225 comes after the reply to the next command
  | "mtime kept" // the uploaded file's time cannot be set
  | "TLS" // no FTPS
  | "anonymous" // no anonymous login
  | "pasv range" // passive ports come from the kernel's ephemeral range, not ours
  | "LIST -a" // LIST takes no options: "LIST -a" is the path "-a"
  | "clean root" // the home holds what the server needs besides the sample files
  | "CDUP at /" // CDUP at the root is refused (550), not a no-op
  | "REST STOR" // REST n then STOR truncates the file and writes at n: zeros before it
  | "SIZE 0" // SIZE of an empty file is not a 213 with 0
  | "257 local path" // MKD's 257 names the directory's path on the server's disk, not the FTP path
  | "MLSD 502" // MLSD is answered 502 (not implemented), not 500
  | "SIZE dir" // SIZE and MDTM of a directory answer 213, as for a file
  | "runs as root" // the server process runs as root here: it reads a directory of mode 000
  | "empty read proof" // no "." in a listing, no MLST perm fact: nothing proves an empty listing was a read of the directory
  | "late ABOR ends next" // a late ABOR ends the data connection of the transfer set up after it
  | "pipelining"; // runs the commands of two reads at once: a pipelining client's replies come back interleaved

export const LACKS: Readonly<Record<ServerKind, Readonly<Partial<Record<Lack, string>>>>> = {
  vsftpd: { MLSD: "no MLSD or MLST (500 Unknown command)", MFMT: "no MFMT: two-argument MDTM" },
  proftpd: {},
  "pure-ftpd": { "absolute 257": 'MKD answers 257 "name" as given', anonymous: "run with --noanonymous" },
  pyftpdlib: {
    "LIST -a": "reads LIST -a /dir as the path '-a /dir' (550); its plain LIST shows dot files",
    "runs as root": "one Python process as root, no privilege drop",
  },
  "inetutils-ftpd": {
    MLSD: "no MLSD or MLST (500 command not recognized)",
    MFMT: "no MFMT, and MDTM takes no time to set",
    "mtime kept": "no MFMT, no two-argument MDTM, no SITE UTIME",
    TLS: "built without TLS",
    anonymous: "anonymous needs a system `ftp` account, which this harness does not make",
    "pasv range": "passive ports from the kernel's ephemeral range (no option)",
    "clean root": "chrooted: bin/ls and its libraries live in the home (bin/, lib/, lib64/)",
  },
  "netkit-ftpd": {
    MLSD: "no MLSD or MLST (500 command not understood)",
    FEAT: "no FEAT (500 command not understood)",
    MFMT: "no MFMT, and MDTM takes no time to set",
    "mtime kept": "no MFMT, no two-argument MDTM, no SITE UTIME",
    "absolute 257": 'MKD answers 257 "d1" as given',
    TLS: "its SSL is the pre-RFC 4217 kind (AUTH SSL); not set up here",
    anonymous: "anonymous needs a system `ftp` account, which this harness does not make",
    "pasv range": "passive ports from the kernel's ephemeral range (no option)",
    "clean root": "chrooted: bin/ls and its libraries live in the home (bin/, lib/, lib64/)",
  },
  twisted: {
    EPSV: "502 Command 'EPSV' not implemented",
    MLSD: "502 Command 'MLSD' not implemented",
    MFMT: "502 Command 'MFMT' not implemented",
    "mtime kept": "no MFMT, no two-argument MDTM, no SITE UTIME",
    ABOR: "502 Command 'ABOR' not implemented",
    REST: "502 Command 'REST' not implemented, for RETR and STOR alike",
    "bare NLST": "500 Syntax error: NLST requires an argument.",
    "TYPE A": "TYPE A transfers fail server-side (Twisted issue 9555)",
    APPE: "502 Command 'APPE' not implemented",
    "absolute 257": 'MKD answers 257 "d1" created',
    "CDUP at /": "550 ..: No such file or directory.",
    "MLSD 502": "502 Command 'MLSD' not implemented",
    TLS: "twisted.protocols.ftp has no FTPS",
    "LIST -a": "takes LIST -a as a path",
    "runs as root": "twistd as root, FTPShell on the temp home",
    "empty read proof": "its LIST shows no '.', and it has no MLST",
    "SIZE dir": "SIZE /sub answers 213 4096 and MDTM /sub its time: without MLST, stat() takes a directory for a file",
  },
  "ftp-srv": {
    MLSD: "502 Command not allowed: MLSD",
    MFMT: "502 Command not allowed: MFMT",
    "MLSD 502": "502 Command not allowed: MLSD",
    "late 225": "answers ABOR after the reply to the command written behind it",
    "late ABOR ends next":
      "ABOR replies 225, then ends this.connector, by then the next EPSV's or PORT's: that RETR gets 551 No connector setup (passive), or the server process dies (active: TypeError in connector/active.js)",
    "REST STOR": "REST n then STOR truncates the file and writes at n: bytes before n become zeros",
    pipelining:
      "each socket read's commands run in order (Promise.mapSeries in connection.js), but a second read's start beside the first's: a window refilled while replies are owed gets them interleaved",
    "SIZE 0": "SIZE of an empty file is not 213 0",
    "mtime kept": "no MFMT, no two-argument MDTM, no SITE UTIME",
    "SIZE dir": "SIZE /sub answers 213 4096 and MDTM /sub its time: without MLST, stat() takes a directory for a file",
    "257 local path": '257 "/tmp/…/home/d1": the path on its disk',
    TLS: "FTPS needs its own tls options; not set up here",
    anonymous: "started with anonymous: false",
    "runs as root": "a child Node process as root",
    "empty read proof": "its LIST shows no '.' (an empty directory is one empty line), and it has no MLST",
  },
};

/** Whether `kind` lacks `feature` (see LACKS). */
export const lacks = (kind: ServerKind, feature: Lack): boolean => LACKS[kind][feature] !== undefined;

export type TlsMode = "explicit" | "implicit";

export interface RealServer {
  kind: ServerKind;
  /** Debian package version, e.g. "3.0.3-13+b2". */
  version: string;
  host: "127.0.0.1";
  port: number;
  user: string;
  password: string;
  /** Local directory that is the user's FTP root (chrooted): "/" on the wire. */
  home: string;
  tls: false | TlsMode;
  /** PEM of the self-signed certificate, when tls. */
  ca?: string;
  supportsMlsd: boolean;
  /** Whether `anonymous` can log in (read-only, same root as `home`). */
  anonymous: boolean;
  /** Passive port range the server hands out (inclusive). */
  pasvPorts: [number, number];
  /** The server's own log file(s), for a failing spec to print. */
  logFiles: string[];
  /** Kills the server and removes its temp dirs; safe to call twice. */
  stop(): Promise<void>;
  /** Whether the daemon is still up and the socket on its control port is its own. */
  running(): boolean;
  /**
   * Puts home back as the start left it (the sample files and nothing else,
   * bin/ls where the daemon lists with it) and empties the server's logs:
   * a server kept for the next suite then serves it as a fresh one would.
   */
  reset(): Promise<void>;
}

/** Root of the unpacked .debs (see install-servers.sh). */
export const SERVERS_DIR = process.env.FTPSTREAM_SERVERS_DIR ?? "/opt/ftpstream-servers";
/** Debian's python, which has python3-pyftpdlib and python3-openssl. */
export const DEBIAN_PYTHON = process.env.FTPSTREAM_PYTHON ?? "/usr/bin/python3";
/** The locked system account that owns what the C daemons write. */
export const SYSTEM_USER = "ftpstream";
/** The locked system account vsftpd's anonymous sessions run as. */
export const ANON_SYSTEM_USER = "ftpstream-anon";

/** Login of every server. Fixed: vsftpd's PAM userdb lives at one fixed path. */
export const FTP_USER = "ftpuser";
export const FTP_PASSWORD = "ftpstream-interop";

/** Files every server's home starts with (path relative to home -> content). */
export const SAMPLE_FILES: Readonly<Record<string, Buffer>> = Object.freeze({
  "hello.txt": Buffer.from("hello world\n"),
  "lines.txt": Buffer.from("first line\nsecond line\nthird line\n"),
  // 64 KiB of a repeating 0..255 pattern: binary-safe and easy to check.
  "sample.bin": Buffer.from(Array.from({ length: 65536 }, (_, i) => i % 256)),
  "sub/nested.txt": Buffer.from("nested\n"),
});

const BINARIES: Record<Exclude<ServerKind, "pyftpdlib" | "twisted" | "ftp-srv">, string> = {
  vsftpd: "vsftpd/usr/sbin/vsftpd",
  proftpd: "proftpd/usr/sbin/proftpd",
  "pure-ftpd": "pure-ftpd/usr/sbin/pure-ftpd",
  "inetutils-ftpd": "inetutils-ftpd/usr/sbin/ftpd",
  "netkit-ftpd": "netkit-ftpd/usr/sbin/in.ftpd",
};

/** The system account each inetd-run daemon logs in (password FTP_PASSWORD; see install-servers.sh). */
export const LOGIN_ACCOUNTS: Readonly<Partial<Record<ServerKind, string>>> = {
  "inetutils-ftpd": "ftpstream-inetutils",
  "netkit-ftpd": "ftpstream-netkit",
};
/** Where those accounts' homes are (their chroot); the harness puts each server's home there. */
const LOGIN_HOMES = "/var/lib/ftpstream/homes";

const require = createRequire(import.meta.url);

const PAM_SERVICE = "ftpstream-vsftpd";
const START_TIMEOUT_MS = 5000;

// ---------------------------------------------------------------------------
// Discovery

interface UserIds {
  uid: number;
  gid: number;
}

function systemUser(name = SYSTEM_USER): UserIds | undefined {
  const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

const findCache = new Map<ServerKind, { found: boolean; why?: string }>();

/** Whether `kind` can be started here; `why` says what is missing. */
export function findServer(kind: ServerKind): { found: boolean; why?: string } {
  const cached = findCache.get(kind);
  if (cached) return cached;
  const result = findUncached(kind);
  findCache.set(kind, result);
  return result;
}

function findUncached(kind: ServerKind): { found: boolean; why?: string } {
  const fix = "run `sudo spec/interop/install-servers.sh`";
  if (kind === "pyftpdlib") {
    if (!fs.existsSync(DEBIAN_PYTHON)) return { found: false, why: `${DEBIAN_PYTHON} not found; ${fix}` };
    const r = spawnSync(DEBIAN_PYTHON, ["-c", "import pyftpdlib, OpenSSL"], { encoding: "utf8" });
    if (r.status !== 0) {
      return { found: false, why: `python3-pyftpdlib/python3-openssl missing for ${DEBIAN_PYTHON}; ${fix}` };
    }
    return { found: true };
  }
  if (kind === "twisted") {
    if (!fs.existsSync(DEBIAN_PYTHON)) return { found: false, why: `${DEBIAN_PYTHON} not found; ${fix}` };
    const r = spawnSync(DEBIAN_PYTHON, ["-c", "import twisted.protocols.ftp"], { encoding: "utf8" });
    if (r.status !== 0) return { found: false, why: `python3-twisted missing for ${DEBIAN_PYTHON}; ${fix}` };
    return { found: true };
  }
  if (kind === "ftp-srv") {
    try {
      require.resolve("ftp-srv");
      return { found: true };
    } catch {
      return { found: false, why: "the ftp-srv devDependency is not installed; run `npm install`" };
    }
  }
  const bin = path.join(SERVERS_DIR, BINARIES[kind]);
  if (!fs.existsSync(bin)) return { found: false, why: `${bin} not found; ${fix}` };
  const account = LOGIN_ACCOUNTS[kind];
  if (account) {
    if (process.getuid?.() !== 0) return { found: false, why: `${kind} needs root (chroot, setuid)` };
    if (!systemUser(account)) return { found: false, why: `system user ${account} missing; ${fix}` };
    let chroots = "";
    try {
      chroots = fs.readFileSync("/etc/ftpchroot", "utf8");
    } catch {
      /* reported below */
    }
    if (!chroots.split("\n").includes(account)) return { found: false, why: `${account} not in /etc/ftpchroot; ${fix}` };
    if (kind === "netkit-ftpd" && !fs.existsSync("/etc/pam.d/ftp")) return { found: false, why: `/etc/pam.d/ftp missing; ${fix}` };
    return { found: true };
  }
  // The C daemons chroot and switch users: they need root.
  if (process.getuid?.() !== 0) return { found: false, why: `${kind} needs root (chroot, setuid)` };
  for (const account of kind === "vsftpd" ? [SYSTEM_USER, ANON_SYSTEM_USER] : [SYSTEM_USER]) {
    if (!systemUser(account)) return { found: false, why: `system user ${account} missing; ${fix}` };
  }
  return { found: true };
}

const versionCache = new Map<ServerKind, string>();

function serverVersion(kind: ServerKind): string {
  const cached = versionCache.get(kind);
  if (cached) return cached;
  let version = "unknown";
  if (kind === "pyftpdlib" || kind === "twisted") {
    const pkg = kind === "pyftpdlib" ? "python3-pyftpdlib" : "python3-twisted";
    const r = spawnSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" });
    if (r.status === 0 && r.stdout) version = r.stdout.trim();
  } else if (kind === "ftp-srv") {
    try {
      const file = path.join(path.dirname(require.resolve("ftp-srv")), "package.json");
      version = (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    } catch {
      /* version unknown */
    }
  } else {
    // install-servers.sh records "pkg=version ..." of what it unpacked.
    const dir = kind === "pure-ftpd" ? "pure-ftpd" : kind;
    try {
      const first = fs
        .readFileSync(path.join(SERVERS_DIR, dir, ".packages"), "utf8")
        .trim()
        .split(/\s+/)[0];
      version = first.slice(first.indexOf("=") + 1);
    } catch {
      /* unpacked by hand: version unknown */
    }
  }
  versionCache.set(kind, version);
  return version;
}

// ---------------------------------------------------------------------------
// Helpers

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// One control port + 511 passive ports. A server's passive port stays in
// TIME_WAIT for a minute after each transfer it closes, and the tree specs
// move 500 small files through a pool of four in seconds: with 23 ports
// proftpd ran out and answered "425 PASV: Address already in use"; with
// 127, once the tree transfers wrote each RETR with its EPSV (issue 23),
// it ran out now and then ("425 EPSV: Address already in use").
const PORT_BLOCK = 512;
// 58 blocks: mocha runs spec files in several worker processes (.mocharc.cjs),
// each keeping a server of each kind and TLS mode (about 14 blocks).
const PORT_LOW = 2000; // below Linux's ephemeral range (32768+), so outgoing
const PORT_HIGH = 32000; // connections never steal a port the server will bind
const handedOut = new Set<number>();

/**
 * What stops the servers this process keeps but no suite uses now
 * (describe-server.ts keeps one per kind and TLS mode from suite to suite),
 * resolving to how many it stopped: asked before allocatePorts gives up,
 * since each kept server holds a block of the 58 the range has.
 */
let releaseIdleServers: (() => Promise<number>) | undefined;

/** Sets what allocatePorts asks to free blocks when none is free (see releaseIdleServers). */
export function onPortShortage(release: () => Promise<number>): void {
  releaseIdleServers = release;
}

/**
 * A control port and a passive range, all free right now. Blocks are tried
 * in a random order (other processes may run servers too) and never reused
 * within this process, so parallel servers do not collide. When none is
 * free, this process's idle kept servers are stopped and every block tried
 * again: a second test process on the machine (a loop of interop specs
 * beside a CI run) had the two hold all 23 blocks of 20000-32000 and one
 * fail to start; the range starts at 2000 now.
 */
async function allocatePorts(): Promise<{ port: number; pasv: [number, number] }> {
  const found = (await freeBlock()) ?? ((await releaseIdleServers?.()) ? await freeBlock() : undefined);
  if (found === undefined) throw new Error("no free loopback port block found");
  handedOut.add(found);
  return { port: found, pasv: [found + 1, found + PORT_BLOCK - 1] };
}

/** The base of a block of PORT_BLOCK ports this process has not handed out and all of which can be bound now, trying every block in a random order. */
async function freeBlock(): Promise<number | undefined> {
  const bases = Array.from({ length: Math.floor((PORT_HIGH - PORT_LOW) / PORT_BLOCK) }, (_, i) => PORT_LOW + i * PORT_BLOCK);
  for (let i = bases.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [bases[i], bases[j]] = [bases[j], bases[i]];
  }
  for (const base of bases) {
    if (handedOut.has(base)) continue;
    let free = true;
    for (let p = base; p < base + PORT_BLOCK && free; p++) free = await canBind(p);
    if (free) return base;
  }
  return undefined;
}

let cachedCert: Promise<{ key: string; cert: string; dir: string }> | undefined;

/**
 * A self-signed certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1)
 * made now with openssl, in a fresh temp dir (key.pem, cert.pem, both.pem).
 * Never committed: each test run makes its own.
 */
export async function makeCert(): Promise<{ key: string; cert: string; dir: string }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "ftpstream-cert-"));
  tempDirs.add(dir);
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-keyout",
    path.join(dir, "key.pem"),
    "-out",
    path.join(dir, "cert.pem"),
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  const key = await fsp.readFile(path.join(dir, "key.pem"), "utf8");
  const cert = await fsp.readFile(path.join(dir, "cert.pem"), "utf8");
  await fsp.writeFile(path.join(dir, "both.pem"), cert + key, { mode: 0o600 });
  return { key, cert, dir };
}

/** One certificate per process for all servers: keeps each start fast. */
function serverCert(): Promise<{ key: string; cert: string; dir: string }> {
  cachedCert ??= makeCert();
  return cachedCert;
}

// Everything still running / on disk, for the last-resort exit hook.
const livePids = new Set<number>();
const tempDirs = new Set<string>();
let hooked = false;

/** Pids of every live descendant of `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may contain spaces, so parse after ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * SIGKILLs a daemon, its process group and every descendant. The group alone
 * is not enough: vsftpd's per-session processes call setsid(), and would
 * outlive their master while a client stays connected. Nothing graceful is
 * needed: the temp dir with any state goes away right after.
 */
function killTree(pid: number): void {
  const signal = (targets: number[], name: NodeJS.Signals): void => {
    for (const target of targets) {
      try {
        process.kill(target, name);
      } catch {
        /* already gone */
      }
    }
  };
  // Frozen first, so that nothing forks a session process after the list
  // is taken: one forked just then, which left the group with setsid(),
  // outlived the kill holding the listening socket (the harness spec's
  // "port still accepts connections", once in four interop runs).
  signal([-pid, pid], "SIGSTOP");
  const first = descendants(pid);
  signal(first, "SIGSTOP");
  const all = [...new Set([...first, ...descendants(pid)])];
  signal([-pid, pid, ...all], "SIGKILL");
}

/** Resolves once nothing listens on `port` (true), or after `ms` (false). */
async function waitUntilFree(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await canBind(port)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function cleanupSync(): void {
  for (const pid of livePids) killTree(pid);
  livePids.clear();
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  tempDirs.clear();
}

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  // Last resort, for a spec that forgot stop() or a run that was interrupted.
  process.on("exit", cleanupSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      cleanupSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig); // then die as the signal intended
    };
    process.on(sig, onSignal);
  }
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Reads one complete reply (handles "220-" continuation lines). */
function readReply(sock: net.Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => finish(new Error("no reply")), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString("latin1");
      const lines = buf.split("\r\n");
      const code = lines[0].slice(0, 3);
      if (lines.slice(0, -1).some((l) => l.startsWith(`${code} `))) finish(undefined, buf);
    };
    const onEnd = (): void => finish(new Error(`closed after ${JSON.stringify(buf)}`));
    const finish = (err?: Error, reply?: string): void => {
      clearTimeout(timer);
      sock.removeListener("data", onData);
      sock.removeListener("end", onEnd);
      sock.removeListener("error", finish);
      if (err) reject(err);
      else resolve(reply ?? "");
    };
    sock.on("data", onData);
    sock.once("end", onEnd);
    sock.once("error", finish);
  });
}

/** Connects once; resolves with the greeting if it is a 220. */
async function probe(port: number, implicit: boolean, ca?: string): Promise<string> {
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s: net.Socket = implicit
      ? tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => resolve(s))
      : net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
  try {
    const greeting = await readReply(sock, 2000);
    if (!greeting.startsWith("220")) throw new Error(`greeting ${JSON.stringify(greeting)}`);
    sock.write("QUIT\r\n");
    await readReply(sock, 1000).catch(() => "");
    return greeting;
  } finally {
    sock.destroy();
  }
}

// ---------------------------------------------------------------------------
// Per-server configuration

interface Layout {
  root: string; // temp dir holding everything below, removed by stop()
  home: string;
  etc: string;
  log: string;
  port: number;
  pasv: [number, number];
  ids: UserIds;
  tls: false | TlsMode;
  cert?: { key: string; cert: string; dir: string };
  /** startServer's extraArgs: appended to the daemon's own arguments. */
  extraArgs?: readonly string[];
}

interface Launch {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFiles: string[];
}

async function vsftpdLaunch(l: Layout): Promise<Launch> {
  // Virtual user through PAM: pam_userdb reads a Berkeley DB that Debian's
  // python can write (dbm.ndbm is libdb there). Both are rewritten every time
  // so the PAM service never drifts from FTP_USER / FTP_PASSWORD.
  const dbBase = path.join(SERVERS_DIR, "vsftpd", "ftpstream-users");
  const pam = [
    "# Written by ftpstream's spec/interop/servers.ts: a virtual user for vsftpd",
    `auth required pam_userdb.so db=${dbBase}`,
    `account required pam_userdb.so db=${dbBase}`,
    "",
  ].join("\n");
  const pamFile = `/etc/pam.d/${PAM_SERVICE}`;
  if (!fs.existsSync(pamFile) || fs.readFileSync(pamFile, "utf8") !== pam) fs.writeFileSync(pamFile, pam);
  if (!fs.existsSync(`${dbBase}.db`)) {
    const tmp = `${dbBase}.${process.pid}`;
    await run(DEBIAN_PYTHON, [
      "-c",
      [
        "import dbm.ndbm, sys",
        "db = dbm.ndbm.open(sys.argv[1], 'n', 0o600)",
        "db[sys.argv[2].encode()] = sys.argv[3].encode()",
        "db.close()",
      ].join("\n"),
      tmp,
      FTP_USER,
      FTP_PASSWORD,
    ]);
    fs.renameSync(`${tmp}.db`, `${dbBase}.db`);
  }
  const empty = path.join(l.root, "empty");
  // recursive: a start that goes again on another port block (startServer) finds it there.
  await fsp.mkdir(empty, { recursive: true, mode: 0o755 });
  const conf = [
    "listen=YES",
    "listen_ipv6=NO",
    "listen_address=127.0.0.1",
    `listen_port=${l.port}`,
    "background=NO",
    // Anonymous: read-only, same root. vsftpd refuses a chroot the anonymous
    // account can write to (allow_writeable_chroot is for local users only),
    // so anonymous runs as its own account, which cannot write to home.
    "anonymous_enable=YES",
    `anon_root=${l.home}`,
    `ftp_username=${ANON_SYSTEM_USER}`,
    "no_anon_password=YES",
    "anon_upload_enable=NO",
    "anon_mkdir_write_enable=NO",
    // The login user is a PAM virtual user acting as the ftpstream account.
    "local_enable=YES",
    "guest_enable=YES",
    `guest_username=${SYSTEM_USER}`,
    "virtual_use_local_privs=YES",
    `pam_service_name=${PAM_SERVICE}`,
    "write_enable=YES",
    "local_umask=022",
    `local_root=${l.home}`,
    "chroot_local_user=YES",
    "allow_writeable_chroot=YES",
    `secure_chroot_dir=${empty}`,
    `pasv_enable=YES`,
    `pasv_min_port=${l.pasv[0]}`,
    `pasv_max_port=${l.pasv[1]}`,
    // Active mode on, from an unprivileged port (we do not want port 20).
    "port_enable=YES",
    "connect_from_port_20=NO",
    // Sandboxing that needs kernel features containers often lack.
    "seccomp_sandbox=NO",
    "isolate=NO",
    "isolate_network=NO",
    "tcp_wrappers=NO",
    "userlist_enable=NO",
    "use_localtime=NO",
    "xferlog_enable=YES",
    "dual_log_enable=NO",
    // A failed login answers at once, not after vsftpd's default second: the
    // specs log in with wrong passwords on purpose, and the pause tests nothing of ours.
    "delay_failed_login=0",
    `vsftpd_log_file=${l.log}`,
    // ascii_upload_enable / ascii_download_enable stay at vsftpd's default
    // (NO): TYPE A is accepted but bytes pass unchanged, as deployed.
  ];
  if (l.tls && l.cert) {
    conf.push(
      "ssl_enable=YES",
      `rsa_cert_file=${l.cert.dir}/cert.pem`,
      `rsa_private_key_file=${l.cert.dir}/key.pem`,
      "allow_anon_ssl=YES",
      "force_local_data_ssl=NO",
      "force_local_logins_ssl=NO",
      "force_anon_data_ssl=NO",
      "force_anon_logins_ssl=NO",
      // vsftpd's default, spelled out: the point of issue 5.
      "require_ssl_reuse=YES",
      "ssl_request_cert=NO",
    );
    if (l.tls === "implicit") conf.push("implicit_ssl=YES");
  }
  const file = path.join(l.etc, "vsftpd.conf");
  // vsftpd refuses a config file not owned by root or writable by others.
  await fsp.writeFile(file, conf.join("\n") + "\n", { mode: 0o600 });
  return { cmd: path.join(SERVERS_DIR, BINARIES.vsftpd), args: [file], logFiles: [l.log] };
}

async function proftpdLaunch(l: Layout): Promise<Launch> {
  const hash = (await run("openssl", ["passwd", "-6", "-stdin"], FTP_PASSWORD)).trim();
  const passwd = path.join(l.etc, "ftpd.passwd");
  const group = path.join(l.etc, "ftpd.group");
  // ftpanon has an unusable password: it only exists for the <Anonymous> block.
  await fsp.writeFile(
    passwd,
    [
      `${FTP_USER}:${hash}:${l.ids.uid}:${l.ids.gid}::${l.home}:/bin/false`,
      `ftpanon:*:${l.ids.uid}:${l.ids.gid}::${l.home}:/bin/false`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await fsp.writeFile(group, `${SYSTEM_USER}:x:${l.ids.gid}:\n`, { mode: 0o644 });
  const tlsLog = path.join(l.root, "tls.log");
  const conf = [
    `ModulePath ${path.join(SERVERS_DIR, "proftpd/usr/lib/proftpd")}`,
    "ModuleControlsACLs insmod,rmmod allow user root",
    `ServerName "ftpstream proftpd"`,
    "ServerType standalone",
    "DefaultServer on",
    "DefaultAddress 127.0.0.1",
    "SocketBindTight on",
    "UseIPv6 off",
    `Port ${l.port}`,
    `PassivePorts ${l.pasv[0]} ${l.pasv[1]}`,
    "UseReverseDNS off",
    "MaxInstances 64",
    `User ${SYSTEM_USER}`,
    `Group ${SYSTEM_USER}`,
    "Umask 022",
    `PidFile ${path.join(l.root, "proftpd.pid")}`,
    `ScoreboardFile ${path.join(l.root, "proftpd.scoreboard")}`,
    "DelayTable none",
    "WtmpLog off",
    `SystemLog ${l.log}`,
    "TransferLog none",
    // Only our AuthUserFile: no system account can log in.
    "AuthPAM off",
    "AuthOrder mod_auth_file.c",
    `AuthUserFile ${passwd}`,
    `AuthGroupFile ${group}`,
    "RequireValidShell off",
    "DefaultRoot ~",
    "AllowOverwrite on",
    // REST before STOR (resumed uploads) is off by default in proftpd.
    "AllowStoreRestart on",
    "AllowRetrieveRestart on",
    `<Anonymous ${l.home}>`,
    "  User ftpanon",
    `  Group ${SYSTEM_USER}`,
    "  UserAlias anonymous ftpanon",
    "  RequireValidShell off",
    "  <Limit WRITE>",
    "    DenyAll",
    "  </Limit>",
    "</Anonymous>",
  ];
  if (l.tls && l.cert) {
    conf.push(
      "LoadModule mod_tls.c",
      "TLSEngine on",
      `TLSLog ${tlsLog}`,
      "TLSProtocol TLSv1.2 TLSv1.3",
      `TLSRSACertificateFile ${l.cert.dir}/cert.pem`,
      `TLSRSACertificateKeyFile ${l.cert.dir}/key.pem`,
      "TLSVerifyClient off",
      "TLSRequired off",
      // No NoSessionReuseRequired: data connections must reuse the control
      // connection's TLS session (proftpd's default, and issue 5's point).
      l.tls === "implicit" ? "TLSOptions UseImplicitSSL" : "",
    );
  }
  const file = path.join(l.etc, "proftpd.conf");
  await fsp.writeFile(file, conf.filter(Boolean).join("\n") + "\n", { mode: 0o644 });
  return {
    cmd: path.join(SERVERS_DIR, BINARIES.proftpd),
    args: ["--nodaemon", "--config", file],
    logFiles: l.tls ? [l.log, tlsLog] : [l.log],
  };
}

async function pureFtpdLaunch(l: Layout): Promise<Launch> {
  // A puredb with one virtual user. We write the text form ourselves with a
  // SHA-512 crypt hash: pure-pw would use argon2id, slow to verify at each
  // login. "/./" in the home marks the chroot point.
  const hash = (await run("openssl", ["passwd", "-6", "-stdin"], FTP_PASSWORD)).trim();
  const passwd = path.join(l.etc, "pureftpd.passwd");
  const pdb = path.join(l.etc, "pureftpd.pdb");
  await fsp.writeFile(passwd, `${FTP_USER}:${hash}:${l.ids.uid}:${l.ids.gid}::${l.home}/./::::::::::::\n`, { mode: 0o600 });
  await run(path.join(SERVERS_DIR, "pure-ftpd/usr/bin/pure-pw"), ["mkdb", pdb, "-f", passwd]);
  const args = [
    "--bind",
    `127.0.0.1,${l.port}`,
    "--ipv4only",
    "--login",
    `puredb:${pdb}`,
    "--noanonymous",
    "--chrooteveryone",
    "--dontresolve",
    "--passiveportrange",
    `${l.pasv[0]}:${l.pasv[1]}`,
    "--minuid",
    "100", // our account is a system uid (< 1000)
    "--maxclientsnumber",
    "64",
    "--maxclientsperip",
    "64",
    "--syslogfacility",
    "none",
    "--altlog",
    `clf:${l.log}`,
    "--pidfile",
    path.join(l.root, "pure-ftpd.pid"),
    "--umask",
    "133:022",
  ];
  if (l.tls === "explicit" && l.cert) {
    // 1 = TLS optional: the client chooses (AUTH TLS, PROT P/C).
    args.push("--tls", "1", "--certfile", `${l.cert.dir}/cert.pem,${l.cert.dir}/key.pem`);
  }
  return { cmd: path.join(SERVERS_DIR, BINARIES["pure-ftpd"]), args, logFiles: [l.log] };
}

const PYFTPDLIB_SERVER = `
import json, logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
cfg = json.loads(sys.argv[1])
logging.basicConfig(filename=cfg["log"], level=logging.INFO)
auth = DummyAuthorizer()
auth.add_user(cfg["user"], cfg["password"], cfg["home"], perm="elradfmwMT")
auth.add_anonymous(cfg["home"])  # read-only ("elr")
if cfg["tls"]:
    from pyftpdlib.handlers import TLS_FTPHandler as Base
else:
    Base = FTPHandler
class Handler(Base):
    pass
if cfg["tls"]:
    Handler.certfile = cfg["cert"]
    Handler.keyfile = cfg["key"]
    Handler.tls_control_required = False
    Handler.tls_data_required = False
Handler.authorizer = auth
# A failed login answers at once, not after pyftpdlib's default 3 s (the specs fail logins on purpose).
Handler.auth_failed_timeout = 0
Handler.passive_ports = range(cfg["pasv"][0], cfg["pasv"][1] + 1)
server = FTPServer(("127.0.0.1", cfg["port"]), Handler)
server.max_cons = 256
server.max_cons_per_ip = 256
server.serve_forever()
`;

function pyftpdlibLaunch(l: Layout): Promise<Launch> {
  if (l.tls === "implicit") return Promise.reject(new Error("pyftpdlib has no implicit FTPS"));
  const cfg = {
    port: l.port,
    pasv: l.pasv,
    home: l.home,
    log: l.log,
    user: FTP_USER,
    password: FTP_PASSWORD,
    tls: l.tls === "explicit",
    cert: l.cert ? `${l.cert.dir}/cert.pem` : "",
    key: l.cert ? `${l.cert.dir}/key.pem` : "",
  };
  return Promise.resolve({ cmd: DEBIAN_PYTHON, args: ["-c", PYFTPDLIB_SERVER, JSON.stringify(cfg)], logFiles: [l.log] });
}

/**
 * inetd for one server: listens on 127.0.0.1:port and runs `argv` per
 * connection with the socket as stdin and stdout. First it takes a mount
 * namespace of its own and bind-mounts this server's home on the login
 * account's home (the daemon's chroot), which only its sessions see; where
 * the kernel refuses (no CAP_SYS_ADMIN), it points a symlink there instead.
 */
const INETD_STANDIN = `
import ctypes, json, os, signal, socket, subprocess, sys
cfg = json.loads(sys.argv[1])
log = open(cfg["log"], "ab", 0)
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 4096, 16384, 1 << 18
target = cfg["chroot"]
if libc.unshare(CLONE_NEWNS) == 0 and libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0:
    if os.path.islink(target):
        os.unlink(target)
    os.makedirs(target, exist_ok=True)
    if libc.mount(cfg["home"].encode(), target.encode(), None, MS_BIND, None) != 0:
        sys.exit("bind mount failed: errno %d" % ctypes.get_errno())
    log.write(b"inetd: home bind-mounted in a mount namespace\\n")
else:
    tmp = target + ".%d" % os.getpid()
    os.symlink(cfg["home"], tmp)
    if os.path.isdir(target) and not os.path.islink(target):
        os.rmdir(target)
    os.replace(tmp, target)
    log.write(b"inetd: no mount namespace; home symlinked\\n")
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sessions reap themselves
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", cfg["port"]))
srv.listen(128)
while True:
    conn, _ = srv.accept()
    # inetd hands the socket over as it is: without TCP_NODELAY each reply written behind an
    # unacknowledged one (226 behind 150) waited out the client's delayed ACK, 40 ms a transfer.
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    subprocess.Popen(cfg["argv"], stdin=conn.fileno(), stdout=conn.fileno(), stderr=log, close_fds=True)
    conn.close()
`;

/** bin/ls and the libraries ldd says it loads, copied into a chroot so that LIST works there. */
async function installLs(home: string): Promise<void> {
  const libs = (await run("ldd", ["/bin/ls"])).match(/\/\S+/g) ?? [];
  for (const file of ["/bin/ls", ...libs]) {
    const dest = path.join(home, file);
    await fsp.mkdir(path.dirname(dest), { recursive: true, mode: 0o755 });
    await fsp.copyFile(fs.realpathSync(file), dest);
    await fsp.chmod(dest, 0o755);
  }
}

async function inetdLaunch(l: Layout, kind: "inetutils-ftpd" | "netkit-ftpd"): Promise<Launch> {
  if (l.tls) throw new Error(`${kind}: no FTPS in this harness`);
  await installLs(l.home);
  const bin = path.join(SERVERS_DIR, BINARIES[kind]);
  // -u 022: files and directories readable by the harness (the default umask is 027).
  const argv = kind === "inetutils-ftpd" ? [bin, "-l", "-u", "022"] : [bin, "-l", "-u", "022", "-z", "nossl"];
  const cfg = { port: l.port, log: l.log, home: l.home, chroot: path.join(LOGIN_HOMES, kind), argv };
  return { cmd: DEBIAN_PYTHON, args: ["-c", INETD_STANDIN, JSON.stringify(cfg)], logFiles: [l.log] };
}

const TWISTED_SERVER = `
import json, sys
from zope.interface import implementer
from twisted.cred import checkers, portal
from twisted.internet import reactor
from twisted.protocols import ftp
from twisted.python import filepath, log
cfg = json.loads(sys.argv[1])
log.startLogging(open(cfg["log"], "a"), setStdout=False)
@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatar_id, mind, *interfaces):
        home = filepath.FilePath(cfg["home"])
        shell = ftp.FTPAnonymousShell(home) if avatar_id is checkers.ANONYMOUS else ftp.FTPShell(home)
        return ftp.IFTPShell, shell, lambda: None
users = checkers.InMemoryUsernamePasswordDatabaseDontUse()
users.addUser(cfg["user"], cfg["password"])  # str: ftp_PASS passes str credentials
class NoDelayFTP(ftp.FTP):
    # Each reply at once, not after the client's delayed ACK of the one before (40 ms a transfer).
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)
        ftp.FTP.connectionMade(self)
factory = ftp.FTPFactory(portal.Portal(Realm(), [users, checkers.AllowAnonymousAccess()]))
factory.protocol = NoDelayFTP
factory.passivePortRange = range(cfg["pasv"][0], cfg["pasv"][1] + 1)
reactor.listenTCP(cfg["port"], factory, interface="127.0.0.1")
reactor.run()
`;

function twistedLaunch(l: Layout): Promise<Launch> {
  if (l.tls) return Promise.reject(new Error("twisted: no FTPS"));
  const cfg = { port: l.port, pasv: l.pasv, home: l.home, log: l.log, user: FTP_USER, password: FTP_PASSWORD };
  return Promise.resolve({ cmd: DEBIAN_PYTHON, args: ["-c", TWISTED_SERVER, JSON.stringify(cfg)], logFiles: [l.log] });
}

// CommonJS (node -e), loading ftp-srv from this repository's node_modules.
const FTP_SRV_SERVER = `
const cfg = JSON.parse(process.argv[1]);
const { FtpSrv } = require(cfg.module);
const bunyan = require(require.resolve("bunyan", { paths: [cfg.module] }));
const log = bunyan.createLogger({ name: "ftp-srv", level: "info", streams: [{ path: cfg.log }] });
const server = new FtpSrv({
  url: "ftp://127.0.0.1:" + cfg.port,
  pasv_url: "127.0.0.1",
  pasv_min: cfg.pasv[0],
  pasv_max: cfg.pasv[1],
  anonymous: false,
  log,
});
server.on("login", ({ username, password }, resolve, reject) => {
  if (username === cfg.user && password === cfg.password) resolve({ root: cfg.home });
  else reject(new Error("Login incorrect"));
});
// Each reply at once, not after the client's delayed ACK of the one before (40 ms a transfer).
server.server.on("connection", (socket) => socket.setNoDelay(true));
server.listen();
`;

function ftpSrvLaunch(l: Layout): Promise<Launch> {
  if (l.tls) return Promise.reject(new Error("ftp-srv: no FTPS in this harness"));
  const cfg = {
    port: l.port,
    pasv: l.pasv,
    home: l.home,
    log: l.log,
    user: FTP_USER,
    password: FTP_PASSWORD,
    module: require.resolve("ftp-srv"),
  };
  return Promise.resolve({ cmd: process.execPath, args: ["-e", FTP_SRV_SERVER, JSON.stringify(cfg)], logFiles: [l.log] });
}

const LAUNCHERS: Record<ServerKind, (l: Layout) => Promise<Launch>> = {
  vsftpd: vsftpdLaunch,
  proftpd: proftpdLaunch,
  "pure-ftpd": pureFtpdLaunch,
  pyftpdlib: pyftpdlibLaunch,
  "inetutils-ftpd": (l) => inetdLaunch(l, "inetutils-ftpd"),
  "netkit-ftpd": (l) => inetdLaunch(l, "netkit-ftpd"),
  twisted: twistedLaunch,
  "ftp-srv": ftpSrvLaunch,
};

/** Which TLS modes each server is configured for here. */
export const TLS_SUPPORT: Readonly<Record<ServerKind, readonly TlsMode[]>> = {
  vsftpd: ["explicit", "implicit"],
  proftpd: ["explicit", "implicit"],
  "pure-ftpd": ["explicit"], // Debian builds it without implicit TLS
  pyftpdlib: ["explicit"], // pyftpdlib has no implicit mode
  "inetutils-ftpd": [], // see LACKS
  "netkit-ftpd": [],
  twisted: [],
  "ftp-srv": [],
};

/** The kernel's ephemeral port range: where the inetd daemons' passive ports come from. */
function ephemeralPorts(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return [lo, hi];
  } catch {
    return [32768, 60999];
  }
}

// ---------------------------------------------------------------------------

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Configures and starts `kind` on loopback; resolves once it answers 220. */
/** A daemon up and answering on its own port. */
interface Started {
  child: ChildProcess;
  pid: number;
  port: number;
  pasv: [number, number];
  logFiles: string[];
}

/**
 * Starts `kind` on `layout`'s ports and waits until it greets on its
 * control port. `taken`: the port greeted, but the listening socket is not
 * our daemon's (another process bound it first), or the daemon exited
 * (as one does that cannot bind its port): try another block.
 */
async function launchAndProbe(kind: ServerKind, layout: Layout): Promise<Started | { error: string; taken: boolean }> {
  const launch = await LAUNCHERS[kind](layout);
  if (layout.extraArgs) launch.args.push(...layout.extraArgs);
  const stdoutLog = path.join(layout.root, "stdout.log");
  const out = fs.openSync(stdoutLog, "a");
  const logFiles = [...launch.logFiles, stdoutLog];
  // detached: its own process group (see killTree), and no tie to our tty.
  const child = spawn(launch.cmd, launch.args, {
    cwd: layout.root,
    detached: true,
    stdio: ["ignore", out, out],
    env: launch.env ?? process.env,
  });
  fs.closeSync(out);
  const pid = child.pid;
  if (pid === undefined) return { error: `${kind}: spawn failed`, taken: false };
  livePids.add(pid);
  child.on("error", () => {
    /* reported through the start timeout below */
  });
  const { port, pasv } = layout;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: string | undefined;
  // A daemon that exits at once most likely found a port of its block taken meanwhile (the same race): it goes again too.
  let exited = false;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      lastError = `exited with ${child.exitCode ?? child.signalCode}`;
      exited = true;
      break;
    }
    try {
      await probe(port, layout.tls === "implicit", layout.cert?.cert);
      if (listensOwn(pid, port)) return { child, pid, port, pasv, logFiles };
      killTree(pid);
      await waitExit(child, 2000);
      livePids.delete(pid);
      return { error: `127.0.0.1:${port} answered, but from another process's socket`, taken: true };
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 40));
  }
  const logs = logFiles.map((f) => `--- ${path.basename(f)}\n${tail(f)}`).join("\n");
  killTree(pid);
  await waitExit(child, 2000);
  livePids.delete(pid);
  if (!exited) handedOut.delete(port);
  return { error: `${kind} did not start on 127.0.0.1:${port} (${lastError ?? "no answer"})\n${logs}`, taken: exited };
}

/**
 * Whether the socket listening on 127.0.0.1:`port` is held by `pid` or one
 * of its descendants (/proc/net/tcp's inode among their fds; Linux, as the
 * harness is).
 */
export function listensOwn(pid: number, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && fields[3] === "0A" && fields[1].endsWith(`:${hexPort}`)) inodes.add(fields[9]);
    }
  }
  for (const owner of [pid, ...descendants(pid)]) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${owner}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const socket = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${owner}/fd/${fd}`));
        if (socket && inodes.has(socket[1])) return true;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return false;
}

/** Writes SAMPLE_FILES into `home`, owned by the account the server writes as, so mkd/dele/rename work. */
async function fillHome(home: string, ids: UserIds): Promise<void> {
  for (const [rel, content] of Object.entries(SAMPLE_FILES)) {
    const file = path.join(home, rel);
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await fsp.writeFile(file, content, { mode: 0o644 });
  }
  for (const p of [home, path.join(home, "sub"), ...Object.keys(SAMPLE_FILES).map((f) => path.join(home, f))]) {
    await fsp.chown(p, ids.uid, ids.gid);
  }
}

/** `opts.extraArgs`: more arguments for the daemon (pure-ftpd's `--notruncate`), for a spec that starts a server of its own with them. */
export async function startServer(kind: ServerKind, opts: { tls?: TlsMode; extraArgs?: readonly string[] } = {}): Promise<RealServer> {
  const found = findServer(kind);
  if (!found.found) throw new Error(`${kind} not available: ${found.why}`);
  const mode = opts.tls ?? false;
  if (mode && !TLS_SUPPORT[kind].includes(mode)) throw new Error(`${kind}: no ${mode} FTPS in this harness`);
  installExitHook();

  const account = LOGIN_ACCOUNTS[kind] ?? SYSTEM_USER;
  const ids = kind === "pyftpdlib" || kind === "twisted" || kind === "ftp-srv" ? { uid: 0, gid: 0 } : systemUser(account);
  if (!ids) throw new Error(`system user ${account} missing`);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), `ftpstream-${kind}-`));
  tempDirs.add(root);
  // Daemons that dropped to the ftpstream account must still reach home.
  await fsp.chmod(root, 0o755);
  const home = path.join(root, "home");
  const etc = path.join(root, "etc");
  await fsp.mkdir(etc, { mode: 0o755 });
  await fsp.mkdir(home, { mode: 0o755 });
  await fillHome(home, ids);
  const cert = mode ? await serverCert() : undefined;
  // Another process (a second test run, a bench) may bind the block this
  // one found free before our daemon does: the probe would then talk to its
  // server. A start whose port is not our daemon's own goes again on another block.
  let started: Started | undefined;
  let lastError = "";
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    const { port, pasv } = await allocatePorts();
    const layout: Layout = {
      root,
      home,
      etc,
      log: path.join(root, `${kind}.log`),
      port,
      pasv,
      ids,
      tls: mode,
      cert,
      extraArgs: opts.extraArgs,
    };
    const result = await launchAndProbe(kind, layout);
    if ("error" in result) {
      lastError = result.error;
      if (!result.taken) {
        await fsp.rm(root, { recursive: true, force: true });
        tempDirs.delete(root);
        throw new Error(result.error);
      }
    } else {
      started = result;
    }
  }
  if (!started) {
    await fsp.rm(root, { recursive: true, force: true });
    tempDirs.delete(root);
    throw new Error(`${kind} did not start: ${lastError}`);
  }
  const { child, pid, port, pasv, logFiles } = started;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    killTree(pid);
    await waitExit(child, 2000);
    // Stopped means the port is closed: a process that still holds the
    // listening socket would let connections in (the kernel queues them).
    await waitUntilFree(port, 2000);
    livePids.delete(pid);
    handedOut.delete(port);
    await fsp.rm(root, { recursive: true, force: true });
    tempDirs.delete(root);
  };

  // Where the inetd stand-in could not bind-mount home on the account's shared home it pointed a
  // symlink there, which the next server of its kind points at its own home (harness.spec starts one).
  const chroot = kind === "inetutils-ftpd" || kind === "netkit-ftpd" ? path.join(LOGIN_HOMES, kind) : undefined;
  const homeLinked = (): boolean => {
    if (chroot === undefined || !fs.lstatSync(chroot, { throwIfNoEntry: false })?.isSymbolicLink()) return true;
    return fs.readlinkSync(chroot) === home;
  };
  const running = (): boolean => !stopped && child.exitCode === null && child.signalCode === null && listensOwn(pid, port) && homeLinked();

  const reset = async (): Promise<void> => {
    // A spec may have taken permissions away below home (x-only-dir, unreadable-dir): root removes it all the same.
    await fsp.chmod(home, 0o755);
    for (const name of await fsp.readdir(home)) await fsp.rm(path.join(home, name), { recursive: true, force: true });
    if (chroot !== undefined) await installLs(home);
    await fillHome(home, ids);
    for (const file of logFiles) await fsp.truncate(file, 0).catch(() => undefined);
  };

  return {
    kind,
    version: serverVersion(kind),
    host: "127.0.0.1",
    port,
    user: LOGIN_ACCOUNTS[kind] ?? FTP_USER,
    password: FTP_PASSWORD,
    home,
    tls: mode,
    ca: cert?.cert,
    supportsMlsd: !lacks(kind, "MLSD"),
    anonymous: !lacks(kind, "anonymous"),
    pasvPorts: lacks(kind, "pasv range") ? ephemeralPorts() : pasv,
    logFiles,
    stop,
    running,
    reset,
  };
}
