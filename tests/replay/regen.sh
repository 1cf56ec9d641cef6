#!/bin/sh
# Regenerates the golden traces of the replay regression suite (tests/replay/README.md).
# usage: sh tests/replay/regen.sh [HETSCHED_BINARY]   (from the repository root)
# Each golden trace is one short simulated run, recorded with `hetsched sim --record`; the policy
# per scenario is listed below (the heuristic's internal state and the trained agent's
# observation vectors both get exercised).
set -eu
H=${1:-build/tools/hetsched}
D=tests/replay
while read -r scenario policy; do
  "$H" sim --scenario "$D/scenarios/$scenario.json" --policy "$policy" --seed 1 --record "$D/golden/$scenario.trace" --json \
    > /dev/null
  echo "$D/golden/$scenario.trace  ($policy)"
done <<LIST
steady trained
big_bursts heuristic
little_bursts heuristic
gpu_contention trained
hot_ambient governor:schedutil
fps_change heuristic
power_budget trained
npu_offline heuristic
combined trained
LIST
