// Policy push over loopback: a good policy is verified and handed to the hot-swap hook; a
// corrupt one (bit flip), a wrong-size one and one that produces non-finite Q-values on the
// recorded window are rejected with the reason and the active policy is kept; rollback
// returns to the previous one.
#include <gtest/gtest.h>

#include <cmath>

#include "policies/policy_file.hpp"
#include "runtime/stream_verify.hpp"
#include "stream_test_util.hpp"
#include "telemetry/clock.hpp"

using namespace stream_test;
namespace hp = hetsched::policies;

namespace {

hetsched::RealClock g_clock;

// Stand-in for the run's controller: only its identity matters here.
class Tagged final : public hp::Controller {
 public:
  explicit Tagged(std::uint64_t id) : id_(id) {}
  std::string_view name() const noexcept override { return "tagged"; }
  void reset(const hp::Config&) noexcept override {}
  const hp::Config& decide(const hp::TelemetryFrame&, const hp::MaskInput&) noexcept override { return c_; }
  std::uint64_t id_;
  hp::Config c_;
};

// The run's side of the hooks: active + previous, as Controller::propose_policy/rollback keep them.
struct Slots {
  std::unique_ptr<hp::Controller> active = std::make_unique<Tagged>(0), previous;
  std::uint64_t active_id() const { return static_cast<const Tagged&>(*active).id_; }
};

hp::Mlp net(int in, int out, float w) {
  auto m = hp::Mlp::create({.layer_sizes = {in, 8, out}, .hidden_activation = hp::Activation::kRelu});
  EXPECT_TRUE(m.ok());
  for (std::size_t i = 0; i < m->params().size(); ++i) m->params()[i] = w * static_cast<float>((i * 7919) % 13) / 13.0f;
  return std::move(m.value());
}

const hp::PolicySchema kSchema{"toy4", "tiny", "3 actions", 1};

std::unique_ptr<hr::StreamServer> server(Slots& slots) {
  auto o = quiet_options();
  o.schema = kSchema;
  o.hooks.build = [](const hp::PolicyFile& f) -> hetsched::Result<std::unique_ptr<hp::Controller>> {
    return std::unique_ptr<hp::Controller>(std::make_unique<Tagged>(f.checksum));
  };
  o.hooks.propose = [&slots](std::unique_ptr<hp::Controller> c) {
    slots.previous = std::move(slots.active);
    slots.active = std::move(c);
    return hetsched::Status::Ok();
  };
  o.hooks.rollback = [&slots] {
    if (!slots.previous) return hetsched::Status(hetsched::StatusCode::kNotFound, "no previous policy");
    std::swap(slots.active, slots.previous);
    return hetsched::Status::Ok();
  };
  auto s = hr::StreamServer::create(o, g_clock);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(s.value());
}

void publish_window(hr::StreamServer& s, float scale) {
  for (int i = 0; i < 20; ++i) s.on_decision({i, 1, {scale * 0.1f * i, scale, -scale, 0.5f}, ""});
}

}  // namespace

TEST(StreamPush, GoodPolicyAcceptedCorruptRejectedRollbackKept) {
  Slots slots;
  auto s = server(slots);
  auto c = connect(s->port());
  // Nothing published yet: no evidence the policy is sane here, so the push is refused.
  const std::string good = hp::encode_policy(net(4, 3, 0.5f), kSchema, {{"seed", "1"}});
  auto r0 = c->push_policy(good, 3000);
  ASSERT_TRUE(r0.ok()) << r0.status().message();
  EXPECT_FALSE(r0->accepted);
  EXPECT_NE(r0->message.find("no decisions recorded"), std::string::npos) << r0->message;

  publish_window(*s, 1.0f);
  auto r1 = c->push_policy(good, 3000);
  ASSERT_TRUE(r1.ok()) << r1.status().message();
  EXPECT_TRUE(r1->accepted) << r1->message;
  const std::uint64_t good_id = r1->checksum;
  EXPECT_NE(good_id, 0u);
  EXPECT_EQ(slots.active_id(), good_id);

  // A bit flip in the payload: checksum failure, nothing swapped.
  std::string corrupt = good;
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x10);
  auto r2 = c->push_policy(corrupt, 3000);
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->accepted);
  EXPECT_EQ(slots.active_id(), good_id);

  // Another schema (other platform): refused naming the field.
  const std::string other = hp::encode_policy(net(4, 3, 0.5f), {"rk3588", "tiny", "3 actions", 1}, {});
  auto r3 = c->push_policy(other, 3000);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r3->accepted);
  EXPECT_NE(r3->message.find("platform"), std::string::npos) << r3->message;
  EXPECT_EQ(slots.active_id(), good_id);

  // Rollback returns to the controller that was active before the accepted push.
  auto rb = c->rollback(3000);
  ASSERT_TRUE(rb.ok());
  EXPECT_TRUE(rb->accepted) << rb->message;
  EXPECT_EQ(slots.active_id(), 0u);
  const auto st = s->stats();
  EXPECT_EQ(st.pushes_accepted, 1u);
  EXPECT_EQ(st.pushes_rejected, 3u);
  EXPECT_EQ(st.rollbacks, 1u);
}

TEST(StreamPush, SanityWindowRejectsWrongSizeAndNonFiniteOutputs) {
  std::vector<std::vector<float>> window = {{1, 2, 3, 4}, {0, 0, 0, 0}};
  const hr::PushCheck check{kSchema, 0, 0};
  EXPECT_TRUE(hr::verify_pushed_policy(hp::encode_policy(net(4, 3, 0.5f), kSchema, {}), check, window).ok());
  auto wrong = hr::verify_pushed_policy(hp::encode_policy(net(5, 3, 0.5f), kSchema, {}), check, window);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("observation 0 has 4 values, the policy expects 5"), std::string::npos)
      << wrong.status().message();
  // Finite weights that overflow on the device's real inputs: 3e38 * 3e38 -> inf.
  window.push_back({3e38f, 3e38f, 3e38f, 3e38f});
  auto huge = hr::verify_pushed_policy(hp::encode_policy(net(4, 3, 3e38f), kSchema, {}), check, window);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("not finite"), std::string::npos) << huge.status().message();
  // Truncated bytes: refused by the policy-file checks, never crashes.
  const std::string bytes = hp::encode_policy(net(4, 3, 0.5f), kSchema, {});
  for (std::size_t n = 0; n < bytes.size(); n += 7) EXPECT_FALSE(hr::verify_pushed_policy(bytes.substr(0, n), check, window).ok());
}

TEST(StreamPush, RunWithoutHooksRefusesPushes) {
  auto s = hr::StreamServer::create(quiet_options(), g_clock);
  ASSERT_TRUE(s.ok());
  (*s)->on_decision({1, 0, {1, 2, 3, 4}, ""});
  auto c = connect((*s)->port());
  auto r = c->push_policy(hp::encode_policy(net(4, 3, 0.5f), kSchema, {}), 3000);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->accepted);
  EXPECT_NE(r->message.find("not supported"), std::string::npos);
  auto rb = c->rollback(3000);
  ASSERT_TRUE(rb.ok());
  EXPECT_FALSE(rb->accepted);
}
