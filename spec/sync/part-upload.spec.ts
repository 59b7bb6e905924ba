/**
 * uploadThroughPart (lib/part-upload.ts), the last step of every upload
 * through a part name (uploadDir's partFiles, the queue worker's upload
 * jobs, `ftpstream put --part-files`), against a scripted client: what is
 * sent, renamed and deleted for each answer of the server, and what the
 * caller is told.
 */
import { expect } from "chai";
import { FtpError, FtpPermError, FtpSizeMismatchError, FtpTempError } from "../../lib/index.js";
import { RENAME_OWN_PART } from "../../lib/part-rename.js";
import { isPlainFile, keptAtPart, uploadThroughPart, type PartUpload, type PartUploadClient } from "../../lib/part-upload.js";
import type { ListEntry } from "../../lib/listing.js";
import { rejectionOf } from "../core/helpers.js";

const PART = "/up/.a.txt.ftpstream-part";
const TARGET = "/up/a.txt";
const REFUSED = new FtpPermError("553 Rename failed: file exists.");

/** A client whose renames answer, in turn, what `renames` holds (an error thrown, an error returned as another run's part, or done). */
function scripted(renames: Array<"done" | { throws: Error } | { othersPart: FtpError }>, deletes: Record<string, Error> = {}) {
  const calls: string[] = [];
  const client: PartUploadClient = {
    delete(filename) {
      calls.push(`DELE ${filename}`);
      const failure = deletes[filename];
      return failure ? Promise.reject(failure) : Promise.resolve("250 Deleted.");
    },
    [RENAME_OWN_PART](part, target, sent, pipelining) {
      calls.push(`rename ${part} ${target} ${sent} ${pipelining}`);
      const next = renames.shift();
      if (next === undefined) throw new Error("no rename scripted");
      if (next === "done") return Promise.resolve(undefined);
      if ("throws" in next) return Promise.reject(next.throws);
      return Promise.resolve(next.othersPart);
    },
  };
  return { client, calls };
}

function upload(calls: string[], overrides: Partial<PartUpload> = {}): PartUpload {
  return {
    name: "a.txt",
    part: PART,
    target: TARGET,
    send: () => {
      calls.push("send");
      return Promise.resolve(10);
    },
    targetIsFile: () => {
      calls.push("asked");
      return true;
    },
    pipelining: true,
    ...overrides,
  };
}

describe("uploadThroughPart (part-upload.ts)", () => {
  it("sends, renames the part over the target with the bytes sent, and resolves to them; whether the target is a file is not asked", async () => {
    const { client, calls } = scripted(["done"]);
    expect(await uploadThroughPart(client, upload(calls, { pipelining: false }))).to.equal(10);
    expect(calls).to.deep.equal(["send", `rename ${PART} ${TARGET} 10 false`]);
  });

  it("deletes the part, not the target, when the send fails", async () => {
    const failure = new FtpTempError("426 Connection closed; transfer aborted.");
    const { client, calls } = scripted([]);
    expect(await rejectionOf(uploadThroughPart(client, upload(calls, { send: () => Promise.reject(failure) })))).to.equal(failure);
    expect(calls).to.deep.equal([`DELE ${PART}`]);
  });

  it("leaves another run's part alone (neither renamed again nor deleted) and rejects with what the rename found", async () => {
    const others = new FtpSizeMismatchError(10, 7, "213 7");
    const { client, calls } = scripted([{ othersPart: others }]);
    expect(await rejectionOf(uploadThroughPart(client, upload(calls)))).to.equal(others);
    expect(calls).to.deep.equal(["send", `rename ${PART} ${TARGET} 10 true`]);
  });

  it("on a refused rename, deletes the target known to be a file and renames again", async () => {
    const { client, calls } = scripted([{ throws: REFUSED }, "done"]);
    expect(await uploadThroughPart(client, upload(calls))).to.equal(10);
    expect(calls).to.deep.equal([
      "send",
      `rename ${PART} ${TARGET} 10 true`,
      "asked",
      `DELE ${TARGET}`,
      `rename ${PART} ${TARGET} 10 true`,
    ]);
  });

  for (const [what, targetIsFile] of [
    ["not known to be a file", () => false],
    ["asked about in vain (the question rejects)", () => Promise.reject(new Error("the connection was lost"))],
  ] as const) {
    it(`on a refused rename, the target ${what}, deletes only the part and rejects with the refusal`, async () => {
      const { client, calls } = scripted([{ throws: REFUSED }]);
      expect(await rejectionOf(uploadThroughPart(client, upload(calls, { targetIsFile })))).to.equal(REFUSED);
      expect(calls).to.deep.equal(["send", `rename ${PART} ${TARGET} 10 true`, `DELE ${PART}`]);
    });
  }

  it("does not ask about the target, nor delete it, when the rename fails otherwise than by a refusal (4xx)", async () => {
    const busy = new FtpTempError("450 File busy.");
    const { client, calls } = scripted([{ throws: busy }]);
    expect(await rejectionOf(uploadThroughPart(client, upload(calls)))).to.equal(busy);
    expect(calls).to.deep.equal(["send", `rename ${PART} ${TARGET} 10 true`, `DELE ${PART}`]);
  });

  it("deletes the part and rejects with DELE's refusal when the target cannot be deleted", async () => {
    const denied = new FtpPermError("550 Permission denied.");
    const { client, calls } = scripted([{ throws: REFUSED }], { [TARGET]: denied });
    expect(await rejectionOf(uploadThroughPart(client, upload(calls)))).to.equal(denied);
    expect(calls).to.deep.equal(["send", `rename ${PART} ${TARGET} 10 true`, "asked", `DELE ${TARGET}`, `DELE ${PART}`]);
  });

  it("keeps the part, the only copy left, when the rename is refused again once the target was deleted: ERR_FTP_PART_FILE naming it, keptAtPart", async () => {
    const again = new FtpPermError("553 Rename not allowed.");
    const { client, calls } = scripted([{ throws: REFUSED }, { throws: again }]);
    const error = (await rejectionOf(uploadThroughPart(client, upload(calls)))) as FtpError;
    expect(error).to.be.instanceOf(FtpError);
    expect(error.code).to.equal("ERR_FTP_PART_FILE");
    expect(error.message).to.equal(
      `"a.txt": the server refused to rename "${PART}" over the file, and again once the file was deleted; ` +
        `the complete upload stays at "${PART}" (553 Rename not allowed.)`,
    );
    expect(error.cause).to.equal(again);
    expect(keptAtPart(error)).to.equal(true);
    expect(calls).to.not.include(`DELE ${PART}`);
  });

  it("leaves the part to the other run that took it once the target was deleted: ERR_FTP_PART_FILE, not keptAtPart", async () => {
    const others = new FtpSizeMismatchError(10, 7, "213 7");
    const { client, calls } = scripted([{ throws: REFUSED }, { othersPart: others }]);
    const error = (await rejectionOf(uploadThroughPart(client, upload(calls)))) as FtpError;
    expect(error.code).to.equal("ERR_FTP_PART_FILE");
    expect(error.message).to.match(/^"a\.txt": the server refused to rename .* over the file; once the file was deleted, /);
    expect(error.cause).to.equal(others);
    expect(keptAtPart(error)).to.equal(false);
    expect(calls).to.not.include(`DELE ${PART}`);
  });

  it("deletes the part through the caller's deletePart when given", async () => {
    const { client, calls } = scripted([{ throws: REFUSED }]);
    const deletePart = (): Promise<void> => {
      calls.push("deletePart");
      return Promise.resolve();
    };
    await rejectionOf(uploadThroughPart(client, upload(calls, { targetIsFile: () => false, deletePart })));
    expect(calls).to.deep.equal(["send", `rename ${PART} ${TARGET} 10 true`, "deletePart"]);
  });
});

describe("isPlainFile (part-upload.ts)", () => {
  const entry = (type: ListEntry["type"]): ListEntry => ({
    name: "a.txt",
    type,
    size: null,
    modified: null,
    permissions: null,
    target: null,
    raw: "",
  });
  it("is true only where stat says file: not a directory, a link, what cannot be told, nor when stat rejects", async () => {
    const answers = await Promise.all([
      isPlainFile({ stat: () => Promise.resolve(entry("file")) }, TARGET),
      isPlainFile({ stat: () => Promise.resolve(entry("dir")) }, TARGET),
      isPlainFile({ stat: () => Promise.resolve(entry("link")) }, TARGET),
      isPlainFile({ stat: () => Promise.resolve(entry("unknown")) }, TARGET),
      isPlainFile({ stat: () => Promise.reject(new FtpPermError("550 No such file.")) }, TARGET),
    ]);
    expect(answers).to.deep.equal([true, false, false, false, false]);
  });
});
