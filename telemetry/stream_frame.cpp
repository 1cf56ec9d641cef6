#include "telemetry/stream_frame.hpp"

#include <cstring>
#include <limits>

#include <msgpack.hpp>

#include "telemetry/trace.hpp"

namespace hetsched::telemetry {
namespace {

// msgpack packer target that appends to a std::string.
struct Append {
  std::string* s;
  void write(const char* p, std::size_t n) { s->append(p, n); }
};

// Writes the prefix placeholder, runs body(packer), then patches the length.
template <typename Fn>
void frame(std::string* out, FrameType type, std::uint32_t fields, Fn&& body) {
  const std::size_t at = out->size();
  out->append(kFramePrefixBytes, '\0');
  Append a{out};
  msgpack::packer<Append> pk(a);
  pk.pack_array(1 + fields);
  pk.pack_uint8(static_cast<std::uint8_t>(type));
  body(pk);
  put_u32(out->data() + at, static_cast<std::uint32_t>(out->size() - at - kFramePrefixBytes));
}

struct Bad {
  std::string what;
};

const char* type_label(std::uint64_t t) {
  switch (t) {
    case 1: return "hello";
    case 2: return "subscribe";
    case 3: return "samples";
    case 4: return "event";
    case 5: return "decision";
    case 6: return "lost";
    case 7: return "policy_push";
    case 8: return "push_result";
    case 9: return "rollback";
    case 10: return "close";
    default: return "unknown";
  }
}

// Field readers: `what` is "<frame>.<field>" so errors say exactly what is wrong.
std::uint64_t u64(const msgpack::object& o, const std::string& what) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) throw Bad{what + " is not an unsigned integer"};
  return o.via.u64;
}
std::uint32_t u32(const msgpack::object& o, const std::string& what) {
  const std::uint64_t v = u64(o, what);
  if (v > std::numeric_limits<std::uint32_t>::max()) throw Bad{what + " = " + std::to_string(v) + " exceeds 32 bits"};
  return static_cast<std::uint32_t>(v);
}
std::int64_t i64(const msgpack::object& o, const std::string& what) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER && o.via.u64 <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(o.via.u64);
  throw Bad{what + " is not a 64-bit signed integer"};
}
double f64(const msgpack::object& o, const std::string& what) {
  if (o.type == msgpack::type::FLOAT64 || o.type == msgpack::type::FLOAT32) return o.via.f64;
  if (o.type == msgpack::type::POSITIVE_INTEGER) return static_cast<double>(o.via.u64);
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return static_cast<double>(o.via.i64);
  throw Bad{what + " is not a number"};
}
bool boolean(const msgpack::object& o, const std::string& what) {
  if (o.type != msgpack::type::BOOLEAN) throw Bad{what + " is not a boolean"};
  return o.via.boolean;
}
std::string str(const msgpack::object& o, const std::string& what) {
  if (o.type != msgpack::type::STR) throw Bad{what + " is not a string"};
  return std::string(o.via.str.ptr, o.via.str.size);
}
std::string_view bin(const msgpack::object& o, const std::string& what) {
  if (o.type != msgpack::type::BIN) throw Bad{what + " is not a bin blob"};
  return {o.via.bin.ptr, o.via.bin.size};
}
const msgpack::object_array& arr(const msgpack::object& o, const std::string& what) {
  if (o.type != msgpack::type::ARRAY) throw Bad{what + " is not an array"};
  return o.via.array;
}

// Minimum field count (after the type) per frame type.
std::uint32_t min_fields(FrameType t) {
  switch (t) {
    case FrameType::kHello: return 6;
    case FrameType::kSubscribe: return 6;
    case FrameType::kSamples: return 1;
    case FrameType::kEvent: return 4;
    case FrameType::kDecision: return 4;
    case FrameType::kLost: return 1;
    case FrameType::kPolicyPush: return 1;
    case FrameType::kPushResult: return 3;
    case FrameType::kRollback: return 0;
    case FrameType::kClose: return 1;
  }
  return 0;
}

void decode_fields(const msgpack::object* f, const std::string& n, Frame* out) {
  switch (out->type) {
    case FrameType::kHello: {
      HelloFrame& h = out->hello;
      h.protocol_version = u32(f[0], n + ".protocol_version");
      h.description = str(f[1], n + ".description");
      const auto& src = arr(f[2], n + ".sources");
      if (src.size > SourceTable::kMaxSources) throw Bad{n + ".sources has more than 65535 names"};
      h.sources.clear();
      for (std::uint32_t i = 0; i < src.size; ++i) h.sources.push_back(str(src.ptr[i], n + ".sources[" + std::to_string(i) + "]"));
      h.target_fps = f64(f[3], n + ".target_fps");
      h.max_frame_bytes = u32(f[4], n + ".max_frame_bytes");
      h.token_required = boolean(f[5], n + ".token_required");
      return;
    }
    case FrameType::kSubscribe: {
      SubscribeFrame& s = out->subscribe;
      s.token = str(f[0], n + ".token");
      s.sample_kinds = u32(f[1], n + ".sample_kinds");
      s.event_kinds = u32(f[2], n + ".event_kinds");
      s.decisions = boolean(f[3], n + ".decisions");
      const auto& src = arr(f[4], n + ".sources");
      s.sources.clear();
      for (std::uint32_t i = 0; i < src.size; ++i) {
        const std::uint64_t id = u64(src.ptr[i], n + ".sources[" + std::to_string(i) + "]");
        if (id > 0xffff) throw Bad{n + ".sources[" + std::to_string(i) + "] = " + std::to_string(id) + " is not a 16-bit source id"};
        s.sources.push_back(static_cast<std::uint16_t>(id));
      }
      s.decimation = u32(f[5], n + ".decimation");
      if (s.decimation == 0) throw Bad{n + ".decimation = 0: must be >= 1"};
      return;
    }
    case FrameType::kSamples: {
      const std::string_view b = bin(f[0], n + ".records");
      if (b.size() % kSampleRecordBytes != 0)
        throw Bad{n + ".records is " + std::to_string(b.size()) + " bytes, not a multiple of " + std::to_string(kSampleRecordBytes)};
      out->samples.resize(b.size() / kSampleRecordBytes);
      for (std::size_t i = 0; i < out->samples.size(); ++i) {
        const char* r = b.data() + i * kSampleRecordBytes;
        if (static_cast<unsigned char>(r[18]) >= kSampleKindCount)
          throw Bad{n + ".records[" + std::to_string(i) + "] has unknown sample kind " + std::to_string(static_cast<unsigned char>(r[18]))};
        out->samples[i] = decode_sample(r);
      }
      return;
    }
    case FrameType::kEvent: {
      Event& e = out->event;
      e.t_ns = i64(f[0], n + ".t_ns");
      const std::uint64_t k = u64(f[1], n + ".kind");
      if (k >= kEventKindCount) throw Bad{n + ".kind = " + std::to_string(k) + " is not a known event kind"};
      e.kind = static_cast<EventKind>(k);
      const std::uint64_t src = u64(f[2], n + ".source");
      if (src > 0xffff) throw Bad{n + ".source = " + std::to_string(src) + " is not a 16-bit source id"};
      e.source = static_cast<std::uint16_t>(src);
      e.text = str(f[3], n + ".text");
      return;
    }
    case FrameType::kDecision: {
      Decision& d = out->decision;
      d.t_ns = i64(f[0], n + ".t_ns");
      const std::int64_t a = i64(f[1], n + ".action");
      if (a < INT32_MIN || a > INT32_MAX) throw Bad{n + ".action = " + std::to_string(a) + " exceeds 32 bits"};
      d.action = static_cast<std::int32_t>(a);
      const std::string_view ob = bin(f[2], n + ".observation");
      if (ob.size() % 4 != 0) throw Bad{n + ".observation is " + std::to_string(ob.size()) + " bytes, not float32 values"};
      d.observation.resize(ob.size() / 4);
      if (!ob.empty()) std::memcpy(d.observation.data(), ob.data(), ob.size());
      d.text = str(f[3], n + ".text");
      return;
    }
    case FrameType::kLost: out->lost = u64(f[0], n + ".count"); return;
    case FrameType::kPolicyPush: out->policy_bytes = std::string(bin(f[0], n + ".policy")); return;
    case FrameType::kPushResult:
      out->push_result.accepted = boolean(f[0], n + ".accepted");
      out->push_result.message = str(f[1], n + ".message");
      out->push_result.checksum = u64(f[2], n + ".checksum");
      return;
    case FrameType::kRollback: return;
    case FrameType::kClose: out->reason = str(f[0], n + ".reason"); return;
  }
}

}  // namespace

std::string_view frame_type_name(FrameType t) noexcept { return type_label(static_cast<std::uint64_t>(t)); }

void encode_hello(const HelloFrame& f, std::string* out) {
  frame(out, FrameType::kHello, 6, [&](auto& pk) {
    pk.pack_uint32(f.protocol_version);
    pk.pack(f.description);
    pk.pack_array(static_cast<std::uint32_t>(f.sources.size()));
    for (const auto& s : f.sources) pk.pack(s);
    pk.pack_double(f.target_fps);
    pk.pack_uint32(f.max_frame_bytes);
    if (f.token_required) pk.pack_true(); else pk.pack_false();
  });
}

void encode_subscribe(const SubscribeFrame& f, std::string* out) {
  frame(out, FrameType::kSubscribe, 6, [&](auto& pk) {
    pk.pack(f.token);
    pk.pack_uint32(f.sample_kinds);
    pk.pack_uint32(f.event_kinds);
    if (f.decisions) pk.pack_true(); else pk.pack_false();
    pk.pack_array(static_cast<std::uint32_t>(f.sources.size()));
    for (std::uint16_t s : f.sources) pk.pack_uint16(s);
    pk.pack_uint32(f.decimation);
  });
}

void encode_samples(std::span<const Sample> samples, std::string* out) {
  frame(out, FrameType::kSamples, 1, [&](auto& pk) {
    const auto n = static_cast<std::uint32_t>(samples.size() * kSampleRecordBytes);
    pk.pack_bin(n);
    // Records go straight into the output: no temporary blob.
    const std::size_t at = out->size();
    out->resize(at + n);
    for (std::size_t i = 0; i < samples.size(); ++i) encode_sample(samples[i], out->data() + at + i * kSampleRecordBytes);
  });
}

void encode_event(const Event& e, std::string* out) {
  frame(out, FrameType::kEvent, 4, [&](auto& pk) {
    pk.pack_int64(e.t_ns);
    pk.pack_uint8(static_cast<std::uint8_t>(e.kind));
    pk.pack_uint16(e.source);
    pk.pack(e.text);
  });
}

void encode_decision(const Decision& d, std::string* out) {
  frame(out, FrameType::kDecision, 4, [&](auto& pk) {
    pk.pack_int64(d.t_ns);
    pk.pack_int32(d.action);
    const auto n = static_cast<std::uint32_t>(d.observation.size() * sizeof(float));
    pk.pack_bin(n);
    pk.pack_bin_body(reinterpret_cast<const char*>(d.observation.data()), n);
    pk.pack(d.text);
  });
}

void encode_lost(std::uint64_t n, std::string* out) {
  frame(out, FrameType::kLost, 1, [&](auto& pk) { pk.pack_uint64(n); });
}

void encode_policy_push(std::string_view policy_bytes, std::string* out) {
  frame(out, FrameType::kPolicyPush, 1, [&](auto& pk) {
    pk.pack_bin(static_cast<std::uint32_t>(policy_bytes.size()));
    pk.pack_bin_body(policy_bytes.data(), static_cast<std::uint32_t>(policy_bytes.size()));
  });
}

void encode_push_result(const PushResultFrame& f, std::string* out) {
  frame(out, FrameType::kPushResult, 3, [&](auto& pk) {
    if (f.accepted) pk.pack_true(); else pk.pack_false();
    pk.pack(f.message);
    pk.pack_uint64(f.checksum);
  });
}

void encode_rollback(std::string* out) {
  frame(out, FrameType::kRollback, 0, [](auto&) {});
}

void encode_close(std::string_view reason, std::string* out) {
  frame(out, FrameType::kClose, 1, [&](auto& pk) {
    pk.pack_str(static_cast<std::uint32_t>(reason.size()));
    pk.pack_str_body(reason.data(), static_cast<std::uint32_t>(reason.size()));
  });
}

Result<std::uint32_t> decode_frame_length(const char prefix[kFramePrefixBytes], std::uint32_t max_frame_bytes) {
  const std::uint32_t n = get_u32(prefix);
  if (n == 0) return Status(StatusCode::kInvalidArgument, "frame length prefix is 0 (a frame body is at least 2 bytes)");
  if (n > max_frame_bytes)
    return Status(StatusCode::kInvalidArgument, "frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                                                    std::to_string(max_frame_bytes) + " bytes");
  return n;
}

Result<Frame> decode_frame_body(std::string_view body) {
  // No container may claim more elements than the body has bytes (a hostile count cannot force a
  // large allocation before the parser sees the data is short); nesting is at most 2 deep.
  const std::size_t len = body.size();
  const msgpack::unpack_limit limit(len, 0, len, len, 0, 4);
  try {
    std::size_t off = 0;
    msgpack::object_handle oh = msgpack::unpack(body.data(), len, off, nullptr, nullptr, limit);
    if (off != len)
      throw Bad{"frame body has " + std::to_string(len - off) + " bytes after its msgpack array"};
    const msgpack::object& root = oh.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size == 0) throw Bad{"frame body is not a non-empty msgpack array"};
    const std::uint64_t t = u64(root.via.array.ptr[0], "frame type");
    if (t < 1 || t > 10) throw Bad{"unknown frame type " + std::to_string(t)};
    Frame out;
    out.type = static_cast<FrameType>(t);
    const std::string name = type_label(t);
    const std::uint32_t have = root.via.array.size - 1, need = min_fields(out.type);
    if (have < need)
      throw Bad{name + " frame has " + std::to_string(have) + " fields, needs " + std::to_string(need)};
    decode_fields(root.via.array.ptr + 1, name, &out);
    return out;
  } catch (const Bad& b) {
    return Status(StatusCode::kCorrupt, b.what);
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorrupt, std::string("frame body is not valid msgpack: ") + e.what());
  }
}

bool FrameReader::next(Frame* out) {
  if (!status_.ok()) return false;
  if (buf_.size() - pos_ < kFramePrefixBytes) return false;
  auto n = decode_frame_length(buf_.data() + pos_, max_);
  if (!n.ok()) {
    status_ = n.status();
    return false;
  }
  if (buf_.size() - pos_ - kFramePrefixBytes < *n) return false;
  auto f = decode_frame_body(std::string_view(buf_.data() + pos_ + kFramePrefixBytes, *n));
  pos_ += kFramePrefixBytes + *n;
  if (pos_ == buf_.size()) buf_.clear(), pos_ = 0;
  else if (pos_ > (1u << 16)) buf_.erase(0, pos_), pos_ = 0;
  if (!f.ok()) {
    status_ = f.status();
    return false;
  }
  *out = std::move(f.value());
  return true;
}

}  // namespace hetsched::telemetry
