#!/usr/bin/env bash
# Install CrowdSec 1.4.6 and fail2ban 1.0.2 from Debian 12 (bookworm) on a machine
# with NO internet (only the Debian mirror), and enable every HTTP scenario of the
# offline hub snapshot that the Debian package ships in /usr/share/crowdsec/hub.
#
# Why the extra steps (all measured on Debian 12, crowdsec 1.4.6-6~deb12u1+b1):
#  1. The crowdsec postinst runs `cscli capi register`, which needs api.crowdsec.net;
#     offline it FAILS and leaves the package half-configured (dpkg rc=100).
#     Documented escape hatch (README.Debian): put a comment in
#     /etc/crowdsec/online_api_credentials.yaml BEFORE configuring.
#  2. `cscli scenarios list` / `cscli collections list` call version.crowdsec.net to
#     pick the hub branch and abort offline. Fix: cscli.hub_branch in config.yaml.local.
#  3. `cscli scenarios install X` always downloads from hub-cdn.crowdsec.net, even when
#     the offline hub already holds X at the latest version -> fails offline.
#     Fix: enable items by symlink, exactly as the Debian postinst does.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq

# (1) opt out of Central API registration before the package is configured
mkdir -p /etc/crowdsec
if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
  echo '# no thanks (offline, no CAPI registration)' > /etc/crowdsec/online_api_credentials.yaml
fi
apt-get install -y -qq crowdsec fail2ban || dpkg --configure -a

# (2) stop cscli from asking version.crowdsec.net for the hub branch
if ! grep -qs 'hub_branch' /etc/crowdsec/config.yaml.local; then
  cat >> /etc/crowdsec/config.yaml.local <<'EOF'
# offline: avoid cscli querying version.crowdsec.net for the hub branch
cscli:
  hub_branch: master
EOF
fi

# (3) enable extra hub items offline (symlink from /etc/crowdsec/<kind>/ to the hub copy)
HUB=/var/lib/crowdsec/hub
enable_item() {   # kind vendor/name
  local kind=$1 item=$2 target
  target="$HUB/$kind/$item.yaml"
  [ -f "$target" ] || { echo "missing in offline hub: $kind/$item" >&2; return 1; }
  mkdir -p "/etc/crowdsec/$kind"
  ln -sfn "$target" "/etc/crowdsec/$kind/$(basename "$item").yaml"
}
enable_item collections crowdsecurity/wordpress
for f in "$HUB"/scenarios/*/http-*.yaml; do       # every http-* scenario in the snapshot
  v=$(basename "$(dirname "$f")"); n=$(basename "$f" .yaml)
  enable_item scenarios "$v/$n"
done

# http-path-traversal-probing wants data file http_path_traversal.txt, but the Debian
# package ships it as path_traversal.txt (and the data download needs the internet).
cp -n /usr/share/crowdsec/data/* /var/lib/crowdsec/data/ 2>/dev/null || true
[ -f /var/lib/crowdsec/data/http_path_traversal.txt ] || \
  cp /usr/share/crowdsec/data/path_traversal.txt /var/lib/crowdsec/data/http_path_traversal.txt

cscli version 2>&1 | sed -n 1p
fail2ban-regex --version
cscli scenarios list 2>/dev/null | grep -c 'enabled' | sed 's/^/enabled scenarios: /'
