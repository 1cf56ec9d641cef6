#include "tools/import_armcoup.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string_view>

#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/trace_writer.hpp"

namespace hetsched::tools {
namespace {

using telemetry::Event;
using telemetry::EventKind;

std::string base_name(const std::string& p) {
  const auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// "power_MobileV1_BBBB.csv" -> "MobileV1_BBBB"; "" when the name does not follow the pattern.
std::string tag_of(const std::string& path, const std::string& prefix, const std::string& ext) {
  const std::string b = base_name(path);
  if (b.size() <= prefix.size() + ext.size() || b.compare(0, prefix.size(), prefix) != 0 ||
      b.compare(b.size() - ext.size(), ext.size(), ext) != 0)
    return "";
  return b.substr(prefix.size(), b.size() - prefix.size() - ext.size());
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

bool parse_double(const std::string& t, double* out) {
  if (t.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(t.c_str(), &end);
  return *end == '\0' && std::isfinite(*out);
}

// Value after "key" on a log line ("Order is : BBBB" -> "BBBB").
std::string after(const std::string& line, const std::string& key) {
  const auto p = line.find(key);
  if (p == std::string::npos) return "";
  std::string v = trim(std::string_view(line).substr(p + key.size()));
  if (!v.empty() && v[0] == ':') v = trim(std::string_view(v).substr(1));
  return v;
}

}  // namespace

Result<ImportStats> import_armcoup(const std::string& power_path, const std::string& log_path, const std::string& out_path,
                                   const std::string& data_dir) {
  const std::string ptag = tag_of(power_path, "power_", ".csv"), ltag = tag_of(log_path, "time_", ".txt");
  if (!ptag.empty() && !ltag.empty() && ptag != ltag)
    return Error(StatusCode::kInvalidArgument, "power file " + power_path + " (run '" + ptag + "') and time log " + log_path +
                                                   " (run '" + ltag + "') are from different runs");
  // --- time log: configuration and phases (read first: a wrong file should fail before writing).
  std::ifstream log(log_path);
  if (!log) return Error(StatusCode::kNotFound, log_path + ": cannot open");
  std::vector<Event> log_events;
  std::string order, gpu_host, npu_host, avg_latency;
  int order_line = 0;
  std::uint64_t frames = 0;
  int ln = 0;
  for (std::string line; std::getline(log, line);) {
    ++ln;
    const std::string at = " (" + base_name(log_path) + ":" + std::to_string(ln) + ")";
    if (line.find('\0') != std::string::npos) return Error(StatusCode::kCorrupt, log_path + ":" + std::to_string(ln) + ": binary data, not a console log");
    if (line.find("Order is") != std::string::npos) {
      const std::string o = after(line, "Order is");
      if (o.empty() || o.find_first_not_of("LBGN") != std::string::npos)
        return Error(StatusCode::kCorrupt, log_path + ":" + std::to_string(ln) + ": order '" + o + "' is not a string of L/B/G/N");
      if (!order.empty() && o != order)
        return Error(StatusCode::kCorrupt, log_path + ":" + std::to_string(ln) + ": order '" + o + "' differs from '" + order +
                                               "' on line " + std::to_string(order_line));
      order = o, order_line = ln;
    } else if (line.find("GPU host is") != std::string::npos) {
      gpu_host = after(line, "GPU host is");
    } else if (line.find("NPU host is") != std::string::npos) {
      npu_host = after(line, "NPU host is");
    } else if (line.find("Frame Index") != std::string::npos) {
      ++frames;
      log_events.push_back(Event{0, EventKind::kNote, 2, "frame " + after(line, "Frame Index") + at});
    } else if (line.rfind("Layer Number", 0) == 0) {
      log_events.push_back(Event{0, EventKind::kNote, 2, "block " + trim(line.substr(12)) + " ms" + at});
    } else if (line.rfind("governor ", 0) == 0 || line.rfind("Graph0", 0) == 0) {
      log_events.push_back(Event{0, EventKind::kNote, 2, trim(line) + at});
    } else if (line.find("AVG Latency") != std::string::npos) {
      avg_latency = after(line, "AVG Latency");
      log_events.push_back(Event{0, EventKind::kNote, 2, "avg latency " + avg_latency + " ms" + at});
    }
  }
  if (log.bad()) return Error(StatusCode::kIoError, log_path + ": read error");
  if (order.empty())
    return Error(StatusCode::kCorrupt, log_path + ": no 'Order is :' line in " + std::to_string(ln) + " lines: not an ARM-CO-UP time log");
  if (!ptag.empty()) {  // the tag ends with the run's order (power_MobileV1_BBBB.csv)
    const auto us = ptag.rfind('_');
    const std::string tag_order = us == std::string::npos ? "" : ptag.substr(us + 1);
    if (!tag_order.empty() && tag_order.find_first_not_of("LBGN") == std::string::npos && tag_order != order)
      return Error(StatusCode::kInvalidArgument, log_path + ":" + std::to_string(order_line) + ": order '" + order +
                                                     "' does not match power file " + power_path + " (order '" + tag_order + "')");
  }

  // --- header
  telemetry::TraceHeader h;
  h.producer = std::string("hetsched ") + HETSCHED_VERSION + " trace import-armcoup";
  // .../<board>/raw/power_x.csv: the board folder names the platform when it is one of ours.
  std::string board;
  {
    std::string dir = power_path.substr(0, power_path.find_last_of('/') == std::string::npos ? 0 : power_path.find_last_of('/'));
    if (base_name(dir) == "raw") dir = dir.substr(0, dir.find_last_of('/') == std::string::npos ? 0 : dir.find_last_of('/'));
    board = base_name(dir);
  }
  if (!board.empty() && policies::load_platform_by_name(data_dir, board).ok()) h.platform = board;
  const std::string model_label = ptag.substr(0, ptag.find('_'));
  h.model = model_label;
  for (const auto& [label, name] : std::initializer_list<std::pair<const char*, const char*>>{
           {"MobileV1", "mobilenet_v1"}, {"Alex", "alexnet"}, {"GoogleNet", "googlenet"}, {"ResNet50", "resnet50"},
           {"SqueezeNet", "squeezenet"}, {"YOLOv3", "yolov3"}})
    if (model_label == label && policies::load_model_by_name(data_dir, name).ok()) h.model = name;
  h.metadata["mode"] = "import";
  h.metadata["source_power"] = power_path;
  h.metadata["source_log"] = log_path;
  h.metadata["source"] = "ARM-CO-UP raw measurement (Aghapour et al.), see ../shared/calibration/armcoup/SOURCE.md";
  h.metadata["order"] = order;
  h.metadata["hosts"] = gpu_host + npu_host;
  h.metadata["frames_logged"] = std::to_string(frames);
  if (!avg_latency.empty()) h.metadata["avg_latency_ms"] = avg_latency;
  h.metadata["log_events_time"] = "the console log has no clock: its events carry t_ns 0 and their log line";
  h.sources.add("board");  // 0
  h.sources.add("gpio");   // 1
  h.sources.add("log");    // 2
  auto w = telemetry::TraceWriter::create({.path = out_path}, h);
  if (!w.ok()) return w.status();
  telemetry::TraceWriter& tw = *w.value();
  ImportStats st;
  HETSCHED_RETURN_IF_ERROR(tw.append(Event{0, EventKind::kConfigApplied, 2, order + ":" + gpu_host + npu_host}));
  for (const auto& e : log_events) HETSCHED_RETURN_IF_ERROR(tw.append(e));
  st.log_events = log_events.size();

  // --- power samples
  std::ifstream pw(power_path);
  if (!pw) {
    (void)tw.close();
    std::remove(out_path.c_str());
    return Error(StatusCode::kNotFound, power_path + ": cannot open");
  }
  auto bad = [&](int line, const std::string& what) {
    (void)tw.close();
    std::remove(out_path.c_str());  // no half-imported trace left behind
    return Error(StatusCode::kCorrupt, power_path + ":" + std::to_string(line) + ": " + what);
  };
  double first_ms = 0, last_ms = -1;
  int gpio_prev = -1;
  ln = 0;
  for (std::string line; std::getline(pw, line);) {
    ++ln;
    const std::string l = trim(line);
    if (l.empty()) continue;
    const auto c1 = l.find(','), c2 = c1 == std::string::npos ? c1 : l.find(',', c1 + 1);
    if (c2 == std::string::npos || l.find(',', c2 + 1) != std::string::npos)
      return bad(ln, "expected 3 fields gpio,t_ms,power_mW, got '" + l.substr(0, 60) + "'");
    const std::string g = trim(std::string_view(l).substr(0, c1));
    double t_ms = 0, p_mw = 0;
    if (g != "0" && g != "1") return bad(ln, "gpio '" + g + "' is not 0 or 1");
    if (!parse_double(trim(std::string_view(l).substr(c1 + 1, c2 - c1 - 1)), &t_ms) || t_ms < 0 || t_ms > 1e12)
      return bad(ln, "t_ms '" + l.substr(c1 + 1, c2 - c1 - 1) + "' is not a time in ms");
    if (!parse_double(trim(std::string_view(l).substr(c2 + 1)), &p_mw) || p_mw < 0 || p_mw > 1e6)
      return bad(ln, "power_mW '" + l.substr(c2 + 1) + "' is not a power in [0, 1e6] mW");
    if (t_ms < last_ms) return bad(ln, "time goes backwards (" + std::to_string(t_ms) + " ms after " + std::to_string(last_ms) + " ms)");
    if (last_ms < 0) first_ms = t_ms;
    last_ms = t_ms;
    const std::int64_t t_ns = static_cast<std::int64_t>(std::llround(t_ms * 1e6));
    const int gi = g == "1";
    if (gi != gpio_prev) {
      if (Status s = tw.append(Event{t_ns, EventKind::kNote, 1, gi ? "gpio 1" : "gpio 0"}); !s.ok()) return s;
      ++st.edges;
      gpio_prev = gi;
    }
    if (Status s = tw.append(telemetry::Sample{t_ns, p_mw, 0, telemetry::SampleKind::kBoardPower}); !s.ok()) return s;
    ++st.samples;
  }
  if (pw.bad()) return bad(ln, "read error");
  if (st.samples == 0) return bad(ln, "no power samples");
  HETSCHED_RETURN_IF_ERROR(tw.close());
  st.duration_s = (last_ms - first_ms) / 1e3;
  return st;
}

}  // namespace hetsched::tools
