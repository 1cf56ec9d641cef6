#include "runtime/sysfs_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace hetsched::runtime {

const char* read_error_name(ReadError e) noexcept {
  switch (e) {
    case ReadError::kNone: return "ok";
    case ReadError::kUnavailable: return "unavailable";
    case ReadError::kIo: return "io_error";
    case ReadError::kEmpty: return "empty";
    case ReadError::kNotANumber: return "not_a_number";
    case ReadError::kOutOfRange: return "out_of_range";
    case ReadError::kNoBaseline: return "no_baseline";
  }
  return "unknown";
}

Status errno_status(int err, std::string_view what, const std::string& path) {
  std::string msg(what);
  msg += " '";
  msg += path;
  msg += "': ";
  msg += std::strerror(err);
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS: return Error(StatusCode::kPermissionDenied, std::move(msg));
    case ENOENT:
    case ENOTDIR: return Error(StatusCode::kUnavailable, std::move(msg));
    case EINVAL:
    case ERANGE: return Error(StatusCode::kInvalidArgument, std::move(msg));
    default: return Error(StatusCode::kIoError, std::move(msg));
  }
}

SysfsFile::~SysfsFile() { close_fd(); }

SysfsFile::SysfsFile(SysfsFile&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), raw_len_(o.raw_len_), last_errno_(o.last_errno_) {
  std::memcpy(raw_, o.raw_, sizeof raw_);
  o.fd_ = -1;
}

SysfsFile& SysfsFile::operator=(SysfsFile&& o) noexcept {
  if (this != &o) {
    close_fd();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    std::memcpy(raw_, o.raw_, sizeof raw_);
    raw_len_ = o.raw_len_;
    last_errno_ = o.last_errno_;
    o.fd_ = -1;
  }
  return *this;
}

void SysfsFile::close_fd() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<SysfsFile> SysfsFile::open_read(const std::string& path) {
  SysfsFile f;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd_ < 0) return errno_status(errno, "cannot open for reading", path);
  f.path_ = path;
  return f;
}

Result<SysfsFile> SysfsFile::open_write(const std::string& path) {
  SysfsFile f;
  f.fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd_ < 0) return errno_status(errno, "cannot open for writing", path);
  f.path_ = path;
  return f;
}

long SysfsFile::read_raw(char* buf, long cap) noexcept {
  if (fd_ < 0 || cap <= 0) return -1;
  ssize_t n;
  do {
    n = ::pread(fd_, buf, static_cast<size_t>(cap - 1), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    last_errno_ = errno;
    buf[0] = '\0';
    return -1;
  }
  buf[n] = '\0';
  if (buf != raw_) {
    raw_len_ = static_cast<int>(n < kRawBytes - 1 ? n : kRawBytes - 1);
    std::memcpy(raw_, buf, static_cast<std::size_t>(raw_len_));
  }
  return static_cast<long>(n);
}

ReadError parse_load_permille(std::string_view text, std::int64_t* out) noexcept {
  std::int64_t v = 0;
  const std::size_t at = text.find('@');
  if (at != std::string_view::npos) {
    const ReadError e = parse_int(text.substr(0, at), &v);
    if (e != ReadError::kNone) return e;
    if (v < 0 || v > 100) return ReadError::kOutOfRange;
    *out = v * 10;
    return ReadError::kNone;
  }
  // rknpu: every "Core<d>:" is followed by "<n>%".
  std::int64_t sum = 0;
  int cores = 0;
  for (std::size_t i = text.find("Core"); i != std::string_view::npos; i = text.find("Core", i + 4)) {
    const std::size_t colon = text.find(':', i);
    const std::size_t pct = text.find('%', i);
    if (colon == std::string_view::npos || pct == std::string_view::npos || pct < colon) return ReadError::kNotANumber;
    const ReadError e = parse_int(text.substr(colon + 1, pct - colon - 1), &v);
    if (e != ReadError::kNone) return ReadError::kNotANumber;
    if (v < 0 || v > 100) return ReadError::kOutOfRange;
    sum += v;
    ++cores;
  }
  if (cores > 0) {
    *out = (sum * 10 + cores / 2) / cores;
    return ReadError::kNone;
  }
  const ReadError e = parse_int(text, &v);
  return e == ReadError::kNone ? ReadError::kNotANumber : e;
}

ReadError parse_int(std::string_view text, std::int64_t* out) noexcept {
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\0'; };
  std::size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  if (b == e) return ReadError::kEmpty;
  std::int64_t v = 0;
  const char* first = text.data() + b;
  const char* last = text.data() + e;
  if (*first == '+') ++first;  // from_chars rejects '+'
  auto [p, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || p != last) return ReadError::kNotANumber;
  *out = v;
  return ReadError::kNone;
}

ReadError SysfsFile::read_int(std::int64_t lo, std::int64_t hi, std::int64_t* out) noexcept {
  if (fd_ < 0) return ReadError::kUnavailable;
  const long n = read_raw(raw_, kRawBytes);
  if (n < 0) {
    raw_len_ = 0;
    return ReadError::kIo;
  }
  raw_len_ = static_cast<int>(n);
  // A full buffer means the text was longer than any integer attribute: garbage.
  if (n >= kRawBytes - 1) return ReadError::kNotANumber;
  std::int64_t v = 0;
  const ReadError e = parse_int({raw_, static_cast<std::size_t>(n)}, &v);
  if (e != ReadError::kNone) return e;
  if (v < lo || v > hi) return ReadError::kOutOfRange;
  *out = v;
  return ReadError::kNone;
}

Status SysfsFile::write_text(std::string_view text) {
  if (fd_ < 0) return Error(StatusCode::kUnavailable, "write to '" + path_ + "': not open for writing");
  // A trailing newline, as `echo` sends: every sysfs store parser accepts it, and it is the
  // path the kernel's own users exercise.
  char buf[64];
  std::string_view out = text;
  if (text.size() + 1 < sizeof buf && (text.empty() || text.back() != '\n')) {
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\n';
    out = {buf, text.size() + 1};
  }
  ssize_t n;
  do {
    n = ::pwrite(fd_, out.data(), out.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    last_errno_ = errno;
    return errno_status(last_errno_, "write '" + std::string(text) + "' to", path_);
  }
  if (static_cast<std::size_t>(n) != out.size())
    return Error(StatusCode::kIoError, "short write to '" + path_ + "'");
  return Status::Ok();
}

Status SysfsFile::write_int(std::int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always fit an int64
  return write_text({buf, static_cast<std::size_t>(p - buf)});
}

std::string SysfsFile::describe(ReadError e, std::string_view unit) const {
  std::string s = "'" + path_ + "' (" + std::string(unit) + "): ";
  std::string text(last_text());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  switch (e) {
    case ReadError::kNone: return s + "ok";
    case ReadError::kUnavailable: return s + "not present on this machine";
    case ReadError::kIo: return s + "read failed: " + std::strerror(last_errno_);
    case ReadError::kEmpty: return s + "empty";
    case ReadError::kNotANumber: return s + "not an integer: '" + text + "'";
    case ReadError::kOutOfRange: return s + "implausible value " + text;
    case ReadError::kNoBaseline: return s + "no previous sample yet";
  }
  return s + "unknown error";
}

// ---- create-time helpers ----------------------------------------------------------------------

bool path_exists(const std::string& path) noexcept {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) noexcept {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> read_text(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_status(errno, "cannot open", path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errno_status(err, "cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (1u << 20)) break;  // sysfs attributes are <= 4 KiB; stop on anything odd
  }
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) out.pop_back();
  return out;
}

Result<std::int64_t> read_int_file(const std::string& path) {
  auto text = read_text(path);
  if (!text.ok()) return text.status();
  std::int64_t v = 0;
  if (parse_int(*text, &v) != ReadError::kNone)
    return Error(StatusCode::kCorrupt, "'" + path + "': expected an integer, got '" + text->substr(0, 40) + "'");
  return v;
}

// Natural order so policy10 sorts after policy4 and thermal_zone10 after thermal_zone9.
static bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      std::string_view na(a.data() + i, i2 - i), nb(b.data() + j, j2 - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::vector<std::string> list_dir(const std::string& dir, std::string_view prefix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    if (name.substr(0, prefix.size()) == prefix) out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), natural_less);
  return out;
}

// Splits on whitespace and commas.
static std::vector<std::string_view> tokens(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  auto sep = [](char c) { return c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r'; };
  while (i < text.size()) {
    while (i < text.size() && sep(text[i])) ++i;
    std::size_t j = i;
    while (j < text.size() && !sep(text[j])) ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<std::vector<int>> parse_cpu_list(std::string_view text, std::string_view what) {
  constexpr int kMaxCpuId = 4095;  // CONFIG_NR_CPUS upper bound on arm64
  std::vector<int> out;
  for (std::string_view tok : tokens(text)) {
    auto bad = [&] {
      return Error(StatusCode::kCorrupt, std::string(what) + ": bad CPU list entry '" + std::string(tok) + "'");
    };
    std::size_t dash = tok.find('-');
    std::int64_t a = 0, b = 0;
    if (dash == std::string_view::npos) {
      if (parse_int(tok, &a) != ReadError::kNone) return bad();
      b = a;
    } else if (parse_int(tok.substr(0, dash), &a) != ReadError::kNone ||
               parse_int(tok.substr(dash + 1), &b) != ReadError::kNone) {
      return bad();
    }
    if (a < 0 || b < a || b > kMaxCpuId) return bad();
    for (std::int64_t c = a; c <= b; ++c) out.push_back(static_cast<int>(c));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<int>> parse_cpu_mask(std::string_view text, std::string_view what) {
  std::vector<int> out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.empty()) return out;
  // Walk the digits from the least significant end: digit k (commas skipped) covers CPUs 4k..4k+3.
  int bit = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    const char c = text[i];
    if (c == ',') continue;
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return Error(StatusCode::kCorrupt, std::string(what) + ": not a hex CPU mask: '" + std::string(text) + "'");
    for (int b = 0; b < 4; ++b)
      if (v & (1 << b)) out.push_back(bit + b);
    bit += 4;
    if (bit > 8192) return Error(StatusCode::kCorrupt, std::string(what) + ": CPU mask too long");
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::int64_t>> parse_int_list(std::string_view text, std::string_view what) {
  std::vector<std::int64_t> out;
  for (std::string_view tok : tokens(text)) {
    std::int64_t v = 0;
    if (parse_int(tok, &v) != ReadError::kNone)
      return Error(StatusCode::kCorrupt, std::string(what) + ": not an integer: '" + std::string(tok) + "'");
    out.push_back(v);
  }
  return out;
}

}  // namespace hetsched::runtime
