#include "runtime/linux_proc_stat.hpp"

#include <charconv>

namespace hetsched::runtime {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Parses one "cpuN v0 v1 ..." line (without the newline) into *t; returns the CPU id or -1
// when the line is not a per-CPU line, -2 when it is one but malformed.
int parse_line(std::string_view line, CpuTicks* t) noexcept {
  if (line.size() < 4 || line.substr(0, 3) != "cpu" || line[3] < '0' || line[3] > '9') return -1;
  const char* p = line.data() + 3;
  const char* end = line.data() + line.size();
  int id = 0;
  auto [q, ec] = std::from_chars(p, end, id);
  if (ec != std::errc() || q == end || !is_blank(*q)) return -2;
  p = q;
  std::uint64_t v[10] = {};
  int n = 0;
  while (p < end && n < 10) {
    while (p < end && is_blank(*p)) ++p;
    if (p == end) break;
    auto [r, ec2] = std::from_chars(p, end, v[n]);
    if (ec2 != std::errc() || (r < end && !is_blank(*r))) return -2;
    p = r;
    ++n;
  }
  while (p < end && is_blank(*p)) ++p;
  // Why four: Linux 2.4 had only user/nice/system/idle; the later columns are optional.
  if (n < 4 || p != end) return -2;
  // 0 user, 1 nice, 2 system, 3 idle, 4 iowait, 5 irq, 6 softirq, 7 steal, 8 guest, 9 guest_nice
  t->idle = v[3] + v[4];
  t->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  t->state = ReadError::kNone;
  return id;
}

}  // namespace

int parse_proc_stat(std::string_view text, CpuTickTable* out) noexcept {
  for (auto& t : *out) t = CpuTicks{};
  int good = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find('\n', i);
    // A line cut off by the end of the buffer is not trusted.
    if (j == std::string_view::npos) break;
    std::string_view line = text.substr(i, j - i);
    i = j + 1;
    if (line.substr(0, 3) != "cpu") {
      // The cpu lines come first; stop at "intr" (which can be tens of kilobytes).
      if (good > 0 || line.substr(0, 4) == "intr") break;
      continue;
    }
    CpuTicks t;
    int id = parse_line(line, &t);
    if (id == -1) continue;  // the aggregate "cpu " line
    if (id == -2) {
      // Malformed: mark the CPU if its id is readable.
      int bad_id = -1;
      std::from_chars(line.data() + 3, line.data() + line.size(), bad_id);
      if (bad_id >= 0 && bad_id < kMaxLinuxCpus) (*out)[bad_id].state = ReadError::kNotANumber;
      continue;
    }
    if (id < 0 || id >= kMaxLinuxCpus) continue;
    (*out)[id] = t;
    ++good;
  }
  return good;
}

ReadError util_permille(const CpuTickTable& prev, const CpuTickTable& cur, std::span<const int> cpus,
                        std::int64_t* out) noexcept {
  std::uint64_t d_total = 0, d_idle = 0;
  int online = 0;
  for (int c : cpus) {
    if (c < 0 || c >= kMaxLinuxCpus) continue;
    const CpuTicks& a = prev[c];
    const CpuTicks& b = cur[c];
    if (b.state == ReadError::kNotANumber) return ReadError::kNotANumber;
    if (b.state != ReadError::kNone) continue;  // offline now: contributes no core-time
    ++online;
    if (a.state != ReadError::kNone) return ReadError::kNoBaseline;
    if (b.total < a.total || b.idle < a.idle) return ReadError::kNoBaseline;
    d_total += b.total - a.total;
    d_idle += b.idle - a.idle;
  }
  if (online == 0) return ReadError::kUnavailable;
  if (d_total == 0) return ReadError::kOutOfRange;
  // idle can move by more than total when iowait is decremented on some kernels: clamp.
  if (d_idle > d_total) d_idle = d_total;
  // Rounded to the nearest permille.
  *out = static_cast<std::int64_t>((1000 * (d_total - d_idle) + d_total / 2) / d_total);
  return ReadError::kNone;
}

Result<ProcStatReader> ProcStatReader::open(const std::string& procfs_root) {
  std::string path = procfs_root;
  if (!path.empty() && path.back() != '/') path += '/';
  path += "stat";
  auto f = SysfsFile::open_read(path);
  if (!f.ok()) return f.status();
  ProcStatReader r;
  r.file_ = std::move(*f);
  r.buf_.assign(static_cast<std::size_t>(kBufferBytes), '\0');
  return r;
}

ReadError ProcStatReader::read(CpuTickTable* out) noexcept {
  if (!file_.is_open()) return ReadError::kUnavailable;
  const long n = file_.read_raw(buf_.data(), kBufferBytes);
  if (n < 0) return ReadError::kIo;
  if (n == 0) return ReadError::kEmpty;
  return parse_proc_stat({buf_.data(), static_cast<std::size_t>(n)}, out) > 0 ? ReadError::kNone
                                                                              : ReadError::kNotANumber;
}

}  // namespace hetsched::runtime
