// The agent's action space: jumps to a fixed set of candidate configurations, ±1 OPP nudges
// per DVFS unit, and "stay". Why this shape (docs/agent-design.md): the candidates are the
// oracle's choices over a grid of conditions (computed by env/ at create time and passed in
// here, so policies/ stays env-free), so one action reaches any configuration that is optimal
// somewhere; the nudges let the policy trade a little energy for QoS (or back) without a full
// re-split, which costs a drain + re-setup. K candidates + 2·D nudges + 1 stays ≤ ~100 actions,
// small enough for a DQN to learn in minutes.
//
//   index:  [0, K)            jump to candidate k (order, hosts and OPPs replaced)
//           [K, K + 2D)       unit dvfs_units[j]: K + 2j = one OPP down, K + 2j + 1 = one OPP up
//           K + 2D            stay (keep the current configuration)
//
// Masks (mask() is noexcept, allocation-free):
//   static (at create): candidates with a block on a unit whose kernels lack one of its op
//     types (Options::unsupported), and NPU (int8) placements whose predicted mAP is below the
//     accuracy budget (Options::accuracy; yolov3 only, table in policies/accuracy_yolov3.json).
//   dynamic (per decision): candidates using a unit (or host) sensed offline, candidates
//     needing an OPP above the sensed cap, nudges above the cap / below 0 / on units the
//     current configuration does not use.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

struct UnsupportedOp {
  UnitKind kind = UnitKind::kNpu;   // units of this kind cannot run ...
  OpType op = OpType::kCount;       // ... blocks containing this op
};

// Predicted accuracy when a contiguous range of blocks runs int8 on the NPU:
//   map = fp32_map - sum over the range of drop[block]   (additive fit, see the JSON file)
struct AccuracyTable {
  std::string model;                // the table applies to this model only ("" = no table)
  double fp32_map = 0;              // mAP with nothing quantised (fitted intercept)
  std::vector<double> drop;         // per block, mAP points lost when it is quantised
  std::string source;               // where it was derived from
};
// Reads policies/accuracy_<model>.json under data_dir; a model without a file gets an empty
// table (no accuracy mask). Errors name the file and field.
Result<AccuracyTable> load_accuracy_table(const std::string& data_dir, const std::string& model);

// What the cost model predicts for one candidate on an idle board (computed by env/ when the
// policy is trained, stored in the policy file). The encoder and the QoS guard combine it with
// the per-unit slowdowns they sense to predict each candidate's FPS and energy per frame now.
struct CandidateCost {
  std::array<float, kMaxUnits> busy_ms{};  // busy time per frame on each unit (its stages incl. transfers)
  std::array<float, kMaxUnits> dyn_mw{};   // dynamic power of each unit while busy at the candidate's OPP
  float idle_mw = 0;                       // board power with every unit idle at the candidate's OPPs
};

struct ActionSpaceOptions {
  std::vector<Config> candidates;        // jump targets, pipeline mode; duplicates removed; 1..kMaxCandidates
  std::vector<CandidateCost> costs;      // empty, or one per candidate (same order; a duplicate's entry is dropped with it)
  bool nudges = true;                    // add ±1 OPP actions per DVFS unit
  std::vector<UnsupportedOp> unsupported;  // op support table (default: none known for the shipped models)
  AccuracyTable accuracy;                // empty model = no accuracy mask
  double min_map = 0;                    // accuracy budget: smallest acceptable predicted mAP (0 = none)
};

// What the masks need from telemetry, in platform unit order.
struct MaskInput {
  std::array<bool, kMaxUnits> online{true, true, true, true, true, true};  // sensed online
  std::array<int, kMaxUnits> max_opp{127, 127, 127, 127, 127, 127};        // sensed cap (OPP index)
};

class ActionSpace {
 public:
  static constexpr int kMaxCandidates = 96;

  static Result<ActionSpace> create(const PlatformDesc& platform, const ModelDesc& model, ActionSpaceOptions options);

  int size() const noexcept { return num_actions_; }
  int num_candidates() const noexcept { return static_cast<int>(cand_.size()); }
  int stay_action() const noexcept { return num_actions_ - 1; }
  const Config& candidate(int k) const noexcept { return cand_[static_cast<std::size_t>(k)]; }
  // Candidate index equal to c (order, hosts, OPPs), or -1.
  int find_candidate(const Config& c) const noexcept;
  // True if candidate k passed the static (op support, accuracy) checks.
  bool statically_allowed(int k) const noexcept { return static_ok_[static_cast<std::size_t>(k)] != 0; }
  // Predicted costs (empty when the options gave none).
  bool has_costs() const noexcept { return !costs_.empty(); }
  const CandidateCost& cost(int k) const noexcept { return costs_[static_cast<std::size_t>(k)]; }
  const PlatformDesc& platform() const noexcept { return platform_; }

  // out.size() must equal size(); false (out untouched) otherwise.
  bool mask(const Config& current, const MaskInput& in, std::span<std::uint8_t> out) const noexcept;
  // The configuration after taking `action` in `current` (kNoAction / out of range: current).
  Config apply(int action, const Config& current) const noexcept;
  // Human-readable action, e.g. "jump BBBBGGGGGNNNN:BL:5,7,4", "G-", "stay".
  std::string describe(int action) const;
  // Goes into the policy file's schema hash: the candidates' text and the nudge units, so a
  // policy trained on another action space is refused.
  const std::string& schema() const noexcept { return schema_; }
  // Units the configuration occupies (blocks + GPU/NPU hosts), bit u = platform unit u.
  std::uint32_t used_units(const Config& c) const noexcept;

 private:
  ActionSpace() = default;
  PlatformDesc platform_;
  std::vector<Config> cand_;
  std::vector<std::uint8_t> static_ok_;
  std::vector<CandidateCost> costs_;
  std::vector<std::uint32_t> cand_units_;     // used_units per candidate
  std::vector<int> dvfs_units_;               // platform indices of nudgeable units
  std::array<std::int8_t, 128> letter_unit_{};  // letter -> unit index (-1 none)
  std::string schema_;
  int num_actions_ = 0;
};

// Predicted int8 mAP of the NPU blocks of c (fp32_map if none / no table); see AccuracyTable.
double predicted_map(const AccuracyTable& t, const Config& c) noexcept;

}  // namespace hetsched::policies
