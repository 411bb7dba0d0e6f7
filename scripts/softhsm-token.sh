#!/usr/bin/env bash
# Makes a fresh SoftHSM2 token in a folder of its own and prints the environment that points
# oneclaw (and its tests) at it.  Usage:  eval "$(scripts/softhsm-token.sh /tmp/hsm)"
set -euo pipefail
dir=${1:?usage: softhsm-token.sh DIR [LABEL]}
label=${2:-oneclaw-test}
pin=${ONECLAW_SOFTHSM_PIN:-1234}
module=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so 2>/dev/null | head -1)
[ -n "$module" ] || { echo "softhsm2 is not installed: apt-get install -y softhsm2" >&2; exit 1; }
mkdir -p "$dir/tokens"
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label "$label" \
  --so-pin 12345678 --pin "$pin" >/dev/null
echo "export SOFTHSM2_CONF=$dir/softhsm2.conf"
echo "export ONECLAW_PKCS11_MODULE=$module"
echo "export ONECLAW_PKCS11_TOKEN_LABEL=$label"
echo "export ONECLAW_PKCS11_PIN=$pin"
