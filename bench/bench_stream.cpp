// Streaming acceptance bench (issue 7; docs/streaming.md, figures in docs/results.md).
//
//   bench_stream                 acceptance: decision latency p99 (Controller::decide(): observe ->
//                                encode observation -> decide -> guard -> apply) at 1 kHz with no
//                                sink / a null sink / the stream server with 8 reading subscribers
//                                (shuffled order each round, median over rounds of each round's
//                                p99), plus the whole period (decide + publish_records) for
//                                reference; then the memory of a server whose client never reads;
//                                then the Google Benchmark micros.
//   bench_stream --soak=SECONDS  the long soak: 1 kHz decisions, 7 readers + 1 client that never
//                                reads, RSS and queue bytes sampled every second; exits 1 unless
//                                memory stayed bounded (ctest entry stream_soak with
//                                -DHETSCHED_SOAK=ON, label soak).
//   --rounds=N --round-seconds=S tune the acceptance run (default 11 rounds of 2 s per config);
//   --io-nice=N --flush-ms=MS    server io-thread nice value (default 10) and fan-out period (5 ms).
//
// Why decide() as "decision latency": it is the time from sensing to the configuration reaching
// the target (observe -> encode -> decide -> guard -> apply). Records are published after apply()
// (Controller::publish_records(): the period's ~27 samples + frame event + decision), so a sink
// can only reach the decision latency indirectly (CPU time, caches, the io thread competing for a
// core); the whole period (decide + publish) is printed next to it. The policy is the shipped
// trained agent for rockpi_n10 + googlenet; the target is a synthetic ControlTarget whose
// telemetry moves every period (no simulator: its cost would dilute the ratio).
#include <benchmark/benchmark.h>

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
  std::string f = __FILE__;  // <src>/bench/bench_stream.cpp
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

hs::RealClock g_clock;

int g_io_nice = 10;
std::int64_t g_flush_ns = 5'000'000;

hr::StreamServerOptions server_options(const Setup& su) {
  hr::StreamServerOptions o;
  o.io_nice = g_io_nice;
  o.flush_period_ns = g_flush_ns;
  o.sources = su.sources.names();
  o.description = "bench_stream";
  o.log = [](std::string_view) {};
  return o;
}

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

int acceptance(int rounds, double round_s) {
  Setup su = make_setup();
  constexpr int kConfigs = 3;
  std::vector<double> p99[kConfigs], p50[kConfigs], step99[kConfigs];
  std::uint64_t sent = 0, lost = 0;
  // Configurations run in a shuffled order each round: on a shared machine the load drifts, and a
  // fixed order would charge the drift to whichever configuration always runs last.
  std::mt19937 order_rng(7);
  int order[kConfigs] = {0, 1, 2};
  for (int r = 0; r < rounds; ++r) {
    std::shuffle(order, order + kConfigs, order_rng);
    for (int oi = 0; oi < kConfigs; ++oi) {
      const int cfg = order[oi];
      std::vector<double> us, period;
      if (cfg == 0) us = run_controller(su, nullptr, round_s, &period);
      else if (cfg == 1) {
        NullSink null;
        us = run_controller(su, &null, round_s, &period);
      } else {
        auto srv = hr::StreamServer::create(server_options(su), g_clock);
        if (!srv.ok()) return std::fprintf(stderr, "server: %s\n", srv.status().message().c_str()), 1;
        {
          Readers readers((*srv)->port(), 8);
          while ((*srv)->stats().clients < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
          us = run_controller(su, srv->get(), round_s, &period);
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        sent += (*srv)->stats().records_sent;
        lost += (*srv)->stats().records_lost + (*srv)->stats().dropped_before_fanout;
      }
      p99[cfg].push_back(pct(us, 0.99));
      p50[cfg].push_back(pct(us, 0.5));
      step99[cfg].push_back(pct(period, 0.99));
    }
  }
  const char* names[kConfigs] = {"no sink", "null sink (records encoded)", "stream server, 8 subscribers"};
  std::printf("decision latency (Controller::decide: observe -> apply) at 1 kHz, median over %d rounds of %.1f s of each round's p99:\n",
              rounds, round_s);
  for (int c = 0; c < kConfigs; ++c)
    std::printf("  %-30s decide p50 %6.2f us  p99 %6.2f us   | whole period (decide + publish) p99 %6.2f us\n", names[c],
                median(p50[c]), median(p99[c]), median(step99[c]));
  std::printf("  decision latency p99 change, server + 8 subscribers vs no sink: %+.1f %%  (ratio %.3f)\n",
              100 * (median(p99[2]) / median(p99[0]) - 1), median(p99[2]) / median(p99[0]));
  std::printf("  per-round p99 ratios server/no sink:");
  std::vector<double> ratios;
  for (std::size_t r = 0; r < p99[0].size(); ++r) ratios.push_back(p99[2][r] / p99[0][r]), std::printf(" %.2f", ratios.back());
  std::printf("  (median %.3f)", median(ratios));
  std::printf("\n  whole-period p99 change, server + 8 subscribers vs no sink: %+.1f %%\n", 100 * (median(step99[2]) / median(step99[0]) - 1));
  std::printf("  server: %llu records sent to subscribers, %llu lost\n", static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(lost));

  // Memory with a client that never reads: the queue stays at its bound, then the stall timeout
  // disconnects the client (default options: 1 MiB queue, 3 s stall).
  auto srv = hr::StreamServer::create(server_options(su), g_clock);
  Mute mute((*srv)->port());
  const double rss0 = rss_mib();
  double rss_max = rss0;
  std::uint64_t q_max = 0;
  std::thread load([&] { run_controller(su, srv->get(), 8.0); });
  for (int i = 0; i < 16; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    q_max = std::max(q_max, (*srv)->stats().queue_bytes);
    rss_max = std::max(rss_max, rss_mib());
  }
  load.join();
  const auto st = (*srv)->stats();
  std::printf("client that never reads (8 s at 1 kHz): peak queue %.1f KiB (bound 1024 KiB + one 64 KiB write), "
              "lost %llu records, disconnected for stalling: %llu, RSS %.1f -> max %.1f MiB\n",
              static_cast<double>(st.peak_queue_bytes) / 1024, static_cast<unsigned long long>(st.records_lost),
              static_cast<unsigned long long>(st.closed_stalled), rss0, rss_max);
  return 0;
}

int soak(double seconds) {
  Setup su = make_setup();
  auto o = server_options(su);
  o.write_stall_timeout_ns = static_cast<std::int64_t>((seconds + 60) * 1e9);  // keep the mute client all along
  auto srv = hr::StreamServer::create(o, g_clock);
  if (!srv.ok()) return std::fprintf(stderr, "server: %s\n", srv.status().message().c_str()), 1;
  Readers readers((*srv)->port(), 7);
  Mute mute((*srv)->port());
  while ((*srv)->stats().clients < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::atomic<bool> done{false};
  std::vector<double> rss, qb;
  std::thread sampler([&] {
    while (!done) {
      rss.push_back(rss_mib());
      qb.push_back(static_cast<double>((*srv)->stats().queue_bytes) / 1024);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });
  const auto us = run_controller(su, srv->get(), seconds);
  done = true;
  sampler.join();
  const auto st = (*srv)->stats();
  const std::size_t half = rss.size() / 2;
  std::printf("soak %.0f s at 1 kHz, 7 readers + 1 never-reading client:\n", seconds);
  std::printf("  decide p50 %.2f us p99 %.2f us; samples in %llu; records sent %llu, lost %llu (the mute client), dropped before fan-out %llu\n",
              pct(us, 0.5), pct(us, 0.99), static_cast<unsigned long long>(st.samples_in),
              static_cast<unsigned long long>(st.records_sent), static_cast<unsigned long long>(st.records_lost),
              static_cast<unsigned long long>(st.dropped_before_fanout));
  std::printf("  RSS MiB: start %.1f, at half time %.1f, end %.1f, max %.1f\n", rss.front(), rss[half], rss.back(),
              *std::max_element(rss.begin(), rss.end()));
  std::printf("  queued KiB (all clients): max %.1f, peak seen by the server %.1f\n", *std::max_element(qb.begin(), qb.end()),
              static_cast<double>(st.peak_queue_bytes) / 1024);
  // Pass/fail (the ctest entry `stream_soak`, label soak): memory is bounded when the queues stay
  // under their bound (8 clients x (1 MiB queue + one 64 KiB write)) and the RSS stops growing
  // once the allocator pools and client buffers are warm: < 2 MiB over the second half.
  const double bound_kib = 8 * (1024.0 + 64.0);
  const double growth = rss.back() - rss[half];
  const bool ok = static_cast<double>(st.peak_queue_bytes) / 1024 <= bound_kib && growth < 2.0 && st.records_sent > 0;
  std::printf("  %s: peak queue %.1f KiB (bound %.0f), RSS growth over the second half %.2f MiB (limit 2), records sent %llu\n",
              ok ? "PASS" : "FAIL", static_cast<double>(st.peak_queue_bytes) / 1024, bound_kib, growth,
              static_cast<unsigned long long>(st.records_sent));
  return ok ? 0 : 1;
}

// Cost of on_sample on the producer thread (the ring push), with a server draining it.
void BM_ServerOnSample(benchmark::State& state) {
  auto o = hr::StreamServerOptions();
  o.log = [](std::string_view) {};
  auto srv = hr::StreamServer::create(o, g_clock);
  ht::Sample s{0, 1.0, 1, ht::SampleKind::kFreq};
  for (auto _ : state) {
    ++s.t_ns;
    (*srv)->on_sample(s);
  }
}
BENCHMARK(BM_ServerOnSample);

// What one 1 kHz period costs the controller thread in publishing alone: 27 samples (the frame
// codec's count for rockpi_n10), one event and one decision (93 floats), into a null sink or the
// server (8 reading subscribers when range(0) == 1, none when 0 and the sink is the server).
void BM_PublishPeriod(benchmark::State& state) {
  NullSink null;
  std::unique_ptr<hr::StreamServer> srv;
  std::unique_ptr<Readers> readers;
  ht::RecordSink* sink = &null;
  if (state.range(0) >= 1) {
    auto o = hr::StreamServerOptions();
    o.log = [](std::string_view) {};
    srv = std::move(hr::StreamServer::create(o, g_clock).value());
    sink = srv.get();
    if (state.range(0) == 2) {
      readers = std::make_unique<Readers>(srv->port(), 8);
      while (srv->stats().clients < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ht::Sample s{0, 1.0, 1, ht::SampleKind::kFreq};
  ht::Event e{0, ht::EventKind::kNote, 0, std::string(160, 'x')};
  ht::Decision d{0, 3, std::vector<float>(93, 0.5f), "NNNNNNNNNNNNG:BB:0,6,0"};
  for (auto _ : state) {
    for (int i = 0; i < 27; ++i) ++s.t_ns, sink->on_sample(s);
    ++e.t_ns, sink->on_event(e);
    ++d.t_ns, sink->on_decision(d);
    // Paced like the controller (1 kHz) so the io thread and the readers run in between.
    state.PauseTiming();
    std::this_thread::sleep_for(std::chrono::microseconds(1000));
    state.ResumeTiming();
  }
  state.SetLabel(state.range(0) == 0 ? "null sink" : state.range(0) == 1 ? "server, no subscriber" : "server, 8 subscribers");
}
// The controller-side encoding any sink triggers (the "no sink" -> "null sink" step of the
// acceptance table): FrameCodec::publish of one rockpi_n10 period into a null sink.
void BM_FrameCodecPublish(benchmark::State& state) {
  static Setup su = make_setup();
  NullSink null;
  hp::TelemetryFrame f;
  hp::MaskInput mask;
  f.num_stages = 3, f.fps = 25, f.fps_ok = true, f.power_mw = 3500, f.power_ok = true, f.target_fps = 30;
  for (int u = 0; u < su.s->platform.num_units(); ++u) f.unit_ok[u] = true, f.util[u] = 0.37 + 0.1 * u, f.freq_khz[u] = 1416000;
  hp::Config cur = su.start;
  std::int64_t t = 0;
  ht::Event scratch;  // what the controller keeps between periods (no allocation in steady state)
  const bool reuse = state.range(0) == 1;
  for (auto _ : state) {
    hp::PeriodInput in;
    in.t_ns = ++t, in.frame = &f, in.mask = &mask, in.current = &cur;
    su.codec->publish(null, in, reuse ? &scratch : nullptr);
  }
  state.SetLabel(reuse ? "reused event (controller)" : "fresh event");
}
BENCHMARK(BM_FrameCodecPublish)->Arg(0)->Arg(1);

BENCHMARK(BM_PublishPeriod)->Arg(0)->Arg(1)->Arg(2)->Iterations(3000)->Repetitions(3)->ReportAggregatesOnly(true);

}  // namespace

int main(int argc, char** argv) {
  int rounds = 11;
  double round_s = 2.0;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--soak=", 7) == 0) return soak(std::atof(argv[i] + 7));
    if (std::strncmp(argv[i], "--rounds=", 9) == 0) rounds = std::max(1, std::atoi(argv[i] + 9));
    else if (std::strncmp(argv[i], "--round-seconds=", 16) == 0) round_s = std::max(0.2, std::atof(argv[i] + 16));
    else if (std::strncmp(argv[i], "--io-nice=", 10) == 0) g_io_nice = std::atoi(argv[i] + 10);
    else if (std::strncmp(argv[i], "--flush-ms=", 11) == 0) g_flush_ns = static_cast<std::int64_t>(std::atof(argv[i] + 11) * 1e6);
    else rest.push_back(argv[i]);
  }
  if (int rc = acceptance(rounds, round_s); rc != 0) return rc;
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
