#!/usr/bin/env bash
# Host profile -> simulator, closed loop (issue 5, docs/results.md "Host profile → simulator").
#
#   bash bench/eval_host_profile.sh [BUILD_DIR] [PROFILE]
#
# 1. profiles mobilenet_v1 on this machine (`hetsched profile`, unless PROFILE exists and
#    REPROFILE=0), 2. predicts the FPS of a subset of 2-unit splits from the profile (`hetsched
#    predict --platform PROFILE --mode pipeline`), 3. measures each split for real (`hetsched run
#    --platform host --mode fixed --split ... --seconds $SECONDS_PER_RUN --json`, $REPS runs,
#    interleaved so that load changes hit every split alike) and takes the median, 4. prints one
#    row per split and the MAPE |pred - real| / real, over all splits and over the splits the
#    profile's hand-over fit did not use (held out; never judge on the fitted rows).
# Subset (documented in docs/results.md): cpu0 first with k = 2, 4, ..., 26 blocks on cpu0, and
# cpu1 first with k = 4, 10, 16, 22; plus each unit alone. The load average is printed before
# and after: the machine is shared, so quote it with the figures.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build-profile}"
PROFILE="${2:-$BUILD/host.json}"
REPS="${REPS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
MODEL=mobilenet_v1
HS="$BUILD/tools/hetsched"
[ -x "$HS" ] || { echo "eval_host_profile: no $HS (build the hetsched target first)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -f "$PROFILE" ] || [ "${REPROFILE:-1}" = 1 ]; then
  "$HS" profile --platform host --model "$MODEL" --out "$PROFILE"
fi
# The hand-over fit's runs (their splits are "fit" rows below).
FIT_SPLITS="$(grep -o '"split": *"[^"]*"' "$PROFILE" | sed 's/.*"\([^"]*\)"$/\1/' | tr '\n' ' ')"
NB="$(grep -c '"index"' "$PROFILE")"

SPLITS=("cpu0:$NB" "cpu1:$NB")
for k in $(seq 2 2 $((NB - 2))); do SPLITS+=("cpu0:$k,cpu1:$((NB - k))"); done
for k in 4 10 16 22; do SPLITS+=("cpu1:$k,cpu0:$((NB - k))"); done

# Split "cpu0:k,cpu1:m" -> order string with the profile's letters (cpu0 = A, cpu1 = B;
# policies/host_mapping.hpp).
order_of() {
  local out="" item name n letter
  IFS=',' read -ra items <<< "$1"
  for item in "${items[@]}"; do
    name="${item%%:*}"; n="${item##*:}"
    letter=$([ "$name" = cpu0 ] && echo A || echo B)
    out+="$(printf "%${n}s" | tr ' ' "$letter")"
  done
  echo "$out"
}

echo "order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz" > "$TMP/configs.csv"
for s in "${SPLITS[@]}"; do echo "$(order_of "$s"),A,A,0,0,0" >> "$TMP/configs.csv"; done
"$HS" predict --platform "$PROFILE" --model "$MODEL" --mode pipeline --configs "$TMP/configs.csv" --out "$TMP/pred.csv"

for r in $(seq 1 "$REPS"); do
  for i in "${!SPLITS[@]}"; do
    fps=$("$HS" run --platform host --model "$MODEL" --mode fixed --split "${SPLITS[$i]}" --seconds "$SECONDS_PER_RUN" --json --quiet \
          | sed 's/.*"fps_mean":\([0-9.eE+-]*\).*/\1/')
    echo "$i $fps" >> "$TMP/real.txt"
    echo "run $r/$REPS ${SPLITS[$i]}: $fps fps" >&2
  done
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-22s %-5s %9s %9s %7s\n" split set pred_fps real_fps ape_pct
for i in "${!SPLITS[@]}"; do
  pred=$(awk -F, -v row=$((i + 2)) 'NR == 1 { for (c = 1; c <= NF; ++c) if ($c == "pred_fps") col = c } NR == row { print $col }' "$TMP/pred.csv")
  real=$(awk -v i="$i" '$1 == i { print $2 }' "$TMP/real.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  set_=held
  for f in $FIT_SPLITS; do [ "$f" = "${SPLITS[$i]}" ] && set_=fit; done
  awk -v s="${SPLITS[$i]}" -v set_="$set_" -v p="$pred" -v r="$real" 'BEGIN { printf "%-22s %-5s %9.2f %9.2f %7.2f\n", s, set_, p, r, 100 * (p > r ? p - r : r - p) / r }'
done | tee "$TMP/rows.txt"
awk '{ a += $5; n++; if ($2 == "held") { h += $5; m++ } }
     END { printf "MAPE all %d splits: %.2f %%; held-out %d splits: %.2f %%\n", n, a / n, m, h / m }' "$TMP/rows.txt"
