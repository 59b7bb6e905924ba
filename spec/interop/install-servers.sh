#!/usr/bin/env bash
# Installs the real FTP servers the interop specs run against (the eighth,
# ftp-srv, is an npm devDependency).
#
# vsftpd, proftpd-core, pure-ftpd, inetutils-ftpd and ftpd-ssl (the netkit
# ftpd; Debian's `ftpd` is a transitional package for it) each declare
# `Conflicts: ftp-server`, so apt cannot install them side by side. Instead we
# install, with apt, only what has no conflict (pyftpdlib, Twisted, pyOpenSSL,
# openssl and the shared libraries the servers link against), and fetch the
# five daemons with `apt-get download`,
# unpacking each with `dpkg -x` into its own directory under
# $FTPSTREAM_SERVERS_DIR (default /opt/ftpstream-servers). Nothing is
# registered with dpkg and no system service is ever started: the specs start
# each server themselves on loopback, with their own config.
#
# Idempotent: a server whose unpacked version matches apt's candidate is left
# alone, so a second run takes about as long as `apt-get install` of packages
# already present. Must run as root (apt, useradd).
#
# Usage: spec/interop/install-servers.sh [--no-update]
set -euo pipefail

DIR="${FTPSTREAM_SERVERS_DIR:-/opt/ftpstream-servers}"
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "install-servers.sh: must run as root (apt-get, useradd)" >&2
  exit 1
fi

if [ "${1:-}" != "--no-update" ]; then
  apt-get update -qq
fi

# Everything apt may install normally: the Python server, its TLS backend,
# openssl (certificates are made at test time), PAM's userdb module (vsftpd's
# virtual user), and the libraries the unpacked daemons link against (the
# union of their Depends, minus the conflicting packages themselves).
apt-get install -y -qq --no-install-recommends \
  python3 python3-pyftpdlib python3-twisted python3-openssl openssl redis-server \
  libpam0g libpam-modules libpam-runtime \
  libc6 libcap2 libssl3 libwrap0 libacl1 libcrypt1 libidn2-0 \
  libhiredis0.14 libmemcached11 libmemcachedutil2 \
  libncursesw6 libtinfo6 libpcre2-8-0 libpcre2-posix3 zlib1g libsodium23 \
  >/dev/null

# name of the unpack dir -> the .deb packages that go into it
declare -A PKGS=(
  [vsftpd]="vsftpd"
  [proftpd]="proftpd-core proftpd-mod-crypto"
  [pure-ftpd]="pure-ftpd pure-ftpd-common"
  [inetutils-ftpd]="inetutils-ftpd"
  [netkit-ftpd]="ftpd-ssl"
)

candidate() {
  apt-cache policy "$1" | awk '/Candidate:/ { print $2 }'
}

mkdir -p "$DIR"
for name in vsftpd proftpd pure-ftpd inetutils-ftpd netkit-ftpd; do
  want=""
  for p in ${PKGS[$name]}; do
    v="$(candidate "$p")"
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
      echo "install-servers.sh: apt has no candidate for $p (apt-get update?)" >&2
      exit 1
    fi
    want="$want$p=$v "
  done
  want="${want% }"
  if [ -f "$DIR/$name/.packages" ] && [ "$(cat "$DIR/$name/.packages")" = "$want" ]; then
    echo "install-servers.sh: $name up to date ($want)"
    continue
  fi
  tmp="$(mktemp -d)"
  # apt-get download writes into the cwd; _apt cannot read a root-only
  # mktemp dir, which only costs a harmless warning, so silence it.
  (cd "$tmp" && chmod 755 . && apt-get download -qq $want 2>/dev/null)
  rm -rf "$DIR/$name.new"
  mkdir -p "$DIR/$name.new"
  for deb in "$tmp"/*.deb; do
    dpkg -x "$deb" "$DIR/$name.new"
  done
  rm -rf "$tmp"
  echo "$want" > "$DIR/$name.new/.packages"
  rm -rf "$DIR/$name"
  mv "$DIR/$name.new" "$DIR/$name"
  echo "install-servers.sh: unpacked $want into $DIR/$name"
done

# Two unprivileged system accounts, both with a locked password and no shell:
# `ftpstream` owns what the servers write; `ftpstream-anon` is what vsftpd's
# anonymous login runs as (vsftpd refuses an anonymous chroot its account can
# write to). Logins are per-server virtual users (vsftpd: PAM userdb;
# proftpd: AuthUserFile; pure-ftpd: puredb; pyftpdlib: DummyAuthorizer), never
# these accounts' passwords. vsftpd changes to the account's home before
# applying local_root/anon_root, so that home must exist.
mkdir -p /var/lib/ftpstream
chmod 755 /var/lib/ftpstream
for account in ftpstream ftpstream-anon; do
  if ! id "$account" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/ftpstream \
      --shell /usr/sbin/nologin "$account"
  fi
done

# inetutils ftpd and the netkit ftpd log in system accounts only (crypt or
# PAM), and only those whose shell /etc/shells lists. Each gets an account of
# its own with the interop password (FTP_PASSWORD in servers.ts) and a shell
# that refuses to run anything (listed in /etc/shells, used by no one else),
# so the password opens nothing but these FTP servers. /etc/ftpchroot makes
# both chroot those accounts to their home, /var/lib/ftpstream/homes/<kind>,
# where the harness mounts each server's temp home. The netkit ftpd checks
# PAM service `ftp`: its package's /etc/pam.d/ftp (ftpusers list, pam_ftp
# for anonymous, then common-auth) is put in place if none is there.
INTEROP_PASSWORD="ftpstream-interop"
NOSHELL="$DIR/bin/ftp-only"
mkdir -p "$DIR/bin" /var/lib/ftpstream/homes
cat > "$NOSHELL" <<'SH'
#!/bin/sh
# Login shell of ftpstream's interop FTP accounts: FTP only, never a shell.
echo "This account is for ftpstream's interop specs: FTP only." >&2
exit 1
SH
chmod 755 "$NOSHELL"
grep -qxF "$NOSHELL" /etc/shells || echo "$NOSHELL" >> /etc/shells
touch /etc/ftpchroot
for kind in inetutils-ftpd netkit-ftpd; do
  account="ftpstream-${kind%-ftpd}"
  mkdir -p "/var/lib/ftpstream/homes/$kind"
  if ! id "$account" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home \
      --home-dir "/var/lib/ftpstream/homes/$kind" --shell "$NOSHELL" "$account"
  fi
  usermod --home "/var/lib/ftpstream/homes/$kind" --shell "$NOSHELL" \
    --password "$(openssl passwd -6 "$INTEROP_PASSWORD")" "$account"
  grep -qxF "$account" /etc/ftpchroot || echo "$account" >> /etc/ftpchroot
done
if [ ! -e /etc/pam.d/ftp ]; then
  cp "$DIR/netkit-ftpd/etc/pam.d/ftp" /etc/pam.d/ftp
fi

# Sanity: each daemon loads (catches a missing shared library now, not later).
# vsftpd -v prints its version on fd 0, hence 0>&1.
"$DIR/vsftpd/usr/sbin/vsftpd" -v 0>&1 | head -1
"$DIR/proftpd/usr/sbin/proftpd" -v
"$DIR/pure-ftpd/usr/sbin/pure-ftpd" --help 2>&1 | head -1
"$DIR/inetutils-ftpd/usr/sbin/ftpd" --version | head -1
# in.ftpd has no version flag: -? prints its usage (and exits non-zero).
{ "$DIR/netkit-ftpd/usr/sbin/in.ftpd" -? 2>&1 || true; } | head -1
/usr/bin/python3 -c 'import pyftpdlib, OpenSSL; print("pyftpdlib", pyftpdlib.__ver__, "pyOpenSSL", OpenSSL.__version__)'
/usr/bin/python3 -c 'import twisted.protocols.ftp, twisted; print("twisted", twisted.__version__)'
