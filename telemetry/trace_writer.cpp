#include "telemetry/trace_writer.hpp"

#include <cerrno>
#include <cstring>
#include <msgpack.hpp>

#include "telemetry/crc32.hpp"

namespace hetsched::telemetry {

namespace {

// msgpack::packer stream appending to a reused std::vector<char>.
struct VecStream {
  std::vector<char>* out;
  void write(const char* p, std::size_t n) { out->insert(out->end(), p, p + n); }
};

void pack_str(msgpack::packer<VecStream>& pk, const std::string& s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void encode_header(const TraceHeader& h, std::vector<char>& out) {
  VecStream st{&out};
  msgpack::packer<VecStream> pk(st);
  pk.pack_map(6);
  pack_str(pk, "producer"), pack_str(pk, h.producer);
  pack_str(pk, "platform"), pack_str(pk, h.platform);
  pack_str(pk, "model"), pack_str(pk, h.model);
  pack_str(pk, "seeds");
  pk.pack_array(static_cast<std::uint32_t>(h.seeds.size()));
  for (auto s : h.seeds) pk.pack_uint64(s);
  pack_str(pk, "metadata");
  pk.pack_map(static_cast<std::uint32_t>(h.metadata.size()));
  for (const auto& [k, v] : h.metadata) pack_str(pk, k), pack_str(pk, v);
  pack_str(pk, "sources");
  pk.pack_array(static_cast<std::uint32_t>(h.sources.size()));
  for (const auto& n : h.sources.names()) pack_str(pk, n);
}

}  // namespace

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const TraceWriterOptions& options,
                                                         const TraceHeader& header) {
  if (options.path.empty()) return Status(StatusCode::kInvalidArgument, "TraceWriterOptions.path is empty");
  if (options.chunk_samples == 0 || options.chunk_samples > (std::size_t{1} << 22))
    return Status(StatusCode::kInvalidArgument, "TraceWriterOptions.chunk_samples = " +
                                                    std::to_string(options.chunk_samples) +
                                                    ": must be in [1, 4194304]");
  if (options.chunk_interval_ns < 0)
    return Status(StatusCode::kInvalidArgument, "TraceWriterOptions.chunk_interval_ns = " +
                                                    std::to_string(options.chunk_interval_ns) +
                                                    " ns: must be >= 0 (0 = off)");
  if (options.chunk_events == 0)
    return Status(StatusCode::kInvalidArgument, "TraceWriterOptions.chunk_events must be >= 1");

  std::unique_ptr<TraceWriter> w(new TraceWriter(options));
  w->sample_bytes_.resize(options.chunk_samples * kSampleRecordBytes);
  w->body_.reserve(4096);
  w->pending_events_.reserve(std::min<std::size_t>(options.chunk_events, 1024));

  std::vector<char> hbody;
  encode_header(header, hbody);
  if (hbody.size() > kMaxBodyBytes)
    return Status(StatusCode::kInvalidArgument, "trace header is " + std::to_string(hbody.size()) +
                                                    " bytes: larger than the 256 MiB limit");
  w->file_ = std::fopen(options.path.c_str(), "wb");
  if (!w->file_)
    return Status(StatusCode::kIoError, options.path + ": cannot create (" + std::strerror(errno) + ")");
  char prefix[kPrefixBytes] = {};
  std::memcpy(prefix, kTraceMagic.data(), 8);
  put_u16(prefix + 8, kTraceFormatMajor);
  put_u16(prefix + 10, kTraceFormatMinor);
  put_u32(prefix + 12, static_cast<std::uint32_t>(hbody.size()));
  put_u32(prefix + 16, crc32(0, hbody.data(), hbody.size()));
  if (std::fwrite(prefix, 1, sizeof prefix, w->file_) != sizeof prefix ||
      std::fwrite(hbody.data(), 1, hbody.size(), w->file_) != hbody.size())
    return w->io_error("write header");
  w->stats_.bytes = sizeof prefix + hbody.size();
  return w;
}

TraceWriter::~TraceWriter() {
  (void)close();  // best effort; callers that care call close() and check it
}

Status TraceWriter::io_error(const char* what) const {
  return Status(StatusCode::kIoError, options_.path + ": " + what + " failed (" + std::strerror(errno) + ")");
}

Status TraceWriter::before_append(std::int64_t t_ns) noexcept {
  if (closed_) return Status(StatusCode::kInvalidArgument, options_.path + ": append after close()");
  if (chunk_empty_) {
    chunk_first_t_ns_ = t_ns;
    chunk_empty_ = false;
    return Status::Ok();
  }
  // Age is measured from the chunk's first record: a chunk never spans more than the interval
  // of record time, so a reader can seek by time at that granularity.
  if (options_.chunk_interval_ns > 0 && sat_sub_ns(t_ns, chunk_first_t_ns_) >= options_.chunk_interval_ns) {
    HETSCHED_RETURN_IF_ERROR(write_chunk(false));
    chunk_first_t_ns_ = t_ns;
    chunk_empty_ = false;
  }
  return Status::Ok();
}

Status TraceWriter::append(const Sample& s) noexcept {
  HETSCHED_RETURN_IF_ERROR(before_append(s.t_ns));
  encode_sample(s, sample_bytes_.data() + pending_samples_ * kSampleRecordBytes);
  if (++pending_samples_ == options_.chunk_samples) return write_chunk(false);
  return Status::Ok();
}

Status TraceWriter::append(const Event& e) {
  HETSCHED_RETURN_IF_ERROR(before_append(e.t_ns));
  pending_events_.push_back(e);
  if (pending_events_.size() + pending_decisions_.size() >= options_.chunk_events) return write_chunk(false);
  return Status::Ok();
}

Status TraceWriter::append(const Decision& d) {
  HETSCHED_RETURN_IF_ERROR(before_append(d.t_ns));
  pending_decisions_.push_back(d);
  if (pending_events_.size() + pending_decisions_.size() >= options_.chunk_events) return write_chunk(false);
  return Status::Ok();
}

Status TraceWriter::flush_if_due(std::int64_t now_ns) noexcept {
  if (closed_ || chunk_empty_ || options_.chunk_interval_ns == 0) return Status::Ok();
  if (sat_sub_ns(now_ns, chunk_first_t_ns_) >= options_.chunk_interval_ns) return write_chunk(false);
  return Status::Ok();
}

Status TraceWriter::flush() noexcept {
  if (closed_ || chunk_empty_) return Status::Ok();
  return write_chunk(false);
}

Status TraceWriter::close() noexcept {
  if (closed_) return Status::Ok();
  closed_ = true;
  if (file_ == nullptr) return Status::Ok();  // create() failed before the file existed
  Status st = write_chunk(true);
  if (std::fclose(file_) != 0 && st.ok()) st = io_error("close");
  file_ = nullptr;
  return st;
}

// Body = msgpack array [seq, flags, dropped, n, bin(samples), events, decisions]. It is written
// in three pieces (head, the sample blob straight from sample_bytes_, tail) so the samples are
// never copied; the CRC is chained over the pieces.
Status TraceWriter::write_chunk(bool final) noexcept {
  try {
    const std::size_t blob = pending_samples_ * kSampleRecordBytes;
    body_.clear();
    VecStream st{&body_};
    msgpack::packer<VecStream> pk(st);
    pk.pack_array(7);
    pk.pack_uint64(seq_);
    pk.pack_uint8(final ? kChunkFlagFinal : 0);
    pk.pack_uint64(pending_dropped_);
    pk.pack_uint32(static_cast<std::uint32_t>(pending_samples_));
    pk.pack_bin(static_cast<std::uint32_t>(blob));
    const std::size_t head_len = body_.size();
    pk.pack_array(static_cast<std::uint32_t>(pending_events_.size()));
    for (const auto& e : pending_events_) {
      pk.pack_array(4);
      pk.pack_int64(e.t_ns);
      pk.pack_uint8(static_cast<std::uint8_t>(e.kind));
      pk.pack_uint16(e.source);
      pack_str(pk, e.text);
    }
    pk.pack_array(static_cast<std::uint32_t>(pending_decisions_.size()));
    for (const auto& d : pending_decisions_) {
      pk.pack_array(4);
      pk.pack_int64(d.t_ns);
      pk.pack_int32(d.action);
      const auto obs_bytes = static_cast<std::uint32_t>(d.observation.size() * sizeof(float));
      pk.pack_bin(obs_bytes);
      pk.pack_bin_body(reinterpret_cast<const char*>(d.observation.data()), obs_bytes);
      pack_str(pk, d.text);
    }
    const std::size_t body_len = body_.size() + blob;
    if (body_len > kMaxBodyBytes)
      return Status(StatusCode::kInvalidArgument,
                    options_.path + ": chunk body of " + std::to_string(body_len) +
                        " bytes exceeds the 256 MiB limit (lower chunk_events or shorten texts)");
    char hdr[kChunkHeaderBytes];
    std::memcpy(hdr, kChunkMarker.data(), 8);
    put_u32(hdr + 8, static_cast<std::uint32_t>(body_len));
    std::uint32_t crc = crc32(0, hdr + 8, 4);
    crc = crc32(crc, body_.data(), head_len);
    crc = crc32(crc, sample_bytes_.data(), blob);
    crc = crc32(crc, body_.data() + head_len, body_.size() - head_len);
    put_u32(hdr + 12, crc);
    const std::size_t tail_len = body_.size() - head_len;
    if (std::fwrite(hdr, 1, sizeof hdr, file_) != sizeof hdr ||
        std::fwrite(body_.data(), 1, head_len, file_) != head_len ||
        std::fwrite(sample_bytes_.data(), 1, blob, file_) != blob ||
        std::fwrite(body_.data() + head_len, 1, tail_len, file_) != tail_len)
      return io_error("write chunk");
    stats_.samples += pending_samples_;
    stats_.events += pending_events_.size();
    stats_.decisions += pending_decisions_.size();
    stats_.dropped += pending_dropped_;
    stats_.bytes += sizeof hdr + body_len;
    ++stats_.chunks;
    ++seq_;
    pending_samples_ = 0;
    pending_events_.clear();
    pending_decisions_.clear();
    pending_dropped_ = 0;
    chunk_empty_ = true;
    return Status::Ok();
  } catch (const std::exception& e) {  // bad_alloc from the body buffer: report, never unwind
    return Status(StatusCode::kInternal, options_.path + ": encoding chunk failed: " + e.what());
  }
}

}  // namespace hetsched::telemetry
