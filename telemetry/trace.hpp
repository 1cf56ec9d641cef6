// The hetsched trace file format (byte-by-byte description: docs/trace-format.md).
//
//   file   = prefix(24 B) header-body chunk*
//   prefix = "HETSCHTR" u16 major u16 minor u32 header_len u32 header_crc u32 reserved
//   chunk  = marker(8 B) u32 body_len u32 crc32(body_len bytes + body) body
// All integers little-endian. Header and chunk bodies are msgpack. A chunk's samples are one
// msgpack bin blob of 19-byte fixed records (i64 t_ns, f64 value, u16 source, u8 kind): this
// is what makes writing ~10x faster than a msgpack array per sample.
//
// Versioning: `major` changes when an old reader would misread the file (the reader refuses a
// newer major); `minor` changes for compatible additions (new header keys, trailing chunk-body
// array elements, new sample/event kinds), which older readers ignore or print as unknown.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "telemetry/sample.hpp"

namespace hetsched::telemetry {

static_assert(std::endian::native == std::endian::little,
              "trace encoding copies little-endian records directly");

inline constexpr std::string_view kTraceMagic{"HETSCHTR", 8};
// Chunk marker, chosen like PNG's signature: a high-bit byte (not ASCII, not a valid msgpack
// type prefix for a header), CR LF and ^Z, so text mangling or a text file never forms it.
inline constexpr std::string_view kChunkMarker{"\x89HSCHNK\x1a", 8};
inline constexpr std::uint16_t kTraceFormatMajor = 1;
inline constexpr std::uint16_t kTraceFormatMinor = 0;
inline constexpr std::size_t kPrefixBytes = 24;
inline constexpr std::size_t kChunkHeaderBytes = 16;  // marker + body_len + crc
inline constexpr std::size_t kSampleRecordBytes = 19;
// Upper bound on a header or chunk body; anything larger is treated as a corrupt length field.
inline constexpr std::uint32_t kMaxBodyBytes = 256u << 20;
inline constexpr std::uint8_t kChunkFlagFinal = 1;  // written by close(): the trace ended cleanly

struct TraceHeader {
  std::uint16_t format_major = kTraceFormatMajor;  // filled in by the reader; ignored by the writer
  std::uint16_t format_minor = kTraceFormatMinor;  // filled in by the reader; ignored by the writer
  std::string producer;                           // e.g. "hetsched 0.1.0 trace record"
  std::string platform;                           // e.g. "rk3588", "toy4"
  std::string model;                              // e.g. "mobilenet_v2"
  std::vector<std::uint64_t> seeds;               // every seed that shaped the run
  std::map<std::string, std::string> metadata;    // free-form key -> value
  SourceTable sources;                            // source id -> name
};

// One decoded chunk.
struct TraceChunk {
  std::uint64_t offset = 0;           // byte offset of the chunk marker in the file
  std::uint64_t seq = 0;              // 0, 1, 2 ... in write order (gaps = lost chunks)
  bool final = false;                 // the writer's closing chunk
  std::uint64_t dropped_samples = 0;  // samples lost upstream (ring overflow) since the previous chunk
  std::vector<Sample> samples;
  std::vector<Event> events;
  std::vector<Decision> decisions;
};

// Little-endian record codec shared by writer and reader.
inline void encode_sample(const Sample& s, char* out) noexcept {
  std::memcpy(out, &s.t_ns, 8);
  std::memcpy(out + 8, &s.value, 8);
  std::memcpy(out + 16, &s.source, 2);
  out[18] = static_cast<char>(s.kind);
}
inline Sample decode_sample(const char* in) noexcept {
  Sample s;
  std::memcpy(&s.t_ns, in, 8);
  std::memcpy(&s.value, in + 8, 8);
  std::memcpy(&s.source, in + 16, 2);
  s.kind = static_cast<SampleKind>(static_cast<unsigned char>(in[18]));
  return s;
}

inline void put_u16(char* p, std::uint16_t v) noexcept { std::memcpy(p, &v, 2); }
inline void put_u32(char* p, std::uint32_t v) noexcept { std::memcpy(p, &v, 4); }
inline std::uint16_t get_u16(const char* p) noexcept { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
inline std::uint32_t get_u32(const char* p) noexcept { std::uint32_t v; std::memcpy(&v, p, 4); return v; }

}  // namespace hetsched::telemetry
