// hetsched predict: static predictions for a CSV of configurations in ARM-CO-UP notation.
//   pipeline: order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz
//   switch:   order,freq[,host]   (freq tuples as in the eval_switch_* files)
// Output = every input column + pred_latency_ms,pred_fps,pred_power_mw,pred_energy_mj,error.
// A row that cannot be evaluated gets its reason in `error` ("line N: field: ...").
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "env/calib_data.hpp"
#include "env/cost_model.hpp"
#include "env/csv.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

std::string fmt(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

Result<policies::Config> row_config(const env::CsvTable& t, size_t i, bool pipeline, const policies::PlatformDesc& p,
                                    const policies::ModelDesc& m) {
  auto field = [&](const char* name) { return t.at(i, t.col(name)); };
  if (pipeline) {
    long long f[3] = {0, 0, 0};
    const char* names[3] = {"f_little_khz", "f_big_khz", "f_gpu_hz"};
    for (int k = 0; k < 3; ++k) {
      double v = 0;
      if (!env::parse_double(field(names[k]), &v) || v < 0 || v != std::floor(v))
        return Error(StatusCode::kInvalidArgument, std::string(names[k]) + ": '" + field(names[k]) + "' is not a frequency");
      f[k] = static_cast<long long>(v);
    }
    const std::string gh = field("gpu_host"), nh = field("npu_host");
    if (gh.size() != 1) return Error(StatusCode::kInvalidArgument, "gpu_host: '" + gh + "' must be one letter");
    if (nh.size() != 1) return Error(StatusCode::kInvalidArgument, "npu_host: '" + nh + "' must be one letter");
    return env::pipeline_config(p, m, field("order"), gh[0], nh[0], f[0], f[1], f[2]);
  }
  return env::switch_config(p, m, field("order"), field("freq"), t.col("host") >= 0 ? field("host") : "");
}

int cmd_predict(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched predict --platform P --model M --mode pipeline|switch --configs IN.csv --out OUT.csv",
      "predict latency, FPS, power and energy of configurations (ARM-CO-UP CSV columns)",
      {{"platform", "P", "platform name (env/platforms/P.json)"},
       {"model", "M", "model name or alias (env/models)"},
       {"mode", "MODE", "pipeline (order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz) or switch (order,freq[,host])"},
       {"configs", "IN.csv", "input configurations"},
       {"out", "OUT.csv", "output: input columns + pred_latency_ms,pred_fps,pred_power_mw,pred_energy_mj,error ('-' = stdout)"},
       {"costs", "FILE", "fitted costs (default: env/platforms/P.costs.json)"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"platform", "model", "mode", "configs", "out"})
    if (!a.has(req)) return fail(kExitUsage, std::string("predict: --") + req + " is required (hetsched predict --help)");
  const std::string mode = a.get("mode");
  if (mode != "pipeline" && mode != "switch")
    return fail(kExitUsage, "predict: --mode must be 'pipeline' or 'switch', not '" + mode + "'");
  const bool pipeline = mode == "pipeline";
  const std::string data = data_dir();
  auto p = policies::load_platform_by_name(data, a.get("platform"));
  if (!p.ok()) return fail(p.status().code() == StatusCode::kNotFound ? kExitUsage : kExitRuntime, p.status().message());
  auto m = policies::load_model_by_name(data, a.get("model"));
  if (!m.ok()) return fail(m.status().code() == StatusCode::kNotFound ? kExitUsage : kExitRuntime, m.status().message());
  env::CostModel::Options co;
  co.data_dir = data;
  co.costs_path = a.get("costs");
  auto cost = env::CostModel::create(*p, *m, co);
  if (!cost.ok()) return fail(kExitRuntime, cost.status().message());
  auto t = env::read_csv(a.get("configs"));
  if (!t.ok()) return fail(kExitRuntime, t.status().message());
  const std::vector<const char*> need = pipeline ? std::vector<const char*>{"order", "gpu_host", "npu_host", "f_little_khz", "f_big_khz", "f_gpu_hz"}
                                                 : std::vector<const char*>{"order", "freq"};
  for (const char* c : need)
    if (t->col(c) < 0) return fail(kExitRuntime, a.get("configs") + ":1: missing column '" + c + "'");

  std::vector<std::string> header = t->header;
  for (const char* c : {"pred_latency_ms", "pred_fps", "pred_power_mw", "pred_energy_mj", "error"}) header.push_back(c);
  std::string text = env::csv_join(header) + "\n";
  size_t bad = 0;
  for (size_t i = 0; i < t->rows.size(); ++i) {
    std::vector<std::string> row = t->rows[i];
    row.resize(t->header.size());
    Result<env::Prediction> pr = Error(StatusCode::kInternal, "");
    auto c = row_config(*t, i, pipeline, *p, *m);
    if (c.ok()) pr = pipeline ? env::predict_pipeline(*cost, *c) : env::predict_switch(*cost, *c);
    const Status st = c.ok() ? pr.status() : c.status();
    if (st.ok()) {
      for (double v : {pr->latency_ms, pr->fps}) row.push_back(fmt(v));
      // A host profile has no power model: power and energy are unknown (empty), not 0.
      for (double v : {pr->power_mw, pr->energy_mj}) row.push_back(p->power_model ? fmt(v) : "");
      row.push_back("");
    } else {
      ++bad;
      for (int k = 0; k < 4; ++k) row.push_back("");
      row.push_back(a.get("configs") + ":" + std::to_string(t->line[i]) + ": " + st.message());
    }
    text += env::csv_join(row) + "\n";
  }
  const std::string out = a.get("out");
  if (out == "-") {
    std::cout << text;
  } else {
    std::ofstream f(out);
    if (!f || !(f << text)) return fail(kExitRuntime, out + ": cannot write");
  }
  if (bad) std::cerr << "hetsched: predict: " << bad << " of " << t->rows.size() << " rows could not be evaluated (see the error column)\n";
  return kExitOk;
}

const CommandRegistrar kReg{"predict", "predict latency/FPS/power/energy of configurations from a CSV", cmd_predict};

}  // namespace
}  // namespace hetsched::tools
