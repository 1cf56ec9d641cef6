#include "env/calib_data.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "env/csv.hpp"

namespace hetsched::env {

using policies::Config;
using policies::ModelDesc;
using policies::PlatformDesc;
using policies::UnitKind;

bool held_back(const std::string& key) noexcept {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char ch : key) h = (h ^ ch) * 1099511628211ULL;
  return h % 5 == 0;
}

std::string pipeline_key(const PipelineRow& r) {
  return r.model + "|" + r.order + "|" + r.gpu_host + r.npu_host;
}
std::string switch_key(const SwitchRow& r) { return r.model + "|" + r.order + "|" + r.host + "|" + r.freq; }

namespace {

double num_or_nan(const std::string& s) {
  double v = 0;
  return parse_double(s, &v) ? v : std::nan("");
}

Status read_pipeline_file(const std::string& path, const std::string& fixed_model, std::vector<PipelineRow>* out) {
  auto t = read_csv(path);
  if (!t.ok()) return t.status();
  const CsvTable& c = *t;
  const int cm = c.col("model"), co = c.col("order"), cg = c.col("gpu_host"), cn = c.col("npu_host"),
            cl = c.col("f_little_khz"), cb = c.col("f_big_khz"), cf = c.col("f_gpu_hz"), clat = c.col("latency_ms"),
            cfps = c.col("fps"), cp = c.col("avg_power_mw"), cs = c.col("status");
  if (co < 0 || cg < 0 || cn < 0 || cl < 0 || cb < 0 || cf < 0 || cfps < 0 || cp < 0)
    return Error(StatusCode::kCorrupt, path + ": missing pipeline columns (order, gpu_host, npu_host, f_*, fps, avg_power_mw)");
  for (size_t i = 0; i < c.rows.size(); ++i) {
    if (cs >= 0 && c.at(i, cs) != "ok") continue;
    PipelineRow r;
    r.file = std::filesystem::path(path).filename().string();
    r.line = c.line[i];
    r.model = cm >= 0 ? c.at(i, cm) : fixed_model;
    r.order = c.at(i, co);
    r.gpu_host = c.at(i, cg).empty() ? 'B' : c.at(i, cg)[0];
    r.npu_host = c.at(i, cn).empty() ? 'B' : c.at(i, cn)[0];
    double fl = 0, fb = 0, fg = 0;
    if (!parse_double(c.at(i, cl), &fl) || !parse_double(c.at(i, cb), &fb) || !parse_double(c.at(i, cf), &fg)) continue;
    r.f_little_khz = std::llround(fl), r.f_big_khz = std::llround(fb), r.f_gpu_hz = std::llround(fg);
    r.latency_ms = clat >= 0 ? num_or_nan(c.at(i, clat)) : std::nan("");
    r.fps = num_or_nan(c.at(i, cfps));
    r.power_mw = num_or_nan(c.at(i, cp));
    if (!(r.fps > 0) || !(r.power_mw > 0)) continue;
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

Status read_switch_file(const std::string& path, const std::string& fixed_model, std::vector<SwitchRow>* out) {
  auto t = read_csv(path);
  if (!t.ok()) return t.status();
  const CsvTable& c = *t;
  const int cgr = c.col("graph"), co = c.col("order"), cf = c.col("freq"), ch = c.col("host"),
            ct = c.col("total_time"), ce = c.col("total_e"), cet = c.col("Error_Time"), cee = c.col("Error_Energy");
  if (co < 0 || cf < 0 || ct < 0 || ce < 0)
    return Error(StatusCode::kCorrupt, path + ": missing switch columns (order, freq, total_time, total_e)");
  for (size_t i = 0; i < c.rows.size(); ++i) {
    SwitchRow r;
    r.file = std::filesystem::path(path).filename().string();
    r.line = c.line[i];
    r.model = fixed_model.empty() && cgr >= 0 ? c.at(i, cgr) : fixed_model;
    r.order = c.at(i, co);
    r.freq = c.at(i, cf);
    r.host = ch >= 0 ? c.at(i, ch) : "";
    r.total_ms = num_or_nan(c.at(i, ct));
    r.energy_mj = num_or_nan(c.at(i, ce));
    r.anchor_err_time = cet >= 0 ? std::fabs(num_or_nan(c.at(i, cet))) : std::nan("");
    r.anchor_err_energy = cee >= 0 ? std::fabs(num_or_nan(c.at(i, cee))) : std::nan("");
    if (!(r.total_ms > 0) || !(r.energy_mj > 0) || r.order.empty()) continue;
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

// Whole-inference runs that were measured both ways (khadas_vim3 ParaPipe: eval_profiling2_*,
// eval_parapipe_*): `pipelinetime` = period of the pipelined run, total_time / total_e = one
// frame run serially, every unit at its top OPP ({{max}}). Sorted file list of the platform dir.
std::vector<std::string> eval_pipe_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string fn = e.path().filename().string();
    if ((fn.rfind("eval_profiling2_", 0) == 0 || fn.rfind("eval_parapipe_", 0) == 0) && e.path().extension() == ".csv")
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Pipeline rows of such a file: FPS = 1000 / pipelinetime; no pipelined power was measured (NaN).
Status read_eval_pipe_file(const std::string& path, std::vector<PipelineRow>* out) {
  auto t = read_csv(path);
  if (!t.ok()) return t.status();
  const CsvTable& c = *t;
  const int cgr = c.col("graph"), co = c.col("order"), ch = c.col("host"), cf = c.col("freq"), ct = c.col("total_time"),
            cp = c.col("pipelinetime");
  if (cgr < 0 || co < 0 || ch < 0 || cf < 0 || cp < 0)
    return Error(StatusCode::kCorrupt, path + ": missing columns (graph, order, host, freq, pipelinetime)");
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const std::string& f = c.at(i, cf);
    if (f.find("max") == std::string::npos) continue;  // only all-max runs are in these files
    PipelineRow r;
    r.file = std::filesystem::path(path).filename().string();
    r.line = c.line[i];
    r.model = c.at(i, cgr);
    r.order = c.at(i, co);
    const std::string& h = c.at(i, ch);
    r.gpu_host = h.size() >= 1 ? h[0] : 'B';
    r.npu_host = h.size() >= 2 ? h[1] : 'B';
    r.f_little_khz = r.f_big_khz = r.f_gpu_hz = 0;  // 0 = the unit's top OPP (pipeline_config)
    r.latency_ms = ct >= 0 ? num_or_nan(c.at(i, ct)) : std::nan("");
    const double period = num_or_nan(c.at(i, cp));
    r.fps = period > 0 ? 1000.0 / period : std::nan("");
    r.power_mw = std::nan("");
    if (!(r.fps > 0) || r.order.empty()) continue;
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<PipelineRow>> read_pipeline_rows(const std::string& calib_dir, const std::string& platform) {
  std::vector<PipelineRow> rows;
  const std::string d = calib_dir + "/armcoup/" + platform + "/";
  if (std::filesystem::exists(d + "pipeline_googlenet_lbgn.csv"))
    HETSCHED_RETURN_IF_ERROR(read_pipeline_file(d + "pipeline_googlenet_lbgn.csv", "googlenet", &rows));
  if (std::filesystem::exists(d + "pipeline_single_pe_5models.csv"))
    HETSCHED_RETURN_IF_ERROR(read_pipeline_file(d + "pipeline_single_pe_5models.csv", "", &rows));
  for (const auto& f : eval_pipe_files(d)) HETSCHED_RETURN_IF_ERROR(read_eval_pipe_file(f, &rows));
  return rows;
}

Result<std::vector<SwitchRow>> read_switch_rows(const std::string& calib_dir, const std::string& platform) {
  std::vector<SwitchRow> rows;
  const std::string d = calib_dir + "/armcoup/" + platform + "/";
  const std::pair<const char*, const char*> files[] = {
      {"eval_switch_lwdvfs_alex.csv", "alexnet"},     {"eval_switch_lwdvfs_google.csv", "googlenet"},
      {"eval_switch_lwdvfs_mobile.csv", "mobilenet_v1"}, {"eval_switch_lwdvfs_res50.csv", "resnet50"},
      {"eval_switch_yolov3_npu.csv", "yolov3"}};
  for (const auto& [f, m] : files)
    if (std::filesystem::exists(d + f)) HETSCHED_RETURN_IF_ERROR(read_switch_file(d + f, m, &rows));
  // Single-unit serial runs (model from the graph column).
  for (const char* f : {"eval_single_pe_Alex.csv", "eval_single_pe_Google.csv", "eval_single_pe_MobileV1.csv",
                        "eval_single_pe_ResV1_50.csv", "eval_single_pe_YOLOv3.csv", "eval_single_pe_all_freqs_lw.csv",
                        "eval_mobilenet_single_pe_vs_freq_B.csv", "eval_mobilenet_single_pe_vs_freq_G.csv",
                        "eval_mobilenet_single_pe_vs_freq_L.csv", "eval_yolov3_single_pe_vs_freq_B.csv",
                        "eval_yolov3_single_pe_vs_freq_G.csv", "eval_yolov3_single_pe_vs_freq_L.csv"})
    if (std::filesystem::exists(d + f)) HETSCHED_RETURN_IF_ERROR(read_switch_file(d + f, "", &rows));
  // Serial side of the runs measured both ways (khadas_vim3): total_time, total_e.
  for (const auto& f : eval_pipe_files(d)) HETSCHED_RETURN_IF_ERROR(read_switch_file(f, "", &rows));
  return rows;
}

Result<std::string> expand_order_groups(const ModelDesc& m, const std::string& order) {
  const int n = static_cast<int>(order.size());
  if (n == m.num_blocks()) return order;
  const policies::Grouping* g = m.grouping_with(n);
  if (g == nullptr) {
    std::string known = std::to_string(m.num_blocks());
    for (const auto& gr : m.groupings) known += ", " + std::to_string(gr.end.size());
    return Error(StatusCode::kInvalidArgument, "order '" + order + "' has " + std::to_string(n) + " letters; " + m.name +
                                                   " takes " + known);
  }
  std::string out;
  int start = 0;
  for (int i = 0; i < n; ++i) {
    const int end = g->end[static_cast<size_t>(i)];
    out.append(static_cast<size_t>(end - start), order[static_cast<size_t>(i)]);
    start = end;
  }
  return out;
}

namespace {

int opp_index(const PlatformDesc& p, int u, long long khz) {
  const auto& opps = p.units[static_cast<size_t>(u)].opps;
  for (size_t i = 0; i < opps.size(); ++i)
    if (opps[i].freq_khz == khz) return static_cast<int>(i);
  return -1;
}

Status fill_units(const PlatformDesc& p, const ModelDesc& m, const std::string& order, char gh, char nh, Config* c) {
  auto exp = expand_order_groups(m, order);
  if (!exp.ok()) return exp.status();
  c->num_blocks = m.num_blocks();
  for (int b = 0; b < c->num_blocks; ++b) {
    const char l = (*exp)[static_cast<size_t>(b)];
    if (p.unit_index(l) < 0)
      return Error(StatusCode::kInvalidArgument, "order: letter '" + std::string(1, l) + "' at position " +
                                                     std::to_string(b + 1) + " is not a unit of " + p.name);
    c->unit[static_cast<size_t>(b)] = l;
  }
  for (auto [h, name] : {std::pair<char, const char*>{gh, "gpu_host"}, {nh, "npu_host"}}) {
    const int hi = p.unit_index(h);
    if (hi < 0 || p.units[static_cast<size_t>(hi)].kind != UnitKind::kCpu)
      return Error(StatusCode::kInvalidArgument, std::string(name) + ": '" + std::string(1, h) + "' is not a CPU cluster of " + p.name);
  }
  c->gpu_host = gh;
  c->npu_host = nh;
  return Status::Ok();
}

}  // namespace

Result<Config> pipeline_config(const PlatformDesc& p, const ModelDesc& m, const std::string& order, char gpu_host,
                               char npu_host, long long f_little_khz, long long f_big_khz, long long f_gpu_hz) {
  Config c;
  HETSCHED_RETURN_IF_ERROR(fill_units(p, m, order, gpu_host, npu_host, &c));
  c.freq_idx.fill(-1);
  const std::pair<char, std::pair<long long, const char*>> want[] = {
      {'L', {f_little_khz, "f_little_khz"}}, {'B', {f_big_khz, "f_big_khz"}}, {'G', {f_gpu_hz / 1000, "f_gpu_hz"}}};
  for (int u = 0; u < p.num_units(); ++u) {
    const auto& ud = p.units[static_cast<size_t>(u)];
    if (!ud.has_dvfs()) continue;
    c.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(ud.max_opp());
    for (const auto& [letter, fv] : want) {
      if (letter != ud.letter) continue;
      if (fv.first == 0) continue;  // unused unit: keep its top OPP
      const int i = opp_index(p, u, fv.first);
      if (i < 0) {
        std::string list;
        for (const auto& o : ud.opps)
          list += (list.empty() ? "" : " ") + std::to_string(letter == 'G' ? o.freq_khz * 1000 : o.freq_khz);
        return Error(StatusCode::kOutOfRange, std::string(fv.second) + ": " + std::to_string(letter == 'G' ? f_gpu_hz : fv.first) +
                                                  " is not an OPP of unit " + letter + " (" + list + ")");
      }
      c.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(i);
    }
  }
  return c;
}

namespace {

// Parses "((3, 4), (1,), ('max',))" into tuples of ints (-1 = max, -2 = min).
Status parse_tuples(const std::string& s, std::vector<std::vector<int>>* out) {
  std::vector<int> cur;
  int depth = 0;
  std::string tok;
  auto flush = [&]() -> Status {
    std::string t;
    for (char ch : tok)
      if (!std::isspace(static_cast<unsigned char>(ch)) && ch != '\'' && ch != '"') t += ch;
    tok.clear();
    if (t.empty()) return Status::Ok();
    if (t == "max") cur.push_back(-1);
    else if (t == "min") cur.push_back(-2);
    else {
      long long v = 0;
      if (!parse_int(t, &v) || v < 0 || v > 126) return Error(StatusCode::kInvalidArgument, "freq: bad index '" + t + "'");
      cur.push_back(static_cast<int>(v));
    }
    return Status::Ok();
  };
  for (char ch : s) {
    if (ch == '(') {
      ++depth;
      if (depth > 2) return Error(StatusCode::kInvalidArgument, "freq: tuples nested too deep");
    } else if (ch == ')') {
      HETSCHED_RETURN_IF_ERROR(flush());
      if (depth == 2) out->push_back(cur), cur.clear();
      if (--depth < 0) return Error(StatusCode::kInvalidArgument, "freq: unbalanced ')'");
    } else if (ch == ',') {
      HETSCHED_RETURN_IF_ERROR(flush());
    } else {
      if (depth != 2 && !std::isspace(static_cast<unsigned char>(ch)))
        return Error(StatusCode::kInvalidArgument, std::string("freq: unexpected '") + ch + "' outside a tuple");
      tok += ch;
    }
  }
  if (depth != 0) return Error(StatusCode::kInvalidArgument, "freq: unbalanced '('");
  return Status::Ok();
}

}  // namespace

Result<Config> switch_config(const PlatformDesc& p, const ModelDesc& m, const std::string& order, const std::string& freq,
                             const std::string& host) {
  Config c;
  const char gh = host.size() >= 1 ? host[0] : 'B', nh = host.size() >= 2 ? host[1] : 'B';
  HETSCHED_RETURN_IF_ERROR(fill_units(p, m, order, gh, nh, &c));
  c.per_block_freq = true;
  c.freq_idx.fill(-1);
  std::vector<std::vector<int>> tuples;
  std::string f = freq;
  if (f == "{{max}}" || f == "max" || f == "('{{max}}',)") tuples = {{-1, -1}};
  else if (f == "{{min}}" || f == "min") tuples = {{-2, -2}};
  else HETSCHED_RETURN_IF_ERROR(parse_tuples(f, &tuples));
  const int groups = static_cast<int>(order.size());
  const bool all_same = tuples.size() == 1 && groups > 1;
  if (!all_same && static_cast<int>(tuples.size()) != groups)
    return Error(StatusCode::kInvalidArgument, "freq: " + std::to_string(tuples.size()) + " tuples for " +
                                                   std::to_string(groups) + " order letters");
  // Block -> group index for the order's grouping.
  std::vector<int> group_of(static_cast<size_t>(c.num_blocks), 0);
  if (groups != c.num_blocks) {
    const auto* g = m.grouping_with(groups);
    int start = 0;
    for (int gi = 0; gi < groups; ++gi) {
      for (int b = start; b < g->end[static_cast<size_t>(gi)]; ++b) group_of[static_cast<size_t>(b)] = gi;
      start = g->end[static_cast<size_t>(gi)];
    }
  } else {
    for (int b = 0; b < c.num_blocks; ++b) group_of[static_cast<size_t>(b)] = b;
  }
  auto resolve = [&](int u, int v, int b, const char* what) -> Result<int> {
    const auto& ud = p.units[static_cast<size_t>(u)];
    if (v == -1) return ud.max_opp();
    if (v == -2) return 0;
    if (v > ud.max_opp())
      return Error(StatusCode::kOutOfRange, "freq: block " + std::to_string(b) + " " + what + " index " + std::to_string(v) +
                                                " out of range for unit " + ud.letter + " (0.." + std::to_string(ud.max_opp()) + ")");
    return v;
  };
  for (int b = 0; b < c.num_blocks; ++b) {
    const auto& t = tuples[all_same ? 0 : static_cast<size_t>(group_of[static_cast<size_t>(b)])];
    const int u = p.unit_index(c.unit[static_cast<size_t>(b)]);
    const auto kind = p.units[static_cast<size_t>(u)].kind;
    if (t.empty()) return Error(StatusCode::kInvalidArgument, "freq: empty tuple for block " + std::to_string(b));
    c.block_host_freq[static_cast<size_t>(b)] = -1;
    if (kind == UnitKind::kCpu) {
      auto r = resolve(u, t[0], b, "cpu");
      if (!r.ok()) return r.status();
      c.block_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(*r);
    } else if (kind == UnitKind::kGpu) {
      auto r = resolve(u, t[0], b, "gpu");
      if (!r.ok()) return r.status();
      auto rh = resolve(p.unit_index(gh), t.size() > 1 ? t[1] : t[0], b, "gpu host");
      if (!rh.ok()) return rh.status();
      c.block_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(*r);
      c.block_host_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(*rh);
    } else {
      auto rh = resolve(p.unit_index(nh), t[0], b, "npu host");
      if (!rh.ok()) return rh.status();
      c.block_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(*rh);
    }
  }
  return c;
}

}  // namespace hetsched::env
