/**
 * The CPU time vsftpd spends, read from /proc (Linux): the bench pins the
 * server to a core of its own, so no client can go faster than the
 * server's CPU time per item allows. The rows print it beside the client's
 * own CPU, and the rows that run items concurrently print the ratio that
 * bound allows (bench/README.md, "The server's CPU, and what it allows").
 *
 * Live processes to the nanosecond: each task's
 * /proc/<pid>/task/<tid>/schedstat (time on a CPU), summed over the
 * listening process and every process it forked (one or two per login),
 * found through the tasks' `children`. Processes that have ended count
 * through their parent's cutime and cstime in /proc/<pid>/stat (a parent
 * that ends passes its own on to its parent), which are in ticks of 10
 * ms: too coarse for a batch of NOOPs, enough for a run that closes its
 * connections (the tree download).
 */
import * as fs from "node:fs";

/** Pids of the processes whose command line names both `vsftpd` and `root` (the harness's temp dir, where its config lives). */
export function findServerPids(root: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "latin1");
      if (cmdline.includes("vsftpd") && cmdline.includes(root)) pids.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return pids;
}

/** Linux reports the times in /proc/<pid>/stat in USER_HZ ticks, 100 a second on every architecture. */
const NS_PER_TICK = 1e9 / 100;

/** CPU time of the ended and reaped children of process `pid`, in ns (its cutime and cstime). */
function reapedChildrenNs(pid: number): number {
  // "pid (comm) state ppid ...": comm may hold spaces; cutime and cstime are the 16th and 17th fields.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * NS_PER_TICK;
}

/** Nanoseconds on a CPU of `pid` and all its descendants, alive or ended; undefined where /proc cannot tell. */
export function serverCpuNs(pid: number): number | undefined {
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${next}/task`);
      total += reapedChildrenNs(next);
    } catch {
      if (next === pid) return undefined; // the server itself is gone, or there is no /proc
      continue; // a session that ended meanwhile
    }
    for (const tid of tasks) {
      try {
        total += Number(fs.readFileSync(`/proc/${next}/task/${tid}/schedstat`, "latin1").split(" ")[0]);
        for (const child of fs.readFileSync(`/proc/${next}/task/${tid}/children`, "latin1").split(" ")) {
          if (child.trim()) pending.push(Number(child));
        }
      } catch {
        // the task ended between the listing and the read
      }
    }
  }
  return total;
}
