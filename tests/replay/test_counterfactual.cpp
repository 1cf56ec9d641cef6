// Counterfactual conditions from observed telemetry (issue 6, "for a real run, the conditions are
// the observed per-unit slowdowns and temperatures"): temperatures become ambient_c events by
// inverting the simulator's thermal network (tools/counterfactual.cpp ambient_from_trace), or,
// on a platform without a thermal model (a host profile), die_temp_c events that pin the die.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "tests/replay/replay_util.hpp"

using namespace hetsched::replay_test;

namespace {

// Ambient of a scenario JSON (file schema) at time t: initial value, latest ambient_c event.
double ambient_at(const nlohmann::json& sc, double t) {
  double a = sc["initial"]["ambient_c"].get<double>(), start = -1;
  for (const auto& e : sc["events"])
    if (e["type"] == "ambient_c" && e["t_s"].get<double>() <= t && e["t_s"].get<double>() >= start)
      a = e["value"].get<double>(), start = e["t_s"].get<double>();
  return a;
}

// The host counterfactual simulates platform "host" from a host profile: use the test fixture.
struct HostProfileEnv {
  std::string saved;
  bool had = false;
  HostProfileEnv() {
    if (const char* o = std::getenv("HETSCHED_HOST_PROFILE")) saved = o, had = true;
    ::setenv("HETSCHED_HOST_PROFILE", src("tests/env/data/host_profile_mobilenet_v1.json").c_str(), 1);
  }
  ~HostProfileEnv() { had ? ::setenv("HETSCHED_HOST_PROFILE", saved.c_str(), 1) : ::unsetenv("HETSCHED_HOST_PROFILE"); }
};

}  // namespace

TEST(Counterfactual, AmbientRecoveredFromASimulatedHotAmbientRun) {
  // rockpi_n10 under the shipped hot_ambient scenario (40 C, 50 C from 200 s, 30 C from 400 s;
  // 600 s of virtual time, ~0.05 s to simulate). --observed rebuilds the conditions from the
  // trace's telemetry, as for a real run, so the scenario's ambient is not given to it.
  const std::string t = tmp("cf_hot.trace");
  const CliRun rec = hs("sim --platform rockpi_n10 --model googlenet --scenario '" + src("env/scenarios/hot_ambient.json") +
                        "' --policy heuristic --record '" + t + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  const CliRun r = hs("replay '" + t + "' --counterfactual --policy heuristic --observed --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["temperatures"].get<std::string>().find("ambient from observed temperatures"), std::string::npos) << j["temperatures"];
  const auto& sc = j["scenario"];
  // Within 2 C of the true ambient everywhere except the 20 s around each step.
  for (double at = 5; at < 600; at += 5) {
    const double truth = at < 200 ? 40 : at < 400 ? 50 : 30;
    if (std::fabs(at - 200) <= 20 || std::fabs(at - 400) <= 20) continue;
    EXPECT_NEAR(ambient_at(sc, at), truth, 2.0) << "t = " << at << " s";
  }
  // The steps are found where they happened, and the events are few (emitted on change only).
  EXPECT_LE(ambient_at(sc, 185), 43);
  EXPECT_GE(ambient_at(sc, 215), 48);
  EXPECT_GE(ambient_at(sc, 385), 47);
  EXPECT_LE(ambient_at(sc, 415), 32);
  int ambient_events = 0;
  for (const auto& e : sc["events"]) ambient_events += e["type"] == "ambient_c";
  EXPECT_GE(ambient_events, 2);
  EXPECT_LE(ambient_events, 12);
  // Re-run under the recorded policy, the rebuilt conditions give the recorded temperatures back.
  EXPECT_NEAR(j["counterfactual"]["peak_temp_c"].get<double>(), j["recorded"]["peak_temp_c"].get<double>(), 1.0);
  EXPECT_EQ(j["counterfactual"]["frames"], j["recorded"]["frames"]);
  // Without --observed the recorded scenario itself is re-run (its two ambient events).
  const CliRun plain = hs("replay '" + t + "' --counterfactual --policy heuristic --json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  const auto p = nlohmann::json::parse(plain.out);
  EXPECT_FALSE(p.contains("temperatures"));
  EXPECT_EQ(ambient_at(p["scenario"], 300), 50);
  EXPECT_EQ(p["scenario"]["events"].size(), 2u);
}

TEST(Counterfactual, AmbientRecoveredWithoutAPowerSensorFromTheModelledPowerOfTheRunningConfig) {
  // The same hot-ambient run with every frame's power flagged invalid (ok=<fps lat pow> -> pow 0),
  // as on a board without a power sensor: the cost model's power of the configuration in force
  // (the frame's cur=) stands in. It is a steady-state prediction without leakage at temperature,
  // so the bound is looser than with the sensed power.
  const std::string t = tmp("cf_hot_np.trace"), np = tmp("cf_hot_nopower.trace");
  ASSERT_EQ(hs("sim --platform rockpi_n10 --model googlenet --scenario '" + src("env/scenarios/hot_ambient.json") +
               "' --policy heuristic --record '" + t + "'").code, 0);
  auto rd = hetsched::telemetry::TraceReader::open(t);
  ASSERT_TRUE(rd.ok()) << rd.status().message();
  auto w = hetsched::telemetry::TraceWriter::create({.path = np}, rd->header());
  ASSERT_TRUE(w.ok()) << w.status().message();
  hetsched::telemetry::TraceChunk ch;
  const std::regex ok_re(" ok=([01])([01])1 ");
  int edited = 0;
  while (rd->next(ch)) {
    for (const auto& s : ch.samples) ASSERT_TRUE(w.value()->append(s).ok());
    for (auto e : ch.events) {
      std::smatch m;
      if (e.text.rfind("hsframe1 ", 0) == 0 && std::regex_search(e.text, m, ok_re))
        e.text[static_cast<size_t>(m.position(0)) + 6] = '0', ++edited;  // " ok=xy1" -> " ok=xy0"
      ASSERT_TRUE(w.value()->append(e).ok());
    }
    for (const auto& d : ch.decisions) ASSERT_TRUE(w.value()->append(d).ok());
  }
  ASSERT_TRUE(w.value()->close().ok());
  ASSERT_EQ(edited, 6000);
  const CliRun r = hs("replay '" + np + "' --counterfactual --policy heuristic --observed --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["temperatures"].get<std::string>().find("frames with modelled power"), std::string::npos) << j["temperatures"];
  const auto& sc = j["scenario"];
  for (double at = 5; at < 600; at += 5) {
    const double truth = at < 200 ? 40 : at < 400 ? 50 : 30;
    if (std::fabs(at - 200) <= 20 || std::fabs(at - 400) <= 20) continue;
    EXPECT_NEAR(ambient_at(sc, at), truth, 4.0) << "t = " << at << " s";
  }
}

TEST(Counterfactual, HostTraceWithRisingTemperaturesPinsTheSimulatedDieToThem) {
  // A host-like trace: a real host run with a thermal zone added whose temperature rises 1 C per
  // period from 50 C (the host VM has no sensor). The host profile has no thermal model, so the
  // counterfactual pins the simulated die to the observed temperatures (die_temp_c events). The
  // profile used here is the fixture plus what `hetsched profile` records on a machine with
  // sensors (a zone with a 55 C passive trip cooling both units) and a second OPP on unit A, so
  // the simulated step_wise governor has something to cap once the pinned die crosses the trip.
  const HostProfileEnv fixture;
  nlohmann::json prof = nlohmann::json::parse(hetsched::testing_cli::slurp(src("tests/env/data/host_profile_mobilenet_v1.json")));
  prof["zones"] = nlohmann::json::parse(R"([{"name": "cpu-thermal", "cooled_units": "AB", "trips": [
      {"temp_mc": 55000, "hysteresis_mc": 2000, "type": "passive"},
      {"temp_mc": 150000, "hysteresis_mc": 0, "type": "critical"}]}])");
  auto& opps = prof["units"][0]["opps"];
  opps.insert(opps.begin(), nlohmann::json{{"freq_khz", opps[0]["freq_khz"].get<int>() / 2}, {"voltage_uv", 1000000}});
  const std::string prof_path = tmp("cf_host_profile_zones.json");
  {
    std::ofstream f(prof_path);
    f << prof.dump(1);
  }
  ::setenv("HETSCHED_HOST_PROFILE", prof_path.c_str(), 1);
  const std::string host = tmp("cf_host.trace"), hot = tmp("cf_host_hot.trace");
  const CliRun rec = hs("run --platform host --model mobilenet_v1 --seconds 2 --quiet --record '" + host + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  auto rd = hetsched::telemetry::TraceReader::open(host);
  ASSERT_TRUE(rd.ok()) << rd.status().message();
  hetsched::telemetry::TraceHeader h = rd->header();
  const auto zone = h.sources.add("frame.z0");
  ASSERT_TRUE(zone.has_value());
  auto w = hetsched::telemetry::TraceWriter::create({.path = hot}, h);
  ASSERT_TRUE(w.ok()) << w.status().message();
  hetsched::telemetry::TraceChunk ch;
  const std::regex n_re("^hsframe1 n=([0-9]+) ");
  int periods = 0;
  while (rd->next(ch)) {
    for (const auto& s : ch.samples) ASSERT_TRUE(w.value()->append(s).ok());
    for (auto e : ch.events) {
      std::smatch m;
      if (e.kind == hetsched::telemetry::EventKind::kNote && std::regex_search(e.text, m, n_re)) {
        // One more sample for this period (the zone), flagged valid in tok=.
        hetsched::telemetry::Sample s{e.t_ns, 50000.0 + 1000.0 * periods++, *zone, hetsched::telemetry::SampleKind::kTemp};
        ASSERT_TRUE(w.value()->append(s).ok());
        e.text = "hsframe1 n=" + std::to_string(std::stoi(m[1]) + 1) + " " + e.text.substr(m[0].length());
        const auto tok = e.text.find(" tok= ");
        ASSERT_NE(tok, std::string::npos);
        e.text.replace(tok, 6, " tok=1 ");
      }
      ASSERT_TRUE(w.value()->append(e).ok());
    }
    for (const auto& d : ch.decisions) ASSERT_TRUE(w.value()->append(d).ok());
  }
  ASSERT_TRUE(w.value()->close().ok());
  ASSERT_GT(periods, 10);
  // The edited trace still replays identically (the temperatures are part of its frames now).
  const CliRun rep = hs("replay '" + hot + "' --json");
  ASSERT_EQ(rep.code, 0) << rep.out << rep.err;
  const CliRun r = hs("replay '" + hot + "' --counterfactual --policy heuristic --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["temperatures"].get<std::string>().find("die pinned to them"), std::string::npos) << j["temperatures"];
  const double peak = 50.0 + periods - 1;
  EXPECT_NEAR(j["recorded"]["peak_temp_c"].get<double>(), peak, 1e-9);  // the trace's zone was read
  int pins = 0;
  for (const auto& e : j["scenario"]["events"]) {
    EXPECT_NE(e["type"], "ambient_c");
    pins += e["type"] == "die_temp_c" ? 1 : 0;
  }
  EXPECT_EQ(pins, periods);  // one per period: the temperature changes every period
  // The counterfactual's die follows them: same peak, and the 55 C trip throttles unit A from
  // the governor's first poll after the period that reaches it (55 C is the 6th period's
  // temperature; below a trip step_wise polls every polling_idle_ms = 1 s = 10 periods) to the end.
  const auto& cf = j["counterfactual"];
  EXPECT_NEAR(cf["peak_temp_c"].get<double>(), peak, 0.0005 + 1e-9);
  const double capped_share = 100.0 * (periods - 6) / periods;
  EXPECT_GE(cf["throttled_pct"].get<double>(), capped_share - 100.0 * 10 / periods) << cf.dump();
  EXPECT_GT(cf["throttled_pct"].get<double>(), 0.0) << cf.dump();
  EXPECT_LE(cf["throttled_pct"].get<double>(), capped_share + 100.0 * 1 / periods) << cf.dump();
  EXPECT_EQ(j["recorded"]["throttled_pct"].get<double>(), 0.0);  // the host itself reported no cap
  // Text mode prints the same note.
  const CliRun txt = hs("replay '" + hot + "' --counterfactual --policy heuristic");
  ASSERT_EQ(txt.code, 0) << txt.err;
  EXPECT_NE(txt.out.find("die pinned to them"), std::string::npos) << txt.out;
  // The original (no temperatures) gets no note.
  const CliRun orig = hs("replay '" + host + "' --counterfactual --policy heuristic --json");
  ASSERT_EQ(orig.code, 0) << orig.err;
  EXPECT_FALSE(nlohmann::json::parse(orig.out).contains("temperatures"));
}

TEST(Counterfactual, ProfileRecordsTheHostsThermalZonesAndAPinnedDieFollowsThem) {
  // `hetsched profile --sysfs-root` on a fake sysfs tree: two zones, one with a passive and a
  // critical trip (written in descending order: the profile sorts them).
  const std::string root = tmp("fake_sysfs");
  std::filesystem::remove_all(root);
  const std::string z0 = root + "/class/thermal/thermal_zone0", z1 = root + "/class/thermal/thermal_zone1";
  std::filesystem::create_directories(z0);
  std::filesystem::create_directories(z1);
  auto put = [](const std::string& path, const std::string& text) { std::ofstream(path) << text << "\n"; };
  put(z0 + "/type", "cpu-thermal");
  put(z0 + "/temp", "45000");
  put(z0 + "/trip_point_0_temp", "95000");
  put(z0 + "/trip_point_0_type", "critical");
  put(z0 + "/trip_point_1_temp", "52000");
  put(z0 + "/trip_point_1_type", "passive");
  put(z0 + "/trip_point_1_hyst", "2000");
  put(z1 + "/type", "gpu-thermal");
  put(z1 + "/temp", "40000");
  const std::string prof = tmp("profile_zones.json");
  const CliRun p = hs("profile --platform host --model mobilenet_v1 --reps 1 --warmup 0 --handover-seconds 0 --sysfs-root '" +
                      root + "' --out '" + prof + "'");
  ASSERT_EQ(p.code, 0) << p.err;
  const auto j = nlohmann::json::parse(hetsched::testing_cli::slurp(prof));
  ASSERT_EQ(j["zones"].size(), 2u) << j["zones"].dump();
  EXPECT_EQ(j["zones"][0]["name"], "cpu-thermal");
  ASSERT_EQ(j["zones"][0]["trips"].size(), 2u);
  EXPECT_EQ(j["zones"][0]["trips"][0]["temp_mc"], 52000);
  EXPECT_EQ(j["zones"][0]["trips"][0]["type"], "passive");
  EXPECT_EQ(j["zones"][0]["trips"][0]["hysteresis_mc"], 2000);
  EXPECT_EQ(j["zones"][0]["trips"][1]["type"], "critical");
  EXPECT_EQ(j["zones"][1]["trips"].size(), 0u);
  // The profile loads as a platform, and a die_temp_c event pins its simulated zones.
  const std::string sc = tmp("pin_scenario.json");
  put(sc, R"({"name": "pin", "duration_s": 5, "decision_period_ms": 100,
    "initial": {"ambient_c": 25, "target_fps": 10, "max_latency_ms": null, "power_budget_mw": null},
    "events": [{"t_s": 1, "type": "die_temp_c", "value": 61.5}, {"t_s": 3, "type": "die_temp_c", "value": 40}]})");
  const CliRun s = hs("sim --platform '" + prof + "' --model mobilenet_v1 --scenario '" + sc + "' --policy static-best --json");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(s.out)["peak_temp_c"].get<double>(), 61.5);
  // Without --sysfs-root a tree without thermal zones still profiles (zones: []).
  std::filesystem::remove_all(root + "/class/thermal");
  std::filesystem::create_directories(root + "/class/thermal");
  const CliRun none = hs("profile --platform host --model mobilenet_v1 --reps 1 --warmup 0 --handover-seconds 0 --sysfs-root '" +
                         root + "' --out '" + prof + "'");
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(nlohmann::json::parse(hetsched::testing_cli::slurp(prof))["zones"].size(), 0u);
  // A die_temp_c value outside the format is a clear error naming the field.
  put(sc, R"({"name": "pin", "duration_s": 5, "decision_period_ms": 100,
    "initial": {"ambient_c": 25, "target_fps": 10, "max_latency_ms": null, "power_budget_mw": null},
    "events": [{"t_s": 1, "type": "die_temp_c", "value": 400}]})");
  const CliRun bad = hs("sim --platform rockpi_n10 --model googlenet --scenario '" + sc + "' --policy static-best");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("events[0].value"), std::string::npos) << bad.err;
}
