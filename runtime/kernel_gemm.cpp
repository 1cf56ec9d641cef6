#include "runtime/kernel_gemm.hpp"

#include <Eigen/Core>

namespace hetsched::runtime {
namespace {

using Index = Eigen::Index;

// Eigen's level-3 blocking descriptor pointed at caller-owned packing buffers.
class ExternalBlocking final : public Eigen::internal::level3_blocking<float, float> {
 public:
  ExternalBlocking(const GemmPlan& p, float* scratch) noexcept {
    m_mc = p.mc;
    m_nc = p.nc;
    m_kc = p.kc;
    m_blockA = scratch;
    m_blockB = scratch + align_floats(p.mc * p.kc);
  }
};

}  // namespace

GemmPlan gemm_plan(std::int64_t m, std::int64_t n, std::int64_t k) noexcept {
  GemmPlan p;
  p.m = m;
  p.n = n;
  p.k = k;
  // Row-major C = A*B is computed as the column-major product C^T = B^T * A^T, whose "rows" are
  // our n and "cols" our m (see gemm_accumulate). Eigen's heuristic shrinks the blocks to fit L1/L2.
  Index kc = k, mc = n, nc = m;
  Eigen::internal::computeProductBlockingSizes<float, float, 1>(kc, mc, nc, Index{1});
  p.mc = mc;
  p.nc = nc;
  p.kc = kc;
  p.scratch_floats = align_floats(mc * kc) + align_floats(kc * nc);
  return p;
}

void gemm_accumulate(const GemmPlan& plan, const float* a, std::int64_t lda, const float* b,
                     std::int64_t ldb, float* c, std::int64_t ldc, float* scratch) noexcept {
  if (plan.m == 0 || plan.n == 0 || plan.k == 0) return;
  ExternalBlocking blocking(plan, scratch);
  // Column-major views of the row-major buffers: B (k x n, ld ldb) is B^T (n x k, ld ldb);
  // A (m x k, ld lda) is A^T (k x m, ld lda); C (m x n, ld ldc) is C^T (n x m, ld ldc).
  Eigen::internal::general_matrix_matrix_product<Index, float, Eigen::ColMajor, false, float, Eigen::ColMajor,
                                                 false, Eigen::ColMajor, 1>::run(plan.n, plan.m, plan.k, b, ldb, a,
                                                                                 lda, c, 1, ldc, 1.0f, blocking,
                                                                                 nullptr);
}

}  // namespace hetsched::runtime
