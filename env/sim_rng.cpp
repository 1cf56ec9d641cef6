#include "env/sim_rng.hpp"

namespace hetsched::env {

double inverse_normal_cdf(double p) noexcept {
  // P. J. Acklam's algorithm: rational approximations in the centre and the two tails.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double lo = 0.02425, hi = 1 - lo;
  if (p <= 0) return -1e300;
  if (p >= 1) return 1e300;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > hi) return -inverse_normal_cdf(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

void LognormalTable::init(double cov) noexcept {
  if (!(cov > 0)) {
    v_.fill(1.0);
    return;
  }
  const double s2 = std::log1p(cov * cov), s = std::sqrt(s2), mu = -s2 / 2;
  double sum = 0;
  for (int i = 0; i < kSize; ++i) {
    v_[i] = std::exp(mu + s * inverse_normal_cdf((i + 0.5) / kSize));
    sum += v_[i];
  }
  // Renormalise so the table's mean is exactly 1 (the cut tails shift it by ~1e-5).
  for (auto& v : v_) v *= kSize / sum;
}

}  // namespace hetsched::env
