#include "telemetry/trace_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <msgpack.hpp>
#include <string_view>

#include "telemetry/crc32.hpp"

namespace hetsched::telemetry {

namespace {

// Internal only: decode helpers throw this and the two callers turn it into a Status/skip.
struct DecodeError {
  std::string what;
};

// Objects reference the file buffer instead of copying str/bin payloads (the buffer outlives
// every object_handle we create).
bool reference_all(msgpack::type::object_type, std::size_t, void*) { return true; }

msgpack::object_handle unpack_body(const char* p, std::size_t len) {
  // No container can claim more elements than the body has bytes: stops a hostile count from
  // forcing a huge allocation before the parser notices the data is short.
  const msgpack::unpack_limit limit(len, len, len, len, len, 16);
  try {
    std::size_t off = 0;
    auto oh = msgpack::unpack(p, len, off, reference_all, nullptr, limit);
    return oh;
  } catch (const std::exception& e) {
    throw DecodeError{std::string("msgpack: ") + e.what()};
  }
}

const msgpack::object_array& as_array(const msgpack::object& o, std::uint32_t min_size, const char* what) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size < min_size)
    throw DecodeError{std::string(what) + " is not an array of >= " + std::to_string(min_size) + " items"};
  return o.via.array;
}
std::uint64_t as_u64(const msgpack::object& o, const char* what) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) throw DecodeError{std::string(what) + " is not an unsigned integer"};
  return o.via.u64;
}
std::int64_t as_i64(const msgpack::object& o, const char* what) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER &&
      o.via.u64 <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(o.via.u64);
  throw DecodeError{std::string(what) + " is not a 64-bit signed integer"};
}
std::string as_str(const msgpack::object& o, const char* what) {
  if (o.type != msgpack::type::STR) throw DecodeError{std::string(what) + " is not a string"};
  return std::string(o.via.str.ptr, o.via.str.size);
}
std::string_view as_bin(const msgpack::object& o, const char* what) {
  if (o.type != msgpack::type::BIN) throw DecodeError{std::string(what) + " is not a bin blob"};
  return {o.via.bin.ptr, o.via.bin.size};
}

TraceHeader decode_header(const char* p, std::size_t len) {
  auto oh = unpack_body(p, len);
  const msgpack::object& root = oh.get();
  if (root.type != msgpack::type::MAP) throw DecodeError{"header is not a msgpack map"};
  TraceHeader h;
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const auto& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) continue;  // not ours; ignore
    const std::string key = as_str(kv.key, "header key");
    if (key == "producer") h.producer = as_str(kv.val, "header field 'producer'");
    else if (key == "platform") h.platform = as_str(kv.val, "header field 'platform'");
    else if (key == "model") h.model = as_str(kv.val, "header field 'model'");
    else if (key == "seeds") {
      const auto& a = as_array(kv.val, 0, "header field 'seeds'");
      for (std::uint32_t j = 0; j < a.size; ++j) h.seeds.push_back(as_u64(a.ptr[j], "header field 'seeds' item"));
    } else if (key == "metadata") {
      if (kv.val.type != msgpack::type::MAP) throw DecodeError{"header field 'metadata' is not a map"};
      for (std::uint32_t j = 0; j < kv.val.via.map.size; ++j)
        h.metadata[as_str(kv.val.via.map.ptr[j].key, "metadata key")] =
            as_str(kv.val.via.map.ptr[j].val, "metadata value");
    } else if (key == "sources") {
      const auto& a = as_array(kv.val, 0, "header field 'sources'");
      if (a.size > SourceTable::kMaxSources) throw DecodeError{"header field 'sources' has > 65535 names"};
      std::vector<std::string> names;
      for (std::uint32_t j = 0; j < a.size; ++j) names.push_back(as_str(a.ptr[j], "header field 'sources' item"));
      h.sources = SourceTable(std::move(names));
    }  // unknown keys: written by a newer minor version, ignored by design
  }
  return h;
}

}  // namespace

Result<TraceReader> TraceReader::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  path + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<char> bytes;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    bytes.insert(bytes.end(), buf, buf + n);
    // Check the magic as soon as it is in: `trace info /dev/zero` must fail, not read forever.
    const std::size_t m = std::min<std::size_t>(bytes.size(), 8);
    if (std::memcmp(bytes.data(), kTraceMagic.data(), m) != 0) break;
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Status(StatusCode::kIoError, path + ": read failed (" + std::strerror(err) + ")");
  return from_bytes(path, std::move(bytes));
}

Result<TraceReader> TraceReader::from_bytes(std::string name, std::vector<char> bytes) {
  const std::size_t size = bytes.size();
  if (size == 0) return Status(StatusCode::kCorrupt, name + ": empty file, not a hetsched trace");
  const std::size_t m = std::min<std::size_t>(size, 8);
  if (std::memcmp(bytes.data(), kTraceMagic.data(), m) != 0)
    return Status(StatusCode::kCorrupt, name + ": not a hetsched trace (bad magic)");
  if (size < kPrefixBytes)
    return Status(StatusCode::kCorrupt, name + ": truncated trace header (" + std::to_string(size) +
                                            " of " + std::to_string(kPrefixBytes) + " prefix bytes)");
  TraceReader r;
  r.name_ = std::move(name);
  const char* p = bytes.data();
  const std::uint16_t major = get_u16(p + 8), minor = get_u16(p + 10);
  if (major != kTraceFormatMajor)
    return Status(StatusCode::kInvalidArgument,
                  r.name_ + ": trace format " + std::to_string(major) + "." + std::to_string(minor) +
                      " is not readable by this hetsched (reads " + std::to_string(kTraceFormatMajor) + ".x)");
  const std::uint32_t hlen = get_u32(p + 12);
  if (hlen > kMaxBodyBytes || kPrefixBytes + hlen > size)
    return Status(StatusCode::kCorrupt, r.name_ + ": trace header truncated or length corrupt (" +
                                            std::to_string(hlen) + " bytes at offset 24, file has " +
                                            std::to_string(size) + ")");
  if (crc32(0, p + kPrefixBytes, hlen) != get_u32(p + 16))
    return Status(StatusCode::kCorrupt, r.name_ + ": trace header corrupt (CRC mismatch at offset 24)");
  try {
    r.header_ = decode_header(p + kPrefixBytes, hlen);
  } catch (const DecodeError& e) {
    return Status(StatusCode::kCorrupt, r.name_ + ": trace header malformed: " + e.what);
  }
  r.header_.format_major = major;
  r.header_.format_minor = minor;
  r.pos_ = kPrefixBytes + hlen;
  r.report_.file_bytes = size;
  r.bytes_ = std::move(bytes);
  return r;
}

void TraceReader::skip_to_next_marker(std::size_t from, std::string reason) {
  const std::string_view all(bytes_.data(), bytes_.size());
  std::size_t next = from < all.size() ? all.find(kChunkMarker, from) : std::string_view::npos;
  if (next == std::string_view::npos) next = all.size();
  if (all.substr(pos_, 8) == kChunkMarker) ++report_.chunks_skipped;
  report_.skipped.push_back({pos_, next, std::move(reason)});
  report_.bytes_skipped += next - pos_;
  pos_ = next;
}

bool TraceReader::next(TraceChunk& out) {
  const std::string_view all(bytes_.data(), bytes_.size());
  while (!done_) {
    const std::size_t size = all.size();
    if (pos_ >= size) break;
    const std::size_t left = size - pos_;
    const std::string_view head = all.substr(pos_, std::min<std::size_t>(left, 8));
    if (head != kChunkMarker.substr(0, head.size())) {
      skip_to_next_marker(pos_, "no chunk marker at this offset (garbage between chunks)");
      continue;
    }
    if (left < kChunkHeaderBytes) {  // a cut inside the marker or the length/CRC fields
      report_.truncated = true;
      skip_to_next_marker(size, "truncated chunk (file ends inside the 16-byte chunk header)");
      break;
    }
    const char* p = bytes_.data() + pos_;
    const std::uint32_t len = get_u32(p + 8);
    if (len > kMaxBodyBytes) {
      skip_to_next_marker(pos_ + 1, "chunk length " + std::to_string(len) + " exceeds the 256 MiB limit");
      continue;
    }
    if (kChunkHeaderBytes + len > left) {
      if (all.find(kChunkMarker, pos_ + 1) != std::string_view::npos) {
        skip_to_next_marker(pos_ + 1, "chunk length " + std::to_string(len) + " runs past the next chunk (corrupt length)");
        continue;
      }
      report_.truncated = true;
      skip_to_next_marker(size, "truncated chunk (needs " + std::to_string(kChunkHeaderBytes + len) +
                                    " bytes, " + std::to_string(left) + " left)");
      break;
    }
    const std::uint32_t crc = crc32(crc32(0, p + 8, 4), p + kChunkHeaderBytes, len);
    if (crc != get_u32(p + 12)) {
      skip_to_next_marker(pos_ + 1, "chunk CRC mismatch");
      continue;
    }
    std::string why;
    if (!decode_chunk(p + kChunkHeaderBytes, len, out, why)) {
      skip_to_next_marker(pos_ + 1, "malformed chunk body: " + why);
      continue;
    }
    out.offset = pos_;
    pos_ += kChunkHeaderBytes + len;
    ++report_.chunks_ok;
    if (out.final) report_.clean_end = true;
    return true;
  }
  done_ = true;
  return false;
}

bool TraceReader::decode_chunk(const char* body, std::size_t len, TraceChunk& out, std::string& why) {
  try {
    auto oh = unpack_body(body, len);
    const auto& a = as_array(oh.get(), 7, "chunk body");
    out.seq = as_u64(a.ptr[0], "chunk seq");
    out.final = (as_u64(a.ptr[1], "chunk flags") & kChunkFlagFinal) != 0;
    out.dropped_samples = as_u64(a.ptr[2], "chunk dropped count");
    const std::uint64_t n = as_u64(a.ptr[3], "chunk sample count");
    const std::string_view blob = as_bin(a.ptr[4], "chunk sample blob");
    if (blob.size() != n * kSampleRecordBytes)
      throw DecodeError{"sample blob is " + std::to_string(blob.size()) + " bytes, expected " +
                        std::to_string(n) + " x 19"};
    out.samples.resize(n);
    for (std::size_t i = 0; i < n; ++i) out.samples[i] = decode_sample(blob.data() + i * kSampleRecordBytes);
    const auto& ev = as_array(a.ptr[5], 0, "chunk events");
    out.events.resize(ev.size);
    for (std::uint32_t i = 0; i < ev.size; ++i) {
      const auto& e = as_array(ev.ptr[i], 4, "event");
      out.events[i].t_ns = as_i64(e.ptr[0], "event t_ns");
      out.events[i].kind = static_cast<EventKind>(as_u64(e.ptr[1], "event kind") & 0xFF);
      out.events[i].source = static_cast<std::uint16_t>(as_u64(e.ptr[2], "event source"));
      out.events[i].text = as_str(e.ptr[3], "event text");
    }
    const auto& dv = as_array(a.ptr[6], 0, "chunk decisions");
    out.decisions.resize(dv.size);
    for (std::uint32_t i = 0; i < dv.size; ++i) {
      const auto& d = as_array(dv.ptr[i], 4, "decision");
      Decision& o = out.decisions[i];
      o.t_ns = as_i64(d.ptr[0], "decision t_ns");
      const std::int64_t action = as_i64(d.ptr[1], "decision action");
      if (action < std::numeric_limits<std::int32_t>::min() || action > std::numeric_limits<std::int32_t>::max())
        throw DecodeError{"decision action out of int32 range"};
      o.action = static_cast<std::int32_t>(action);
      const std::string_view obs = as_bin(d.ptr[2], "decision observation");
      if (obs.size() % sizeof(float) != 0) throw DecodeError{"decision observation is not whole floats"};
      o.observation.resize(obs.size() / sizeof(float));
      if (!obs.empty()) std::memcpy(o.observation.data(), obs.data(), obs.size());
      o.text = as_str(d.ptr[3], "decision text");
    }
    return true;
  } catch (const DecodeError& e) {
    why = e.what;
  } catch (const std::exception& e) {  // bad_alloc and friends
    why = e.what();
  }
  return false;
}

TraceSummary summarize(TraceReader& reader) {
  TraceSummary s;
  s.header = reader.header();
  TraceChunk c;
  bool any = false, have_seq = false;
  std::uint64_t expect_seq = 0;
  auto see_t = [&](std::int64_t t) {
    if (!any) s.first_t_ns = s.last_t_ns = t, any = true;
    s.first_t_ns = std::min(s.first_t_ns, t);
    s.last_t_ns = std::max(s.last_t_ns, t);
  };
  while (reader.next(c)) {
    if (have_seq && c.seq > expect_seq) s.missing_chunks += c.seq - expect_seq;
    expect_seq = c.seq + 1;
    have_seq = true;
    s.dropped_samples += c.dropped_samples;
    for (const auto& x : c.samples) {
      const auto k = static_cast<std::size_t>(x.kind);
      if (k < kSampleKindCount) ++s.samples_per_kind[k];
      else ++s.samples_unknown_kind;
      see_t(x.t_ns);
    }
    for (const auto& e : c.events) {
      const auto k = static_cast<std::size_t>(e.kind);
      if (k < kEventKindCount) ++s.events_per_kind[k];
      else ++s.events_unknown_kind;
      see_t(e.t_ns);
    }
    for (const auto& d : c.decisions) see_t(d.t_ns);
    s.samples += c.samples.size();
    s.events += c.events.size();
    s.decisions += c.decisions.size();
  }
  s.recovery = reader.report();
  return s;
}

}  // namespace hetsched::telemetry
