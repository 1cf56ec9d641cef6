// Allocation-free single-precision GEMM on top of Eigen's blocked kernel.
//
// Why not `C.noalias() += A * B` on Eigen::Map: for dynamic sizes Eigen allocates its packing
// buffers (blockA/blockB) inside every product call once they exceed EIGEN_STACK_ALLOCATION_LIMIT
// (128 KiB), which breaks the "no allocation on the hot path" rule. We compute Eigen's own
// cache-blocking sizes at prepare time (gemm_plan), size the caller's scratch for them, and hand
// the packing buffers to Eigen's internal product, so a run never touches the heap.
#pragma once

#include <cstdint>

namespace hetsched::runtime {

struct GemmPlan {
  std::int64_t m = 0, n = 0, k = 0;      // C[m x n] += A[m x k] * B[k x n], all row-major
  std::int64_t mc = 0, nc = 0, kc = 0;   // Eigen's cache blocks (of the transposed product)
  std::int64_t scratch_floats = 0;       // packing buffers blockA + blockB (+ alignment slack)
};

// Cache-blocking plan for a row-major product; deterministic for a given machine.
GemmPlan gemm_plan(std::int64_t m, std::int64_t n, std::int64_t k) noexcept;

// C += A * B with leading dimensions lda (>= k), ldb (>= n), ldc (>= n). scratch holds at least
// plan.scratch_floats floats, 64-byte aligned. Single-threaded (the calling thread computes).
void gemm_accumulate(const GemmPlan& plan, const float* a, std::int64_t lda, const float* b,
                     std::int64_t ldb, float* c, std::int64_t ldc, float* scratch) noexcept;

// Rounds a float count up to a multiple of 16 floats (64 bytes) so sub-buffers stay aligned.
constexpr std::int64_t align_floats(std::int64_t n) noexcept { return (n + 15) / 16 * 16; }

}  // namespace hetsched::runtime
