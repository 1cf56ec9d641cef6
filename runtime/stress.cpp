#include "runtime/stress.hpp"

#include "runtime/pipeline.hpp"

namespace hetsched::runtime {

Result<std::unique_ptr<CpuHog>> CpuHog::start(const std::vector<int>& cpu_ids) {
  if (cpu_ids.empty()) return Error(StatusCode::kInvalidArgument, "stress: no cores given");
  std::unique_ptr<CpuHog> h(new CpuHog());
  for (int c : cpu_ids) {
    h->threads_.emplace_back([raw = h.get()] {
      // Pure ALU work: no memory traffic, so the hog competes for the core, not for the cache.
      volatile std::uint64_t x = 1;
      while (!raw->stop_.load(std::memory_order_relaxed))
        for (int i = 0; i < 10000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    });
    Status st = pin_thread(h->threads_.back().native_handle(), {c});
    if (!st.ok()) {
      h->stop();
      return Error(st.code(), "stress: " + st.message());
    }
  }
  return h;
}

void CpuHog::stop() noexcept {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace hetsched::runtime
