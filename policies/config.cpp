// Configurations in ARM-CO-UP notation, "ORDER:HOSTS:FREQS" (docs/models.md, "Configurations").
//
// Parsing happens at the edges (CLI, traces); the result is a fixed-capacity Config that the
// hot paths copy and compare without allocating. Errors point at the character or item the
// user typed: order[i] and freqs[i] are positions in the text as given (which may be a coarse
// grouping of the model), not block indices.
#include "policies/config.hpp"

#include <charconv>
#include <vector>

namespace hetsched::policies {

namespace {

std::string unit_list(const PlatformDesc& p) {
  std::string s;
  for (const UnitDesc& u : p.units) s += (s.empty() ? "" : " ") + std::string(1, u.letter);
  return s;
}

std::string letters(const std::string& s) {
  std::string out;
  for (char ch : s) out += (out.empty() ? "" : " ") + std::string(1, ch);
  return out;
}

const UnitDesc* unit_of(const PlatformDesc& p, char letter) {
  const int i = p.unit_index(letter);
  return i < 0 ? nullptr : &p.units[static_cast<size_t>(i)];
}

bool is_accel(const UnitDesc& u) { return u.kind != UnitKind::kCpu; }

// Which CPU units may drive accelerator `kind`: the accelerator's `hosts` letters, or any CPU
// unit when the platform has no such accelerator (the letter is then never used).
Status check_host(const PlatformDesc& p, char host, UnitKind kind, const std::string& field) {
  const char* what = kind == UnitKind::kGpu ? "GPU" : "NPU";
  const UnitDesc* h = unit_of(p, host);
  if (h == nullptr || h->kind != UnitKind::kCpu)
    return Error(StatusCode::kInvalidArgument, field + ": '" + std::string(1, host) + "' is not a CPU unit on platform " +
                                                   p.name + " (units: " + unit_list(p) + ")");
  for (const UnitDesc& u : p.units) {
    if (u.kind == kind && !u.hosts.empty() && u.hosts.find(host) == std::string::npos)
      return Error(StatusCode::kInvalidArgument, field + ": '" + std::string(1, host) + "' cannot host the " + what +
                                                     " on platform " + p.name + " (allowed: " + letters(u.hosts) + ")");
  }
  return Status::Ok();
}

Status check_opp(const UnitDesc& u, int idx, const std::string& field) {
  if (!u.has_dvfs()) {
    if (idx == -1) return Status::Ok();
    return Error(StatusCode::kOutOfRange, field + ": unit " + std::string(1, u.letter) +
                                              " has no DVFS; its frequency must be '-' (-1), got " + std::to_string(idx));
  }
  if (idx < 0 || idx > u.max_opp())
    return Error(StatusCode::kOutOfRange, field + ": OPP index " + std::to_string(idx) + " out of range 0.." +
                                              std::to_string(u.max_opp()) + " for unit " + std::string(1, u.letter));
  return Status::Ok();
}

// One frequency token: a decimal OPP index, "max", "min", or "-" (no DVFS).
Status parse_freq(const std::string& tok, const UnitDesc& u, const std::string& field, int* out) {
  if (tok == "-") {
    *out = -1;
  } else if (tok == "max") {
    *out = u.has_dvfs() ? u.max_opp() : -1;
  } else if (tok == "min") {
    *out = u.has_dvfs() ? 0 : -1;
  } else {
    int v = 0;
    const char* b = tok.data();
    const char* e = tok.data() + tok.size();
    auto [ptr, ec] = std::from_chars(b, e, v);
    if (tok.empty() || ec != std::errc() || ptr != e)
      return Error(StatusCode::kInvalidArgument, field + ": '" + tok + "' is not an OPP index (integer, max, min or -)");
    *out = v;
  }
  return check_opp(u, *out, field);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

// Expands order (one letter per group of some grouping) to per-group block ranges.
Result<std::vector<int>> group_ends(const ModelDesc& model, const std::string& order) {
  const int n = static_cast<int>(order.size());
  std::vector<int> ends;
  if (n == model.num_blocks()) {
    for (int b = 1; b <= n; ++b) ends.push_back(b);
    return ends;
  }
  if (const Grouping* g = model.grouping_with(n)) return g->end;
  std::string accepted = std::to_string(model.num_blocks()) + " (blocks)";
  for (const Grouping& g : model.groupings)
    if (static_cast<int>(g.end.size()) != model.num_blocks())
      accepted += " or " + std::to_string(g.end.size()) + " (" + g.name + ")";
  return Error(StatusCode::kInvalidArgument, "order: " + std::to_string(n) + " letters, but model " + model.name +
                                                 " takes " + accepted + " letters");
}

}  // namespace

Result<std::string> expand_order(const ModelDesc& model, const std::string& order) {
  if (order.empty()) return Error(StatusCode::kInvalidArgument, "order: empty (one unit letter per block or group)");
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] < 'A' || order[i] > 'Z')
      return Error(StatusCode::kInvalidArgument, "order[" + std::to_string(i) + "]: '" + std::string(1, order[i]) +
                                                     "' is not a unit letter (L, B, G, N ...)");
  }
  Result<std::vector<int>> ends = group_ends(model, order);
  if (!ends.ok()) return ends.status();
  std::string out;
  int first = 0;
  for (size_t g = 0; g < ends->size(); ++g) {
    out.append(static_cast<size_t>((*ends)[g] - first), order[g]);
    first = (*ends)[g];
  }
  return out;
}

Result<Config> parse_config(const std::string& text, const PlatformDesc& platform, const ModelDesc& model) {
  const std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 3)
    return Error(StatusCode::kInvalidArgument, "config '" + text + "': expected ORDER:HOSTS:FREQS (3 fields separated by ':'), got " +
                                                   std::to_string(parts.size()));
  const std::string& order = parts[0];
  const std::string& hosts = parts[1];
  const std::string& freqs = parts[2];
  if (model.num_blocks() > kMaxBlocks)
    return Error(StatusCode::kInvalidArgument, "model " + model.name + " has more than " + std::to_string(kMaxBlocks) + " blocks");

  for (size_t i = 0; i < order.size(); ++i) {
    if (platform.unit_index(order[i]) < 0)
      return Error(StatusCode::kInvalidArgument, "order[" + std::to_string(i) + "]: unit '" + std::string(1, order[i]) +
                                                     "' is not on platform " + platform.name + " (units: " + unit_list(platform) + ")");
  }
  Result<std::string> blocks = expand_order(model, order);
  if (!blocks.ok()) return blocks.status();
  const std::vector<int> ends = group_ends(model, order).value();

  Config c;
  c.num_blocks = model.num_blocks();
  for (int b = 0; b < c.num_blocks; ++b) c.unit[static_cast<size_t>(b)] = (*blocks)[static_cast<size_t>(b)];

  if (hosts.size() != 2)
    return Error(StatusCode::kInvalidArgument, "hosts: expected 2 letters (GPU host, NPU host), got '" + hosts + "'");
  HETSCHED_RETURN_IF_ERROR(check_host(platform, hosts[0], UnitKind::kGpu, "hosts[0]"));
  HETSCHED_RETURN_IF_ERROR(check_host(platform, hosts[1], UnitKind::kNpu, "hosts[1]"));
  c.gpu_host = hosts[0];
  c.npu_host = hosts[1];

  if (freqs.empty()) return Error(StatusCode::kInvalidArgument, "freqs: empty (OPP indices, see docs/models.md)");
  const std::vector<std::string> items = split(freqs, ',');
  std::string dvfs;  // letters of DVFS units, platform order
  for (const UnitDesc& u : platform.units)
    if (u.has_dvfs()) dvfs += u.letter;
  const bool has_slash = freqs.find('/') != std::string::npos;
  // Mode by item count: one per DVFS unit = pipeline, one per order letter = switch. A '/' (own/host
  // pair of an accelerator block) only occurs in switch mode, which settles the rare tie.
  const bool pipeline = !has_slash && items.size() == dvfs.size();
  if (!pipeline && items.size() != order.size())
    return Error(StatusCode::kInvalidArgument,
                 "freqs: " + std::to_string(items.size()) + " values; expected " + std::to_string(dvfs.size()) +
                     " (pipeline mode: one per DVFS unit " + letters(dvfs) + ") or " + std::to_string(order.size()) +
                     " (switch mode: one per order letter)");
  for (int u = 0; u < kMaxUnits; ++u) c.freq_idx[static_cast<size_t>(u)] = 0;
  for (int u = 0; u < platform.num_units(); ++u)
    if (!platform.units[static_cast<size_t>(u)].has_dvfs()) c.freq_idx[static_cast<size_t>(u)] = -1;

  if (pipeline) {
    for (size_t k = 0; k < items.size(); ++k) {
      const int u = platform.unit_index(dvfs[k]);
      int idx = 0;
      HETSCHED_RETURN_IF_ERROR(parse_freq(items[k], platform.units[static_cast<size_t>(u)], "freqs[" + std::to_string(k) + "]", &idx));
      c.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(idx);
    }
  } else {
    c.per_block_freq = true;
    int first = 0;
    for (size_t g = 0; g < items.size(); ++g) {
      const std::string f = "freqs[" + std::to_string(g) + "]";
      const UnitDesc& u = *unit_of(platform, order[g]);
      const std::vector<std::string> pair = split(items[g], '/');
      int own = -1, host = -1;
      if (!is_accel(u)) {
        if (pair.size() != 1)
          return Error(StatusCode::kInvalidArgument, f + ": '" + items[g] + "': a CPU block (" + std::string(1, u.letter) + ") takes one OPP index");
        HETSCHED_RETURN_IF_ERROR(parse_freq(pair[0], u, f, &own));
      } else {
        const UnitDesc& h = *unit_of(platform, u.kind == UnitKind::kGpu ? c.gpu_host : c.npu_host);
        if (u.has_dvfs()) {
          // Own OPP and the host's: the host cluster's clock drives kernel launches and copies.
          if (pair.size() != 2)
            return Error(StatusCode::kInvalidArgument, f + ": '" + items[g] + "': a " + std::string(1, u.letter) +
                                                           " block takes OWN/HOST OPP indices, e.g. 4/7");
          HETSCHED_RETURN_IF_ERROR(parse_freq(pair[0], u, f + ".own", &own));
          HETSCHED_RETURN_IF_ERROR(parse_freq(pair[1], h, f + ".host", &host));
        } else {
          // No own DVFS (RK3399Pro NPU): the only knob is the host's frequency.
          if (pair.size() != 1)
            return Error(StatusCode::kInvalidArgument, f + ": '" + items[g] + "': unit " + std::string(1, u.letter) +
                                                           " has no DVFS; give only the host's OPP index");
          HETSCHED_RETURN_IF_ERROR(parse_freq(pair[0], h, f + ".host", &own));
        }
      }
      for (int b = first; b < ends[g]; ++b) {
        c.block_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(own);
        c.block_host_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(host);
      }
      first = ends[g];
    }
  }
  HETSCHED_RETURN_IF_ERROR(validate_config(c, platform, model));
  return c;
}

std::string format_config(const Config& c, const PlatformDesc& platform) {
  std::string s = c.order() + ":" + std::string(1, c.gpu_host) + std::string(1, c.npu_host) + ":";
  auto num = [](int v) { return v < 0 ? std::string("-") : std::to_string(v); };
  bool first = true;
  auto sep = [&]() { if (!first) s += ','; first = false; };
  if (!c.per_block_freq) {
    for (int u = 0; u < platform.num_units() && u < kMaxUnits; ++u) {
      if (!platform.units[static_cast<size_t>(u)].has_dvfs()) continue;
      sep();
      s += num(c.freq_idx[static_cast<size_t>(u)]);
    }
    return s;
  }
  for (int b = 0; b < c.num_blocks && b < kMaxBlocks; ++b) {
    sep();
    s += num(c.block_freq[static_cast<size_t>(b)]);
    const UnitDesc* u = unit_of(platform, c.unit[static_cast<size_t>(b)]);
    if (u != nullptr && is_accel(*u) && u->has_dvfs()) s += "/" + num(c.block_host_freq[static_cast<size_t>(b)]);
  }
  return s;
}

Status validate_config(const Config& c, const PlatformDesc& platform, const ModelDesc& model) {
  if (c.num_blocks != model.num_blocks())
    return Error(StatusCode::kInvalidArgument, "num_blocks: " + std::to_string(c.num_blocks) + " but model " + model.name +
                                                   " has " + std::to_string(model.num_blocks()) + " blocks");
  if (c.num_blocks <= 0 || c.num_blocks > kMaxBlocks)
    return Error(StatusCode::kInvalidArgument, "num_blocks: " + std::to_string(c.num_blocks) + " outside 1.." + std::to_string(kMaxBlocks));
  for (int b = 0; b < c.num_blocks; ++b) {
    const char l = c.unit[static_cast<size_t>(b)];
    if (platform.unit_index(l) < 0)
      return Error(StatusCode::kInvalidArgument, "unit[" + std::to_string(b) + "]: unit '" + std::string(1, l) +
                                                     "' is not on platform " + platform.name + " (units: " + unit_list(platform) + ")");
  }
  HETSCHED_RETURN_IF_ERROR(check_host(platform, c.gpu_host, UnitKind::kGpu, "gpu_host"));
  HETSCHED_RETURN_IF_ERROR(check_host(platform, c.npu_host, UnitKind::kNpu, "npu_host"));
  if (!c.per_block_freq) {
    for (int u = 0; u < platform.num_units() && u < kMaxUnits; ++u)
      HETSCHED_RETURN_IF_ERROR(check_opp(platform.units[static_cast<size_t>(u)], c.freq_idx[static_cast<size_t>(u)],
                                         "freq_idx[" + std::to_string(u) + "]"));
    return Status::Ok();
  }
  for (int b = 0; b < c.num_blocks; ++b) {
    const std::string f = "block_freq[" + std::to_string(b) + "]";
    const UnitDesc& u = *unit_of(platform, c.unit[static_cast<size_t>(b)]);
    const int own = c.block_freq[static_cast<size_t>(b)];
    const int host = c.block_host_freq[static_cast<size_t>(b)];
    if (!is_accel(u)) {
      HETSCHED_RETURN_IF_ERROR(check_opp(u, own, f));
      if (host != -1) return Error(StatusCode::kInvalidArgument, "block_host_freq[" + std::to_string(b) + "]: must be -1 for a CPU block");
      continue;
    }
    const UnitDesc& h = *unit_of(platform, u.kind == UnitKind::kGpu ? c.gpu_host : c.npu_host);
    if (u.has_dvfs()) {
      HETSCHED_RETURN_IF_ERROR(check_opp(u, own, f));
      HETSCHED_RETURN_IF_ERROR(check_opp(h, host, "block_host_freq[" + std::to_string(b) + "]"));
    } else {
      HETSCHED_RETURN_IF_ERROR(check_opp(h, own, f + " (host " + std::string(1, h.letter) + ")"));
      if (host != -1)
        return Error(StatusCode::kInvalidArgument, "block_host_freq[" + std::to_string(b) + "]: must be -1 for unit " +
                                                       std::string(1, u.letter) + " (no DVFS; block_freq holds the host's index)");
    }
  }
  return Status::Ok();
}

}  // namespace hetsched::policies
