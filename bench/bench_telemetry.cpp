// Telemetry throughput: ring push+pop, trace write and read, CRC32, snapshot/stat updates.
//
// Targets (docs/trace-format.md): >= 5 M samples/s trace write and >= 2 M samples/s read on
// one core. Trace benchmarks write a real file under /tmp (whatever filesystem /tmp is; the
// page cache absorbs it, so this measures encoding + write(2), not the disk) and read it back
// both from the file (open = read(2) into memory + decode) and from bytes already in memory.
// Run: bench_telemetry --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "telemetry/crc32.hpp"
#include "telemetry/ring.hpp"
#include "telemetry/snapshot.hpp"
#include "telemetry/stats.hpp"
#include "telemetry/trace_reader.hpp"
#include "telemetry/trace_writer.hpp"

namespace {

using namespace hetsched::telemetry;

constexpr std::int64_t kTraceSamples = 1'000'000;

std::string bench_path() { return "/tmp/hetsched_bench_telemetry_" + std::to_string(getpid()) + ".trace"; }

Sample sample_at(std::int64_t i) {
  return {.t_ns = i * 1000, .value = static_cast<double>(i % 977) * 1.5, .source = static_cast<std::uint16_t>(i % 12),
          .kind = static_cast<SampleKind>(i % kSampleKindCount)};
}

void write_trace(const std::string& path, std::int64_t n) {
  TraceHeader h;
  h.producer = "bench_telemetry";
  auto w = TraceWriter::create({.path = path, .chunk_samples = 16384, .chunk_interval_ns = 0}, h);
  if (!w.ok()) throw std::runtime_error(w.status().to_string());
  for (std::int64_t i = 0; i < n; ++i)
    if (!(*w)->append(sample_at(i)).ok()) throw std::runtime_error("append failed");
  if (!(*w)->close().ok()) throw std::runtime_error("close failed");
}

// One thread pushes a batch then pops it: the uncontended cost of the two atomic paths.
void BM_RingPushPop(benchmark::State& state) {
  auto r = SpscRing<Sample>::create({.capacity = 4096});
  Sample out[256];
  std::int64_t i = 0;
  for (auto _ : state) {
    for (int k = 0; k < 256; ++k) r.value()->push(sample_at(i++));
    benchmark::DoNotOptimize(r.value()->pop_many(out, 256));
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 256, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RingPushPop);

// Producer and consumer on two threads (the real deployment shape), 1 M pushes per iteration
// as fast as possible. Reports pushes/s and delivered/s separately: when the consumer thread
// gets less CPU than the producer (e.g. an oversubscribed machine) most pushes are dropped
// (drop-oldest) and only delivered/s says how much reached the consumer.
void BM_RingTwoThreads(benchmark::State& state) {
  constexpr std::int64_t kN = 1'000'000;
  std::uint64_t delivered = 0, dropped = 0;
  for (auto _ : state) {
    auto r = SpscRing<Sample>::create({.capacity = 4096});
    auto& ring = *r.value();
    std::atomic<bool> done{false};
    std::uint64_t got = 0;
    std::thread consumer([&] {
      Sample s;
      for (;;) {
        const bool fin = done.load(std::memory_order_acquire);
        while (ring.pop(s)) ++got;
        if (fin) break;
      }
    });
    for (std::int64_t i = 0; i < kN; ++i) ring.push(sample_at(i));
    done.store(true, std::memory_order_release);
    consumer.join();
    delivered += got;
    dropped += ring.dropped();
  }
  state.counters["pushes/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kN, benchmark::Counter::kIsRate);
  state.counters["delivered/s"] = benchmark::Counter(static_cast<double>(delivered), benchmark::Counter::kIsRate);
  state.counters["dropped_frac"] = static_cast<double>(dropped) / (static_cast<double>(state.iterations()) * kN);
}
BENCHMARK(BM_RingTwoThreads)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TraceWrite(benchmark::State& state) {
  const std::string path = bench_path();
  for (auto _ : state) write_trace(path, kTraceSamples);
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kTraceSamples, benchmark::Counter::kIsRate);
  std::remove(path.c_str());
}
BENCHMARK(BM_TraceWrite)->Unit(benchmark::kMillisecond);

void BM_TraceReadFile(benchmark::State& state) {
  const std::string path = bench_path();
  write_trace(path, kTraceSamples);
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto r = TraceReader::open(path);
    TraceChunk c;
    while (r->next(c)) n += c.samples.size();
  }
  benchmark::DoNotOptimize(n);
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kTraceSamples, benchmark::Counter::kIsRate);
  std::remove(path.c_str());
}
BENCHMARK(BM_TraceReadFile)->Unit(benchmark::kMillisecond);

void BM_TraceDecodeMemory(benchmark::State& state) {
  const std::string path = bench_path();
  write_trace(path, kTraceSamples);
  std::ifstream f(path, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  std::remove(path.c_str());
  std::uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<char> copy = bytes;
    state.ResumeTiming();
    auto r = TraceReader::from_bytes("mem", std::move(copy));
    TraceChunk c;
    while (r->next(c)) n += c.samples.size();
  }
  benchmark::DoNotOptimize(n);
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kTraceSamples, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TraceDecodeMemory)->Unit(benchmark::kMillisecond);

void BM_Crc32(benchmark::State& state) {
  std::vector<char> buf(1 << 20);
  std::mt19937 rng(1);
  for (auto& b : buf) b = static_cast<char>(rng());
  for (auto _ : state) benchmark::DoNotOptimize(crc32(0, buf.data(), buf.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(buf.size()));
}
BENCHMARK(BM_Crc32);

void BM_SnapshotUpdate(benchmark::State& state) {
  auto s = Snapshot::create({});
  std::int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(s->update(sample_at(i++)));
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SnapshotUpdate);

void BM_EwmaUpdate(benchmark::State& state) {
  auto e = Ewma::create({.half_life_ns = 1'000'000});
  std::int64_t t = 0;
  for (auto _ : state) {
    t += 997;
    e->update(t, static_cast<double>(t & 1023));
    benchmark::DoNotOptimize(e->value());
  }
}
BENCHMARK(BM_EwmaUpdate);

// p99 over the window after every push: the worst case (a query per sample).
void BM_PercentileQuery(benchmark::State& state) {
  auto w = WindowPercentiles::create({.window = static_cast<std::size_t>(state.range(0))});
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> d(0, 1e4);
  for (auto _ : state) {
    w->push(d(rng));
    benchmark::DoNotOptimize(w->percentile(99));
  }
}
BENCHMARK(BM_PercentileQuery)->Arg(128)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
