/**
 * Runs a tree upload in a child Node process as `nobody` when this one is
 * root: root reads a file or directory of any mode, so a spec of what the
 * library does with one it may not read needs another user.
 */
import { spawn } from "node:child_process";

/**
 * uploadDir(local, "/up", options) against the fixture server on `port`,
 * as `nobody` under root; resolves to its failures as `path code` (none
 * when it resolved), or the call's own error code after a space when it
 * rejected without failures.
 */
export function uploadDirAsNobody(port: number, local: string, options: { delete?: boolean } = {}): Promise<string[]> {
  const lib = new URL("../../lib/index.js", import.meta.url).href;
  const script = `
    const { FTP } = await import(${JSON.stringify(lib)});
    const ftp = await FTP.create({ host: "127.0.0.1", port: ${port}, user: "user", password: "pass", timeout: 5000 });
    try {
      await ftp.uploadDir(${JSON.stringify(local)}, "/up", ${JSON.stringify(options)});
      console.log("[]");
    } catch (error) {
      console.log(JSON.stringify((error.failures ?? [{ path: "", error }]).map((f) => f.path + " " + f.error.code)));
    } finally {
      ftp.close();
    }`;
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { ...asNobody, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out) as string[]);
      } catch {
        reject(new Error(`the child said: ${out}`));
      }
    });
  });
}
