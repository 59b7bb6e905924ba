/**
 * Part names are one per file name. A long name's part is shortened to
 * `.<prefix>~<hash>.ftpstream-part`, which is also the whole part name of
 * the (239-byte, storable) name `<prefix>~<hash>`: a tree holding both
 * wrote the two files through one part, at once with concurrency (an
 * upload's two STORs mixed in one remote file, then renamed as either).
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { partName, partOwner, remotePartName } from "../../lib/part-file.js";

/** 300 bytes, ASCII: its part name is shortened. */
const LONG = `${"l".repeat(296)}.txt`;
/** The name whose whole part name is LONG's shortened one: 206 bytes of LONG, `~`, its hash (32 hex digits). */
const hashOf = (name: string): string => createHash("sha256").update(name).digest("hex").slice(0, 32);
const LOOKALIKE = `${LONG.slice(0, 206)}~${hashOf(LONG)}`;

describe("sync: review of part names", () => {
  it("gives a long name and the name its shortened part spells two part names", () => {
    expect(Buffer.byteLength(LOOKALIKE)).to.equal(239);
    expect(partName(`/x/${LONG}`)).not.to.equal(partName(`/x/${LOOKALIKE}`));
    expect(remotePartName(`d/${LONG}`)).not.to.equal(remotePartName(`d/${LOOKALIKE}`));
    for (const name of [LONG, LOOKALIKE, "a~0123456789abcdef", `a~${"0123456789abcdef".repeat(2)}`]) {
      const part = partName(`/x/${name}`).slice(3);
      expect(Buffer.byteLength(part), name).to.be.at.most(255);
      expect(partOwner(part), name).to.be.a("string");
    }
  });

  it("carries 128 bits of the long name's SHA-256 (32 hex digits): no birthday search of some 2^32 names makes two share a part", () => {
    expect(partName(`/x/${LONG}`)).to.equal(`/x/.${LONG.slice(0, 206)}~${hashOf(LONG)}.ftpstream-part`);
    expect(remotePartName(`d/${LONG}`)).to.equal(`d/.${LONG.slice(0, 206)}~${hashOf(LONG)}.ftpstream-part`);
  });

  it("keeps the part name a short name always had", () => {
    expect(partName("/x/a~0123456789abcde")).to.equal("/x/.a~0123456789abcde.ftpstream-part");
    expect(partName("/x/a~0123456789ABCDEF")).to.equal("/x/.a~0123456789ABCDEF.ftpstream-part");
    expect(partName("/x/short.txt")).to.equal("/x/.short.txt.ftpstream-part");
  });
});
