// The controller's record path after the decision-latency work (issue 7): decide() publishes
// nothing, publish_records() publishes the pending decision exactly once, step() == decide() +
// publish_records(), the cached decision text follows every configuration change, and the frame
// event's to_chars formatting writes the same characters as printf's %a / %d (the trace format
// must not change: golden traces replay bit-exactly).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "policies/frame_records.hpp"
#include "runtime/controller.hpp"
#include "runtime/host_config.hpp"

namespace hetsched::runtime {
namespace {

constexpr int kBlocks = 8;

struct Target final : ControlTarget {
  policies::PlatformDesc desc = default_host_desc({"cpu0", "cpu1"}, {{0}, {1}});
  policies::ModelDesc mdesc;
  ControlSample s;
  Target() {
    mdesc.name = "m";
    mdesc.blocks.resize(kBlocks);
    s.costs.num_units = 2;
    s.costs.num_blocks = kBlocks;
    for (int b = 0; b < kBlocks; ++b) s.costs.cost_us[static_cast<size_t>(b)] = 100.0f / static_cast<float>(b + 3);
  }
  const policies::PlatformDesc& platform() const noexcept override { return desc; }
  const policies::ModelDesc& model() const noexcept override { return mdesc; }
  Status observe(ControlSample* out) noexcept override {
    s.frame.fps += 0.5;
    *out = s;
    return Status::Ok();
  }
  Status apply(const policies::Config& c) noexcept override {
    s.current = c;
    return Status::Ok();
  }
};

policies::Config cfg(const Target& t, const std::string& order) {
  policies::Config c = config_from_plan(PipelinePlan{}, t.desc);
  c.num_blocks = static_cast<int>(order.size());
  for (size_t b = 0; b < order.size(); ++b) c.unit[b] = order[b];
  return c;
}

// Cycles through a list of configurations, one per decision.
struct Cycle final : policies::Controller {
  explicit Cycle(std::vector<policies::Config> c) : c_(std::move(c)) {}
  std::string_view name() const noexcept override { return "cycle"; }
  void reset(const policies::Config&) noexcept override {}
  const policies::Config& decide(const policies::TelemetryFrame&, const policies::MaskInput&) noexcept override {
    return c_[static_cast<size_t>(n_++) % c_.size()];
  }
  std::span<const float> last_observation() const noexcept override { return obs_; }
  int last_action() const noexcept override { return n_; }
  std::vector<policies::Config> c_;
  int n_ = 0;
  std::vector<float> obs_{0.25f};
};

struct Sink final : telemetry::RecordSink {
  std::vector<std::string> log;  // every record, rendered, in arrival order
  std::vector<telemetry::Decision> decisions;
  void on_sample(const telemetry::Sample& x) noexcept override {
    log.push_back("S" + std::to_string(x.t_ns) + ":" + std::to_string(x.source) + ":" + std::to_string(x.value));
  }
  void on_event(const telemetry::Event& x) noexcept override {
    log.push_back("E" + std::to_string(x.t_ns) + ":" + std::to_string(static_cast<int>(x.kind)) + ":" + x.text);
  }
  void on_decision(const telemetry::Decision& x) noexcept override {
    decisions.push_back(x);
    log.push_back("D" + std::to_string(x.t_ns) + ":" + std::to_string(x.action) + ":" + x.text);
  }
};

struct RecRun {
  ManualClock clock{0};
  Target t;
  telemetry::SourceTable sources;
  policies::FrameCodec codec = policies::FrameCodec::create(2, 0, &sources).value();
  Sink sink;
  std::unique_ptr<Controller> c;
  std::vector<policies::Config> plan;
  RecRun() {
    plan = {cfg(t, "AAAABBBB"), cfg(t, "AAAABBBB"), cfg(t, "AAABBBBB"), cfg(t, "AAAAAABB"), cfg(t, "AAAABBBB")};
    t.s.current = plan[0];
    ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
    o.sink = &sink;
    o.frame_codec = &codec;
    auto r = Controller::create(o, clock, t, std::make_unique<Cycle>(plan), cfg(t, "AAAAAAAA"));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    c = std::move(r.value());
  }
};

TEST(ControllerRecords, DecidePublishesNothingAndPublishRecordsOnlyOnce) {
  RecRun a, b;
  for (int i = 0; i < 5; ++i) {
    a.clock.advance_ns(100), b.clock.advance_ns(100);
    a.t.s.t_ns = b.t.s.t_ns = 100 * (i + 1);
    ASSERT_TRUE(a.c->step());
    const std::size_t before = b.sink.log.size();
    ASSERT_TRUE(b.c->decide());
    EXPECT_EQ(b.sink.log.size(), before) << "decide() must not publish";
    b.c->publish_records();
    EXPECT_GT(b.sink.log.size(), before);
    const std::size_t after = b.sink.log.size();
    b.c->publish_records();  // nothing pending any more
    EXPECT_EQ(b.sink.log.size(), after);
  }
  EXPECT_EQ(a.sink.log, b.sink.log);
  // The cached decision text follows each chosen configuration (changes and repeats alike).
  ASSERT_EQ(a.sink.decisions.size(), a.plan.size());
  for (std::size_t i = 0; i < a.plan.size(); ++i)
    EXPECT_EQ(a.sink.decisions[i].text, policies::format_config(a.plan[i], a.t.desc)) << "decision " << i;
  // A config-applied event exactly when the configuration changed (decisions 2, 3, 4).
  int applied = 0;
  for (const auto& l : a.sink.log) applied += l.rfind("E", 0) == 0 && l.find(":1:") != std::string::npos;
  EXPECT_EQ(applied, 3);
}

std::string field(const std::string& text, const std::string& key) {
  const auto p = text.find(" " + key + "=");
  if (p == std::string::npos) return "<missing>";
  const auto s = p + key.size() + 2;
  return text.substr(s, text.find(' ', s) - s);
}

TEST(ControllerRecords, FrameEventFormatIsPrintfsAndRoundTrips) {
  telemetry::SourceTable sources;
  auto codec = policies::FrameCodec::create(6, 0, &sources);
  ASSERT_TRUE(codec.ok());
  const double vals[] = {0.0, -0.0, 1.0 / 3, 0.5, 1e-310 /* subnormal */, std::numeric_limits<double>::infinity(),
                         -123456.789, std::numeric_limits<double>::max(), std::numeric_limits<double>::min(), -1e-300};
  for (std::size_t start = 0; start + 6 <= std::size(vals); start += 4) {
    policies::TelemetryFrame f;
    policies::MaskInput m;
    std::string expect_util, expect_mopp;
    for (int u = 0; u < 6; ++u) {
      f.util[static_cast<size_t>(u)] = vals[start + static_cast<size_t>(u)];
      char b[64];
      std::snprintf(b, sizeof b, "%a", vals[start + static_cast<size_t>(u)]);
      expect_util += (u ? "," : "") + std::string(b);
      m.max_opp[static_cast<size_t>(u)] = u * 37 - 100;
      expect_mopp += (u ? "," : "") + std::to_string(u * 37 - 100);
    }
    f.frames = -7;
    policies::Config cur{};
    cur.num_blocks = 2, cur.unit[0] = 'A', cur.unit[1] = 'B', cur.gpu_host = 'A', cur.npu_host = 'B';
    cur.freq_idx = {-1, 0, 5, 127, -128, 3};
    policies::PeriodInput in;
    in.t_ns = 42, in.frame = &f, in.mask = &m, in.current = &cur;
    in.guard.frames = std::numeric_limits<std::uint64_t>::max();
    in.guard.max_temp_mc = -40000;
    telemetry::Event reused{0, telemetry::EventKind::kScenario, 9, std::string(5000, 'z')};
    codec->encode_event(in, 3, &reused);
    const telemetry::Event fresh = codec->encode_event(in, 3);
    EXPECT_EQ(reused.text, fresh.text);
    EXPECT_EQ(reused.kind, telemetry::EventKind::kNote);
    EXPECT_EQ(reused.t_ns, 42);
    EXPECT_EQ(field(fresh.text, "util"), expect_util);
    EXPECT_EQ(field(fresh.text, "mopp"), expect_mopp);
    EXPECT_EQ(field(fresh.text, "cur"), "2:AB:AB:-1,0,5,127,-128,3");
    EXPECT_EQ(field(fresh.text, "gt"), "-40000");
    EXPECT_EQ(field(fresh.text, "gf"), "18446744073709551615,0,0");
    EXPECT_EQ(field(fresh.text, "fr"), "-7");
    // And the decoder reads every value back bit for bit (no samples: n is forced to match).
    telemetry::Event e = fresh;
    e.text.replace(e.text.find("n=3"), 3, "n=0");
    policies::FrameCodec::Decoder dec(*codec);
    auto rec = dec.finish(e);
    ASSERT_TRUE(rec.ok()) << rec.status().to_string();
    for (int u = 0; u < 6; ++u) {
      const double want = vals[start + static_cast<size_t>(u)];
      const double got = rec->frame.util[static_cast<size_t>(u)];
      EXPECT_EQ(std::signbit(want), std::signbit(got));
      EXPECT_TRUE(want == got) << want << " vs " << got;
    }
    EXPECT_EQ(rec->current.freq_idx, cur.freq_idx);
    EXPECT_EQ(rec->guard.frames, in.guard.frames);
  }
}

}  // namespace
}  // namespace hetsched::runtime
