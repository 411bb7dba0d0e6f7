#!/usr/bin/env bash
# Long fuzzing pass of oneclaw's parsers (property-based, proptest): runs every fuzz_* property
# in a loop with fresh random seeds for MINUTES minutes each (default 10), in release mode, and
# stops at the first failure (proptest prints the minimal failing input; make it a regression
# test). CI runs a short seeded pass of the same properties inside `cargo test`.
#
#   scripts/fuzz-long.sh [MINUTES] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
filter=${2:-fuzz_}
targets=(
  "oneclaw-core fuzz_secret_paths"
  "oneclaw-core fuzz_policy_globs"
  "oneclaw-core fuzz_policy_conditions"
  "oneclaw-core fuzz_credential_prefixes"
  "oneclaw-x402 fuzz_payment_headers"
  "oneclaw-crypto fuzz_bearer_tokens"
  "oneclaw-server fuzz_share_openers"
  "oneclaw-server fuzz_dashboard_forms"
)
for target in "${targets[@]}"; do
  read -r crate name <<<"$target"
  [[ $name == *"$filter"* || $filter == fuzz_ ]] || continue
  cargo test --release --locked -q -p "$crate" --lib "$name" --no-run 2>/dev/null
  deadline=$(( $(date +%s) + minutes * 60 )); rounds=0
  while (( $(date +%s) < deadline )); do
    PROPTEST_CASES=20000 PROPTEST_RNG_SEED=$RANDOM$RANDOM cargo test --release --locked -q -p "$crate" --lib "$name" \
      >"/tmp/oneclaw-fuzz-$name.log" 2>&1 || { cat "/tmp/oneclaw-fuzz-$name.log"; echo "FAILED: $crate $name"; exit 1; }
    rounds=$((rounds + 1))
  done
  echo "$crate $name: $((rounds * 20000)) cases in $minutes min, 0 failures"
done
