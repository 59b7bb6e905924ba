/** Small numeric and formatting helpers for the bench report. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function formatSize(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  curl: string;
  basicFtp: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  const curl = spawnSync("curl", ["--version"], { encoding: "utf8" });
  let basicFtp = "not installed";
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL("../../node_modules/basic-ftp/package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    basicFtp = String(pkg.version);
  } catch {
    // reported as not installed
  }
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / GiB),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    curl: curl.status === 0 ? curl.stdout.split("\n")[0].split(" ").slice(0, 2).join(" ") : "not installed",
    basicFtp,
  };
}

/** Pads a table's columns: those in `left` are left-aligned, the rest right-aligned. */
export function table(rows: string[][], left: readonly number[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (left.includes(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
