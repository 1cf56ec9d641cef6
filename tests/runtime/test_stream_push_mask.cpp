// Masked sanity window over loopback: the server pairs each decision with its period's frame
// record (MaskInput + configuration in force), rebuilds the device's mask with the pushed
// policy's mask function and rejects a policy whose unmasked choice is a masked action on more
// than max_masked_preference of the window (reporting the fraction), or that has no allowed
// action; a policy whose preferred action is allowed is accepted and the fraction reported.
#include <gtest/gtest.h>

#include <cmath>

#include "policies/frame_records.hpp"
#include "policies/policy_file.hpp"
#include "runtime/stream_verify.hpp"
#include "stream_test_util.hpp"
#include "telemetry/clock.hpp"

using namespace stream_test;
namespace hp = hetsched::policies;

namespace {

hetsched::RealClock g_clock;
const hp::PolicySchema kSchema{"toy4", "tiny", "3 actions", 1};

class Nop final : public hp::Controller {
 public:
  std::string_view name() const noexcept override { return "nop"; }
  void reset(const hp::Config&) noexcept override {}
  const hp::Config& decide(const hp::TelemetryFrame&, const hp::MaskInput&) noexcept override { return c_; }
  hp::Config c_;
};

hp::Mlp net(float w) {
  auto m = hp::Mlp::create({.layer_sizes = {4, 8, 3}, .hidden_activation = hp::Activation::kRelu});
  EXPECT_TRUE(m.ok());
  for (std::size_t i = 0; i < m->params().size(); ++i) m->params()[i] = w * static_cast<float>((i * 7919) % 13) / 13.0f - 0.2f;
  return std::move(m.value());
}

int argmax(std::span<const float> q) {
  int b = 0;
  for (int a = 1; a < static_cast<int>(q.size()); ++a)
    if (q[static_cast<std::size_t>(a)] > q[static_cast<std::size_t>(b)]) b = a;
  return b;
}

// The toy action space's mask: unit 0's sensed cap (max_opp[0]) names the one masked action
// (-1: every action masked). Real runs use ActionSpace::mask; this keeps the test platform-free.
hr::MaskFn toy_mask() {
  return [](const hp::Config&, const hp::MaskInput& in, std::span<std::uint8_t> out) {
    if (out.size() != 3) return false;
    for (std::size_t a = 0; a < 3; ++a) out[a] = in.max_opp[0] < 0 ? 0 : (static_cast<int>(a) != in.max_opp[0]);
    return true;
  };
}

struct Device {
  hetsched::telemetry::SourceTable sources;
  std::unique_ptr<hp::FrameCodec> codec;
  std::unique_ptr<hr::StreamServer> server;
  std::int64_t t = 1;
};

Device device() {
  Device d;
  auto codec = hp::FrameCodec::create(2, 0, &d.sources);
  EXPECT_TRUE(codec.ok());
  d.codec = std::make_unique<hp::FrameCodec>(std::move(codec.value()));
  auto o = quiet_options();
  o.sources = d.sources.names();
  o.schema = kSchema;
  o.hooks.build = [](const hp::PolicyFile&) -> hetsched::Result<std::unique_ptr<hp::Controller>> {
    return std::unique_ptr<hp::Controller>(std::make_unique<Nop>());
  };
  o.hooks.propose = [](std::unique_ptr<hp::Controller>) { return hetsched::Status::Ok(); };
  o.hooks.masks = [](const hp::PolicyFile&) -> hetsched::Result<hr::MaskFn> { return toy_mask(); };
  auto s = hr::StreamServer::create(o, g_clock);
  EXPECT_TRUE(s.ok()) << s.status().message();
  d.server = std::move(s.value());
  return d;
}

// One period as the controller publishes it: frame samples + frame event (with the MaskInput and
// the configuration in force), then the decision with the same t_ns. masked(obs) picks the
// masked action of the period.
template <class F>
void publish(Device& d, int n, F masked) {
  hp::TelemetryFrame f;
  f.num_stages = 1;
  f.fps = 30;
  const hp::Config cur{};
  for (int i = 0; i < n; ++i, d.t += 1'000'000) {
    const std::vector<float> obs = {0.1f * static_cast<float>(i % 7), 1.0f - 0.05f * static_cast<float>(i), 0.5f, -0.3f};
    hp::MaskInput m;
    m.max_opp[0] = masked(obs);
    hp::PeriodInput in;
    in.t_ns = d.t, in.frame = &f, in.mask = &m, in.current = &cur;
    d.codec->publish(*d.server, in);
    d.server->on_decision({d.t, 0, obs, ""});
  }
}

}  // namespace

TEST(StreamPushMask, PreferredMaskedActionRejectedWithFractionAllowedOneAccepted) {
  Device d = device();
  auto c = connect(d.server->port());
  hp::Mlp bad = net(0.6f);
  // Every period masks exactly the action this policy ranks first: it "wants" an offline unit.
  publish(d, 40, [&](const std::vector<float>& obs) { return argmax(bad.forward(obs)); });
  auto r = c->push_policy(hp::encode_policy(bad, kSchema, {}), 3000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->accepted);
  EXPECT_NE(r->message.find("prefers a masked action on 40 of 40 masked decisions (fraction 1.000 > 0.250)"), std::string::npos)
      << r->message;

  // Same window length, now each period masks an action the policy does not prefer.
  publish(d, 64, [&](const std::vector<float>& obs) { return (argmax(bad.forward(obs)) + 1) % 3; });
  auto ok = c->push_policy(hp::encode_policy(bad, kSchema, {}), 3000);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->accepted) << ok->message;
  EXPECT_NE(ok->message.find("64 masked, masked-preference fraction 0.000"), std::string::npos) << ok->message;

  // 10 of the last 64 prefer a masked action: 0.156 <= 0.25, accepted with the fraction.
  publish(d, 10, [&](const std::vector<float>& obs) { return argmax(bad.forward(obs)); });
  auto some = c->push_policy(hp::encode_policy(bad, kSchema, {}), 3000);
  ASSERT_TRUE(some.ok());
  EXPECT_TRUE(some->accepted) << some->message;
  EXPECT_NE(some->message.find("fraction 0.156"), std::string::npos) << some->message;

  // Nothing allowed at one recorded decision: decide() returns kNoAction there.
  publish(d, 1, [](const std::vector<float>&) { return -1; });
  auto none = c->push_policy(hp::encode_policy(bad, kSchema, {}), 3000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->accepted);
  EXPECT_NE(none->message.find("no allowed action under the recorded mask"), std::string::npos) << none->message;
  EXPECT_EQ(d.server->stats().pushes_accepted, 2u);
  EXPECT_EQ(d.server->stats().pushes_rejected, 2u);
}

TEST(StreamPushMask, DecisionsWithoutFrameRecordAreCheckedUnmasked) {
  // No frame event for these decisions (e.g. lost): the window has no mask for them, the check
  // falls back to every action allowed and reports 0 masked.
  Device d = device();
  hp::Mlp p = net(0.6f);
  for (int i = 0; i < 8; ++i) d.server->on_decision({100 + i, 0, {0.1f, 0.2f, 0.3f, 0.4f}, ""});
  auto c = connect(d.server->port());
  auto r = c->push_policy(hp::encode_policy(p, kSchema, {}), 3000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->accepted) << r->message;
  EXPECT_NE(r->message.find("8 observations checked, 0 masked"), std::string::npos) << r->message;
}

TEST(StreamPushMask, VerifyReportsFractionAndBound) {
  hp::Mlp p = net(0.6f);
  std::vector<hr::WindowEntry> w(20);
  for (int i = 0; i < 20; ++i) {
    w[static_cast<std::size_t>(i)].observation = {0.05f * i, 0.3f, -0.1f, 0.2f};
    w[static_cast<std::size_t>(i)].has_mask = true;
    const int best = argmax(p.forward(w[static_cast<std::size_t>(i)].observation));
    w[static_cast<std::size_t>(i)].mask.max_opp[0] = i < 6 ? best : (best + 1) % 3;  // 6 of 20 prefer masked
  }
  auto masks = [](const hp::PolicyFile&) -> hetsched::Result<hr::MaskFn> { return toy_mask(); };
  const std::string bytes = hp::encode_policy(p, kSchema, {});
  hr::PushReport rep;
  hr::PushCheck check{kSchema, 0, 0};
  EXPECT_FALSE(hr::verify_pushed_policy(bytes, check, w, masks, &rep).ok());  // 0.30 > 0.25
  EXPECT_EQ(rep.masked, 20u);
  EXPECT_EQ(rep.prefers_masked, 6u);
  check.max_masked_preference = 0.3;
  EXPECT_TRUE(hr::verify_pushed_policy(bytes, check, w, masks, &rep).ok());  // 0.30 <= 0.30
  // A mask function that cannot be built for the pushed policy rejects it with the reason.
  auto broken = [](const hp::PolicyFile&) -> hetsched::Result<hr::MaskFn> {
    return hetsched::Status(hetsched::StatusCode::kInvalidArgument, "candidate 'X' unknown");
  };
  auto r = hr::verify_pushed_policy(bytes, check, w, broken, &rep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("action space of the pushed policy: candidate 'X' unknown"), std::string::npos);
}

TEST(StreamPushMask, ActionsMaskedEvenNominallyAreNotCountedAsPreferred) {
  // A host profile's statically refused candidates are masked in every state (and in training),
  // so their Q-values are untrained: ranking one first is not "learned the wrong board". The
  // count uses only actions the device's *state* masks (allowed with every unit online and
  // uncapped). Here the policy's favourite is masked structurally (the mask ignores the
  // MaskInput) at all 20 decisions: accepted, fraction 0; the same favourite masked through the
  // sensed cap (toy_mask) is rejected.
  hp::Mlp p = net(0.6f);
  std::vector<hr::WindowEntry> w(20);
  int fav = -1;
  for (int i = 0; i < 20; ++i) {
    auto& e = w[static_cast<std::size_t>(i)];
    e.observation = {0.3f, 0.3f, -0.1f, 0.2f};  // same state: one favourite
    e.has_mask = true;
    fav = argmax(p.forward(e.observation));
    e.mask.max_opp[0] = fav;
  }
  auto structural = [fav](const hp::PolicyFile&) -> hetsched::Result<hr::MaskFn> {
    return hr::MaskFn([fav](const hp::Config&, const hp::MaskInput&, std::span<std::uint8_t> out) {
      for (std::size_t a = 0; a < out.size(); ++a) out[a] = static_cast<int>(a) != fav;
      return true;
    });
  };
  const std::string bytes = hp::encode_policy(p, kSchema, {});
  hr::PushReport rep;
  const hr::PushCheck check{kSchema, 0, 0};
  auto ok = hr::verify_pushed_policy(bytes, check, w, structural, &rep);
  EXPECT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(rep.masked, 20u);
  EXPECT_EQ(rep.prefers_masked, 0u);
  auto state = [](const hp::PolicyFile&) -> hetsched::Result<hr::MaskFn> { return toy_mask(); };
  auto bad = hr::verify_pushed_policy(bytes, check, w, state, &rep);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(rep.prefers_masked, 20u);
  EXPECT_NE(bad.status().message().find("20 of 20 masked decisions (fraction 1.000"), std::string::npos) << bad.status().message();
}
