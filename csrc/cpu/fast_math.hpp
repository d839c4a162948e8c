// Branch-free scalar math for `omp simd` loops: exp, log and |expm1| that
// vectorize (libm's calls do not), and a bitwise select. Accuracy: exp to
// < 2e-16 relative (float: 6e-9), log to < 1e-18 in its series; see each.
// Private to the CPU kernels' .cpp files (anonymous namespace: one copy per
// file that includes it, inlined where used).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace emd {
namespace {

// The scalar math below must be inlined into the `omp simd` loops that call
// it, or those loops stay scalar (GCC judged fast_exp too big to inline and
// small batched problems then spent a third of their time in calls to it).
#define EMD_INLINE inline __attribute__((always_inline))

template <class U, class F>
EMD_INLINE U bits_of(F x) {
    U u;
    std::memcpy(&u, &x, sizeof u);
    return u;
}
template <class F, class U>
EMD_INLINE F from_bits(U u) {
    F x;
    std::memcpy(&x, &u, sizeof x);
    return x;
}

// c ? x : y by bit masks. A plain ?: between two computed values lets GCC move
// the computation of one arm into a branch (floating-point math may trap), and
// a loop with a branch does not vectorize.
EMD_INLINE double pick(bool c, double x, double y) {
    const std::uint64_t mask = std::uint64_t(0) - std::uint64_t(c);
    return from_bits<double>((bits_of<std::uint64_t>(x) & mask) | (bits_of<std::uint64_t>(y) & ~mask));
}
EMD_INLINE float pick(bool c, float x, float y) {
    const std::uint32_t mask = std::uint32_t(0) - std::uint32_t(c);
    return from_bits<float>((bits_of<std::uint32_t>(x) & mask) | (bits_of<std::uint32_t>(y) & ~mask));
}

// exp(x), branch-free so that loops over it vectorize (std::exp does not).
// Range reduction x = k ln2 + r, |r| <= ln2 / 2, with ln2 split in two
// (Cody-Waite: k * ln2_hi is exact), then the Taylor polynomial of exp(r) of
// degree 12 (truncation error < 2e-16 relative), then 2^k written into the
// exponent bits. Arguments below the normal range (and -inf: log of a zero
// weight) give exactly 0; arguments are capped at 709 so nothing overflows.
EMD_INLINE double fast_exp(double x) {
    const bool under = x < -708.0;
    x = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
    double kd = x * 1.4426950408889634 + 0x1.8p52;  // round(x / ln2) in the low mantissa bits
    const std::uint64_t ki = bits_of<std::uint64_t>(kd);
    kd -= 0x1.8p52;
    const double r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
    double p = 2.08767569878680989792e-09;  // 1/12!
    p = p * r + 2.50521083854417187751e-08;  // 1/11!
    p = p * r + 2.75573192239858906526e-07;
    p = p * r + 2.75573192239858906526e-06;
    p = p * r + 2.48015873015873015873e-05;
    p = p * r + 1.98412698412698412698e-04;
    p = p * r + 1.38888888888888888889e-03;
    p = p * r + 8.33333333333333333333e-03;
    p = p * r + 4.16666666666666666667e-02;
    p = p * r + 1.66666666666666666667e-01;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const double scale = from_bits<double>((ki + 1023u) << 52);
    return pick(under, 0.0, p * scale);
}

// The float32 twin: degree 7 (truncation error < 6e-9 relative).
EMD_INLINE float fast_exp(float x) {
    const bool under = x < -87.0f;
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float kd = x * 1.44269504088896341f + 0x1.8p23f;
    const std::uint32_t ki = bits_of<std::uint32_t>(kd);
    kd -= 0x1.8p23f;
    const float r = (x - kd * 0.693359375f) - kd * -2.12194440e-4f;
    float p = 1.98412698e-04f;  // 1/7!
    p = p * r + 1.38888889e-03f;
    p = p * r + 8.33333333e-03f;
    p = p * r + 4.16666667e-02f;
    p = p * r + 1.66666667e-01f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const float scale = from_bits<float>((ki + 127u) << 23);
    return pick(under, 0.0f, p * scale);
}

// log(x) for normal positive x, branch-free so that loops over it vectorize:
// x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1),
// |s| < 0.172, by its series to s^23 (truncation < 1e-18 relative), and e ln2
// split in two (Cody-Waite). Zero, denormals, inf and NaN give garbage: callers
// check the range of x (the kernel sums) before trusting the result.
EMD_INLINE double fast_log(double x) {
    const std::uint64_t bits = bits_of<std::uint64_t>(x);
    std::int64_t e = std::int64_t((bits >> 52) & 0x7ff) - 1023;
    double mant = from_bits<double>((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    const bool big = mant > 1.4142135623730951;
    mant = pick(big, 0.5 * mant, mant);
    e += std::int64_t(big);
    const double s = (mant - 1.0) / (mant + 1.0);
    const double s2 = s * s;
    double p = 1.0 / 23;
    p = p * s2 + 1.0 / 21;
    p = p * s2 + 1.0 / 19;
    p = p * s2 + 1.0 / 17;
    p = p * s2 + 1.0 / 15;
    p = p * s2 + 1.0 / 13;
    p = p * s2 + 1.0 / 11;
    p = p * s2 + 1.0 / 9;
    p = p * s2 + 1.0 / 7;
    p = p * s2 + 1.0 / 5;
    p = p * s2 + 1.0 / 3;
    const double ed = double(e);
    return ed * 6.93147180369123816490e-01 + (2.0 * s + 2.0 * s * s2 * p + ed * 1.90821492927058770002e-10);
}

// exp(t) - 1 by its series to t^4, for |t| < kExpm1Series (truncation < 1e-17 relative there).
constexpr double kExpm1Series = 1e-3;
EMD_INLINE double expm1_series(double t) { return t * (1.0 + t * (0.5 + t * (1.0 / 6 + t * (1.0 / 24)))); }

// |exp(t) - 1| for the marginal error: the series where exp(t) - 1 would cancel.
EMD_INLINE double abs_expm1(double t) {
    const double direct = fast_exp(t) - 1.0;
    return std::fabs(pick(std::fabs(t) < kExpm1Series, expm1_series(t), direct));
}

}  // namespace
}  // namespace emd
