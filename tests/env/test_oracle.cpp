// The exact oracle: proven against brute-force enumeration on random cost tables (every
// order, split, host and OPP evaluated with evaluate_config), plus the rules (offline units,
// thermal caps, hosts), bad input, and agreement with predict_pipeline on the real platform.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "env/cost_model.hpp"
#include "env/oracle.hpp"
#include "env/oracle_table.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"

namespace hetsched::env {
namespace {

using policies::Config;

// A small random platform: CPU clusters first, then optionally a GPU (DVFS) and an NPU (none).
struct Shape {
  int cpus = 2;
  bool gpu = true;
  bool npu = true;
  int blocks = 5;
};

OracleTable random_table(const Shape& sh, std::mt19937& rng) {
  std::uniform_real_distribution<double> U01(0.0, 1.0);
  std::array<OracleUnit, kMaxUnits> d{};
  int n = 0;
  const char cpu_letters[] = {'L', 'B', 'M'};
  for (int c = 0; c < sh.cpus; ++c) d[static_cast<size_t>(n++)] = {cpu_letters[c], false, false, 2 + c, true, 0, 1 + c};
  const std::uint32_t hosts = (1u << sh.cpus) - 1;
  if (sh.gpu) d[static_cast<size_t>(n++)] = {'G', true, false, 2, true, hosts, 4};
  if (sh.npu) d[static_cast<size_t>(n++)] = {'N', true, true, 1, false, sh.cpus > 1 ? 2u : 1u, 1};
  OracleTable t;
  EXPECT_TRUE(t.resize(sh.blocks, d, n).ok());
  std::vector<double> ms(static_cast<size_t>(sh.blocks));
  for (int u = 0; u < n; ++u)
    for (int o = 0; o < d[static_cast<size_t>(u)].num_opps; ++o)
      for (int h = 0; h < n; ++h)
        for (int ho = 0; ho < t.max_opps; ++ho) {
          // Deliberately not monotone in the OPP: exactness must not rely on it.
          for (auto& x : ms) x = 0.2 + 5.0 * U01(rng);
          const int key = t.key_of(u, o, h, ho);
          t.set_block_times(key, ms.data());
          t.stage_power_mw[static_cast<size_t>(key)] = 100 + 2000 * U01(rng);
          t.stage_fixed_ms[static_cast<size_t>(key)] = U01(rng) < 0.5 ? 0 : 2 * U01(rng);
          t.first_fixed_ms[static_cast<size_t>(key)] = 3 * U01(rng);
        }
  for (auto& w : t.unit_power_mw) w = 200 + 1500 * U01(rng);
  for (int b = 0; b < sh.blocks; ++b)
    for (int s = 0; s < n; ++s)
      for (int x = 0; x < n; ++x) t.set_transfer(b, s, x, s == x ? 0 : 1.5 * U01(rng));
  // Sender hand-over on about half of the unit pairs (the rest keep the shared-level path).
  for (int s = 0; s < n; ++s)
    for (int x = 0; x < n; ++x)
      if (s != x && U01(rng) < 0.5)
        for (int b = 0; b < sh.blocks; ++b) t.set_handoff_out(b, s, x, 2.0 * U01(rng));
  // Hand-over waits (no stage power) inside the transfers on some cuts.
  for (int b = 0; b < sh.blocks; ++b)
    for (int s = 0; s < n; ++s)
      for (int x = 0; x < n; ++x)
        if (s != x && U01(rng) < 0.3) t.set_handoff_wait(b, s, x, t.xfer(b, s, x) * U01(rng));
  // Base power: an arbitrary (non-separable) function of the OPP vector plus background load.
  std::vector<double> table(4096);
  for (auto& v : table) v = 1500 + 1500 * U01(rng);
  t.base_power = [table, n](const OppVector& opp, const Conditions& cond) {
    size_t h = 0;
    double bg = 0;
    for (int u = 0; u < n; ++u) {
      h = h * 7 + static_cast<size_t>(opp[static_cast<size_t>(u)] + 1);
      bg += 300 * cond.unit[static_cast<size_t>(u)].bg_util * (1 + opp[static_cast<size_t>(u)]);
    }
    return table[h % table.size()] + bg + 10 * (cond.die_temp_c - 25);
  };
  return t;
}

// Every pipeline config: orders of distinct units x compositions of the blocks x hosts x OPPs.
template <typename Fn>
void for_each_config(const OracleTable& t, Fn&& fn) {
  const int n = t.num_blocks, U = t.num_units;
  std::vector<int> seq;
  std::vector<int> sizes;
  Config c;
  c.num_blocks = n;
  auto with_freqs = [&](auto&& self, int u) -> void {
    if (u == U) return fn(c);
    const OracleUnit& d = t.units[static_cast<size_t>(u)];
    if (!d.dvfs) {
      c.freq_idx[static_cast<size_t>(u)] = -1;
      return self(self, u + 1);
    }
    for (int o = 0; o < d.num_opps; ++o) {
      c.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(o);
      self(self, u + 1);
    }
  };
  auto with_hosts = [&]() {
    for (int g = 0; g < U; ++g)
      for (int q = 0; q < U; ++q) {
        c.gpu_host = t.units[static_cast<size_t>(g)].letter;
        c.npu_host = t.units[static_cast<size_t>(q)].letter;
        with_freqs(with_freqs, 0);
      }
  };
  auto compose = [&](auto&& self, int s, int at) -> void {
    const int k = static_cast<int>(seq.size());
    if (s == k) {
      if (at == n) with_hosts();
      return;
    }
    for (int len = 1; at + len <= n - (k - 1 - s); ++len) {
      for (int b = at; b < at + len; ++b) c.unit[static_cast<size_t>(b)] = t.units[static_cast<size_t>(seq[static_cast<size_t>(s)])].letter;
      self(self, s + 1, at + len);
    }
  };
  auto orders = [&](auto&& self, std::uint32_t used) -> void {
    if (!seq.empty()) compose(compose, 0, 0);
    for (int u = 0; u < U; ++u) {
      if (used >> u & 1u) continue;
      seq.push_back(u);
      self(self, used | 1u << u);
      seq.pop_back();
    }
  };
  orders(orders, 0);
}

struct Brute {
  bool feasible = false;
  double energy_mj = INFINITY;
  double fps = 0;
};

Brute brute_force(const OracleTable& t, const Conditions& cond) {
  Brute best;
  double best_T = INFINITY;
  std::vector<OracleEval> all;
  for_each_config(t, [&](const Config& c) {
    const OracleEval e = evaluate_config(t, cond, c);
    if (!e.valid) return;
    all.push_back(e);
    best_T = std::min(best_T, e.bottleneck_ms);
    const bool ok = e.meets_fps && (cond.max_latency_ms <= 0 || e.latency_ms <= cond.max_latency_ms) &&
                    (cond.power_budget_mw <= 0 || e.power_mw <= cond.power_budget_mw);
    if (ok && e.energy_mj < best.energy_mj) best = {true, e.energy_mj, e.fps};
  });
  if (best.feasible) return best;
  for (const OracleEval& e : all)  // fallback: the highest fps, then the least energy
    if (e.bottleneck_ms <= best_T * (1 + 1e-9) && e.energy_mj < best.energy_mj) best = {false, e.energy_mj, e.fps};
  return best;
}

// Which constraints the random conditions set: kMixed draws each one at random.
enum class Want { kMixed, kFlatOutBudget, kTargetLatency };

Conditions random_conditions(const OracleTable& t, std::mt19937& rng, double typical_stage_ms, Want want = Want::kMixed) {
  std::uniform_real_distribution<double> U01(0.0, 1.0);
  Conditions c;
  for (int u = 0; u < t.num_units; ++u) {
    UnitConditions& uc = c.unit[static_cast<size_t>(u)];
    uc.online = U01(rng) > 0.2;
    uc.slowdown = U01(rng) < 0.5 ? 1.0 : 1.0 + U01(rng);
    uc.max_opp = U01(rng) < 0.6 ? 127 : static_cast<int>(U01(rng) * 3);
    uc.bg_util = U01(rng) < 0.7 ? 0.0 : U01(rng);
  }
  c.unit[0].online = true;  // at least one CPU
  if (U01(rng) < 0.75) c.target_fps = 1000.0 / (typical_stage_ms * (0.3 + 1.5 * U01(rng)));
  if (U01(rng) < 0.4) c.max_latency_ms = typical_stage_ms * (1 + 3 * U01(rng));
  if (U01(rng) < 0.4) c.power_budget_mw = 2000 + 3000 * U01(rng);
  c.die_temp_c = 25 + 50 * U01(rng);
  if (want == Want::kFlatOutBudget) {  // as fast as possible, power budget (the ratio constraint)
    c.target_fps = 0;
    c.power_budget_mw = 2500 + 2500 * U01(rng);
  } else if (want == Want::kTargetLatency) {
    c.target_fps = 1000.0 / (typical_stage_ms * (0.5 + U01(rng)));
    c.max_latency_ms = typical_stage_ms * (1 + 2 * U01(rng));
  }
  return c;
}

void check_against_brute_force(const Shape& sh, int cases, unsigned seed, Want want = Want::kMixed) {
  std::mt19937 rng(seed);
  int feasible = 0, fallback = 0, saturated = 0;
  for (int k = 0; k < cases; ++k) {
    OracleTable t = random_table(sh, rng);
    auto o = Oracle::create(t, {});
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    const Conditions cond = random_conditions(t, rng, 2.6 * sh.blocks / 2.0, want);
    OracleResult r;
    ASSERT_TRUE(o->query(cond, &r).ok());
    const Brute b = brute_force(t, cond);
    const OracleEval e = evaluate_config(t, cond, r.config);
    SCOPED_TRACE("case " + std::to_string(k) + " order " + r.config.order());
    ASSERT_TRUE(e.valid);
    // The reported figures are the evaluation of the returned config.
    EXPECT_DOUBLE_EQ(r.energy_mj, e.energy_mj);
    EXPECT_DOUBLE_EQ(r.latency_ms, e.latency_ms);
    EXPECT_TRUE(r.exact);
    // Host over-subscribed with background load: the saturated (non-linear) power term.
    if (e.energy_mj > e.linear_energy_mj * (1 + 1e-12)) ++saturated;
    EXPECT_EQ(r.feasible, b.feasible);
    EXPECT_NEAR(r.energy_mj, b.energy_mj, 1e-9 * b.energy_mj);
    EXPECT_NEAR(r.fps, b.fps, 1e-6 * b.fps);
    if (r.feasible) {
      EXPECT_TRUE(e.meets_fps);
      if (cond.max_latency_ms > 0) {
        EXPECT_LE(e.latency_ms, cond.max_latency_ms);
      }
      if (cond.power_budget_mw > 0) {
        EXPECT_LE(e.power_mw, cond.power_budget_mw);
      }
    }
    (b.feasible ? feasible : fallback)++;
  }
  // The random conditions must exercise both outcomes, or the test proves little.
  EXPECT_GT(feasible, cases / 5);
  EXPECT_GT(fallback, 0);
  if (sh.gpu || sh.npu) {
    EXPECT_GT(saturated, 0);
  }
}

TEST(Oracle, MatchesBruteForceTwoCpusGpuNpu) { check_against_brute_force({2, true, true, 5}, 120, 1); }
TEST(Oracle, MatchesBruteForceThreeCpusGpu) { check_against_brute_force({3, true, false, 6}, 25, 2); }
TEST(Oracle, MatchesBruteForceCpusOnlyLongModel) { check_against_brute_force({2, false, false, 9}, 60, 3); }
TEST(Oracle, MatchesBruteForceFlatOutWithBudget) {
  check_against_brute_force({2, true, true, 5}, 80, 4, Want::kFlatOutBudget);
}
TEST(Oracle, MatchesBruteForceTargetAndLatency) {
  check_against_brute_force({2, true, true, 6}, 60, 5, Want::kTargetLatency);
}

}  // namespace
}  // namespace hetsched::env

namespace hetsched::env {
namespace {

TEST(Oracle, OnlyOnlineUnitsCappedOppsAndOnlineHosts) {
  std::mt19937 rng(11);
  OracleTable t = random_table({2, true, true, 6}, rng);  // L B G N; N hosted by B only
  auto o = Oracle::create(t, {});
  ASSERT_TRUE(o.ok());
  OracleResult r;
  // Only L online: everything on L, whatever L's cap is.
  Conditions c;
  for (int u = 1; u < 4; ++u) c.unit[static_cast<size_t>(u)].online = false;
  c.unit[0].max_opp = 0;
  ASSERT_TRUE(o->query(c, &r).ok());
  EXPECT_EQ(r.config.order(), "LLLLLL");
  EXPECT_EQ(r.config.freq_idx[0], 0);
  EXPECT_EQ(r.config.freq_idx[3], -1);  // N has no DVFS
  // B offline: N (only B may host it) must not appear, G must be hosted by L.
  Conditions d;
  d.unit[1].online = false;
  for (int k = 0; k < 20; ++k) {
    d.target_fps = 50.0 + 20 * k;
    ASSERT_TRUE(o->query(d, &r).ok());
    const std::string order = r.config.order();
    EXPECT_EQ(order.find('B'), std::string::npos) << order;
    EXPECT_EQ(order.find('N'), std::string::npos) << order;
    if (order.find('G') != std::string::npos) {
      EXPECT_EQ(r.config.gpu_host, 'L');
    }
  }
  // Caps: every DVFS unit at most at its max_opp.
  Conditions e;
  e.unit[0].max_opp = 0;
  e.unit[1].max_opp = 1;
  e.unit[2].max_opp = 0;
  for (int k = 0; k < 10; ++k) {
    e.target_fps = 30.0 * k;
    ASSERT_TRUE(o->query(e, &r).ok());
    EXPECT_LE(r.config.freq_idx[0], 0);
    EXPECT_LE(r.config.freq_idx[1], 1);
    EXPECT_LE(r.config.freq_idx[2], 0);
    EXPECT_TRUE(evaluate_config(t, e, r.config).valid);
  }
}

TEST(Oracle, HigherTargetNeverCheaper) {
  // With zero base power the energy per frame sum_s D_s t_s / 1000 does not depend on the
  // target, and a higher target only removes candidates: the optimum can only get dearer.
  std::mt19937 rng(12);
  OracleTable t = random_table({2, true, false, 7}, rng);
  t.base_power = [](const OppVector&, const Conditions&) { return 0.0; };
  auto o = Oracle::create(t, {});
  ASSERT_TRUE(o.ok());
  double last = 0;
  int feasible = 0;
  for (double fps = 20; fps <= 400; fps += 20) {
    Conditions c;
    c.target_fps = fps;
    OracleResult r;
    ASSERT_TRUE(o->query(c, &r).ok());
    if (!r.feasible) break;
    ++feasible;
    EXPECT_GE(r.energy_mj, last - 1e-12);
    EXPECT_NEAR(r.fps, fps, 1e-9);
    last = r.energy_mj;
  }
  EXPECT_GT(feasible, 2);
}

TEST(Oracle, BadConditionsAreErrorsNamingTheField) {
  std::mt19937 rng(13);
  auto o = Oracle::create(random_table({2, true, true, 4}, rng), {});
  ASSERT_TRUE(o.ok());
  OracleResult r;
  auto expect_error = [&](const Conditions& c, const std::string& field) {
    const Status st = o->query(c, &r);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(field), std::string::npos) << st.message();
  };
  Conditions c;
  c.target_fps = NAN;
  expect_error(c, "target_fps");
  c = {};
  c.max_latency_ms = -1;
  expect_error(c, "max_latency_ms");
  c = {};
  c.power_budget_mw = INFINITY;
  expect_error(c, "power_budget_mw");
  c = {};
  c.unit[1].slowdown = 0;
  expect_error(c, "unit[1].slowdown");
  c = {};
  c.unit[2].bg_util = 1.5;
  expect_error(c, "unit[2].bg_util");
  c = {};
  c.unit[0].online = c.unit[1].online = false;  // accelerators alone cannot run
  expect_error(c, "no CPU unit is online");
  EXPECT_FALSE(o->query(Conditions{}, nullptr).ok());
  // Weird caps are clamped, not errors.
  c = {};
  c.unit[0].max_opp = -5;
  c.unit[1].max_opp = 1000;
  EXPECT_TRUE(o->query(c, &r).ok());
  EXPECT_EQ(r.config.freq_idx[0], 0);
}

TEST(Oracle, BadTablesAreRejectedAtCreate) {
  OracleTable t;  // never resized
  t.base_power = [](const OppVector&, const Conditions&) { return 0.0; };
  EXPECT_FALSE(Oracle::create(t, {}).ok());
  std::array<OracleUnit, kMaxUnits> d{};
  d[0] = {'L', false, false, 2, true, 0, 4};
  d[1] = {'G', true, false, 2, true, 0, 1};  // accelerator without a host
  EXPECT_FALSE(t.resize(4, d, 2).ok());
  d[1].host_mask = 1;
  EXPECT_FALSE(t.resize(0, d, 2).ok());
  EXPECT_FALSE(t.resize(policies::kMaxBlocks + 1, d, 2).ok());
  ASSERT_TRUE(t.resize(4, d, 2).ok());
  Oracle::Options opt;
  opt.max_labels_per_cell = 0;
  EXPECT_FALSE(Oracle::create(t, opt).ok());
  t.base_power = nullptr;
  EXPECT_FALSE(Oracle::create(t, {}).ok());
}

}  // namespace
}  // namespace hetsched::env

// ---- Against the real CostModel and predict_pipeline --------------------------------------

namespace hetsched::env {
namespace {

// A costs file in the CostModel's format with made-up coefficients for every (block, unit) of
// GoogleNet on the Rock Pi N10, so the check does not depend on the fitted numbers (which
// `hetsched calibrate` may change) but exercises the real CostModel and predict_pipeline.
std::string write_synthetic_costs(std::mt19937& rng, int blocks) {
  std::uniform_real_distribution<double> U01(0.0, 1.0);
  const std::string path = testing::TempDir() + "oracle_rockpi_synthetic.costs.json";
  std::ofstream f(path);
  auto arr = [&](int n, auto&& gen) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + gen(i);
    return s + "]";
  };
  auto coef = [&](double a, double b, double c) {
    return "[" + std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c) + "]";
  };
  const int opps[4] = {6, 8, 5, 1};
  const char* L[4] = {"L", "B", "G", "N"};
  f << "{\"power\": {\"base_mw\": 2900, \"idle_mw\": {";
  for (int u = 0; u < 4; ++u)
    f << (u ? "," : "") << "\"" << L[u] << "\": " << arr(opps[u], [&](int i) { return std::to_string(20 + 15 * i); });
  f << "}, \"dyn_mw\": {";
  for (int u = 0; u < 4; ++u)
    f << (u ? "," : "") << "\"" << L[u] << "\": " << arr(opps[u], [&](int i) { return std::to_string(300 + 250 * i + 100 * U01(rng)); });
  f << "}}, \"models\": {\"googlenet\": {\"units\": {";
  for (int u = 0; u < 4; ++u) {
    f << (u ? "," : "") << "\"" << L[u] << "\": {\"time\": "
      << arr(blocks, [&](int) { return coef(0.5 * U01(rng), u == 3 ? 0 : 4 + 20 * U01(rng), u >= 2 ? 1 + 3 * U01(rng) : 0); })
      << ", \"power\": " << arr(blocks, [&](int) { return coef(3500, 500, 0); }) << "}";
  }
  f << "}, \"input_ms\": {\"L\": " << coef(1, 20, 0) << ", \"B\": " << coef(0.5, 12, 0) << "}"
    << ", \"segment_ms\": {\"G\": " << coef(6, 0, 0.5) << ", \"N\": " << coef(3, 0, 0.2) << "}";
  f << "}}}\n";
  return path;
}

struct Real {
  policies::PlatformDesc platform;
  policies::ModelDesc model;
};

Real load_rockpi_googlenet() {
  Real r;
  auto p = policies::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  auto m = policies::load_model_by_name(HETSCHED_SOURCE_DIR, "googlenet");
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  if (p.ok()) r.platform = *p;
  if (m.ok()) r.model = *m;
  return r;
}

TEST(OracleCostModel, EvaluationEqualsPredictPipelineAtNominalConditions) {
  const Real real = load_rockpi_googlenet();
  ASSERT_EQ(real.model.num_blocks(), 13);
  std::mt19937 rng(21);
  CostModel::Options co;
  co.data_dir = HETSCHED_SOURCE_DIR;
  co.costs_path = write_synthetic_costs(rng, 13);
  co.allow_analytic = false;
  auto cost = CostModel::create(real.platform, real.model, co);
  ASSERT_TRUE(cost.ok()) << cost.status().to_string();
  auto oracle = Oracle::create(*cost, {});
  ASSERT_TRUE(oracle.ok()) << oracle.status().to_string();

  // Nominal: calibration temperature (no leakage term), no background load, all online.
  Conditions nominal;
  nominal.die_temp_c = 50;
  auto same = [](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); };
  // Every config the oracle returns for a sweep of targets, and random configs, must be
  // accounted exactly as predict_pipeline accounts them (target 0: both run flat out).
  std::vector<Config> configs;
  for (double fps : {0.0, 5.0, 10.0, 20.0, 40.0, 80.0}) {
    Conditions c = nominal;
    c.target_fps = fps;
    OracleResult r;
    ASSERT_TRUE(oracle->query(c, &r).ok());
    EXPECT_TRUE(r.exact);
    const Status valid = policies::validate_config(r.config, real.platform, real.model);
    EXPECT_TRUE(valid.ok()) << valid.to_string();
    configs.push_back(r.config);
  }
  for (int k = 0; k < 200; ++k) {  // random valid pipeline configs
    Config c;
    c.num_blocks = 13;
    const char letters[4] = {'L', 'B', 'G', 'N'};
    std::array<int, 4> perm = {0, 1, 2, 3};
    std::shuffle(perm.begin(), perm.end(), rng);
    const int stages = 1 + static_cast<int>(rng() % 4);
    std::vector<int> cut = {0};
    for (int s = 1; s < stages; ++s) cut.push_back(1 + static_cast<int>(rng() % 12));
    cut.push_back(13);
    std::sort(cut.begin(), cut.end());
    cut.erase(std::unique(cut.begin(), cut.end()), cut.end());
    for (size_t s = 0; s + 1 < cut.size(); ++s)
      for (int b = cut[s]; b < cut[s + 1]; ++b) c.unit[static_cast<size_t>(b)] = letters[perm[s]];
    c.gpu_host = rng() % 2 ? 'L' : 'B';
    c.npu_host = rng() % 2 ? 'L' : 'B';
    c.freq_idx = {static_cast<std::int8_t>(rng() % 6), static_cast<std::int8_t>(rng() % 8),
                  static_cast<std::int8_t>(rng() % 5), -1, 0, 0};
    configs.push_back(c);
  }
  for (const Config& c : configs) {
    auto pred = predict_pipeline(*cost, c);
    ASSERT_TRUE(pred.ok()) << pred.status().to_string();
    const OracleEval e = evaluate_config(oracle->table(), nominal, c);
    ASSERT_TRUE(e.valid) << c.order();
    EXPECT_TRUE(same(e.fps, pred->fps)) << c.order() << " " << e.fps << " vs " << pred->fps;
    EXPECT_TRUE(same(e.latency_ms, pred->latency_ms)) << c.order();
    EXPECT_TRUE(same(e.power_mw, pred->power_mw)) << c.order() << " " << e.power_mw << " vs " << pred->power_mw;
    EXPECT_TRUE(same(e.energy_mj, pred->energy_mj)) << c.order();
  }
  // And the oracle's flat-out choice is the least-energy config of all those (it is exact).
  OracleResult best;
  ASSERT_TRUE(oracle->query(nominal, &best).ok());
  for (const Config& c : configs) EXPECT_LE(best.energy_mj, predict_pipeline(*cost, c)->energy_mj * (1 + 1e-12));
}

}  // namespace
}  // namespace hetsched::env

namespace hetsched::env {
namespace {

TEST(Oracle, LabelCapOverflowIsFlaggedNotSilent) {
  // One label per cell cannot hold the (S, L) Pareto sets a latency bound needs: the answer
  // stays a valid configuration but must say it is no longer guaranteed exact.
  std::mt19937 rng(31);
  int flagged = 0;
  for (int k = 0; k < 20; ++k) {
    OracleTable t = random_table({2, true, true, 8}, rng);
    Oracle::Options opt;
    opt.max_labels_per_cell = 1;
    auto tight = Oracle::create(t, opt);
    auto full = Oracle::create(t, {});
    ASSERT_TRUE(tight.ok() && full.ok());
    Conditions c;
    c.target_fps = 40;
    c.max_latency_ms = 18;
    OracleResult a, b;
    ASSERT_TRUE(tight->query(c, &a).ok());
    ASSERT_TRUE(full->query(c, &b).ok());
    EXPECT_TRUE(b.exact);
    EXPECT_TRUE(evaluate_config(t, c, a.config).valid);
    if (!a.exact) ++flagged;
    if (a.exact && a.feasible == b.feasible) {
      EXPECT_NEAR(a.energy_mj, b.energy_mj, 1e-9 * b.energy_mj);
    }
  }
  EXPECT_GT(flagged, 0);
}

}  // namespace
}  // namespace hetsched::env
