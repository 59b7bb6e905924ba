/**
 * `ftpstream mirror --delete` SIGKILLed at the points of a run where a
 * crash costs most (crash-harness.ts), on the fixture: an upload's part
 * renamed over its target (before RNTO, once RNTO was answered; the
 * loop, crash-loop.ts, draws the other points), an upload on a server that renames over
 * no file (between the target's DELE and the part's RNTO), and the first
 * deletion after the transfers. Then the run after a crash that left
 * stale part files that are no part of this run's files: bigger than the
 * file, of another version, of an unchanged file, of a file the source no
 * longer has. A tree transfer never resumes from a stale part (the local
 * one is unlinked and made anew, the remote one truncated by STOR): no
 * two versions are ever spliced into one file.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { refuseOverExisting } from "../faults/rename-refused.js";
import {
  checkAfterKill,
  checkConverged,
  diskSide,
  KillTap,
  LAID_OUT,
  layOut,
  runThrough,
  seededRandom,
  versions,
  vfsSide,
  type KillPoint,
  type TreeSide,
  type TreeState,
} from "./crash-harness.js";

const verb =
  (name: string) =>
  (line: string): boolean =>
    line.startsWith(`${name} `);

describe("ftpstream mirror --delete killed (SIGKILL) at its riskiest points, and run again", function () {
  let srv: FixtureServer;
  let work: string;
  let tap: KillTap;
  beforeEach(async () => {
    srv = await FixtureServer.start({ files: { "/t/": "" } });
    tap = await KillTap.start(srv);
    work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-crash-points-"));
  });
  afterEach(async () => {
    await tap.close();
    await srv.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  interface Sides {
    source: TreeSide;
    target: TreeSide;
    args: string[];
  }

  function sides(direction: "download" | "upload", partFiles: boolean): Sides {
    const local = path.join(work, "tree");
    const url = `ftp://user:pass@127.0.0.1:${tap.port}/t`;
    return direction === "download"
      ? { source: vfsSide(srv.vfs, "/t"), target: diskSide(local), args: ["mirror", url, local, "--delete", "--quiet"] }
      : {
          source: diskSide(local),
          target: vfsSide(srv.vfs, "/t"),
          args: ["mirror", local, url, "--delete", "--quiet", ...(partFiles ? ["--part-files"] : [])],
        };
  }

  /**
   * Lays out v1 in the target (with `stale` beside it) and v2 in the
   * source, runs the mirror killed at `point` (it must get there), checks
   * the target, runs it again to its end and checks that the target is
   * the source. Returns the target as the kill left it.
   */
  async function killAndRerun(
    { source, target, args }: Sides,
    point: KillPoint | undefined,
    stale: Map<string, Buffer> = new Map(),
  ): Promise<TreeState> {
    const { v1, v2 } = versions(seededRandom(7));
    await layOut(target, v1);
    for (const [file, data] of stale) await target.write(file, data, LAID_OUT);
    await layOut(source, v2);
    const old = await target.read();
    const sourceState = await source.read();
    let afterKill = old;
    if (point) {
      const killed = await runThrough(tap, args, point);
      expect(killed.killed, `never got to the kill point; commands:\n${killed.commands.join("\n")}`).to.equal(true);
      afterKill = await target.read();
      checkAfterKill(afterKill, { old, source: sourceState, previous: old, tornAllowed: false }, "after the kill");
    }
    const rerun = await runThrough(tap, args, undefined);
    expect(rerun.code, rerun.stderr).to.equal(0);
    checkConverged(await target.read(), sourceState, "after the run after the kill");
    return afterKill;
  }

  describe("upload --part-files, killed while a part is renamed over its target", () => {
    const cases: Array<[string, KillPoint, (afterKill: TreeState, v2: Map<string, Buffer>) => void]> = [
      [
        "before its RNTO: the target is its old copy, the new one whole at the part name",
        { nth: 0, matches: verb("RNTO"), phase: "before" },
        (afterKill, v2) => expect([...afterKill.files.values()].filter((data) => v2.get("grows.bin")!.equals(data))).to.have.length(1),
      ],
      ["once its RNTO was answered (the client never heard)", { nth: 0, matches: verb("RNTO"), phase: "answered" }, () => undefined],
    ];
    for (const [title, point, check] of cases) {
      it(title, async () => {
        const afterKill = await killAndRerun(sides("upload", true), point);
        check(afterKill, versions(seededRandom(7)).v2);
      });
    }
  });

  it("upload --part-files on a server that renames over no file, killed after the target's DELE: the target is gone, its new copy whole at the part name; the next run puts it in place", async () => {
    refuseOverExisting(srv);
    const { v1, v2 } = versions(seededRandom(7));
    const point: KillPoint = { nth: 0, matches: (line) => /^DELE t\/[^.]/.test(line), phase: "answered" };
    const { source, target, args } = sides("upload", true);
    await layOut(target, v1);
    await layOut(source, v2);
    const killed = await runThrough(tap, args, point);
    expect(killed.killed).to.equal(true);
    const deleted = killed.commands.filter((line) => line.startsWith("DELE ")).map((line) => line.slice("DELE t/".length));
    expect(deleted).to.have.length(1);
    const afterKill = await target.read();
    // The one window in which a file of the source is missing from the target: documented on partFiles.
    expect(afterKill.files.has(deleted[0])).to.equal(false);
    const at = `${path.posix.dirname(deleted[0]) === "." ? "" : `${path.posix.dirname(deleted[0])}/`}.${path.posix.basename(deleted[0])}.ftpstream-part`;
    expect(afterKill.files.get(at)?.equals(v2.get(deleted[0])!)).to.equal(true);
    const rerun = await runThrough(tap, args, undefined);
    expect(rerun.code, rerun.stderr).to.equal(0);
    checkConverged(await target.read(), await source.read(), "after the run after the kill");
  });

  it("upload --delete, killed once its first deletion was answered: every file is whole, the next run deletes the rest", () =>
    killAndRerun(sides("upload", true), { nth: 0, matches: (line) => /^(DELE|RMD) /.test(line), phase: "answered" }));

  describe("the run after a crash that left stale part files", () => {
    const { v1, v2 } = versions(seededRandom(7));
    const stale = new Map<string, Buffer>([
      // Bigger than the file, and of another version: a resume from it would splice the two.
      ["sub/.changes.txt.ftpstream-part", Buffer.concat([v1.get("sub/changes.txt")!, Buffer.alloc(20_000, "x")])],
      // The new version's first bytes, then another's: a resume from its size would keep the wrong rest.
      [".grows.bin.ftpstream-part", Buffer.concat([v2.get("grows.bin")!.subarray(0, 1000), Buffer.alloc(300_000, "y")])],
      // Of a file the run skips (unchanged), and of one the source no longer has.
      [".same.txt.ftpstream-part", Buffer.alloc(10, "z")],
      ["old/.only.txt.ftpstream-part", Buffer.alloc(10, "w")],
    ]);
    for (const direction of ["download", "upload"] as const) {
      it(`${direction}: each file is its source's, whole; no part is left`, async () => {
        await killAndRerun(sides(direction, true), undefined, stale);
      });
    }
  });
});
