#!/usr/bin/env bash
# Installs the kernel-side tools the integration tests and benchmarks drive (ping, curl, nc,
# tshark, nmap, wrk, ip; ethtool and a C compiler for the benchmarks' load client; socat and
# python3 for the Unix-domain socket peers; for the gateway: dnsmasq, sshd/ssh/scp, dig,
# slirp4netns, pasta; openssl, PostgreSQL and mosquitto, the real servers of the net face's
# library tests; chromium for the inspector's browser test), when they are missing and we
# can: as root, with apt-get.
# Run by `npm test` (pretest) and by .ci/run; does nothing when everything is present.
set -u
need=()
for pair in ip:iproute2 ping:iputils-ping curl:curl nc:netcat-openbsd tshark:tshark nmap:nmap wrk:wrk ps:procps \
  ethtool:ethtool cc:gcc socat:socat python3:python3 \
  dnsmasq:dnsmasq-base /usr/sbin/sshd:openssh-server ssh:openssh-client scp:openssh-client dig:bind9-dnsutils \
  slirp4netns:slirp4netns pasta:passt openssl:openssl mosquitto:mosquitto chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# Debian keeps the PostgreSQL server's programs off PATH, under /usr/lib/postgresql/VERSION/bin.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${need[*]}; install them (as root, with apt-get) or the tests that use them will be skipped or fail" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# tshark would otherwise stop to ask whether non-root users may capture.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
echo "deps: installing ${need[*]}" >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
  echo "deps: apt-get could not install ${need[*]}" >&2
exit 0
