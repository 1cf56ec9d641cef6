// hetsched profile --platform host --model M --out PROFILE: measures every block of the model on
// every host unit (a thread pinned to the unit's cores, the built-in Eigen executor): warm-up
// inferences, then repetitions, each block timed; writes median and spread (p10, p90, MAD) per
// block and unit as JSON. The simulator does not load this file as a platform yet (see
// docs/runtime.md); the format is documented there.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/model.hpp"
#include "runtime/executor.hpp"
#include "runtime/host_units.hpp"
#include "runtime/pipeline.hpp"
#include "telemetry/clock.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

int cmd_profile(const std::vector<std::string>& argv) {
  const CommandSpec spec{"hetsched profile --platform host --model M --out PROFILE [--warmup N] [--reps N]",
                         "measure each block of a model on each host unit (median and spread)",
                         {{"platform", "host", "only host is supported (real execution)"},
                          {"model", "M", "model name (env/models)"},
                          {"out", "PROFILE", "output JSON file"},
                          {"warmup", "N", "warm-up inferences per unit (default 2)"},
                          {"reps", "N", "timed inferences per unit (default 10)"}},
                         0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"platform", "model", "out"})
    if (!a.has(req)) return fail(kExitUsage, std::string("profile: --") + req + " is required");
  if (a.get("platform") != "host") return fail(kExitUsage, "profile: --platform '" + a.get("platform") + "': only host can be profiled");
  auto warm = a.get_int("warmup", 2);
  if (!warm) return *a.exit_code;
  auto reps = a.get_int("reps", 10);
  if (!reps) return *a.exit_code;
  if (*warm < 0 || *warm > 1000) return fail(kExitUsage, "profile: --warmup must be in [0, 1000]");
  if (*reps < 1 || *reps > 10000) return fail(kExitUsage, "profile: --reps must be in [1, 10000]");

  auto desc = policies::load_model_by_name(data_dir(), a.get("model"));
  if (!desc.ok()) return fail(kExitRuntime, "profile: " + desc.status().message());
  auto model = runtime::EigenModel::create(*desc, {});
  if (!model.ok()) return fail(kExitRuntime, "profile: " + model.status().message());
  auto units = runtime::host_units();
  if (!units.ok()) return fail(kExitRuntime, "profile: " + units.status().message());
  const BoundaryLayout& l = model.value()->plan().layout;
  const int B = l.num_blocks();
  std::int64_t max_floats = 0;
  int max_t = 1;
  for (int k = 0; k <= B; ++k) {
    max_floats = std::max(max_floats, l.boundary_floats(k));
    max_t = std::max(max_t, static_cast<int>(l.boundary[static_cast<size_t>(k)].size()));
  }
  nlohmann::json out;
  out["generated_by"] = "hetsched profile --platform host --model " + desc->name + " (tools/cmd_profile.cpp); do not edit by hand";
  out["platform"] = "host";
  out["model"] = desc->name;
  out["model_file"] = desc->path;
  out["warmup"] = *warm;
  out["repetitions"] = *reps;
  out["weights"] = "synthetic, seed 1";
  RealClock clock;
  std::vector<std::vector<std::vector<double>>> us(units->size(), std::vector<std::vector<double>>(static_cast<size_t>(B)));
  for (size_t u = 0; u < units->size(); ++u) {
    auto exec = runtime::EigenExecutor::create(model.value());
    if (!exec.ok()) return fail(kExitRuntime, "profile: " + exec.status().message());
    Status err;
    std::thread t([&] {
      runtime::AlignedFloats buf[2] = {runtime::AlignedFloats(max_floats), runtime::AlignedFloats(max_floats)};
      std::fill(buf[0].data(), buf[0].data() + max_floats, 0.5f);
      std::vector<TensorView> vin(static_cast<size_t>(max_t)), vout(static_cast<size_t>(max_t));
      for (std::int64_t r = 0; r < *warm + *reps && err.ok(); ++r) {
        int cur = 0;
        for (int b = 0; b < B; ++b) {
          runtime::boundary_views(l, b, buf[cur].data(), vin.data());
          runtime::boundary_views(l, b + 1, buf[1 - cur].data(), vout.data());
          const std::int64_t t0 = clock.now_ns();
          err = exec.value()->run_block(b, vin.data(), static_cast<int>(l.boundary[static_cast<size_t>(b)].size()), vout.data(),
                                        static_cast<int>(l.boundary[static_cast<size_t>(b + 1)].size()));
          if (!err.ok()) break;
          if (r >= *warm) us[u][static_cast<size_t>(b)].push_back(static_cast<double>(clock.now_ns() - t0) / 1000.0);
          cur ^= 1;
        }
      }
    });
    Status pin = runtime::pin_thread(t.native_handle(), (*units)[u].cpu_ids);
    t.join();
    if (!pin.ok()) return fail(kExitRuntime, "profile: unit " + (*units)[u].name + ": " + pin.message());
    if (!err.ok()) return fail(kExitRuntime, "profile: unit " + (*units)[u].name + ": " + err.message());
    out["units"].push_back({{"name", (*units)[u].name}, {"cpu_ids", (*units)[u].cpu_ids}});
  }
  for (int b = 0; b < B; ++b) {
    nlohmann::json jb{{"index", b}, {"name", desc->blocks[static_cast<size_t>(b)].name}};
    for (size_t u = 0; u < units->size(); ++u) {
      const auto& v = us[u][static_cast<size_t>(b)];
      const double med = quantile(v, 0.5);
      std::vector<double> dev;
      for (double x : v) dev.push_back(std::abs(x - med));
      jb["latency_us"][(*units)[u].name] = {{"median", med}, {"p10", quantile(v, 0.1)}, {"p90", quantile(v, 0.9)},
                                            {"mad", quantile(dev, 0.5)}};
    }
    out["blocks"].push_back(jb);
  }
  for (size_t u = 0; u < units->size(); ++u) {
    double total = 0;
    for (int b = 0; b < B; ++b) total += out["blocks"][static_cast<size_t>(b)]["latency_us"][(*units)[u].name]["median"].get<double>();
    out["total_median_us"][(*units)[u].name] = total;
    std::printf("%s: %s %.2f ms per inference (sum of block medians, %lld reps)\n", (*units)[u].name.c_str(), desc->name.c_str(),
                total / 1000.0, static_cast<long long>(*reps));
  }
  std::ofstream f(a.get("out"));
  if (!f) return fail(kExitRuntime, "profile: cannot write --out '" + a.get("out") + "'");
  f << out.dump(1) << "\n";
  if (!f.good()) return fail(kExitRuntime, "profile: write to '" + a.get("out") + "' failed");
  return kExitOk;
}

const CommandRegistrar kReg{"profile", "measure each block of a model on each host unit (median, spread) into a profile", cmd_profile};

}  // namespace
}  // namespace hetsched::tools
