// hetsched profile --platform host --model M [--out PROFILE]: measures this machine and writes a
// host profile, a platform file the simulator, trainer and predictor load (`--platform host` or
// `--platform PROFILE.json`; format: docs/platforms.md, "Host profiles").
//   1. every block of the model on every host unit (a thread pinned to the unit's cores, the
//      built-in Eigen executor; units take turns inference by inference): warm-up inferences,
//      then repetitions, each block timed; median and spread (p10, p90, MAD) per block and unit;
//   2. hand-over costs (--handover-seconds > 0): real pipeline runs through the runtime (fixed
//      split) — every unit alone, then the 2-unit split balanced on the medians in both unit
//      orders — and env::fit_handover turns the measured FPS into a per-stage and a per-boundary
//      cost;
//   3. the cost sections env::CostModel reads (env::host_profile_cost_sections).
#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/host_profile.hpp"
#include "hetsched/runtime.hpp"
#include "policies/host_mapping.hpp"
#include "policies/model.hpp"
#include "policies/obs_encoder.hpp"
#include "runtime/executor.hpp"
#include "runtime/host_units.hpp"
#include "runtime/linux_discovery.hpp"
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

// The frequency the unit ran at: cpufreq's scaling_cur_freq when the machine has cpufreq, else
// /proc/cpuinfo's "cpu MHz" (nominal, this VM), else 1 GHz as a named placeholder. Only one OPP
// is recorded: block times are measured at it, never extrapolated to others.
std::int64_t unit_freq_khz(int cpu, std::string* source) {
  std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_cur_freq");
  long long khz = 0;
  if (f >> khz && khz >= 10'000 && khz <= 10'000'000) {
    *source = "cpufreq scaling_cur_freq";
    return khz;
  }
  std::ifstream ci("/proc/cpuinfo");
  std::string line;
  int cur = -1;
  while (std::getline(ci, line)) {
    if (line.rfind("processor", 0) == 0) cur = std::atoi(line.substr(line.find(':') + 1).c_str());
    if (cur == cpu && line.rfind("cpu MHz", 0) == 0) {
      const double mhz = std::atof(line.substr(line.find(':') + 1).c_str());
      if (mhz >= 10 && mhz <= 10'000) {
        *source = "/proc/cpuinfo cpu MHz (no cpufreq: nominal)";
        return static_cast<std::int64_t>(std::llround(mhz * 1000));
      }
    }
  }
  *source = "unknown (no cpufreq, no cpu MHz): 1 GHz placeholder";
  return 1'000'000;
}

std::string cpu_model_name() {
  std::ifstream ci("/proc/cpuinfo");
  std::string line;
  while (std::getline(ci, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Block latencies (us) of every block on every unit: us[unit][block][repetition]. The units
// take turns inference by inference (rep r runs on unit 0, then unit 1, ...; each on a fresh
// thread pinned to the unit) so that a load burst from other processes on this shared machine
// hits every unit alike instead of spoiling one unit's whole measurement.
Status time_blocks(const std::shared_ptr<const runtime::EigenModel>& model, const std::vector<runtime::HostUnit>& units,
                   std::int64_t warm, std::int64_t reps, std::vector<std::vector<std::vector<double>>>* us) {
  const BoundaryLayout& l = model->plan().layout;
  const int B = l.num_blocks();
  std::int64_t max_floats = 0;
  int max_t = 1;
  for (int k = 0; k <= B; ++k) {
    max_floats = std::max(max_floats, l.boundary_floats(k));
    max_t = std::max(max_t, static_cast<int>(l.boundary[static_cast<size_t>(k)].size()));
  }
  std::vector<std::unique_ptr<runtime::EigenExecutor>> exec;
  for (size_t u = 0; u < units.size(); ++u) {
    auto e = runtime::EigenExecutor::create(model);
    if (!e.ok()) return e.status();
    exec.push_back(std::move(e.value()));
  }
  us->assign(units.size(), std::vector<std::vector<double>>(static_cast<size_t>(B)));
  RealClock clock;
  runtime::AlignedFloats buf[2] = {runtime::AlignedFloats(max_floats), runtime::AlignedFloats(max_floats)};
  std::vector<TensorView> vin(static_cast<size_t>(max_t)), vout(static_cast<size_t>(max_t));
  for (std::int64_t r = 0; r < warm + reps; ++r) {
    for (size_t u = 0; u < units.size(); ++u) {
      Status err, pin;
      std::thread t([&] {
        // Pinned by the thread itself before any timed work (no window on a foreign core).
        pin = runtime::pin_thread(pthread_self(), units[u].cpu_ids);
        if (!pin.ok()) return;
        std::fill(buf[0].data(), buf[0].data() + max_floats, 0.5f);
        int cur = 0;
        for (int b = 0; b < B && err.ok(); ++b) {
          runtime::boundary_views(l, b, buf[cur].data(), vin.data());
          runtime::boundary_views(l, b + 1, buf[1 - cur].data(), vout.data());
          const std::int64_t t0 = clock.now_ns();
          err = exec[u]->run_block(b, vin.data(), static_cast<int>(l.boundary[static_cast<size_t>(b)].size()), vout.data(),
                                   static_cast<int>(l.boundary[static_cast<size_t>(b + 1)].size()));
          if (err.ok() && r >= warm) (*us)[u][static_cast<size_t>(b)].push_back(static_cast<double>(clock.now_ns() - t0) / 1000.0);
          cur ^= 1;
        }
      });
      t.join();
      if (!pin.ok()) return Error(pin.code(), "unit " + units[u].name + ": " + pin.message());
      if (!err.ok()) return Error(err.code(), "unit " + units[u].name + ": " + err.message());
    }
  }
  return Status::Ok();
}

// FPS of a real fixed-split pipeline run, measured like `hetsched run --mode fixed` (closed
// loop, frames done / wall time from the first submit).
Result<double> pipeline_fps(const RuntimePlatform& platform, const std::string& model, const std::string& split, double seconds) {
  RuntimeOptions o;
  o.mode = RuntimeMode::kFixed;
  o.split = split;
  o.on_result = [](const RuntimeResult&) {};  // results are only counted (without it, the poll queue fills and blocks)
  auto rt = Runtime::create(platform, model, data_dir(), o);
  if (!rt.ok()) return rt.status();
  Runtime& R = *rt.value();
  std::vector<float> input(static_cast<size_t>(R.input_floats()));
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f;
  RealClock clock;
  const std::uint64_t done0 = R.telemetry().frames_done;
  const std::int64_t t0 = clock.now_ns();
  std::int64_t now = t0;
  for (std::uint64_t f = 0; now - t0 < static_cast<std::int64_t>(seconds * 1e9); ++f, now = clock.now_ns())
    if (Status st = R.submit(input.data(), R.input_floats(), f); !st.ok()) return st;
  const RuntimeTelemetry t = R.telemetry();
  (void)R.stop();
  const double wall = static_cast<double>(now - t0) / 1e9;
  return static_cast<double>(t.frames_done - done0) / wall;
}

// The host's thermal zones and trip points (<sysfs_root>/class/thermal) as platform "zones":
// sensors for a counterfactual of a host trace (its observed temperatures pin the simulated die,
// docs/replay.md), with the trips the simulated step_wise governor checks. cooled_units = every
// host unit (which CPUs a zone's cooling maps bind is not read). At most kMaxObsZones zones and
// 4 trips each (the simulator's limits), trips sorted ascending and kept within the platform
// format's 20..150 °C; a zone without a type is named thermal_zoneN. Returns what was dropped.
std::vector<std::string> host_zones(const std::string& sysfs_root, const std::vector<policies::UnitDesc>& units,
                                    nlohmann::json* out) {
  std::vector<std::string> notes;
  *out = nlohmann::json::array();
  auto topo = runtime::discover_linux(sysfs_root, nullptr);
  if (!topo.ok()) return {"thermal zones: " + topo.status().message()};
  std::string cooled;
  for (const auto& u : units) cooled += u.letter;
  int index = 0;
  for (const auto& z : topo->zones) {
    const std::string name = z.type.empty() ? "thermal_zone" + std::to_string(index) : z.type;
    ++index;
    if (out->size() >= static_cast<size_t>(policies::kObsMaxZones)) {
      notes.push_back("zone " + name + " dropped (at most " + std::to_string(policies::kObsMaxZones) + ")");
      continue;
    }
    std::vector<runtime::LinuxTrip> trips;
    for (const auto& t : z.trips) {
      if (t.temp_mc < 20'000 || t.temp_mc > 150'000 || t.hyst_mc < 0 || t.hyst_mc > 20'000 ||
          (t.type != "passive" && t.type != "active" && t.type != "hot" && t.type != "critical")) {
        notes.push_back("zone " + name + ": trip " + t.type + " at " + std::to_string(t.temp_mc) + " m°C dropped (outside the format)");
        continue;
      }
      trips.push_back(t);
    }
    std::stable_sort(trips.begin(), trips.end(), [](const auto& a, const auto& b) { return a.temp_mc < b.temp_mc; });
    if (trips.size() > 4) notes.push_back("zone " + name + ": " + std::to_string(trips.size() - 4) + " highest trips dropped (at most 4)"),
                          trips.erase(trips.begin(), trips.end() - 4);
    nlohmann::json jt = nlohmann::json::array();
    for (const auto& t : trips) jt.push_back({{"temp_mc", t.temp_mc}, {"hysteresis_mc", t.hyst_mc}, {"type", t.type}});
    for (const auto& o : *out)
      if (o["name"] == name) {
        notes.push_back("zone " + name + " (" + z.dir + ") dropped: duplicate name");
        jt = nullptr;
      }
    if (jt.is_null()) continue;
    out->push_back({{"name", name}, {"cooled_units", cooled}, {"trips", jt}, {"note", "read from " + z.dir}});
  }
  return notes;
}

int cmd_profile(const std::vector<std::string>& argv) {
  const CommandSpec spec{"hetsched profile --platform host --model M [--out PROFILE] [--warmup N] [--reps N] [--handover-seconds S] [--sysfs-root DIR]",
                         "measure each block of a model on each host unit (median and spread) into a loadable host profile",
                         {{"platform", "host", "only host is supported (real execution)"},
                          {"model", "M", "model name (env/models)"},
                          {"out", "PROFILE", "output profile (default $HETSCHED_HOST_PROFILE, else <repo>/build/host_profile.json)"},
                          {"warmup", "N", "warm-up inferences per unit (default 2)"},
                          {"reps", "N", "timed inferences per unit (default 10)"},
                          {"handover-seconds", "S", "seconds per real pipeline run of the hand-over fit (default 3; 0 = skip, costs 0)"},
                          {"sysfs-root", "DIR", "where to read thermal zones and trip points (default /sys: DIR/class/thermal)"}},
                         0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"platform", "model"})
    if (!a.has(req)) return fail(kExitUsage, std::string("profile: --") + req + " is required");
  if (a.get("platform") != "host") return fail(kExitUsage, "profile: --platform '" + a.get("platform") + "': only host can be profiled");
  auto warm = a.get_int("warmup", 2);
  if (!warm) return *a.exit_code;
  auto reps = a.get_int("reps", 10);
  if (!reps) return *a.exit_code;
  auto hand_s = a.get_double("handover-seconds", 3.0);
  if (!hand_s) return *a.exit_code;
  if (*warm < 0 || *warm > 1000) return fail(kExitUsage, "profile: --warmup must be in [0, 1000]");
  if (*reps < 1 || *reps > 10000) return fail(kExitUsage, "profile: --reps must be in [1, 10000]");
  if (!(*hand_s >= 0 && *hand_s <= 600)) return fail(kExitUsage, "profile: --handover-seconds must be in [0, 600]");
  const std::string out_path = a.get("out", policies::default_host_profile_path(data_dir()));

  auto desc = policies::load_model_by_name(data_dir(), a.get("model"));
  if (!desc.ok()) return fail(kExitRuntime, "profile: " + desc.status().message());
  auto model = runtime::EigenModel::create(*desc, {});
  if (!model.ok()) return fail(kExitRuntime, "profile: " + model.status().message());
  auto units = runtime::host_units();
  if (!units.ok()) return fail(kExitRuntime, "profile: " + units.status().message());
  if (units->size() > static_cast<size_t>(policies::kMaxUnits))
    return fail(kExitRuntime, "profile: " + std::to_string(units->size()) + " host units, a platform holds at most " +
                                  std::to_string(policies::kMaxUnits));
  const int B = desc->num_blocks();
  const size_t U = units->size();

  // 1. Block medians.
  std::vector<std::vector<std::vector<double>>> us;
  if (Status st = time_blocks(model.value(), *units, *warm, *reps, &us); !st.ok()) return fail(kExitRuntime, "profile: " + st.message());
  std::vector<std::vector<double>> med_ms(U, std::vector<double>(static_cast<size_t>(B)));
  for (size_t u = 0; u < U; ++u)
    for (int b = 0; b < B; ++b) med_ms[u][static_cast<size_t>(b)] = quantile(us[u][static_cast<size_t>(b)], 0.5) / 1000.0;

  nlohmann::json out;
  out["format"] = policies::kHostProfileFormat;
  out["generated_by"] = "hetsched profile --platform host --model " + desc->name + " (tools/cmd_profile.cpp); do not edit by hand";
  out["name"] = "host";
  out["soc"] = cpu_model_name() + ", " + std::to_string(U) + " units";
  out["description"] = "Host profile: measured on this machine (median block latencies, fitted hand-over); no power or thermal model.";
  out["analytic"] = false;
  out["model"] = desc->name;
  out["model_file"] = desc->path;
  out["warmup"] = *warm;
  out["repetitions"] = *reps;
  out["weights"] = "synthetic, seed 1";
  std::vector<policies::UnitDesc> udesc;
  std::string freq_source;
  for (size_t u = 0; u < U; ++u) {
    const auto& hu = (*units)[u];
    policies::UnitDesc d;
    d.letter = policies::host_unit_letter(static_cast<int>(u));
    d.name = hu.name;
    d.cores = static_cast<int>(hu.cpu_ids.size());
    d.cpu_ids = hu.cpu_ids;
    // One OPP: the frequency the blocks ran at. The voltage is unknown (no power model); 1 V is a
    // placeholder the loader's range check accepts and nothing reads.
    d.opps.push_back({unit_freq_khz(hu.cpu_ids.front(), &freq_source), 1'000'000});
    udesc.push_back(d);
    out["units"].push_back({{"letter", std::string(1, d.letter)}, {"name", d.name}, {"kind", "cpu"}, {"cores", d.cores},
                            {"cpu_ids", d.cpu_ids},
                            {"opps", {{{"freq_khz", d.opps[0].freq_khz}, {"voltage_uv", d.opps[0].voltage_uv}}}},
                            {"note", "host unit " + std::to_string(u) + " (policies/host_mapping.hpp: letter 'A' + index)"}});
  }
  out["freq_source"] = freq_source;
  nlohmann::json zones;
  for (const auto& n : host_zones(a.get("sysfs-root", "/sys"), udesc, &zones)) std::printf("profile: note: %s\n", n.c_str());
  out["zones"] = zones;
  std::printf("thermal zones: %zu recorded from %s/class/thermal\n", zones.size(), a.get("sysfs-root", "/sys").c_str());
  for (int b = 0; b < B; ++b) {
    nlohmann::json jb{{"index", b}, {"name", desc->blocks[static_cast<size_t>(b)].name}};
    for (size_t u = 0; u < U; ++u) {
      const auto& v = us[u][static_cast<size_t>(b)];
      const double med = quantile(v, 0.5);
      std::vector<double> dev;
      for (double x : v) dev.push_back(std::abs(x - med));
      jb["latency_us"][(*units)[u].name] = {{"median", med}, {"p10", quantile(v, 0.1)}, {"p90", quantile(v, 0.9)},
                                            {"mad", quantile(dev, 0.5)}};
    }
    out["blocks"].push_back(jb);
  }
  for (size_t u = 0; u < U; ++u) {
    double total = 0;
    for (int b = 0; b < B; ++b) total += med_ms[u][static_cast<size_t>(b)] * 1000.0;
    out["total_median_us"][(*units)[u].name] = total;
    std::printf("%s: %s %.2f ms per inference (sum of block medians, %lld reps)\n", (*units)[u].name.c_str(), desc->name.c_str(),
                total / 1000.0, static_cast<long long>(*reps));
  }

  // 2. Hand-over fit on real pipeline runs: each unit alone (per-stage cost), then the split of
  // units 0 and 1 balanced on the medians, in both orders (per-boundary cost).
  std::vector<env::HostPipelineRun> runs;
  nlohmann::json jruns = nlohmann::json::array();
  if (*hand_s > 0) {
    auto platform = host_platform();
    if (!platform.ok()) return fail(kExitRuntime, "profile: " + platform.status().message());
    std::vector<std::vector<int>> assign;
    for (size_t u = 0; u < U; ++u) assign.emplace_back(static_cast<size_t>(B), static_cast<int>(u));
    for (int first = 0; U >= 2 && first < 2; ++first) {
      const int second = 1 - first;
      int best_k = 1;
      double best = 1e300;
      for (int k = 1; k < B; ++k) {  // k blocks on `first`, the rest on `second`
        double s0 = 0, s1 = 0;
        for (int b = 0; b < B; ++b) (b < k ? s0 : s1) += med_ms[static_cast<size_t>(b < k ? first : second)][static_cast<size_t>(b)];
        if (std::max(s0, s1) < best) best = std::max(s0, s1), best_k = k;
      }
      std::vector<int> v(static_cast<size_t>(B), second);
      std::fill(v.begin(), v.begin() + best_k, first);
      assign.push_back(v);
    }
    for (const auto& v : assign) {
      policies::Config c;
      c.num_blocks = B;
      for (int b = 0; b < B; ++b) c.unit[static_cast<size_t>(b)] = udesc[static_cast<size_t>(v[static_cast<size_t>(b)])].letter;
      policies::PlatformDesc pd;
      pd.name = "host";
      pd.units = udesc;
      auto split = policies::host_split_from_config(c, pd, *desc);
      if (!split.ok()) return fail(kExitRuntime, "profile: " + split.status().message());
      auto fps = pipeline_fps(*platform, desc->name, *split, *hand_s);
      if (!fps.ok()) return fail(kExitRuntime, "profile: run " + *split + ": " + fps.status().message());
      std::printf("hand-over run %s: %.2f fps\n", split->c_str(), *fps);
      runs.push_back({v, *fps});
      jruns.push_back({{"split", *split}, {"fps", *fps}, {"seconds", *hand_s}});
    }
  }
  auto fit = env::fit_handover(med_ms, runs);
  if (!fit.ok()) return fail(kExitRuntime, "profile: " + fit.status().message());
  nlohmann::json stage = nlohmann::json::object();
  for (size_t u = 0; u < U; ++u) stage[(*units)[u].name] = fit->stage_ms[u];
  out["handover"] = {{"method", runs.empty() ? "not measured (--handover-seconds 0): hand-over costs are 0"
                                             : "env::fit_handover: stage_ms = 1000/fps - sum of medians (single-unit runs); "
                                               "boundary_ms minimises the period error of the 2-unit runs"},
                     {"runs", jruns}, {"stage_ms", stage}, {"boundary_ms", fit->boundary_ms}, {"fit_mape_pct", fit->fit_mape_pct}};
  std::printf("hand-over: stage %s ms, boundary %.3f ms, fit period MAPE %.2f %% over %d runs\n", stage.dump().c_str(),
              fit->boundary_ms, fit->fit_mape_pct, fit->runs);

  // 3. The cost sections env::CostModel reads.
  out.update(env::host_profile_cost_sections(udesc, desc->name, med_ms, *fit));
  std::ofstream f(out_path);
  if (!f) return fail(kExitRuntime, "profile: cannot write --out '" + out_path + "'");
  f << out.dump(1) << "\n";
  if (!f.good()) return fail(kExitRuntime, "profile: write to '" + out_path + "' failed");
  std::printf("wrote %s (load with --platform %s)\n", out_path.c_str(), out_path.c_str());
  return kExitOk;
}

const CommandRegistrar kReg{"profile", "measure each block of a model on each host unit into a host profile (a loadable platform)", cmd_profile};

}  // namespace
}  // namespace hetsched::tools
