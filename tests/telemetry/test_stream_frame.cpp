// The streaming wire format: every frame type round-trips, the splitter copes with arbitrary
// chunking, and malformed input (random, truncated, bit-flipped, oversized) is an error Status
// naming what is wrong, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "telemetry/stream_frame.hpp"

namespace ht = hetsched::telemetry;

namespace {

std::string body_of(const std::string& framed) { return framed.substr(ht::kFramePrefixBytes); }

std::vector<std::string> one_of_each() {
  std::vector<std::string> v(10);
  ht::HelloFrame h;
  h.description = "rockpi_n10 googlenet";
  h.sources = {"L", "B", "G", "N", "board"};
  h.target_fps = 30;
  h.token_required = true;
  ht::encode_hello(h, &v[0]);
  ht::SubscribeFrame s;
  s.token = "secret-token";
  s.sample_kinds = 1u << 3 | 1u << 4;
  s.sources = {1, 65535};
  s.decimation = 7;
  ht::encode_subscribe(s, &v[1]);
  std::vector<ht::Sample> xs = {{1, 2.5, 3, ht::SampleKind::kFreq}, {-7, -1e300, 65535, ht::SampleKind::kQueueDepth}};
  ht::encode_samples(xs, &v[2]);
  ht::encode_event({42, ht::EventKind::kConfigApplied, 9, "BBGGN"}, &v[3]);
  ht::encode_decision({43, 17, {0.5f, -1.0f, 3.25f}, "jump 3"}, &v[4]);
  ht::encode_lost(123456789012ull, &v[5]);
  ht::encode_policy_push(std::string("\x00\x01\xff policy", 10), &v[6]);
  ht::encode_push_result({true, "accepted", 0xdeadbeefcafeull}, &v[7]);
  ht::encode_rollback(&v[8]);
  ht::encode_close("wrong token", &v[9]);
  return v;
}

}  // namespace

TEST(StreamFrame, EveryTypeRoundTrips) {
  const auto v = one_of_each();
  std::vector<ht::Frame> f;
  for (const auto& x : v) {
    auto len = ht::decode_frame_length(x.data(), ht::kDefaultMaxFrameBytes);
    ASSERT_TRUE(len.ok()) << len.status().message();
    ASSERT_EQ(*len, x.size() - 4);
    auto r = ht::decode_frame_body(body_of(x));
    ASSERT_TRUE(r.ok()) << r.status().message();
    f.push_back(*r);
  }
  EXPECT_EQ(f[0].type, ht::FrameType::kHello);
  EXPECT_EQ(f[0].hello.description, "rockpi_n10 googlenet");
  EXPECT_EQ(f[0].hello.sources.size(), 5u);
  EXPECT_EQ(f[0].hello.sources[4], "board");
  EXPECT_DOUBLE_EQ(f[0].hello.target_fps, 30);
  EXPECT_TRUE(f[0].hello.token_required);
  EXPECT_EQ(f[1].subscribe.token, "secret-token");
  EXPECT_EQ(f[1].subscribe.sample_kinds, (1u << 3 | 1u << 4));
  EXPECT_EQ(f[1].subscribe.sources, (std::vector<std::uint16_t>{1, 65535}));
  EXPECT_EQ(f[1].subscribe.decimation, 7u);
  ASSERT_EQ(f[2].samples.size(), 2u);
  EXPECT_EQ(f[2].samples[1].t_ns, -7);
  EXPECT_EQ(f[2].samples[1].value, -1e300);
  EXPECT_EQ(f[2].samples[1].source, 65535);
  EXPECT_EQ(f[2].samples[1].kind, ht::SampleKind::kQueueDepth);
  EXPECT_EQ(f[3].event.text, "BBGGN");
  EXPECT_EQ(f[3].event.kind, ht::EventKind::kConfigApplied);
  EXPECT_EQ(f[3].event.source, 9);
  EXPECT_EQ(f[4].decision.action, 17);
  EXPECT_EQ(f[4].decision.observation, (std::vector<float>{0.5f, -1.0f, 3.25f}));
  EXPECT_EQ(f[4].decision.text, "jump 3");
  EXPECT_EQ(f[5].lost, 123456789012ull);
  EXPECT_EQ(f[6].policy_bytes, std::string("\x00\x01\xff policy", 10));
  EXPECT_TRUE(f[7].push_result.accepted);
  EXPECT_EQ(f[7].push_result.checksum, 0xdeadbeefcafeull);
  EXPECT_EQ(f[8].type, ht::FrameType::kRollback);
  EXPECT_EQ(f[9].reason, "wrong token");
}

TEST(StreamFrame, ReaderSplitsAnyChunking) {
  const auto v = one_of_each();
  std::string all;
  for (const auto& x : v) all += x;
  std::mt19937 rng(5);
  for (int round = 0; round < 50; ++round) {
    ht::FrameReader r;
    std::vector<ht::FrameType> got;
    for (std::size_t at = 0; at < all.size();) {
      const std::size_t n = std::min<std::size_t>(all.size() - at, 1 + rng() % 40);
      r.feed(std::string_view(all).substr(at, n));
      at += n;
      ht::Frame f;
      while (r.next(&f)) got.push_back(f.type);
      ASSERT_TRUE(r.status().ok()) << r.status().message();
    }
    ASSERT_EQ(got.size(), v.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(static_cast<int>(got[i]), static_cast<int>(i + 1));
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(StreamFrame, LengthLimitAndZeroLength) {
  char p[4];
  const std::uint32_t big = (1u << 20) + 1, zero = 0;
  std::memcpy(p, &big, 4);
  auto r = ht::decode_frame_length(p, 1u << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1048577 bytes exceeds the limit of 1048576"), std::string::npos) << r.status().message();
  EXPECT_TRUE(ht::decode_frame_length(p, 2u << 20).ok());  // configurable
  std::memcpy(p, &zero, 4);
  EXPECT_FALSE(ht::decode_frame_length(p, 1u << 20).ok());
  // The reader refuses the oversized frame from its prefix alone, before the body arrives.
  ht::FrameReader reader(1024);
  std::memcpy(p, &big, 4);
  reader.feed(std::string_view(p, 4));
  ht::Frame f;
  EXPECT_FALSE(reader.next(&f));
  EXPECT_EQ(reader.status().code(), hetsched::StatusCode::kInvalidArgument);
}

TEST(StreamFrame, ErrorsNameTheField) {
  auto msg = [](const std::string& framed) {
    auto r = ht::decode_frame_body(body_of(framed));
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  // Unknown type 99: [99]
  EXPECT_NE(msg(std::string("\x01\x00\x00\x00\x91\x63", 6)).find("unknown frame type 99"), std::string::npos);
  // Subscribe with decimation 0.
  std::string s;
  ht::SubscribeFrame sub;
  sub.decimation = 0;
  ht::encode_subscribe(sub, &s);
  EXPECT_NE(msg(s).find("subscribe.decimation = 0"), std::string::npos);
  // Samples blob with an unknown kind byte.
  std::string x;
  ht::encode_samples(std::vector<ht::Sample>{{1, 1, 1, ht::SampleKind::kFps}}, &x);
  x.back() = 42;
  EXPECT_NE(msg(x).find("unknown sample kind 42"), std::string::npos);
  // Event with a missing field: [4, t, kind] (3 elements).
  EXPECT_NE(msg(std::string("\x01\x00\x00\x00\x93\x04\x01\x01", 8)).find("event frame has 2 fields, needs 4"), std::string::npos);
  // Bytes after the array.
  std::string c;
  ht::encode_rollback(&c);
  c += "zz";
  EXPECT_NE(msg(c).find("2 bytes after"), std::string::npos);
  // A string where a number belongs: lost ["x"].
  EXPECT_NE(msg(std::string("\x01\x00\x00\x00\x92\x06\xa1x", 8)).find("lost.count is not an unsigned integer"), std::string::npos);
}

TEST(StreamFrame, EveryTruncationIsAnError) {
  for (const auto& x : one_of_each()) {
    const std::string b = body_of(x);
    for (std::size_t n = 0; n < b.size(); ++n) {
      auto r = ht::decode_frame_body(std::string_view(b).substr(0, n));
      EXPECT_FALSE(r.ok()) << "frame type " << int(b[1]) << " truncated to " << n;
    }
  }
}

TEST(StreamFrame, RandomAndBitFlippedBytesNeverCrash) {
  std::mt19937_64 rng(11);
  int errors = 0, total = 0;
  // Random bodies, often starting like a frame array so the decoder gets past the first byte.
  for (int i = 0; i < 20000; ++i, ++total) {
    std::string b(1 + rng() % 64, '\0');
    for (auto& ch : b) ch = static_cast<char>(rng());
    if (i % 2) b[0] = static_cast<char>(0x90 | (rng() % 8)), b[1] = static_cast<char>(1 + rng() % 10);
    auto r = ht::decode_frame_body(b);
    if (!r.ok()) {
      ++errors;
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  // Bit flips of valid frames: decode either fails cleanly or yields a frame of a known type.
  for (const auto& x : one_of_each()) {
    const std::string b = body_of(x);
    for (std::size_t bit = 0; bit < b.size() * 8; ++bit, ++total) {
      std::string m = b;
      m[bit / 8] = static_cast<char>(m[bit / 8] ^ (1 << (bit % 8)));
      auto r = ht::decode_frame_body(m);
      if (!r.ok()) ++errors;
      else EXPECT_GE(static_cast<int>(r->type), 1);
    }
  }
  EXPECT_GT(errors, total / 2);  // most garbage is refused
  // A reader fed a long random stream stops at the first bad frame and stays stopped.
  ht::FrameReader reader(4096);
  std::string junk(1 << 16, '\0');
  for (auto& ch : junk) ch = static_cast<char>(rng());
  reader.feed(junk);
  ht::Frame f;
  int frames = 0;
  while (reader.next(&f)) ++frames;
  EXPECT_FALSE(reader.status().ok());
  EXPECT_FALSE(reader.next(&f));
}
