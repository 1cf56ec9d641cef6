// Pieces of bench/bench_stream.cpp (its only includer) kept apart so that file stays readable:
// the synthetic control target and setup, the paced 1 kHz controller loop, subscriber clients,
// percentiles, CPU pinning and the bootstrap CI of a median.
#pragma once
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <utility>
#include <boost/asio.hpp>

#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "policies/frame_records.hpp"
#include "runtime/controller.hpp"
#include "runtime/stream_client.hpp"
#include "runtime/stream_server.hpp"

namespace hs = hetsched;
namespace hr = hetsched::runtime;
namespace hp = hetsched::policies;
namespace ht = hetsched::telemetry;
using Steady = std::chrono::steady_clock;

namespace {

std::string data_dir() {
  if (const char* d = std::getenv("HETSCHED_DATA_DIR")) return d;
  std::string f = __FILE__;  // <src>/bench/stream_bench_util.hpp
  return f.substr(0, f.rfind("/bench/"));
}

double rss_mib() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, rss = 0;
  in >> pages >> rss;
  return static_cast<double>(rss) * 4096.0 / (1 << 20);
}

struct NullSink final : ht::RecordSink {
  void on_sample(const ht::Sample&) noexcept override {}
  void on_event(const ht::Event&) noexcept override {}
  void on_decision(const ht::Decision&) noexcept override {}
};

// Telemetry that changes every period (so the agent and the encoder do real work).
class BenchTarget final : public hr::ControlTarget {
 public:
  BenchTarget(const hp::PlatformDesc& p, const hp::ModelDesc& m, const hp::Config& c, hs::Clock& clock)
      : p_(p), m_(m), cur_(c), clock_(clock) {}
  const hp::PlatformDesc& platform() const noexcept override { return p_; }
  const hp::ModelDesc& model() const noexcept override { return m_; }
  hs::Status observe(hr::ControlSample* s) noexcept override {
    const double x = static_cast<double>(++n_);
    s->t_ns = clock_.now_ns();
    auto& f = s->frame;
    f.fps = 25 + 5 * std::sin(x * 0.01), f.fps_ok = true;
    f.latency_us = 40000 + 3000 * std::cos(x * 0.02), f.latency_ok = true, f.max_latency_us = f.latency_us * 1.2;
    f.power_mw = 3500 + 200 * std::sin(x * 0.03), f.power_ok = true;
    f.frames = 1, f.num_stages = 3;
    for (int k = 0; k < 3; ++k) f.stage_latency_us[k] = 10000 + 1000 * k, f.queue_depth[k] = k;
    for (int u = 0; u < p_.num_units(); ++u) {
      f.unit_ok[u] = true;
      f.util[u] = 0.5 + 0.4 * std::sin(x * 0.05 + u);
      f.freq_khz[u] = p_.units[u].opps.empty() ? 0 : p_.units[u].opps.back().freq_khz;
    }
    for (std::size_t z = 0; z < p_.zones.size() && z < hp::kObsMaxZones; ++z) f.temp_mc[z] = 50000, f.temp_ok[z] = true;
    f.target_fps = 30;
    s->current = cur_;
    s->guard.sensors_ok = true;
    s->guard.frames = n_;
    return hs::Status::Ok();
  }
  hs::Status apply(const hp::Config& c) noexcept override {
    cur_ = c;
    return hs::Status::Ok();
  }

 private:
  const hp::PlatformDesc& p_;
  const hp::ModelDesc& m_;
  hp::Config cur_;
  hs::Clock& clock_;
  std::uint64_t n_ = 0;
};

struct Setup {
  std::shared_ptr<hetsched::env::RunnerSetup> s;
  hp::Config start;
  ht::SourceTable sources;
  std::unique_ptr<hp::FrameCodec> codec;
};

Setup make_setup() {
  Setup out;
  auto s = hetsched::env::make_runner_setup(data_dir(), "rockpi_n10", "googlenet");
  if (!s.ok()) std::fprintf(stderr, "setup: %s\n", s.status().message().c_str()), std::exit(1);
  out.s = s.value();
  auto sc = hetsched::env::load_scenario(data_dir() + "/env/scenarios/combined.json");
  if (!sc.ok()) std::fprintf(stderr, "scenario: %s\n", sc.status().message().c_str()), std::exit(1);
  auto st = hetsched::env::static_best(*out.s, *sc);
  if (!st.ok()) std::fprintf(stderr, "static_best: %s\n", st.status().message().c_str()), std::exit(1);
  out.start = *st;
  auto codec = hp::FrameCodec::create(out.s->platform.num_units(), static_cast<int>(out.s->platform.zones.size()), &out.sources);
  if (!codec.ok()) std::fprintf(stderr, "codec: %s\n", codec.status().message().c_str()), std::exit(1);
  out.codec = std::make_unique<hp::FrameCodec>(std::move(codec.value()));
  return out;
}

// Runs the controller at 1 kHz (wall-clock paced; virtual clock +1 ms per step) for `seconds`
// and returns the decide() latencies in microseconds (and, if `period_us`, the decide +
// publish_records ones).
std::vector<double> run_controller(Setup& su, ht::RecordSink* sink, double seconds, std::vector<double>* period_us = nullptr) {
  auto policy = hetsched::env::load_trained(*su.s, hetsched::env::shipped_policy_path(*su.s));
  if (!policy.ok()) std::fprintf(stderr, "policy: %s\n", policy.status().message().c_str()), std::exit(1);
  hs::ManualClock clock(0);
  BenchTarget target(su.s->platform, su.s->model, su.start, clock);
  hr::ControllerOptions o;
  o.period_ns = 1'000'000;
  o.rate_limit_ns = 0;
  o.sink = sink;
  o.frame_codec = sink ? su.codec.get() : nullptr;
  auto ctl = hr::Controller::create(o, clock, target, std::move(policy.value()), su.start);
  if (!ctl.ok()) std::fprintf(stderr, "controller: %s\n", ctl.status().message().c_str()), std::exit(1);
  std::vector<double> us;
  const int n = static_cast<int>(seconds * 1000);
  us.reserve(static_cast<std::size_t>(n));
  if (period_us) period_us->clear(), period_us->reserve(static_cast<std::size_t>(n));
  auto next = Steady::now();
  for (int i = 0; i < n; ++i) {
    clock.advance_ns(1'000'000);
    const auto t0 = Steady::now();
    (*ctl)->decide();
    const auto t1 = Steady::now();
    (*ctl)->publish_records();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (period_us) period_us->push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
    next += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(next);
  }
  return us;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(std::min<double>(static_cast<double>(v.size()) - 1, p * static_cast<double>(v.size())))];
}
double median(std::vector<double> v) { return pct(std::move(v), 0.5); }

// Subscribers that read until stop; counts records.
struct Readers {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> records{0}, lost{0};
  std::vector<std::thread> threads;
  Readers(std::uint16_t port, int n) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this, port] {
        hr::StreamClientOptions co;
        co.port = port;
        auto c = hr::StreamClient::connect(co);
        if (!c.ok()) return;
        while (!stop.load()) {
          auto f = c.value()->next(100);
          if (!f.ok()) {
            if (f.status().code() == hs::StatusCode::kUnavailable) continue;
            return;
          }
          if (f->type == ht::FrameType::kSamples) records += f->samples.size();
          else if (f->type == ht::FrameType::kLost) lost += f->lost;
          else ++records;
        }
      });
  }
  ~Readers() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

// A client that subscribes and never reads (small receive buffer, so the backlog reaches us).
struct Mute {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock{io};
  explicit Mute(std::uint16_t port) {
    sock.open(boost::asio::ip::tcp::v4());
    sock.set_option(boost::asio::socket_base::receive_buffer_size(4096));
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    std::string sub;
    ht::encode_subscribe({}, &sub);
    boost::asio::write(sock, boost::asio::buffer(sub));
  }
};

// CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}
bool pin_self(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// Median of `v` with a percentile-bootstrap 95 % CI (resamples with replacement, fixed seed so a
// rerun on the same ratios prints the same interval).
struct Ci {
  double median = 0, lo = 0, hi = 0;
};
Ci bootstrap_median(const std::vector<double>& v, int resamples = 10000) {
  Ci ci;
  ci.median = median(v);
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, v.size() - 1);
  std::vector<double> meds, s(v.size());
  meds.reserve(static_cast<std::size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    for (auto& x : s) x = v[pick(rng)];
    meds.push_back(median(s));
  }
  ci.lo = pct(meds, 0.025), ci.hi = pct(meds, 0.975);
  return ci;
}

}  // namespace
