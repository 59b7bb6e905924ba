#!/usr/bin/env bash
# The bench's set-up, once per machine (root: apt-get, useradd):
#
#   sudo bench/setup.sh [--no-update]
#
# - the real FTP servers (spec/interop/install-servers.sh; the bench runs
#   vsftpd),
# - the peers the rows run as command-line tools, from Debian's packages:
#   curl (rows 1 and 2), lftp and rclone (row 12, bench/wan-tree.ts),
# - what the bench itself calls: python3 (row 1's sendfile sender, CPython's
#   ftplib), taskset (util-linux, pinning), /usr/bin/time (the CPU time of
#   row 12's command-line samples).
#
# basic-ftp is a dev dependency (npm ci). Idempotent: packages already
# present are left as they are.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "bench/setup.sh: must run as root (apt-get, useradd)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "${1:-}" != "--no-update" ]; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends lftp rclone curl python3 util-linux time

"$(dirname "$0")/../spec/interop/install-servers.sh" --no-update
