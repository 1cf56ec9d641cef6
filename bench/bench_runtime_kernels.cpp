// CPU kernel and executor throughput on one core (the kernels are single-threaded: no OpenMP,
// so Eigen computes on the benchmark thread only).
//
//   BM_Conv/<shape>, BM_DwConv/<shape>: GFLOP/s (FLOP = 2 x MACs) of representative layers.
//   BM_Block/<model>/<block>: one run_block of every block of mobilenet_v1 (ms per block).
//   BM_Inference/<model>: run_range over all blocks = one full inference.
// Run (medians of 5): build-kernels/bench/bench_runtime_kernels --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true [--benchmark_filter=Inference]
// Data files: $HETSCHED_DATA_DIR, else the source tree this was built from.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "policies/model.hpp"
#include "runtime/executor.hpp"
#include "runtime/kernels.hpp"

namespace hr = hetsched::runtime;

namespace {

std::string data_dir() {
  if (const char* d = std::getenv("HETSCHED_DATA_DIR")) return d;
  std::string env_dir = HETSCHED_ENV_DATA_DIR;  // "<source>/env"
  return env_dir.substr(0, env_dir.size() - 4);
}

std::vector<float> random_floats(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

// 64-byte aligned scratch as the executor provides it.
struct Scratch {
  hr::AlignedFloats buf;
  explicit Scratch(std::int64_t n) : buf(n) {}
};

struct ConvShape { const char* name; int in_c, hw, out_c, k, stride, pad, groups; };
const ConvShape kShapes[] = {
    {"resnet_3x3_64x56x56", 64, 56, 64, 3, 1, 1, 1},
    {"resnet_1x1_256to64x56x56", 256, 56, 64, 1, 1, 0, 1},
    {"mobilenet_pw_512x14x14", 512, 14, 512, 1, 1, 0, 1},
    {"mobilenet_conv0_3to32_s2x224", 3, 224, 32, 3, 2, 1, 1},
    {"yolo_3x3_256to512_s2x52", 256, 52, 512, 3, 2, 1, 1},
    {"dw_3x3_32x112x112", 32, 112, 32, 3, 1, 1, 32},
    {"dw_3x3_256x28x28", 256, 28, 256, 3, 1, 1, 256},
    {"dw_3x3_512x14x14_s2", 512, 14, 512, 3, 2, 1, 512},
};

void BM_Conv(benchmark::State& state, ConvShape s) {
  hr::ConvParams p{s.in_c, s.hw, s.hw, s.out_c, 0, 0, s.k, s.k, s.stride, s.pad, s.groups, hr::Act::kRelu};
  p.out_h = p.out_w = hr::conv_out_size(s.hw, s.k, s.stride, s.pad);
  const auto in = random_floats(std::int64_t{s.in_c} * s.hw * s.hw, 1);
  const auto w = random_floats(std::int64_t{s.out_c} * (s.in_c / s.groups) * s.k * s.k, 2);
  const auto b = random_floats(s.out_c, 3);
  std::vector<float> out(static_cast<size_t>(std::int64_t{s.out_c} * p.out_h * p.out_w));
  Scratch scratch(hr::conv2d_scratch_floats(p));
  for (auto _ : state) {
    hr::conv2d(p, in.data(), w.data(), b.data(), out.data(), scratch.buf.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(w.size()) * p.out_h * p.out_w;
  state.counters["FLOP/s"] = benchmark::Counter(2 * macs, benchmark::Counter::kIsIterationInvariantRate);
}

// One model instance + executor + boundary buffers per model, built on first use.
struct Bench {
  std::shared_ptr<const hr::EigenModel> model;
  std::unique_ptr<hr::EigenExecutor> exec;
  std::vector<std::vector<float>> data;               // per boundary
  std::vector<std::vector<hetsched::TensorView>> views;  // per boundary
};

Bench* bench_for(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Bench>> cache;
  auto& slot = cache[name];
  if (slot) return slot.get();
  auto desc = hetsched::policies::load_model_by_name(data_dir(), name);
  if (!desc.ok()) return nullptr;
  auto model = hr::EigenModel::create(desc.value(), {});
  if (!model.ok()) return nullptr;
  auto b = std::make_unique<Bench>();
  b->model = model.value();
  b->exec = std::move(hr::EigenExecutor::create(b->model)).value();
  const auto& l = b->model->plan().layout;
  for (int k = 0; k <= l.num_blocks(); ++k) {
    b->data.push_back(random_floats(l.boundary_floats(k), static_cast<std::uint32_t>(k)));
    b->views.emplace_back(l.boundary[static_cast<size_t>(k)].size());
    hr::boundary_views(l, k, b->data.back().data(), b->views.back().data());
  }
  slot = std::move(b);
  return slot.get();
}

void BM_Block(benchmark::State& state, std::string name) {
  Bench* b = bench_for(name);
  if (!b) return state.SkipWithError(("cannot load model " + name).c_str());
  const int k = static_cast<int>(state.range(0));
  auto& in = b->views[static_cast<size_t>(k)];
  auto& out = b->views[static_cast<size_t>(k) + 1];
  for (auto _ : state) {
    auto st = b->exec->run_block(k, in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()));
    if (!st.ok()) return state.SkipWithError(st.to_string().c_str());
  }
  const auto& bp = b->model->plan().blocks[static_cast<size_t>(k)];
  double macs = 0;
  for (int i = bp.first; i < bp.end; ++i) {
    const auto& lp = b->model->plan().layers[static_cast<size_t>(i)];
    macs += static_cast<double>(lp.weight_floats) * lp.out.h * lp.out.w;
  }
  state.counters["FLOP/s"] = benchmark::Counter(2 * macs, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Inference(benchmark::State& state, std::string name) {
  Bench* b = bench_for(name);
  if (!b) return state.SkipWithError(("cannot load model " + name).c_str());
  const int nb = b->model->plan().layout.num_blocks();
  auto& in = b->views.front();
  auto& out = b->views.back();
  for (auto _ : state) {
    auto st = b->exec->run_range(0, nb, in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()));
    if (!st.ok()) return state.SkipWithError(st.to_string().c_str());
  }
  // Synthetic weights must keep every output finite (YOLOv3: 75 blocks, 23 residual adds).
  double max_abs = 0;
  for (float v : b->data.back()) {
    if (!std::isfinite(v)) return state.SkipWithError("non-finite model output");
    max_abs = std::max(max_abs, static_cast<double>(std::abs(v)));
  }
  state.counters["max_abs_out"] = max_abs;
  const auto& plan = b->model->plan();
  state.counters["FLOP/s"] = benchmark::Counter(2 * plan.macs, benchmark::Counter::kIsIterationInvariantRate);
  // Memory: shared weights, and the per-executor workspace (arena + kernel scratch).
  state.counters["weights_MB"] = static_cast<double>(plan.param_floats) * 4 / 1e6;
  state.counters["workspace_MB"] = static_cast<double>(plan.arena_floats + plan.scratch_floats) * 4 / 1e6;
}

int register_all() {
  for (const ConvShape& s : kShapes)
    benchmark::RegisterBenchmark((std::string(s.groups > 1 ? "BM_DwConv/" : "BM_Conv/") + s.name).c_str(), BM_Conv, s)
        ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Block/mobilenet_v1", BM_Block, std::string("mobilenet_v1"))
      ->DenseRange(0, 27)
      ->Unit(benchmark::kMillisecond);
  for (const char* m : {"mobilenet_v1", "squeezenet", "googlenet", "alexnet", "resnet50", "yolov3"})
    benchmark::RegisterBenchmark((std::string("BM_Inference/") + m).c_str(), BM_Inference, std::string(m))
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
  return 0;
}
const int kRegistered = register_all();

}  // namespace

BENCHMARK_MAIN();
