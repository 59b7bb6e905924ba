/**
 * FtpDirTransferError's message names each failed path on a line of its
 * own, and the CLI prints it as it is: a path holding a line feed (a
 * local or remote name may) made a second line that read as another
 * failure, or as anything its name said. Such a path is quoted; other
 * control characters are left to the printer (the CLI escapes them).
 */
import { expect } from "chai";
import { FtpDirTransferError, FtpPermError } from "../../lib/index.js";

const RESULT = { transferred: 0, skipped: 0, bytes: 0, deleted: 0, links: [], parts: [], kept: [] };

describe("FtpDirTransferError's message", () => {
  it("quotes a failed path holding a line feed or a carriage return: one line a failure (other control characters are the printer's to escape)", () => {
    const error = new FtpDirTransferError(
      "uploadDir of /up",
      [
        { path: "stale\n  other.txt: 550 Permission denied", error: new FtpPermError("550 No such file") },
        { path: "cr\rhere", error: new FtpPermError("550 No") },
        { path: "esc\x1bhere", error: new FtpPermError("550 Esc") },
        { path: "plain.txt", error: new FtpPermError("550 Gone") },
      ],
      RESULT,
    );
    expect(error.message.split("\n")).to.deep.equal([
      "uploadDir of /up: 4 failed",
      '  "stale\\n  other.txt: 550 Permission denied": 550 No such file',
      '  "cr\\rhere": 550 No',
      "  esc\x1bhere: 550 Esc",
      "  plain.txt: 550 Gone",
    ]);
  });
});
