// Counterfactual replay: the conditions of a recorded run re-run in the simulator under another
// policy, with the run metrics (env/metrics.hpp) of both side by side (docs/replay.md).
#pragma once

#include <string>
#include <vector>

#include "env/metrics.hpp"
#include "policies/platform.hpp"
#include "tools/replay_target.hpp"

namespace hetsched::tools {

// The metrics of a recorded run recomputed from its frame records with env::MetricsAccumulator
// (per period: frames, worst latency, power x period, hottest zone, thermal cap below the top
// OPP = throttled, targets; completions assumed evenly spaced inside a period; reconfigs =
// kConfigApplied events that change the split or placement).
env::Metrics metrics_from_trace(const ReplayLoad& ld, const policies::PlatformDesc& platform, double period_s);

// `hetsched replay TRACE --counterfactual --policy P [--json]`; returns the exit code.
int run_counterfactual(const std::string& path, const std::string& policy, bool json);

}  // namespace hetsched::tools
