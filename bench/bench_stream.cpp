// Streaming acceptance bench (issue 7; docs/streaming.md, figures in docs/results.md).
//
//   bench_stream                 acceptance: decision latency p99 (Controller::decide(): observe ->
//                                encode observation -> decide -> guard -> apply) at 1 kHz, paired
//                                design (acceptance() below): --pairs iterations of {A no sink,
//                                A' no sink, B server + 8 reading subscribers} in random order,
//                                median of the per-iteration p99 ratios B/A (and the control A'/A)
//                                with bootstrap 95 % CIs; the controller pinned to one core, the io
//                                thread + subscribers to the other(s). Then the memory of a server
//                                whose client never reads; then the Google Benchmark micros.
//   bench_stream --soak=SECONDS  the long soak: 1 kHz decisions, 7 readers + 1 client that never
//                                reads, RSS and queue bytes sampled every second; exits 1 unless
//                                memory stayed bounded (ctest entry stream_soak with
//                                -DHETSCHED_SOAK=ON, label soak).
//   --pairs=N --round-seconds=S  tune the acceptance run (default 41 iterations, 1 s rounds);
//   --no-pin --no-memory         run unpinned / skip the never-reading-client memory check;
//   --instr=none|server          N decisions only, for callgrind (instructions(), below);
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
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/stream_bench_util.hpp"

namespace {

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

// One round of one configuration on the controller core; returns {decide p99, whole-period p99}
// and the CPU the rest of the process used meanwhile (% of one core). kind 0/1 = no sink (A, A'),
// 2 = the server with 8 reading subscribers (B), 3 = no sink while a spinner keeps the io side
// as busy as B does (C: is a change in B the server's, or any busy neighbour core's?). The
// server, readers and spinner start on the calling thread, so they inherit its (io-side) affinity.
struct RoundOut {
  double p99 = 0, period99 = 0, other_cpu_pct = 0;
};
double g_spin_duty = 0.3;  // spinner: busy this fraction of every 1 ms (set from B's measured io-side CPU)
double cpu_s(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
RoundOut round_on(Setup& su, int kind, double round_s, const std::vector<int>& ctl_cpus, std::uint64_t* sent, std::uint64_t* lost) {
  RoundOut out;
  auto timed = [&](ht::RecordSink* sink) {
    std::vector<double> us, period;
    double ctl_cpu = 0;
    const double proc0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), wall0 = cpu_s(CLOCK_MONOTONIC);
    std::thread t([&] {
      if (!ctl_cpus.empty()) pin_self(ctl_cpus);
      const double c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
      us = run_controller(su, sink, round_s, &period);
      ctl_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    });
    t.join();
    out.other_cpu_pct = 100 * (cpu_s(CLOCK_PROCESS_CPUTIME_ID) - proc0 - ctl_cpu) / (cpu_s(CLOCK_MONOTONIC) - wall0);
    out.p99 = pct(us, 0.99), out.period99 = pct(period, 0.99);
  };
  if (kind < 2) {
    timed(nullptr);
    return out;
  }
  if (kind == 3) {
    std::atomic<bool> stop{false};
    std::thread spin([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const auto t0 = Steady::now();
        while (Steady::now() - t0 < std::chrono::duration<double>(g_spin_duty * 1e-3)) {
        }
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1));
      }
    });
    timed(nullptr);
    stop = true;
    spin.join();
    return out;
  }
  auto srv = hr::StreamServer::create(server_options(su), g_clock);
  if (!srv.ok()) std::fprintf(stderr, "server: %s\n", srv.status().message().c_str()), std::exit(1);
  {
    Readers readers((*srv)->port(), 8);
    while ((*srv)->stats().clients < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    timed(srv->get());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *sent += (*srv)->stats().records_sent;
  *lost += (*srv)->stats().records_lost + (*srv)->stats().dropped_before_fanout;
  return out;
}

// Acceptance, paired design. The shared 2-core VM drifts by ±20 % between runs, so separate runs
// (or medians over long blocks) cannot resolve 5 %. Instead each iteration runs three short rounds
// back to back in a random order — A (no sink), A' (no sink again), B (server + 8 subscribers) —
// and compares p99 *within* the iteration: r_AB = p99(B) / p99(A), r_AA = p99(A') / p99(A). Slow
// drift cancels in each ratio; what is left is round-to-round noise, which r_AA measures (the
// noise floor: A and A' are the same configuration). Reported: the median of the paired ratios
// with a bootstrap 95 % CI. "< 5 %" is demonstrated only if the CI of r_AB lies within
// [0.95, 1.05]. The controller runs on its own core (pthread_setaffinity_np: the last allowed CPU)
// and the io thread + the 8 subscribers on the others, as a deployment would pin them.
int acceptance(int pairs, double round_s, bool pin) {
  Setup su = make_setup();
  const std::vector<int> cpus = allowed_cpus();
  std::vector<int> ctl_cpus, io_cpus;
  if (pin && cpus.size() >= 2) {
    ctl_cpus = {cpus.back()};
    io_cpus.assign(cpus.begin(), cpus.end() - 1);
    if (!pin_self(io_cpus)) std::fprintf(stderr, "pthread_setaffinity_np failed: running unpinned\n"), ctl_cpus.clear();
  }
  std::printf("paired acceptance: %d iterations x {A no sink, A' no sink, B server + 8 subscribers, C no sink + io core busy} of %.2f s at 1 kHz, random order; "
              "controller on cpu %s, io thread + subscribers on %s\n",
              pairs, round_s, ctl_cpus.empty() ? "any" : std::to_string(ctl_cpus[0]).c_str(),
              ctl_cpus.empty() ? "any" : (std::to_string(io_cpus.front()) + (io_cpus.size() > 1 ? "-" + std::to_string(io_cpus.back()) : "")).c_str());
  std::uint64_t sent = 0, lost = 0;
  round_on(su, 0, 0.3, ctl_cpus, &sent, &lost);  // warm-up (caches, page faults), not counted
  // B's io side CPU sets the spinner's duty for C.
  g_spin_duty = std::clamp(round_on(su, 2, 1.0, ctl_cpus, &sent, &lost).other_cpu_pct / 100, 0.02, 0.9);
  sent = lost = 0;
  constexpr int kKinds = 4;
  std::vector<double> p99[kKinds], per99[kKinds], other[kKinds], r_ab, r_aa, r_ac, rp_ab, rp_aa;
  std::mt19937 order_rng(7);
  int order[kKinds] = {0, 1, 2, 3};
  for (int i = 0; i < pairs; ++i) {
    std::shuffle(order, order + kKinds, order_rng);
    RoundOut r[kKinds];
    for (int k : order) r[k] = round_on(su, k, round_s, ctl_cpus, &sent, &lost);
    for (int k = 0; k < kKinds; ++k) p99[k].push_back(r[k].p99), per99[k].push_back(r[k].period99), other[k].push_back(r[k].other_cpu_pct);
    r_ab.push_back(r[2].p99 / r[0].p99), r_aa.push_back(r[1].p99 / r[0].p99), r_ac.push_back(r[3].p99 / r[0].p99);
    rp_ab.push_back(r[2].period99 / r[0].period99), rp_aa.push_back(r[1].period99 / r[0].period99);
  }
  const char* names[kKinds] = {"A  no sink", "A' no sink (control)", "B  server + 8 subscribers", "C  no sink, io core busy"};
  std::printf("decision latency (Controller::decide: observe -> apply), p99 per round (C's spinner duty %.0f %% of every 1 ms):\n",
              100 * g_spin_duty);
  for (int k = 0; k < kKinds; ++k)
    std::printf("  %-27s median %6.2f us  (rounds %.2f .. %.2f)   whole period (decide + publish) median p99 %6.2f us   rest of the process %5.1f %% CPU\n",
                names[k], median(p99[k]), *std::min_element(p99[k].begin(), p99[k].end()), *std::max_element(p99[k].begin(), p99[k].end()),
                median(per99[k]), median(other[k]));
  const Ci ab = bootstrap_median(r_ab), aa = bootstrap_median(r_aa), ac = bootstrap_median(r_ac), pab = bootstrap_median(rp_ab),
           paa = bootstrap_median(rp_aa);
  auto line = [](const char* what, const Ci& c, const std::vector<double>& v) {
    std::printf("  %-44s median %.3f (%+.1f %%), 95 %% CI [%.3f, %.3f] = [%+.1f %%, %+.1f %%], ratios %.2f .. %.2f\n", what, c.median,
                100 * (c.median - 1), c.lo, c.hi, 100 * (c.lo - 1), 100 * (c.hi - 1), *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()));
  };
  std::printf("paired p99 ratios (%d iterations, bootstrap 10000 resamples):\n", pairs);
  line("decide p99  B/A  (server + 8 subs / no sink)", ab, r_ab);
  line("decide p99  A'/A (control: no sink / no sink)", aa, r_aa);
  line("decide p99  C/A  (control: io core busy, no sink)", ac, r_ac);
  line("period p99  B/A  (decide + publish)", pab, rp_ab);
  line("period p99  A'/A (control)", paa, rp_aa);
  const bool met = ab.lo >= 0.95 && ab.hi <= 1.05;
  std::printf("  acceptance (decide p99 change < 5 %%: CI of B/A within [0.95, 1.05]): %s\n", met ? "MET" : "NOT DEMONSTRATED");
  std::printf("  server: %llu records sent to subscribers, %llu lost\n", static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(lost));
  return 0;
}

// Memory with a client that never reads: the queue stays at its bound, then the stall timeout
// disconnects the client (default options: 1 MiB queue, 3 s stall).
int mute_memory() {
  Setup su = make_setup();
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

// --instr=none|server [--decisions=N]: N paced decisions (default 2000) with no sink or with the
// server + 8 reading subscribers, nothing else; meant for callgrind, counting only inside
// Controller::decide() (docs/results.md, "Streaming (issue 7)"):
//   valgrind --tool=callgrind --toggle-collect='hetsched::runtime::Controller::decide()' bench_stream --instr=server
int instructions(const std::string& mode, int decisions) {
  Setup su = make_setup();
  std::vector<double> us;
  if (mode == "none") {
    us = run_controller(su, nullptr, decisions / 1000.0);
  } else if (mode == "server") {
    auto srv = hr::StreamServer::create(server_options(su), g_clock);
    if (!srv.ok()) return std::fprintf(stderr, "server: %s\n", srv.status().message().c_str()), 1;
    Readers readers((*srv)->port(), 8);
    while ((*srv)->stats().clients < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    us = run_controller(su, srv->get(), decisions / 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto st = (*srv)->stats();
    std::printf("server: %llu samples in, %llu records sent, %llu lost, %llu dropped before fan-out\n",
                static_cast<unsigned long long>(st.samples_in), static_cast<unsigned long long>(st.records_sent),
                static_cast<unsigned long long>(st.records_lost), static_cast<unsigned long long>(st.dropped_before_fanout));
  } else {
    return std::fprintf(stderr, "--instr=%s: expected none or server\n", mode.c_str()), 2;
  }
  std::printf("instr %s: %zu decisions\n", mode.c_str(), us.size());
  return 0;
}

int main(int argc, char** argv) {
  int pairs = 41, decisions = 2000;
  double round_s = 1.0;
  bool pin = true, memory = true;
  std::string instr;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--soak=", 7) == 0) return soak(std::atof(argv[i] + 7));
    if (std::strncmp(argv[i], "--pairs=", 8) == 0) pairs = std::max(3, std::atoi(argv[i] + 8));
    else if (std::strncmp(argv[i], "--round-seconds=", 16) == 0) round_s = std::max(0.2, std::atof(argv[i] + 16));
    else if (std::strcmp(argv[i], "--no-pin") == 0) pin = false;
    else if (std::strcmp(argv[i], "--no-memory") == 0) memory = false;
    else if (std::strncmp(argv[i], "--instr=", 8) == 0) instr = argv[i] + 8;
    else if (std::strncmp(argv[i], "--decisions=", 12) == 0) decisions = std::max(1, std::atoi(argv[i] + 12));
    else if (std::strncmp(argv[i], "--io-nice=", 10) == 0) g_io_nice = std::atoi(argv[i] + 10);
    else if (std::strncmp(argv[i], "--flush-ms=", 11) == 0) g_flush_ns = static_cast<std::int64_t>(std::atof(argv[i] + 11) * 1e6);
    else rest.push_back(argv[i]);
  }
  if (!instr.empty()) return instructions(instr, decisions);
  if (int rc = acceptance(pairs, round_s, pin); rc != 0) return rc;
  if (memory)
    if (int rc = mute_memory(); rc != 0) return rc;
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
