import { expect } from "chai";
import { resetClosesHandle } from "../../lib/transfer.js";

// Measured with spec/retry's "goes on from the byte delivered when the
// control connection drops" under each release (scripts/test-node18.sh with
// NODE18_VERSION): it hangs where resetAndDestroy() leaves the handle open.
describe("which Node releases close an aborted download's data connection with a reset", function () {
  it("trusts resetAndDestroy() from 18.13 and 19.3 on, and on 20 and later", function () {
    for (const version of ["18.13.0", "18.20.8", "19.3.0", "19.9.0", "20.0.0", "22.11.0"])
      expect(resetClosesHandle(version), version).to.equal(true);
  });

  it("keeps the FIN on 18.3 to 18.12 and 19.0 to 19.2, where the reset socket could stay open", function () {
    for (const version of ["18.3.0", "18.8.0", "18.12.1", "19.0.0", "19.2.0"]) expect(resetClosesHandle(version), version).to.equal(false);
  });
});
