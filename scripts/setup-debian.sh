#!/usr/bin/env bash
# setup-debian.sh: installs what pg_callcenter needs to build, run and test
# on Debian 12, and creates the unprivileged OS users of the tests (cctest)
# and the demo (ccdemo).  Idempotent: apt runs only when a package is missing.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian.sh: must run as root (it installs packages and creates users); try: sudo $0" >&2
    exit 1
fi

PACKAGES=(
    build-essential pkg-config
    postgresql-15 postgresql-server-dev-15 postgresql-15-cron
    libsofia-sip-ua-dev libspandsp-dev libcurl4-openssl-dev flite1-dev
    libssl-dev libkrb5-dev
    sip-tester tshark
    python3 python3-psycopg2
    git rsync procps iproute2 libcap2-bin
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing+=("$p") ;;
    esac
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-debian.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer "no" up front.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup-debian.sh: all packages present"
fi

# sipp plays RTP captures (play_pcap_audio) through a raw socket: let the
# unprivileged test user's sipp do that (the media tests replay the RFC 4733
# captures of /usr/share/sip-tester).
if ! getcap "$(command -v sipp)" | grep -q cap_net_raw; then
    setcap cap_net_raw+ep "$(command -v sipp)"
fi

# Debian's postgresql-common creates a "main" cluster on install; we never
# use it (our clusters are our own), so it is left as it is.

for u in cctest ccdemo; do
    if ! id "$u" >/dev/null 2>&1; then
        echo "setup-debian.sh: creating OS user $u"
        useradd --system --create-home --shell /bin/bash "$u"
    fi
done
