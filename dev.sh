#!/bin/sh
# dev.sh: the two commands of the README.
#   ./dev.sh run   install what is missing, build, run a demo instance in the foreground
#   ./dev.sh test  install what is missing, build with fault injection, run every test
# Works on a fresh Debian 12 machine as root; as an ordinary user once the
# packages are installed.
set -eu
cd "$(dirname "$0")"

# Build and test dependencies, all from Debian 12.
PACKAGES="build-essential cmake pkg-config ca-certificates openssl
libevent-dev libssl-dev libc-ares-dev libcap-dev libcrypt-dev libargon2-dev
liblmdb-dev zlib1g-dev catch2 python3 man-db groff-base util-linux procps"
# What the tests drive the suite with, besides Python (swaks needs Net::SSLeay,
# only recommended by its package, for --tls).
TEST_PACKAGES="swaks libnet-ssleay-perl curl isync fetchmail"
# Peers the interoperability tests and benches run beside Tern (their own
# services never start: see install_peers).
PEER_PACKAGES="postfix dovecot-imapd dovecot-lmtpd"

install_packages() {  # install_packages [extra packages...]
  missing=""
  for p in $PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "dev.sh: missing Debian packages:$missing" >&2
    echo "dev.sh: run this command once as root to install them" >&2
    exit 1
  fi
  echo "dev.sh: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Installs the peer packages (as root only; their tests skip without them)
# behind a policy-rc.d that exits 101, so that neither Postfix nor Dovecot
# starts a service of its own, now or on a later upgrade.
install_peers() {
  [ "$(id -u)" = 0 ] || return 0
  missing=""
  for p in $PEER_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "dev.sh: installing peers (services not started):$missing"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# written by tern dev.sh: no package service starts\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

jobs() { nproc 2>/dev/null || echo 2; }

build() {  # build DIR [cmake options...]
  dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(jobs)"
}

run_demo() {
  build build/release -DTERN_FAULT_INJECTION=OFF -DTERN_TESTS=OFF
  dir=$(mktemp -d /tmp/tern-demo.XXXXXX)
  chmod 755 "$dir"  # the tern accounts must reach it when started as root
  build/release/bin/ternctl -c "$dir/etc" init --port-base 20000
  echo
  echo "dev.sh: demo instance in $dir/etc (logs: $dir/etc/log/maillog); Ctrl-C stops it"
  exec build/release/bin/ternctl -c "$dir/etc" start-fg
}

run_tests() {
  build build/test -DTERN_FAULT_INJECTION=ON
  ctest --test-dir build/test --output-on-failure -j "$(jobs)" "$@"
}

case "${1:-}" in
  run) install_packages; run_demo ;;
  test) shift; install_packages $TEST_PACKAGES; install_peers; run_tests "$@" ;;
  *) echo "usage: ./dev.sh run | test [ctest options]" >&2; exit 2 ;;
esac
