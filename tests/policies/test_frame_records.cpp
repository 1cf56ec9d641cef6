// Frame records codec: a period's policy input goes to Samples + one Event and comes back
// bit-exactly; damaged or edited records give a clear error, never a wrong frame.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "policies/frame_records.hpp"
#include "telemetry/rng.hpp"

namespace hp = hetsched::policies;
namespace ht = hetsched::telemetry;

namespace {

// Collects what a producer publishes.
struct VecSink final : ht::RecordSink {
  std::vector<ht::Sample> samples;
  std::vector<ht::Event> events;
  void on_sample(const ht::Sample& s) noexcept override { samples.push_back(s); }
  void on_event(const ht::Event& e) noexcept override { events.push_back(e); }
  void on_decision(const ht::Decision&) noexcept override {}
};

double rnd(std::mt19937_64& g, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(g); }

hp::TelemetryFrame random_frame(std::mt19937_64& g, int units, int zones) {
  hp::TelemetryFrame f;
  f.fps = rnd(g, 0, 60), f.fps_ok = g() & 1;
  f.latency_us = rnd(g, 0, 1e6), f.latency_ok = g() & 1;
  f.max_latency_us = rnd(g, 0, 1e6);
  f.power_mw = rnd(g, 0, 1e4), f.power_ok = g() & 1;
  f.frames = static_cast<int>(g() % 100), f.dropped = static_cast<int>(g() % 5);
  f.reconfiguring = g() & 1;
  f.num_stages = static_cast<int>(g() % (hp::kObsMaxStages + 1));
  for (int k = 0; k < f.num_stages; ++k) {
    f.stage_latency_us[static_cast<size_t>(k)] = rnd(g, 0, 1e5);
    f.queue_depth[static_cast<size_t>(k)] = static_cast<int>(g() % 8);
  }
  for (int i = 0; i < units; ++i) {
    const auto u = static_cast<size_t>(i);
    f.freq_khz[u] = static_cast<std::int64_t>(g() % 2'400'000);
    f.max_freq_khz[u] = static_cast<std::int64_t>(g() % 2'400'000);
    f.util[u] = rnd(g, 0, 1);  // arbitrary doubles: util*1000/1000 would not round-trip
    f.unit_ok[u] = g() & 1;
    f.online[u] = g() & 1;
  }
  for (int j = 0; j < zones; ++j) {
    f.temp_mc[static_cast<size_t>(j)] = static_cast<std::int32_t>(g() % 120000) - 20000;
    f.temp_ok[static_cast<size_t>(j)] = g() & 1;
  }
  f.target_fps = rnd(g, 0, 30);
  f.max_latency_us_target = rnd(g, 0, 1e6);
  f.power_budget_mw = rnd(g, 0, 1e4);
  return f;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_frame_eq(const hp::TelemetryFrame& a, const hp::TelemetryFrame& b) {
  EXPECT_TRUE(same_bits(a.fps, b.fps) && a.fps_ok == b.fps_ok);
  EXPECT_TRUE(same_bits(a.latency_us, b.latency_us) && a.latency_ok == b.latency_ok);
  EXPECT_TRUE(same_bits(a.max_latency_us, b.max_latency_us));
  EXPECT_TRUE(same_bits(a.power_mw, b.power_mw) && a.power_ok == b.power_ok);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.dropped, b.dropped);
  EXPECT_EQ(a.reconfiguring, b.reconfiguring);
  EXPECT_EQ(a.num_stages, b.num_stages);
  EXPECT_EQ(a.queue_depth, b.queue_depth);
  for (size_t k = 0; k < a.stage_latency_us.size(); ++k) EXPECT_TRUE(same_bits(a.stage_latency_us[k], b.stage_latency_us[k]));
  EXPECT_EQ(a.freq_khz, b.freq_khz);
  EXPECT_EQ(a.max_freq_khz, b.max_freq_khz);
  for (size_t u = 0; u < a.util.size(); ++u) EXPECT_TRUE(same_bits(a.util[u], b.util[u])) << u;
  EXPECT_EQ(a.unit_ok, b.unit_ok);
  EXPECT_EQ(a.online, b.online);
  EXPECT_EQ(a.temp_mc, b.temp_mc);
  EXPECT_EQ(a.temp_ok, b.temp_ok);
  EXPECT_TRUE(same_bits(a.target_fps, b.target_fps));
  EXPECT_TRUE(same_bits(a.max_latency_us_target, b.max_latency_us_target));
  EXPECT_TRUE(same_bits(a.power_budget_mw, b.power_budget_mw));
}

}  // namespace

TEST(FrameRecords, RoundTripBitExact) {
  ht::SourceTable src;
  src.add("pipeline");  // a producer's own sources keep their ids
  auto codec = hp::FrameCodec::create(4, 2, &src);
  ASSERT_TRUE(codec.ok()) << codec.status().message();
  EXPECT_EQ(*src.find("pipeline"), 0);
  auto reader = hp::FrameCodec::from_sources(src);  // what replay builds from the header
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->num_units(), 4);
  EXPECT_EQ(reader->num_zones(), 2);

  std::mt19937_64 g(7);
  VecSink sink;
  std::vector<hp::FrameRecord> in;
  for (int p = 0; p < 200; ++p) {
    hp::FrameRecord r;
    r.t_ns = 100'000'000LL * (p + 1);
    r.frame = random_frame(g, 4, 2);
    for (int i = 0; i < 4; ++i) {
      r.mask.online[static_cast<size_t>(i)] = g() & 1;
      r.mask.max_opp[static_cast<size_t>(i)] = static_cast<int>(g() % 128) - 1;
    }
    r.has_current = p % 3 != 0;
    r.current.num_blocks = 13;
    for (int b = 0; b < 13; ++b) r.current.unit[static_cast<size_t>(b)] = "LBGN"[g() % 4];
    r.current.gpu_host = 'B', r.current.npu_host = 'L';
    r.current.freq_idx = {3, 5, -1, 2, 0, 0};
    r.current.per_block_freq = p % 5 == 0;
    if (r.current.per_block_freq)
      for (int b = 0; b < 13; ++b) r.current.block_freq[static_cast<size_t>(b)] = static_cast<std::int8_t>(b % 4), r.current.block_host_freq[static_cast<size_t>(b)] = -1;
    r.guard = {p % 7 != 0, p % 2 == 0, 45000 + p, 10ull * p, 1ull * (p / 10), 18446744073709551615ull};
    std::vector<float> costs(2 * 40);
    for (auto& c : costs) c = static_cast<float>(rnd(g, 0, 5000));
    hp::PeriodInput pi{r.t_ns, &r.frame, &r.mask, r.has_current ? &r.current : nullptr, r.guard};
    if (p % 2) {
      pi.cost_units = 2, pi.cost_blocks = 30, pi.cost_stride = 40, pi.cost_us = costs.data();
      r.cost_units = 2, r.cost_blocks = 30;
      for (int u = 0; u < 2; ++u)
        for (int b = 0; b < 30; ++b) r.cost_us.push_back(costs[static_cast<size_t>(u * 40 + b)]);
    }
    codec->publish(sink, pi);
    in.push_back(r);
  }
  // Decoding: all samples first, then the events (the order a chunk hands them over in).
  hp::FrameCodec::Decoder dec(*reader);
  for (const auto& s : sink.samples) dec.add_sample(s);
  ASSERT_EQ(sink.events.size(), in.size());
  for (size_t p = 0; p < in.size(); ++p) {
    auto r = dec.finish(sink.events[p]);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->t_ns, in[p].t_ns);
    expect_frame_eq(r->frame, in[p].frame);
    EXPECT_EQ(r->mask.online, in[p].mask.online);
    EXPECT_EQ(r->mask.max_opp, in[p].mask.max_opp);
    EXPECT_EQ(r->has_current, in[p].has_current);
    if (in[p].has_current) {
      EXPECT_TRUE(r->current == in[p].current) << p;
    }
    EXPECT_TRUE(r->guard == in[p].guard);
    EXPECT_EQ(r->cost_units, in[p].cost_units);
    EXPECT_EQ(r->cost_blocks, in[p].cost_blocks);
    EXPECT_EQ(r->cost_us, in[p].cost_us);
  }
  EXPECT_EQ(dec.pending(), 0u);
}

TEST(FrameRecords, LostSamplesAndEditedTextAreErrors) {
  ht::SourceTable src;
  auto codec = hp::FrameCodec::create(2, 1, &src);
  ASSERT_TRUE(codec.ok());
  hp::TelemetryFrame f;
  f.fps = 10, f.fps_ok = true, f.num_stages = 2;
  hp::MaskInput m;
  VecSink sink;
  hp::PeriodInput in0;
  in0.t_ns = 1000;
  in0.frame = &f;
  in0.mask = &m;
  codec->publish(sink, in0);
  ASSERT_EQ(sink.events.size(), 1u);
  {  // one sample lost (as with a damaged chunk)
    hp::FrameCodec::Decoder dec(*codec);
    for (size_t i = 1; i < sink.samples.size(); ++i) dec.add_sample(sink.samples[i]);
    auto r = dec.finish(sink.events[0]);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("samples found"), std::string::npos) << r.status().message();
  }
  for (const std::string bad : {"n=zz", "util=1,2,3", "mopp=1", "ok=2", "cur=3:AB:BL:0,0,0,0,0,0", "gf=1,2", "cost=2x1:1"}) {
    hp::FrameCodec::Decoder dec(*codec);
    for (const auto& s : sink.samples) dec.add_sample(s);
    ht::Event e = sink.events[0];
    e.text += " " + bad;  // a later key overrides the earlier one
    auto r = dec.finish(e);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), hetsched::StatusCode::kCorrupt);
    EXPECT_NE(r.status().message().find("t_ns 1000"), std::string::npos) << r.status().message();
  }
  {  // a non-integer frequency sample (edited trace) is refused, not cast
    hp::FrameCodec::Decoder dec(*codec);
    for (auto s : sink.samples) {
      if (s.kind == ht::SampleKind::kFreq) s.value = 1e300;
      dec.add_sample(s);
    }
    EXPECT_FALSE(dec.finish(sink.events[0]).ok());
  }
  ht::Event note{5, ht::EventKind::kNote, 0, "hello"};
  hp::FrameCodec::Decoder dec(*codec);
  EXPECT_EQ(dec.finish(note).status().code(), hetsched::StatusCode::kNotFound);
}

TEST(FrameRecords, SourcesAndLimits) {
  ht::SourceTable none;
  none.add("board");
  EXPECT_EQ(hp::FrameCodec::from_sources(none).status().code(), hetsched::StatusCode::kNotFound);
  ht::SourceTable t;
  EXPECT_FALSE(hp::FrameCodec::create(hp::kMaxUnits + 1, 0, &t).ok());
  EXPECT_FALSE(hp::FrameCodec::create(0, hp::kObsMaxZones + 1, &t).ok());
  EXPECT_FALSE(hp::FrameCodec::create(1, 1, nullptr).ok());
  auto c = hp::FrameCodec::create(hp::kMaxUnits, hp::kObsMaxZones, &t);
  ASSERT_TRUE(c.ok());
  hp::TelemetryFrame f;
  f.fps_ok = f.latency_ok = f.power_ok = true;
  f.num_stages = hp::kObsMaxStages;
  std::vector<ht::Sample> out(hp::FrameCodec::kMaxSamples);
  EXPECT_EQ(c->encode_samples(0, f, out), hp::FrameCodec::kMaxSamples);
  std::vector<ht::Sample> small(3);
  EXPECT_EQ(c->encode_samples(0, f, small), 0);
}
