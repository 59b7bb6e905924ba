/**
 * basic-ftp's `downloadToDir` in a process of its own, so bench/wan-tree.ts
 * can time it as it times the command-line clients (start to exit):
 *
 *   node build/bench/basic-ftp-dir.js <host> <port> <user> <password> <remote dir> <local dir>
 *
 * One connection (basic-ftp has no pool) and no change detection: every
 * file is fetched, whatever the local directory holds.
 */
import { Client } from "basic-ftp";

const [host, port, user, password, remote, local] = process.argv.slice(2);
if (!host || !Number.isInteger(Number(port)) || user === undefined || password === undefined || !remote || !local) {
  process.stderr.write("usage: basic-ftp-dir.js <host> <port> <user> <password> <remote dir> <local dir>\n");
  process.exit(2);
}

const client = new Client(60_000);
try {
  await client.access({ host, port: Number(port), user, password });
  await client.downloadToDir(local, remote);
} finally {
  client.close();
}
