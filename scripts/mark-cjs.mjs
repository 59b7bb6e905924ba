// The package is "type": "module", so the CommonJS build needs its own
// package.json telling Node to load dist/cjs/*.js as CommonJS.
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), JSON.stringify({ type: "commonjs" }) + "\n");
