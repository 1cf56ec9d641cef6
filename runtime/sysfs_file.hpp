// One sysfs/procfs attribute kept open for the life of its owner, plus the text parsers the
// Linux sensing code shares.
//
// Why an fd cache: a sensor poll every few milliseconds must not pay open()/close() and path
// lookups, and must not allocate. sysfs regenerates an attribute's text on every read at
// offset 0, so pread(fd, buf, n, 0) on a long-lived fd is a fresh reading each time.
//
// Create-time helpers (read_text, list_dir, parse_*_list) may allocate; the SysfsFile read and
// write members used on the hot path do not.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::runtime {

// Why a reading is not valid. Stable order: tests and docs name these.
enum class ReadError : std::uint8_t {
  kNone = 0,      // value is valid
  kUnavailable,   // the machine lacks this sensor (never opened); not a failure
  kIo,            // pread failed (errno kept in the file)
  kEmpty,         // the attribute returned no text
  kNotANumber,    // text is not an integer (or trailing garbage)
  kOutOfRange,    // integer outside the plausible range for its unit
  kNoBaseline,    // a delta-based value (utilisation) has no previous sample yet
};
const char* read_error_name(ReadError e) noexcept;

// A file opened once (read-only or write-only) and accessed at offset 0.
class SysfsFile {
 public:
  static constexpr int kRawBytes = 32;  // last text kept for error messages

  SysfsFile() = default;
  ~SysfsFile();
  SysfsFile(SysfsFile&& o) noexcept;
  SysfsFile& operator=(SysfsFile&& o) noexcept;
  SysfsFile(const SysfsFile&) = delete;
  SysfsFile& operator=(const SysfsFile&) = delete;

  // Opens `path` for reading. A missing file is kUnavailable; other failures (EACCES ...) are
  // kPermissionDenied/kIoError with the path and errno text.
  static Result<SysfsFile> open_read(const std::string& path);
  // Opens `path` for writing (O_WRONLY, no O_CREAT: sysfs attributes are never created).
  static Result<SysfsFile> open_write(const std::string& path);

  bool is_open() const noexcept { return fd_ >= 0; }
  const std::string& path() const noexcept { return path_; }

  // Reads the attribute as one integer in [lo, hi]. No allocation. On error *out is untouched.
  ReadError read_int(std::int64_t lo, std::int64_t hi, std::int64_t* out) noexcept;
  // Reads raw text into buf (NUL-terminated, at most cap-1 bytes); returns bytes or -1.
  // The first kRawBytes-1 bytes are also kept for last_text().
  long read_raw(char* buf, long cap) noexcept;
  // Writes `text` plus '\n' at offset 0. OK, or kPermissionDenied (EACCES/EPERM), kInvalidArgument
  // (EINVAL: the kernel rejected the value) or kIoError, each naming the path and errno text.
  // The success path does not allocate.
  Status write_text(std::string_view text);
  Status write_int(std::int64_t v);

  // The text seen by the last read (for error messages; at most kRawBytes-1 bytes).
  std::string_view last_text() const noexcept { return {raw_, static_cast<std::size_t>(raw_len_)}; }
  int last_errno() const noexcept { return last_errno_; }
  // "'<path>': not an integer: 'abc'" (allocates; for reports, not the hot path).
  std::string describe(ReadError e, std::string_view unit) const;

 private:
  void close_fd() noexcept;
  int fd_ = -1;
  std::string path_;
  char raw_[kRawBytes] = {};
  int raw_len_ = 0;
  int last_errno_ = 0;
};

// Status for a failed syscall on `path`: EACCES/EPERM -> kPermissionDenied, ENOENT ->
// kUnavailable (what is missing is a capability, not an error), EINVAL -> kInvalidArgument,
// anything else -> kIoError. The message is "<what> '<path>': <strerror>".
Status errno_status(int err, std::string_view what, const std::string& path);

// Parses one integer with optional surrounding whitespace (sysfs ends lines with '\n').
// No allocation. Returns kEmpty, kNotANumber or kNone.
ReadError parse_int(std::string_view text, std::int64_t* out) noexcept;

// Utilisation text of a devfreq `load` attribute ("37@800000000Hz", Rockchip BSP) or of the
// rknpu debugfs `load` ("NPU load:  Core0: 12%, Core1:  0%, Core2:  3%," -> mean of the cores),
// in permille. No allocation.
ReadError parse_load_permille(std::string_view text, std::int64_t* out) noexcept;

// Create-time helpers -------------------------------------------------------------------------

// Whole small file as text with trailing whitespace removed; kUnavailable if missing.
Result<std::string> read_text(const std::string& path);
// Integer file; kUnavailable if missing, kCorrupt (naming the path and text) if malformed.
Result<std::int64_t> read_int_file(const std::string& path);
bool path_exists(const std::string& path) noexcept;
bool is_dir(const std::string& path) noexcept;
// Entry names of a directory starting with `prefix`, sorted naturally (policy4 < policy10);
// empty when the directory is missing.
std::vector<std::string> list_dir(const std::string& dir, std::string_view prefix);
// CPU list in either kernel spelling: "0 1 2 3" (related_cpus) or "0-3,6" (online, *_list).
// Errors name `what` and the offending token.
Result<std::vector<int>> parse_cpu_list(std::string_view text, std::string_view what);
// Hex CPU mask as in topology/core_siblings: "3", "0f", "00000000,000000ff" (32-bit groups,
// most significant first). Errors name `what`.
Result<std::vector<int>> parse_cpu_mask(std::string_view text, std::string_view what);
// Whitespace-separated integers ("408000 600000 ..."); errors name `what` and the token.
Result<std::vector<std::int64_t>> parse_int_list(std::string_view text, std::string_view what);

}  // namespace hetsched::runtime
