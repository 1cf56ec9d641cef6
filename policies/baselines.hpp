// Controllers: everything that picks the next configuration from telemetry each decision
// period. The trained agent (AgentController: encoder + Policy + ActionSpace) and the
// baselines it must beat share this interface, so env/policy_runner runs them identically.
// Inference only (no env/ include): the oracle baseline lives in env/policy_runner.
//
//   static            a fixed configuration (static-best = the oracle's choice for the
//                     scenario's initial conditions, picked offline as ARM-CO-UP does)
//   governor          a fixed mapping with per-domain DVFS: performance (highest OPP),
//                     powersave (lowest), schedutil (f_next = 1.25 · f_cur · util, i.e. Linux's
//                     1.25 · f_max · frequency-invariant util, then the lowest OPP >= f_next)
//   heuristic         reactive: on a QoS miss raise the slowest stage's unit one OPP, at the top
//                     OPP move a block off the slowest stage (rebalance); after `calm_periods`
//                     periods with QoS met, lower one OPP of the least-loaded used unit and
//                     keep it only if QoS still holds; blocks on an offline unit go to its host.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policies/action_space.hpp"
#include "policies/config.hpp"
#include "policies/obs_encoder.hpp"
#include "policies/platform.hpp"
#include "policies/policy.hpp"

namespace hetsched::policies {

class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string_view name() const noexcept = 0;
  // Restart (new run). `initial` is the configuration applied before the first period.
  virtual void reset(const Config& initial) noexcept = 0;
  // Called after every period with what was sensed; returns the configuration for the next.
  // noexcept and allocation-free.
  virtual const Config& decide(const TelemetryFrame& frame, const MaskInput& mask) noexcept = 0;
  // What the last decide() based its choice on and chose, for decision records (runtime
  // controller -> trace/stream): the observation vector verbatim and the action index.
  // Controllers without an encoded observation / action table return {} and -1.
  virtual std::span<const float> last_observation() const noexcept { return {}; }
  virtual int last_action() const noexcept { return -1; }
};

std::unique_ptr<Controller> make_static(const Config& config, std::string name = "static");

enum class Governor { kPerformance, kPowersave, kSchedutil };
std::unique_ptr<Controller> make_governor(const PlatformDesc& platform, const Config& mapping, Governor g);

struct HeuristicOptions {
  int calm_periods = 10;         // periods with QoS met before trying a lower OPP
  double margin = 1.05;          // QoS "holds with margin" when fps >= margin · 0.95 · target
};
std::unique_ptr<Controller> make_heuristic(const PlatformDesc& platform, const ModelDesc& model, const Config& start,
                                           const HeuristicOptions& options = {});

// The shipped agent controller's safety layer around the learned policy (docs/agent-design.md);
// "predicted to miss" below uses trigger_margin for the running configuration:
//   jump hysteresis  a jump to another candidate is taken when the policy chose it in the
//                    previous period too, at once when staying is masked, the targets just
//                    changed, or the running configuration is predicted to miss the target;
//   QoS guard        when the running configuration is predicted to miss the QoS targets under
//                    the sensed slowdowns (guard_periods in a row), or QoS was violated for
//                    violated_periods settled periods, and the policy's choice is not predicted
//                    to meet them either, jump to the cheapest allowed candidate predicted to
//                    meet them with fps_margin (none: the fastest allowed). After a guard jump,
//                    for hold_periods the policy may only move to configurations predicted to
//                    meet QoS (the delivered-FPS window needs ~1 s to show the effect).
// Without a target FPS (as fast as possible) "meets QoS" means a predicted FPS within 10 % of
// the fastest allowed candidate's.
//   best effort      a target is set and no allowed candidate is predicted to meet it: the
//                    margins apply to best_effort_fraction x the fastest allowed candidate's
//                    predicted FPS (the oracle's fallback: fastest, then cheapest among
//                    near-ties); no violated-QoS trigger; from a configuration in that band a
//                    jump must be predicted >= 2 % cheaper and a nudge must stay in the band;
//   energy rule      with a target the running configuration is predicted to meet (no
//                    violation sensed), a policy jump must be predicted >= 2 % cheaper;
//   economy jump     after economy_settled unchanged periods meeting the targets, move to the
//                    cheapest candidate predicted to meet them with fps_margin if it is
//                    predicted >= economy_saving cheaper per frame;
//   borderline       a candidate meeting the target only without the margin is taken (policy
//                    jump or guard pick) when predicted >= 10 % cheaper.
// The guard needs the action space's predicted costs; without them it never fires.
struct AgentOptions {
  bool guard = true;          // enable the QoS guard
  int guard_periods = 2;      // consecutive periods the running config is predicted infeasible
  int violated_periods = 3;   // consecutive periods with QoS violated, counted once settled (12 periods unchanged)
  int hold_periods = 12;      // after a guard jump (the FPS window is 1 s = 10 periods)
  double fps_margin = 1.03;   // the guard prefers candidates with predicted fps >= fps_margin · target
  double trigger_margin = 0.98;  // the running config is "predicted short" below trigger_margin · target
                                 // (a 2 % band for measurement noise in the sensed slowdowns)
  double veto_margin = 1.02;  // a policy jump needs predicted fps >= veto_margin · target (hysteresis
                              // against the guard's 1.0 trigger: no flip-flop on a borderline candidate)
  double economy_saving = 0.15;  // economy jump: a candidate predicted to meet the targets with fps_margin
                                 // and >= this fraction cheaper per frame than the running one (0 = off)
  int economy_settled = 20;      // ... once the running configuration has run this many periods unchanged
  double best_effort_fraction = 0.95;  // no allowed candidate meets the target: the margins above
                                       // apply to this fraction of the fastest one's predicted FPS
  int violation_jumps = 1;     // guard jumps fired by a sensed violation alone per target setting (0 = none)
  int pingpong_periods = 30;   // no jump back to the candidate the last jump left within this many periods
};
// Counters of the last run (reset by Controller::reset): decisions, guard jumps, vetoed moves.
struct AgentCounters {
  long decisions = 0, guard_jumps = 0, vetoes = 0, policy_jumps = 0, economy_jumps = 0;
};

// The trained agent as a controller: encode → mask → policy.decide → action space apply.
// The policy must match encoder.size() and space.size() (checked at creation).
Result<std::unique_ptr<Controller>> make_agent(std::shared_ptr<const ActionSpace> space, ObsEncoder encoder,
                                               std::unique_ptr<Policy> policy, const AgentOptions& options = {});
// Counters of an agent made by make_agent (nullptr for other controllers).
const AgentCounters* agent_counters(const Controller& c) noexcept;

// True if the frame violates the targets it carries (the metrics rule: fps < 0.95·target,
// worst latency > bound, power > budget).
bool qos_violated(const TelemetryFrame& f) noexcept;

}  // namespace hetsched::policies
