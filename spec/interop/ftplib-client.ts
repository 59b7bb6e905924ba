/**
 * An independent client for checking the harness itself: Python's ftplib
 * (stdlib), driven through Debian's python. If ftplib can log in and move
 * bytes, a failing ftpstream scenario is ftpstream's fault, not the server
 * setup's.
 */
import { execFile } from "node:child_process";
import { DEBIAN_PYTHON, type RealServer } from "./servers.js";

// ftplib's FTP_TLS wraps data sockets without the control connection's TLS
// session, which vsftpd (require_ssl_reuse=YES) and proftpd refuse with
// "522 SSL connection failed: session reuse required"; ReuseTLS passes it.
// ImplicitTLS wraps the socket before the greeting (ftplib has no implicit mode).
const SCRIPT = `
import ftplib, json, socket, ssl, sys
cfg = json.loads(sys.argv[1])

class ReuseTLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size

class ImplicitTLS(ReuseTLS):
    def connect(self, host, port, timeout=10, source_address=None):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = self.context.wrap_socket(socket.create_connection((host, port), timeout), server_hostname=host)
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

out = {}
if cfg["tls"]:
    ctx = ssl.create_default_context(cadata=cfg["ca"])
    ftp = (ImplicitTLS if cfg["tls"] == "implicit" else ReuseTLS)(context=ctx, timeout=15)
else:
    ftp = ftplib.FTP(timeout=15)
out["welcome"] = ftp.connect(cfg["host"], cfg["port"])
try:
    out["login"] = ftp.login(cfg["user"], cfg["password"])
except ftplib.error_perm as e:
    out["login_error"] = str(e)
    print(json.dumps(out))
    sys.exit(0)
if cfg["tls"]:
    out["prot"] = ftp.prot_p()
    out["tls_version"] = ftp.sock.version()
ftp.set_pasv(cfg["passive"])
out["pwd"] = ftp.pwd()
if cfg.get("upload"):
    with open(cfg["upload"], "rb") as f:
        out["stor"] = ftp.storbinary("STOR " + cfg["remote"], f)
if cfg.get("download"):
    with open(cfg["download"], "wb") as f:
        out["retr"] = ftp.retrbinary("RETR " + cfg["remote"], f.write)
# A server that refuses a bare NLST (Twisted) is asked for "." instead.
out["nlst"] = ftp.nlst(*([cfg["nlst_dir"]] if cfg["nlst_dir"] else []))
out["quit"] = ftp.quit()
print(json.dumps(out))
`;

export interface FtplibRun {
  passive: boolean;
  /** Login; defaults to the server's user. */
  user?: string;
  password?: string;
  /** Remote file name for STOR/RETR. */
  remote?: string;
  /** Local file to STOR as `remote`. */
  upload?: string;
  /** Local file to RETR `remote` into. */
  download?: string;
  /** NLST's argument; none by default (a bare NLST). */
  nlstDir?: string;
}

export interface FtplibResult {
  welcome: string;
  login?: string;
  login_error?: string;
  prot?: string;
  tls_version?: string;
  pwd?: string;
  stor?: string;
  retr?: string;
  nlst?: string[];
  quit?: string;
}

/** Runs one ftplib session against `server`; rejects on any ftplib error. */
export function runFtplib(server: RealServer, run: FtplibRun): Promise<FtplibResult> {
  const cfg = {
    host: server.host,
    port: server.port,
    tls: server.tls,
    ca: server.ca ?? "",
    user: run.user ?? server.user,
    password: run.password ?? server.password,
    passive: run.passive,
    remote: run.remote ?? "",
    upload: run.upload ?? "",
    download: run.download ?? "",
    nlst_dir: run.nlstDir ?? "",
  };
  return new Promise((resolve, reject) => {
    execFile(DEBIAN_PYTHON, ["-c", SCRIPT, JSON.stringify(cfg)], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`ftplib against ${server.kind} failed: ${err.message}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as FtplibResult);
      } catch {
        reject(new Error(`ftplib printed no result: ${stdout}\n${stderr}`));
      }
    });
  });
}
