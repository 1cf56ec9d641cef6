// Embedding hetsched: pipelined mobilenet_v1 on this machine's CPU units, adaptive mode.
//   embed DATA_DIR [FRAMES]     (DATA_DIR holds env/models/, i.e. the hetsched source tree)
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <hetsched/runtime.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embed DATA_DIR [FRAMES]\n");
    return 2;
  }
  const int frames = argc > 2 ? std::atoi(argv[2]) : 20;
  auto platform = hetsched::host_platform();
  if (!platform.ok()) return std::fprintf(stderr, "embed: %s\n", platform.status().to_string().c_str()), 1;
  hetsched::RuntimeOptions opt;  // adaptive, built-in balancer
  int delivered = 0;
  opt.on_result = [&](const hetsched::RuntimeResult& r) { delivered += r.ok ? 1 : 0; };
  auto rt = hetsched::Runtime::create(*platform, "mobilenet_v1", argv[1], opt);
  if (!rt.ok()) return std::fprintf(stderr, "embed: %s\n", rt.status().to_string().c_str()), 1;
  std::vector<float> input(static_cast<size_t>(rt.value()->input_floats()), 0.5f);
  for (int f = 0; f < frames; ++f) {
    hetsched::Status st = rt.value()->submit(input.data(), static_cast<std::int64_t>(input.size()), static_cast<std::uint64_t>(f));
    if (!st.ok()) return std::fprintf(stderr, "embed: %s\n", st.to_string().c_str()), 1;
  }
  (void)rt.value()->stop();
  const hetsched::RuntimeTelemetry t = rt.value()->telemetry();
  std::printf("embed: %d/%d frames delivered, split %s\n", delivered, frames, t.split.c_str());
  return delivered == frames ? 0 : 1;
}
