#!/bin/sh
# End to end (issue 7, docs/streaming.md "Pushing a trained host policy"): a policy trained on this
# machine's host profile is pushed into a real run over the stream, verified and hot-swapped by
# the runtime, learned on and rolled back; prints what the device did in each phase.
#
#   sh bench/eval_stream_push.sh [HETSCHED_BINARY] [SECONDS_PER_PHASE]     (from the repo root)
#
# 1. `hetsched profile` measures mobilenet_v1 on the host units (cpu0 = A, cpu1 = B) -> PROFILE;
# 2. `hetsched train --platform PROFILE` on three 10 s host scenarios written below (no FPS
#    target = as fast as possible, like a host run; a full-core hog on B, none, a hog on A):
#    WEAK = one episode (the device's policy at the start), GOOD = 60 000 steps;
# 3. `hetsched run --platform host --policy WEAK --stress cpu1@0 --listen 127.0.0.1:0` for 5
#    phases (hog on cpu1 the whole time) while `hetsched train --from` (warm-started from GOOD):
#      phase 0  the device's WEAK policy
#      phase 1  GOOD pushed unchanged (--push-start)         -> verified (checksum, schema, masked
#                                                              sanity window), hot-swapped
#      phase 2  rollback (--rollback-at)                     -> back to WEAK
#      phase 3+ policies learned from the stream, pushed every phase (--push-every)
#    Each phase line gives the decisions, configuration changes and the delivered FPS read from
#    the stream, and how many of the device's actions equal the masked argmax of the network it
#    should be running (the swap / rollback check: the agent's action index is that argmax).
# Output files stay in $OUT (default: a fresh temp dir). Exit 1 if a step fails.
set -eu
BIN=${1:-build/tools/hetsched}
PHASE_S=${2:-8}
OUT=${OUT:-$(mktemp -d /tmp/eval_stream_push.XXXXXX)}
MODEL=mobilenet_v1
[ -x "$BIN" ] || { echo "eval_stream_push: $BIN is not an executable (build it: ninja -C build hetsched)" >&2; exit 1; }
mkdir -p "$OUT"
echo "eval_stream_push: outputs in $OUT; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

# Host scenarios (units A = cpu0, B = cpu1; target_fps 0 = no target, reward = throughput).
for s in "hog_b:B" "idle:" "hog_a:A"; do
  name=${s%%:*} unit=${s#*:}
  ev=""
  [ -n "$unit" ] && ev="{\"t_s\": 1, \"type\": \"background_load\", \"unit\": \"$unit\", \"cores\": 1, \"util\": 1.0, \"duration_s\": 9}"
  printf '{ "name": "host_%s", "duration_s": 10, "decision_period_ms": 100,\n  "initial": {"ambient_c": 25, "target_fps": 0, "max_latency_ms": null, "power_budget_mw": null},\n  "events": [ %s ] }\n' \
    "$name" "$ev" > "$OUT/$name.json"
done
SC="--scenarios $OUT/hog_b.json --scenarios $OUT/idle.json --scenarios $OUT/hog_a.json"

t0=$(date +%s)
"$BIN" profile --platform host --model $MODEL --out "$OUT/profile.json" --reps 5 > "$OUT/profile.log" 2>&1 ||
  { tail -3 "$OUT/profile.log" >&2; exit 1; }
echo "profile: $(tail -2 "$OUT/profile.log" | head -1)"
# shellcheck disable=SC2086
"$BIN" train --platform "$OUT/profile.json" --model $MODEL $SC --out "$OUT/weak.policy" --seed 2 --steps 1 > "$OUT/train_weak.log" 2>&1 ||
  { tail -c 400 "$OUT/train_weak.log" >&2; exit 1; }
# shellcheck disable=SC2086
"$BIN" train --platform "$OUT/profile.json" --model $MODEL $SC --out "$OUT/good.policy" --seed 1 --steps 60000 > "$OUT/train_good.log" 2>&1 ||
  { tail -c 400 "$OUT/train_good.log" >&2; exit 1; }
echo "trained: $(tr '\r' '\n' < "$OUT/train_weak.log" | grep '^train: wrote' | cut -c1-120)"
echo "trained: $(tr '\r' '\n' < "$OUT/train_good.log" | grep '^train: wrote' | cut -c1-120)"
echo "profile + training: $(( $(date +%s) - t0 )) s"

RUN_S=$((PHASE_S * 5))
"$BIN" run --platform host --model $MODEL --profile "$OUT/profile.json" --policy "$OUT/weak.policy" --seconds "$RUN_S" \
  --stress cpu1@0 --listen 127.0.0.1:0 --quiet --json > "$OUT/run.json" 2> "$OUT/run.log" &
RUN_PID=$!
ADDR=""
i=0
while [ $i -lt 150 ] && [ -z "$ADDR" ]; do
  ADDR=$(sed -n 's/.*run: listening on \([0-9.]*:[0-9]*\).*/\1/p' "$OUT/run.log" | head -1)
  kill -0 $RUN_PID 2>/dev/null || break
  [ -n "$ADDR" ] || sleep 0.2
  i=$((i + 1))
done
[ -n "$ADDR" ] || { echo "eval_stream_push: the run never listened:" >&2; cat "$OUT/run.log" >&2; kill $RUN_PID 2>/dev/null; exit 1; }
"$BIN" train --from "$ADDR" --policy "$OUT/good.policy" --profile "$OUT/profile.json" --out "$OUT/online.policy" \
  --push-start "$PHASE_S" --rollback-at $((PHASE_S * 2)) --push-every "$PHASE_S" --seconds $((RUN_S - 1)) > "$OUT/train_from.log" 2>&1 ||
  { cat "$OUT/train_from.log" >&2; kill $RUN_PID 2>/dev/null; exit 1; }
wait $RUN_PID || { echo "eval_stream_push: run failed:" >&2; cat "$OUT/run.log" >&2; exit 1; }

echo "--- train --from (the learner's view of the device)"
grep -E '^(push|rollback|phase|train --from:)' "$OUT/train_from.log"
echo "--- the device (its stream log and run --json, both on its stdout)"
grep -E 'stream: (policy push|rolled back)' "$OUT/run.json" | sed 's/^\[[^]]*\] \[info\] //'
grep '^{' "$OUT/run.json"
echo "--- summary"
awk '/^phase [0-9]+ \(/ { n=$2; sub(/^phase [0-9]+ \(/, ""); split($0, p, ", [0-9.]+-"); lab=p[1];
       match($0, /delivered fps mean [0-9.]+ \(sd [0-9.]+\)/); fps=substr($0, RSTART+19, RLENGTH-19);
       match($0, /[0-9]+ configuration changes/); ch=substr($0, RSTART, RLENGTH);
       printf "phase %s %-60s fps %-14s %s\n", n, lab, fps, ch }
     /^phase [0-9]+: the device/ { sub(/^phase [0-9]+: /, "  "); print }' "$OUT/train_from.log"
grep -q '^push 1: accepted' "$OUT/train_from.log" || { echo "eval_stream_push: the first push was not accepted" >&2; exit 1; }
grep -q '^rollback: accepted' "$OUT/train_from.log" || { echo "eval_stream_push: the rollback was not accepted" >&2; exit 1; }
