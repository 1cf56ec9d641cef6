#include "policies/action_space.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace hetsched::policies {

Result<AccuracyTable> load_accuracy_table(const std::string& data_dir, const std::string& model) {
  AccuracyTable t;
  const std::string path = data_dir + "/policies/accuracy_" + model + ".json";
  std::ifstream f(path);
  if (!f) return t;  // no table for this model: no accuracy mask
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    return Error(StatusCode::kInvalidArgument, path + ": not JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("fp32_map") || !j["fp32_map"].is_number())
    return Error(StatusCode::kInvalidArgument, path + ": fp32_map: missing or not a number");
  if (!j.contains("drop_per_block") || !j["drop_per_block"].is_array())
    return Error(StatusCode::kInvalidArgument, path + ": drop_per_block: missing or not an array");
  t.model = model;
  t.fp32_map = j["fp32_map"].get<double>();
  for (size_t i = 0; i < j["drop_per_block"].size(); ++i) {
    const auto& v = j["drop_per_block"][i];
    if (!v.is_number())
      return Error(StatusCode::kInvalidArgument, path + ": drop_per_block[" + std::to_string(i) + "]: not a number");
    t.drop.push_back(v.get<double>());
  }
  t.source = j.value("source", std::string());
  return t;
}

double predicted_map(const AccuracyTable& t, const Config& c) noexcept {
  double m = t.fp32_map;
  for (int b = 0; b < c.num_blocks && b < static_cast<int>(t.drop.size()); ++b)
    if (c.unit[static_cast<size_t>(b)] == 'N') m -= t.drop[static_cast<size_t>(b)];
  return m;
}

std::uint32_t ActionSpace::used_units(const Config& c) const noexcept {
  std::uint32_t m = 0;
  for (int b = 0; b < c.num_blocks; ++b) {
    const int u = letter_unit_[static_cast<unsigned char>(c.unit[static_cast<size_t>(b)]) & 127];
    if (u >= 0) m |= 1u << u;
  }
  // An accelerator is driven by a host CPU cluster: offline or capped host = unusable too.
  for (int u = 0; u < platform_.num_units(); ++u) {
    if (!(m & (1u << u))) continue;
    const UnitKind k = platform_.units[static_cast<size_t>(u)].kind;
    const char host = k == UnitKind::kGpu ? c.gpu_host : k == UnitKind::kNpu ? c.npu_host : 0;
    if (host) {
      const int h = letter_unit_[static_cast<unsigned char>(host) & 127];
      if (h >= 0) m |= 1u << h;
    }
  }
  return m;
}

Result<ActionSpace> ActionSpace::create(const PlatformDesc& platform, const ModelDesc& model, ActionSpaceOptions o) {
  ActionSpace a;
  a.platform_ = platform;
  a.letter_unit_.fill(-1);
  for (int u = 0; u < platform.num_units(); ++u)
    a.letter_unit_[static_cast<unsigned char>(platform.units[static_cast<size_t>(u)].letter) & 127] = static_cast<std::int8_t>(u);
  if (o.candidates.empty()) return Error(StatusCode::kInvalidArgument, "action space: candidates: none given");
  if (!o.costs.empty() && o.costs.size() != o.candidates.size())
    return Error(StatusCode::kInvalidArgument, "action space: costs: " + std::to_string(o.costs.size()) + " entries for " +
                                                   std::to_string(o.candidates.size()) + " candidates");
  for (size_t i = 0; i < o.candidates.size(); ++i) {
    const Config& c = o.candidates[i];
    if (!o.costs.empty()) {
      const CandidateCost& k = o.costs[i];
      bool ok = std::isfinite(k.idle_mw) && k.idle_mw >= 0;
      float busy = 0;
      for (int u = 0; u < kMaxUnits; ++u) {
        ok = ok && std::isfinite(k.busy_ms[static_cast<size_t>(u)]) && k.busy_ms[static_cast<size_t>(u)] >= 0 &&
             std::isfinite(k.dyn_mw[static_cast<size_t>(u)]) && k.dyn_mw[static_cast<size_t>(u)] >= 0;
        busy = std::max(busy, k.busy_ms[static_cast<size_t>(u)]);
      }
      if (!ok || !(busy > 0))
        return Error(StatusCode::kInvalidArgument, "action space: costs[" + std::to_string(i) +
                                                       "]: busy_ms/dyn_mw/idle_mw must be finite and >= 0 with some busy time");
    }
    if (c.per_block_freq)
      return Error(StatusCode::kInvalidArgument, "action space: candidates[" + std::to_string(i) + "]: switch mode is not supported");
    if (Status st = validate_config(c, platform, model); !st.ok())
      return Error(StatusCode::kInvalidArgument, "action space: candidates[" + std::to_string(i) + "]: " + st.message());
    if (std::find(a.cand_.begin(), a.cand_.end(), c) == a.cand_.end()) {
      a.cand_.push_back(c);
      if (!o.costs.empty()) a.costs_.push_back(o.costs[i]);
    }
  }
  if (static_cast<int>(a.cand_.size()) > kMaxCandidates)
    return Error(StatusCode::kInvalidArgument, "action space: " + std::to_string(a.cand_.size()) +
                                                   " distinct candidates, at most " + std::to_string(kMaxCandidates));
  if (!o.accuracy.model.empty() && o.accuracy.model == model.name &&
      static_cast<int>(o.accuracy.drop.size()) != model.num_blocks())
    return Error(StatusCode::kInvalidArgument, "action space: accuracy table for " + model.name + " has " +
                                                   std::to_string(o.accuracy.drop.size()) + " blocks, model has " +
                                                   std::to_string(model.num_blocks()));
  const bool use_acc = o.min_map > 0 && !o.accuracy.model.empty() && o.accuracy.model == model.name;
  for (const Config& c : a.cand_) {
    bool ok = true;
    for (int b = 0; b < c.num_blocks && ok; ++b) {
      const int u = a.letter_unit_[static_cast<unsigned char>(c.unit[static_cast<size_t>(b)]) & 127];
      const UnitKind kind = platform.units[static_cast<size_t>(u)].kind;
      for (const UnsupportedOp& x : o.unsupported)
        if (x.kind == kind)
          for (OpType op : model.blocks[static_cast<size_t>(b)].op_types)
            if (op == x.op) ok = false;
    }
    if (ok && use_acc && predicted_map(o.accuracy, c) < o.min_map) ok = false;
    a.static_ok_.push_back(ok ? 1 : 0);
    a.cand_units_.push_back(a.used_units(c));
  }
  if (o.nudges)
    for (int u = 0; u < platform.num_units(); ++u)
      if (platform.units[static_cast<size_t>(u)].has_dvfs()) a.dvfs_units_.push_back(u);
  a.num_actions_ = static_cast<int>(a.cand_.size() + 2 * a.dvfs_units_.size() + 1);

  std::ostringstream s;
  s << "jumps+nudges+stay v2; candidates=";
  for (size_t k = 0; k < a.cand_.size(); ++k) s << (k ? "|" : "") << format_config(a.cand_[k], platform);
  s << "; nudges=";
  for (int u : a.dvfs_units_) s << platform.units[static_cast<size_t>(u)].letter;
  s << "; static_mask=";
  for (auto ok : a.static_ok_) s << (ok ? '1' : '0');
  // The predicted costs feed the observation, so a policy is bound to the numbers it was trained with.
  s << "; costs=" << (a.costs_.empty() ? "none" : "") << std::setprecision(4);
  for (const CandidateCost& k : a.costs_) {
    s << k.idle_mw;
    for (int u = 0; u < platform.num_units(); ++u) s << ',' << k.busy_ms[static_cast<size_t>(u)] << ',' << k.dyn_mw[static_cast<size_t>(u)];
    s << '/';
  }
  a.schema_ = s.str();
  return a;
}

int ActionSpace::find_candidate(const Config& c) const noexcept {
  for (size_t k = 0; k < cand_.size(); ++k)
    if (cand_[k] == c) return static_cast<int>(k);
  return -1;
}

bool ActionSpace::mask(const Config& current, const MaskInput& in, std::span<std::uint8_t> out) const noexcept {
  if (static_cast<int>(out.size()) != num_actions_) return false;
  std::uint32_t offline = 0;
  for (int u = 0; u < platform_.num_units(); ++u)
    if (!in.online[static_cast<size_t>(u)]) offline |= 1u << u;
  const int K = static_cast<int>(cand_.size());
  for (int k = 0; k < K; ++k) {
    const Config& c = cand_[static_cast<size_t>(k)];
    bool ok = static_ok_[static_cast<size_t>(k)] && !(cand_units_[static_cast<size_t>(k)] & offline);
    // Thermal cap: a candidate that needs an OPP above the sensed cap cannot deliver what it
    // was chosen for (the governor would clamp it), so it is not offered.
    for (int u = 0; u < platform_.num_units() && ok; ++u)
      if ((cand_units_[static_cast<size_t>(k)] >> u & 1u) && platform_.units[static_cast<size_t>(u)].has_dvfs() &&
          c.freq_idx[static_cast<size_t>(u)] > in.max_opp[static_cast<size_t>(u)])
        ok = false;
    out[static_cast<size_t>(k)] = ok ? 1 : 0;
  }
  const std::uint32_t used = current.num_blocks > 0 ? used_units(current) : 0;
  for (size_t j = 0; j < dvfs_units_.size(); ++j) {
    const int u = dvfs_units_[j];
    const int f = current.freq_idx[static_cast<size_t>(u)];
    const int top = std::min(platform_.units[static_cast<size_t>(u)].max_opp(), in.max_opp[static_cast<size_t>(u)]);
    const bool on = (used >> u & 1u) && !(offline >> u & 1u);
    out[static_cast<size_t>(K) + 2 * j] = on && f > 0 ? 1 : 0;
    out[static_cast<size_t>(K) + 2 * j + 1] = on && f < top ? 1 : 0;
  }
  // Staying is always possible unless the current configuration cannot run at all.
  out[static_cast<size_t>(num_actions_ - 1)] = current.num_blocks > 0 && !(used & offline) ? 1 : 0;
  return true;
}

Config ActionSpace::apply(int action, const Config& current) const noexcept {
  const int K = static_cast<int>(cand_.size());
  if (action < 0 || action >= num_actions_) return current;
  if (action < K) return cand_[static_cast<size_t>(action)];
  if (action == num_actions_ - 1) return current;
  const int j = (action - K) / 2;
  const int u = dvfs_units_[static_cast<size_t>(j)];
  Config c = current;
  const int f = c.freq_idx[static_cast<size_t>(u)] + ((action - K) % 2 ? 1 : -1);
  c.freq_idx[static_cast<size_t>(u)] =
      static_cast<std::int8_t>(std::clamp(f, 0, platform_.units[static_cast<size_t>(u)].max_opp()));
  return c;
}

std::string ActionSpace::describe(int action) const {
  const int K = static_cast<int>(cand_.size());
  if (action < 0 || action >= num_actions_) return "none";
  if (action < K) return "jump " + format_config(cand_[static_cast<size_t>(action)], platform_);
  if (action == num_actions_ - 1) return "stay";
  const int j = (action - K) / 2;
  return std::string(1, platform_.units[static_cast<size_t>(dvfs_units_[static_cast<size_t>(j)])].letter) +
         ((action - K) % 2 ? "+" : "-");
}

}  // namespace hetsched::policies
