// The streaming wire format (issue 7; byte-level description in docs/streaming.md).
//
//   stream = frame*          (each direction of one TCP connection)
//   frame  = u32 body_len (little-endian) + body (body_len bytes, one msgpack array)
//   body   = [type (u8), fields ...]
//
// Why length-prefixed msgpack: the reader knows a frame's size before reading it, so it can
// refuse an oversized frame before allocating (a hostile or buggy peer cannot make us buffer
// gigabytes), and msgpack is already how traces and policy files are encoded. Samples travel as
// one bin blob of 19-byte trace records (telemetry/trace.hpp), ~10x cheaper than a msgpack
// array per sample. Decoding is strict: an unknown type, a missing field, a field of the wrong
// msgpack type, an unknown sample kind, a ragged sample blob or bytes after the array are all
// errors naming the frame type and field. Extra trailing array elements are ignored (room for
// compatible additions; the protocol version in the hello frame covers the rest).
//
// Conversation: the server sends kHello on accept; the client answers kSubscribe (with the token
// when the server requires one) within the handshake timeout; then the server streams kSamples /
// kEvent / kDecision / kLost, and the client may send kPolicyPush / kRollback (answered by
// kPushResult). Either side may send kClose with a reason before closing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "telemetry/sample.hpp"
#include "telemetry/status.hpp"

namespace hetsched::telemetry {

inline constexpr std::uint32_t kStreamProtocolVersion = 1;
inline constexpr std::size_t kFramePrefixBytes = 4;
inline constexpr std::uint32_t kDefaultMaxFrameBytes = 1u << 20;  // 1 MiB body

enum class FrameType : std::uint8_t {
  kHello = 1,       // server -> client: protocol version, run description, source names
  kSubscribe = 2,   // client -> server: token + filter
  kSamples = 3,     // server -> client: a batch of samples
  kEvent = 4,       // server -> client: one event
  kDecision = 5,    // server -> client: one decision (observation verbatim)
  kLost = 6,        // server -> client: records lost for this client since the previous notice
  kPolicyPush = 7,  // client -> server: policy file bytes (*.policy / *.hpol)
  kPushResult = 8,  // server -> client: verdict of a push or rollback
  kRollback = 9,    // client -> server: return to the previous policy
  kClose = 10,      // either way: reason for closing
};
std::string_view frame_type_name(FrameType t) noexcept;

struct HelloFrame {
  std::uint32_t protocol_version = kStreamProtocolVersion;
  std::string description;              // run description (platform, model, policy)
  std::vector<std::string> sources;     // source id -> name
  double target_fps = 0;                // 0 = no target
  std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes;  // the largest body the server accepts
  bool token_required = false;
};

// What a client wants. Bit k of sample_kinds selects SampleKind k (same for event_kinds).
struct SubscribeFrame {
  std::string token;                            // "" when the server needs none
  std::uint32_t sample_kinds = 0xffffffffu;     // all kinds
  std::uint32_t event_kinds = 0xffffffffu;
  bool decisions = true;
  std::vector<std::uint16_t> sources;           // empty = every source
  std::uint32_t decimation = 1;                 // forward every N-th sample of each (kind, source); >= 1
};

struct PushResultFrame {
  bool accepted = false;
  std::string message;         // why rejected, or what is now active
  std::uint64_t checksum = 0;  // checksum of the policy that is active after the request
};

// One decoded frame; only the members of `type` are meaningful.
struct Frame {
  FrameType type = FrameType::kClose;
  HelloFrame hello;
  SubscribeFrame subscribe;
  std::vector<Sample> samples;
  Event event;
  Decision decision;
  std::uint64_t lost = 0;
  std::string policy_bytes;
  PushResultFrame push_result;
  std::string reason;  // kClose
};

// Encoders append one complete frame (prefix + body) to *out.
void encode_hello(const HelloFrame& f, std::string* out);
void encode_subscribe(const SubscribeFrame& f, std::string* out);
void encode_samples(std::span<const Sample> samples, std::string* out);
void encode_event(const Event& e, std::string* out);
void encode_decision(const Decision& d, std::string* out);
void encode_lost(std::uint64_t n, std::string* out);
void encode_policy_push(std::string_view policy_bytes, std::string* out);
void encode_push_result(const PushResultFrame& f, std::string* out);
void encode_rollback(std::string* out);
void encode_close(std::string_view reason, std::string* out);

// Body length from a 4-byte prefix, checked against max_frame_bytes (kInvalidArgument names
// the length and the limit; a zero length is malformed too).
Result<std::uint32_t> decode_frame_length(const char prefix[kFramePrefixBytes], std::uint32_t max_frame_bytes);
// Decodes one body (without the prefix). kCorrupt, naming the frame type and field.
Result<Frame> decode_frame_body(std::string_view body);

// Incremental splitter for a byte stream (tests, and any reader that gets arbitrary chunks):
// feed bytes, then call next() until it returns false. After an error the reader stays failed.
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes) : max_(max_frame_bytes) {}
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // True and *out set when a whole frame was available; false when more bytes are needed or
  // on error (check status()).
  bool next(Frame* out);
  const Status& status() const noexcept { return status_; }
  std::size_t buffered() const noexcept { return buf_.size() - pos_; }

 private:
  std::uint32_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  Status status_;
};

}  // namespace hetsched::telemetry
