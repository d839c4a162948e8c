// Log-domain Sinkhorn: one loop (solve_one) over a pluggable cost (DenseCost,
// SampleCost), a vectorizable exp, threads over rows or over a batch.
#include "emd/sinkhorn.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "emd/buffer.hpp"
#include "emd/parallel.hpp"
#include "emd/simd.hpp"

namespace emd {
namespace {

// Rows are processed in chunks of this many columns: the chunk's scores and
// costs stay in L1 between the max pass and the exp pass.
constexpr std::int64_t kChunk = 1024;

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

// |exp(t) - 1| for the marginal error: the series where exp(t) - 1 would cancel.
EMD_INLINE double abs_expm1(double t) {
    const double series = t * (1.0 + t * (0.5 + t * (1.0 / 6 + t * (1.0 / 24))));
    const double direct = fast_exp(t) - 1.0;
    return std::fabs(pick(std::fabs(t) < 1e-3, series, direct));
}

// out_j = w_j exp((h_j - href_j) * inv) for the kernel form's products; returns
// max_j |h_j - href_j| * inv (how far h drifted from the kernel's reference).
// A function of its own with restrict pointers: inside KernelCache's member
// function GCC left this loop scalar.
template <class T>
double scaled_weights(const T* __restrict w, const T* __restrict h, const T* __restrict href, double inv,
                      std::int64_t len, T* __restrict out) {
    double drift = 0.0;
#pragma omp simd reduction(max : drift)
    for (std::int64_t j = 0; j < len; ++j) {
        const double t = (double(h[j]) - double(href[j])) * inv;
        drift = std::max(drift, std::fabs(t));
        out[j] = T(double(w[j]) * fast_exp(t));
    }
    return drift;
}

// out_j = ref_j - eps log(z_j), z_j in the normal range (checked by the caller).
template <class T>
void shifted_logs(const T* __restrict ref, const T* __restrict z, double eps, std::int64_t len, T* __restrict out) {
#pragma omp simd
    for (std::int64_t j = 0; j < len; ++j) out[j] = T(double(ref[j]) - eps * fast_log(double(z[j])));
}

// z[0:m] += sum_q u[q] K[q, 0:m] over `rows` rows of K (row-major, rows `stride` apart):
// a row block's share of the kernel's column sums. Four vectors of z stay in
// registers across all the rows (a load and an FMA per vector and row, where
// an axpy per row would also load and store z), and every z_j adds its rows
// in order, so the result does not depend on the vector width's path.
template <class T>
EMD_INLINE void add_column_sums(const T* __restrict k, std::int64_t rows, std::int64_t stride, std::int64_t m,
                                const T* __restrict u, T* __restrict z) {
    using simd::load;
    using simd::store;
    using V = typename simd::Vec<T>::type;
    constexpr int L = simd::Vec<T>::lanes;
    std::int64_t j = 0;
    for (; j + 4 * L <= m; j += 4 * L) {
        V a0 = load<T>(z + j), a1 = load<T>(z + j + L), a2 = load<T>(z + j + 2 * L), a3 = load<T>(z + j + 3 * L);
        for (std::int64_t q = 0; q < rows; ++q) {
            const T* kq = k + q * stride + j;
            const T uq = u[q];
            a0 += load<T>(kq) * uq;
            a1 += load<T>(kq + L) * uq;
            a2 += load<T>(kq + 2 * L) * uq;
            a3 += load<T>(kq + 3 * L) * uq;
        }
        store<T>(z + j, a0);
        store<T>(z + j + L, a1);
        store<T>(z + j + 2 * L, a2);
        store<T>(z + j + 3 * L, a3);
    }
    for (; j + L <= m; j += L) {
        V a = load<T>(z + j);
        for (std::int64_t q = 0; q < rows; ++q) a += load<T>(k + q * stride + j) * u[q];
        store<T>(z + j, a);
    }
    for (; j < m; ++j) {
        T a = z[j];
        for (std::int64_t q = 0; q < rows; ++q) a += k[q * stride + j] * u[q];
        z[j] = a;
    }
}

// out = K v for rows [i0, i1) of K (n x m, row-major): dot products four rows
// at a time (four independent accumulator chains).
template <class T>
EMD_INLINE void row_products_range(const T* __restrict k, std::int64_t i0, std::int64_t i1, std::int64_t m,
                                   const T* __restrict v, T* __restrict out) {
    std::int64_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        const T* k0 = k + i * m;
        const T *k1 = k0 + m, *k2 = k1 + m, *k3 = k2 + m;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (std::int64_t j = 0; j < m; ++j) {
            const T vj = v[j];
            s0 += k0[j] * vj;
            s1 += k1[j] * vj;
            s2 += k2[j] * vj;
            s3 += k3[j] * vj;
        }
        out[i] = s0;
        out[i + 1] = s1;
        out[i + 2] = s2;
        out[i + 3] = s3;
    }
    for (; i < i1; ++i) {
        const T* ki = k + i * m;
        T acc = 0;
#pragma omp simd reduction(+ : acc)
        for (std::int64_t j = 0; j < m; ++j) acc += ki[j] * v[j];
        out[i] = acc;
    }
}

// out = K v, threads over blocks of rows when `parallel`. Serial calls open no
// OpenMP region at all: an inactive one still costs a team set-up, which small
// batched problems would pay many times per solve.
template <class T>
void row_products(const T* k, std::int64_t n, std::int64_t m, const T* v, T* out, bool parallel) {
    if (!parallel) return row_products_range(k, 0, n, m, v, out);
#pragma omp parallel for schedule(static)
    for (std::int64_t i0 = 0; i0 < n; i0 += 64) row_products_range(k, i0, std::min(n, i0 + 64), m, v, out);
}

// out = K^T v: column blocks of K, each summed over all rows with the block's
// sums in registers (add_column_sums), threads over the blocks when `parallel`,
// so every out_j adds its rows in order for any thread count.
template <class T>
void column_products(const T* k, std::int64_t n, std::int64_t m, const T* v, T* out, bool parallel) {
    constexpr std::int64_t kBlock = 512;
    auto block = [&](std::int64_t j0) {
        const std::int64_t count = std::min(kBlock, m - j0);
        std::fill(out + j0, out + j0 + count, T(0));
        add_column_sums(k + j0, n, m, count, v, out + j0);
    };
    if (!parallel) {
        for (std::int64_t j0 = 0; j0 < m; j0 += kBlock) block(j0);
        return;
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t j0 = 0; j0 < m; j0 += kBlock) block(j0);
}

template <class T>
double dot(const T* __restrict x, const T* __restrict y, std::int64_t len) {
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (std::int64_t i = 0; i < len; ++i) acc += double(x[i]) * double(y[i]);
    return acc;
}

// x -= c y
template <class T>
void sub_scaled(T* __restrict x, double c, const T* __restrict y, std::int64_t len) {
#pragma omp simd
    for (std::int64_t i = 0; i < len; ++i) x[i] = T(double(x[i]) - c * double(y[i]));
}

// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal d
// and off-diagonal e (len - 1 entries), known to lie in [0, upper]: bisection on
// Sturm counts (the number of negative pivots of T - x I).
inline double tridiagonal_max_eigenvalue(const double* d, const double* e, int len, double upper) {
    double lo = 0.0, hi = upper;
    for (int it = 0; it < 50; ++it) {
        const double mid = 0.5 * (lo + hi);
        int above = 0;
        double piv = 1.0;
        for (int c = 0; c < len; ++c) {
            piv = (d[c] - mid) - (c > 0 ? e[c - 1] * e[c - 1] / piv : 0.0);
            if (piv == 0.0) piv = 1e-300;
            above += piv > 0.0;
        }
        (above > 0 ? lo : hi) = mid;
    }
    return lo;
}

// out_i = log(w_i) (-inf on zero weights: exp(-inf) = 0 drops them); returns sum_i w_i.
// The vectorized log first, then libm's for the few weights below the normal
// range (zeros, subnormals), where fast_log is not defined.
template <class T>
double log_weights(const T* __restrict w, std::int64_t len, T* __restrict out) {
    double mass = 0;
#pragma omp simd reduction(+ : mass)
    for (std::int64_t i = 0; i < len; ++i) {
        const double x = double(w[i]);
        out[i] = T(fast_log(x));
        mass += x;
    }
    for (std::int64_t i = 0; i < len; ++i)
        if (!(double(w[i]) >= std::numeric_limits<double>::min())) out[i] = T(std::log(double(w[i])));
    return mass;
}

// Per-thread chunk buffers, allocated on first use: a dense solve that stays in
// the kernel form never needs them, and small batched problems would spend a
// noticeable share of their time allocating and zeroing them.
template <class T>
struct Scratch {
    std::vector<T> score_, cost_;
    std::vector<double> dist_;
    template <class U>
    static U* ready(std::vector<U>& v) {
        if (v.empty()) v.resize(std::size_t(kChunk));
        return v.data();
    }
    T* score() { return ready(score_); }
    T* cost() { return ready(cost_); }
    double* dist() { return ready(dist_); }
};

template <class T>
void transpose(const T* src, std::int64_t rows, std::int64_t cols, T* dst, bool parallel) {
    constexpr std::int64_t kTile = 64;
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t i0 = 0; i0 < rows; i0 += kTile) {
        const std::int64_t i1 = std::min(rows, i0 + kTile);
        for (std::int64_t j0 = 0; j0 < cols; j0 += kTile) {
            const std::int64_t j1 = std::min(cols, j0 + kTile);
            for (std::int64_t i = i0; i < i1; ++i)
                for (std::int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
        }
    }
}

// A dense cost C (n, m) and its transpose: row(i, ...) and col(j, ...) hand
// out contiguous chunks of C's row i and column j without copying.
// C's transpose, built on first use only: the log-domain column update needs it,
// the kernel updates do not, and most dense solves never leave the kernel form.
// Safe to call from several threads (std::call_once).
template <class T>
struct LazyTranspose {
    const T* c;
    std::int64_t n, m;
    std::once_flag once;
    std::vector<T> ct;
    LazyTranspose(const T* c_, std::int64_t n_, std::int64_t m_) : c(c_), n(n_), m(m_) {}
    const T* get() {
        std::call_once(once, [this] {
            ct.resize(std::size_t(n * m));
            transpose(c, n, m, ct.data(), false);
        });
        return ct.data();
    }
};

template <class T>
struct DenseCost {
    static constexpr bool kKernelMode = true;  // the n x m kernel fits beside C
    // Threads over rows from this many entries: an update costs ~0.2 ns per entry
    // (a product), and a parallel region's barriers cost far more than that on a
    // busy machine.
    static constexpr std::int64_t kParallelEntries = std::int64_t(1) << 21;
    const T* c;
    LazyTranspose<T>* ct;
    std::int64_t n, m;
    // exp(-C / k_zero_eps), the kernel at zero potentials, when a batch shares
    // C and starts every problem from zero: built once for all of them.
    const T* k_zero = nullptr;
    double k_zero_eps = 0.0;
    const T* row(std::int64_t i, std::int64_t j0, std::int64_t, Scratch<T>&) const { return c + i * m + j0; }
    const T* col(std::int64_t j, std::int64_t i0, std::int64_t, Scratch<T>&) const { return ct->get() + j * n + i0; }
};

// C_ij = metric(x_i, y_j) ** power, recomputed for every chunk. xt, yt are
// the clouds stored coordinate-major (d, n) and (d, m), for metric_distance_block.
template <class T>
struct SampleCost {
    static constexpr bool kKernelMode = false;  // never store anything n x m
    static constexpr std::int64_t kParallelEntries = std::int64_t(1) << 17;  // ~1 ns per entry (an exp)
    const T* x;
    const T* y;
    const T* xt;
    const T* yt;
    std::int64_t n, m, d;
    Metric metric;
    double power, q;

    const T* finish(std::int64_t count, Scratch<T>& s) const {
        const double* dist = s.dist();
        T* out = s.cost();
        if (power == 1.0) {
#pragma omp simd
            for (std::int64_t k = 0; k < count; ++k) out[k] = T(dist[k]);
        } else if (power == 2.0) {
#pragma omp simd
            for (std::int64_t k = 0; k < count; ++k) out[k] = T(dist[k] * dist[k]);
        } else {
            for (std::int64_t k = 0; k < count; ++k) out[k] = T(std::pow(dist[k], power));
        }
        return out;
    }
    const T* row(std::int64_t i, std::int64_t j0, std::int64_t count, Scratch<T>& s) const {
        metric_distance_block(metric, x + i * d, yt + j0, m, count, d, q, s.dist());
        return finish(count, s);
    }
    // The metrics are symmetric, so column j is the distances from y_j to the x_i.
    const T* col(std::int64_t j, std::int64_t i0, std::int64_t count, Scratch<T>& s) const {
        metric_distance_block(metric, y + j * d, xt + i0, n, count, d, q, s.dist());
        return finish(count, s);
    }
};

// The transposed view of a cost: the g-update is the f-update of the transposed problem.
template <class Cost>
struct Transposed {
    const Cost& base;
    template <class T>
    const T* row(std::int64_t i, std::int64_t j0, std::int64_t count, Scratch<T>& s) const {
        return base.col(i, j0, count, s);
    }
};

// log sum_j exp(h_j - C_ij / eps) over one row, in chunks: max pass, then the
// sum of exp(score - running max), the running sum rescaled when the max grows.
template <class T, class Cost>
double row_log_sum_exp(const Cost& cost, std::int64_t i, const T* h, std::int64_t len, T inv_reg, Scratch<T>& s) {
    const T neg_inf = -std::numeric_limits<T>::infinity();
    T run_max = neg_inf;
    double sum = 0.0;
    T* score = s.score();
    for (std::int64_t j0 = 0; j0 < len; j0 += kChunk) {
        const std::int64_t count = std::min(kChunk, len - j0);
        const T* c = cost.row(i, j0, count, s);
        const T* hj = h + j0;
        T mx = neg_inf;
#pragma omp simd reduction(max : mx)
        for (std::int64_t k = 0; k < count; ++k) {
            const T v = hj[k] - c[k] * inv_reg;
            score[k] = v;
            mx = v > mx ? v : mx;
        }
        if (!(mx > neg_inf)) continue;  // every weight of the chunk is zero
        if (mx > run_max) {
            sum *= std::exp(double(run_max) - double(mx));
            run_max = mx;
        }
        T acc = 0;
#pragma omp simd reduction(+ : acc)
        for (std::int64_t k = 0; k < count; ++k) acc += fast_exp(score[k] - run_max);
        sum += double(acc);
    }
    return double(run_max) + std::log(sum);
}

// out_i = -eps log sum_j exp(h_j - C_ij / eps) for every row i: the softmin update.
template <class T, class Cost>
void softmin(const Cost& cost, std::int64_t rows, const T* h, std::int64_t len, double reg, T* out,
             std::vector<Scratch<T>>& scratch, bool parallel) {
    const T inv_reg = T(1.0 / reg);
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t i = 0; i < rows; ++i) {
        Scratch<T>& s = scratch[std::size_t(thread_id())];
        out[i] = T(-reg * row_log_sum_exp(cost, i, h, len, inv_reg, s));
    }
}

// The kernel (scaling) form of the same updates, for costs that can afford an
// n x m buffer. Around reference potentials (fh, gh) it stores
// K_ij = exp((fh_i + gh_j - C_ij) / eps), so that the softmin becomes a
// matrix-vector product with no exp per entry:
//
//     f_i = fh_i - eps log sum_j K_ij b_j exp((g_j - gh_j) / eps),
//     g_j = gh_j - eps log sum_i K_ij a_i exp((f_i - fh_i) / eps).
//
// This is the log-stabilized scaling algorithm (Schmitzer 2019): the
// potentials are absorbed into K (rebuilt) whenever they drift more than
// kDrift * eps from the references, and any update whose sum leaves the safe
// range (a row of K underflowed: possible early on, or at tiny eps) is redone
// exactly in the log domain and K rebuilt, so stability equals the log
// domain's while most iterations cost a product instead of n m exps.
template <class T>
struct KernelCache {
    static constexpr double kDrift = 20.0;
    static constexpr std::int64_t kRowBlock = 16;
    static constexpr double kTiny = sizeof(T) == 4 ? 1e-30 : 1e-290;
    static constexpr double kHuge = sizeof(T) == 4 ? 1e30 : 1e290;
    // K without zero-filling and 64-byte aligned: a K that happened to start
    // off a cache line made every vector load of an iteration split in two.
    Buffer<T> k;
    AlignedVector<T> fh, gh, scaled, au;
    std::int64_t n = 0, m = 0;
    double eps = 0.0;
    bool valid = false;

    template <class Cost>
    void build(const Cost& cost, const T* f, const T* g, double eps_, std::vector<Scratch<T>>& scratch,
               bool parallel) {
        eps = eps_;
        fh.assign(f, f + n);
        gh.assign(g, g + m);
        valid = true;
        if constexpr (std::is_same_v<Cost, DenseCost<T>>) {
            // The same bits as the loop below would compute (0 + 0 - x = -x exactly).
            if (cost.k_zero && eps == cost.k_zero_eps && std::all_of(f, f + n, [](T v) { return v == T(0); }) &&
                std::all_of(g, g + m, [](T v) { return v == T(0); })) {
                k.resize(std::size_t(n * m));
                std::memcpy(k.data(), cost.k_zero, sizeof(T) * std::size_t(n * m));
                return;
            }
        }
        k.resize(std::size_t(n * m));
        const T inv = T(1.0 / eps);
        for (std::int64_t j = 0; j < m; ++j) scaled[j] = gh[j] * inv;
#pragma omp parallel for schedule(static) if (parallel)
        for (std::int64_t i = 0; i < n; ++i) {
            Scratch<T>& s = scratch[std::size_t(thread_id())];
            const T fi = fh[i] * inv;
            T* ki = k.data() + i * m;
            for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
                const std::int64_t count = std::min(kChunk, m - j0);
                const T* c = cost.row(i, j0, count, s);
                const T* gs = scaled.data() + j0;
#pragma omp simd
                for (std::int64_t q = 0; q < count; ++q) ki[j0 + q] = fast_exp(fi + gs[q] - c[q] * inv);
            }
        }
    }

    // The f-update from g (rows) fused with the next g-update: while row i of K is in cache, also
    // add its share to the column sums z_j = sum_i K_ij a_i exp((fr_i - fh_i) / eps)
    // for the relaxed fr = f + omega (f_new - f), so that an iteration reads K from
    // memory once instead of twice. The sums are usable (z_ok) only if the loop
    // then relaxes with the same omega (cols_from_sums). Rows are summed in fixed
    // chunks of kSumRows, each into its own buffer, and the buffers added in chunk
    // order, by one thread or several alike: the bits depend neither on the
    // thread count nor on whether a batch runs the problem (per-thread buffers
    // made a threaded single solve differ from the same problem in a batch).
    static constexpr std::int64_t kSumRows = 256;
    AlignedVector<T> zsum, z, zc;
    bool z_ok = false;
    double z_omega = 0.0;

    bool update_rows_fused(const T* a, const T* b, const T* f, const T* g, T* f_new, double omega, double floor,
                           bool parallel, int num_threads) {
        z_ok = false;
        const double inv = 1.0 / eps;
        if (!(scaled_weights(b, g, gh.data(), inv, m, scaled.data()) <= kDrift)) return false;
        const int threads = parallel ? num_threads : 1;
        const std::int64_t chunks = (n + kSumRows - 1) / kSumRows;
        // One chunk sums straight into z; several into their own rows of zsum.
        if (chunks > 1) zsum.assign(std::size_t(chunks) * std::size_t(m), T(0));
        z.assign(std::size_t(m), T(0));
        // Rows in blocks: the block's row sums (dot products with b exp(g / eps)),
        // then its logs and exps as one vector pass, then its share of the column
        // sums while the block's rows of K are still in cache. Returns the
        // number of rows whose sum left the range (bad_rows) and of rows whose
        // column share is unusable (bad_cols), through the two counters.
        auto block = [&](std::int64_t i0, std::int64_t i1, T* zt, std::int64_t& bad_rows, std::int64_t& bad_cols) {
            T sums[kRowBlock];
            double w[kRowBlock];
            T au_blk[kRowBlock];
            row_products_range(k.data() + i0 * m, 0, i1 - i0, m, scaled.data(), sums);
            for (std::int64_t q = 0; q < i1 - i0; ++q) w[q] = double(sums[q]);
            std::int64_t br = 0, bc = 0;
            const std::int64_t len = i1 - i0;
            const double relax = omega;
            // Branch-free (no selects that GCC could turn back into branches), so
            // that the logs and exps vectorize; `plain` is a compile-time flag.
            // Offset pointers: indexing x[i0 + q] made GCC emit gathers.
            const T *fhb = fh.data() + i0, *fb = f + i0, *ab = a + i0;
            T* fnb = f_new + i0;
            auto pass = [&](auto plain) {
#pragma omp simd reduction(+ : br, bc)
                for (std::int64_t q = 0; q < len; ++q) {
                    const double fhi = double(fhb[q]), fi = double(fb[q]);
                    const int row_ok = int(w[q] > kTiny) & int(w[q] < kHuge);
                    // fast_log of an out-of-range sum is garbage, but then the whole
                    // update is rejected and redone in the log domain.
                    const T fn = T(fhi - eps * fast_log(w[q]));
                    fnb[q] = fn;
                    T fr = fn;
                    if constexpr (!decltype(plain)::value) fr = T(relaxed(fi, double(fn), relax, inv, floor));
                    const double d = (double(fr) - fhi) * inv;
                    const int col_ok = row_ok & int(std::fabs(d) <= kDrift);
                    au_blk[q] = T(double(ab[q]) * fast_exp(d)) * T(col_ok);  // fast_exp is finite
                    br += 1 - row_ok;
                    bc += 1 - col_ok;
                }
            };
            if (omega == 1.0)
                pass(std::true_type{});
            else
                pass(std::false_type{});
            bad_rows += br;
            bad_cols += bc;
            // The column sums (zero-weight rows add 0).
            add_column_sums(k.data() + i0 * m, len, m, m, au_blk, zt);
        };
        std::int64_t bad_rows = 0, bad_cols = 0;
        // Chunk c: rows [c kSumRows, (c + 1) kSumRows) in blocks, into its own sums.
        auto chunk = [&](std::int64_t c, std::int64_t& br, std::int64_t& bc) {
            T* zt = chunks > 1 ? zsum.data() + std::size_t(c) * std::size_t(m) : z.data();
            const std::int64_t end = std::min(n, (c + 1) * kSumRows);
            for (std::int64_t i0 = c * kSumRows; i0 < end; i0 += kRowBlock)
                block(i0, std::min(end, i0 + kRowBlock), zt, br, bc);
        };
        if (threads > 1 && chunks > 1) {
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : bad_rows, bad_cols)
            for (std::int64_t c = 0; c < chunks; ++c) chunk(c, bad_rows, bad_cols);
        } else {  // no OpenMP construct at all: an inactive region still costs a team setup
            for (std::int64_t c = 0; c < chunks; ++c) chunk(c, bad_rows, bad_cols);
        }
        const bool ok = bad_rows == 0;
        bool col_ok = bad_cols == 0;
        if (!ok) return false;
        if (col_ok) {
            T* zj = z.data();
            if (chunks > 1) {  // in chunk order, whatever thread summed each
                for (std::int64_t c = 0; c < chunks; ++c) {
                    const T* zt = zsum.data() + std::size_t(c) * std::size_t(m);
#pragma omp simd
                    for (std::int64_t j = 0; j < m; ++j) zj[j] += zt[j];
                }
            }
            std::int64_t bad = 0;
#pragma omp simd reduction(+ : bad)
            for (std::int64_t j = 0; j < m; ++j) bad += 1 - (int(double(zj[j]) > kTiny) & int(double(zj[j]) < kHuge));
            col_ok = bad == 0;
        }
        z_ok = col_ok;
        z_omega = omega;
        return true;
    }

    // The per-row sums of the objective from the kernel, no exp per entry:
    // P_ij = au_i K_ij bv_j with au = a exp((f - fh) / eps), bv = b exp((g - gh) / eps),
    // rc_i = sum_j P_ij C_ij, rm_i = sum_j P_ij, rt_i = sum_j P_ij (f_i + g_j - C_ij) / eps.
    // False (nothing written) if (f, g) drifted too far from the kernel's reference.
    template <class Cost>
    bool plan_sums(const Cost& cost, const T* a, const T* b, const T* f, const T* g, double* rc, double* rm,
                   double* rt, bool parallel) {
        const double inv = 1.0 / eps;
        au.resize(std::size_t(n));
        if (!(scaled_weights(a, f, fh.data(), inv, n, au.data()) <= kDrift)) return false;
        if (!(scaled_weights(b, g, gh.data(), inv, m, scaled.data()) <= kDrift)) return false;
        std::vector<double> bvg(static_cast<std::size_t>(m));
        for (std::int64_t j = 0; j < m; ++j) bvg[j] = double(scaled[j]) * double(g[j]) * inv;
        Scratch<T> unused;  // a dense cost hands out its rows without a buffer
#pragma omp parallel for schedule(static) if (parallel)
        for (std::int64_t i = 0; i < n; ++i) {
            const T* __restrict ki = k.data() + i * m;
            const T* __restrict c = cost.row(i, 0, m, unused);
            const T* __restrict bv = scaled.data();
            const double* __restrict bg = bvg.data();
            double s1 = 0, sg = 0, sc = 0;
#pragma omp simd reduction(+ : s1, sg, sc)
            for (std::int64_t j = 0; j < m; ++j) {
                const double kij = double(ki[j]), kb = kij * double(bv[j]);
                s1 += kb;
                sg += kij * bg[j];
                sc += kb * double(c[j]);
            }
            const double ai = double(au[i]);
            rc[i] = ai * sc;
            rm[i] = ai * s1;
            rt[i] = ai * (double(f[i]) * inv * s1 + sg - sc * inv);
        }
        return true;
    }

    // The g-update from the sums of update_rows_fused.
    void cols_from_sums(T* g_new) const { shifted_logs(gh.data(), z.data(), eps, m, g_new); }

    // g_new from f (columns).
    bool update_cols(const T* a, const T* f, T* g_new, bool parallel) {
        au.resize(std::size_t(n));
        if (!(scaled_weights(a, f, fh.data(), 1.0 / eps, n, au.data()) <= kDrift)) return false;
        zc.resize(std::size_t(m));
        column_products(k.data(), n, m, au.data(), zc.data(), parallel);
        bool ok = true;
        for (std::int64_t j = 0; j < m; ++j) ok = ok && double(zc[j]) > kTiny && double(zc[j]) < kHuge;
        if (ok) shifted_logs(gh.data(), zc.data(), eps, m, g_new);
        return ok;
    }

    // The linear convergence rate of plain Sinkhorn near the plan P of (f, g):
    // kappa = sigma_2(A)^2, A = D_r^{-1/2} P D_c^{-1/2} with r, c the row and
    // column sums of P (Knight, "The Sinkhorn-Knopp algorithm: convergence and
    // applications", SIAM J. Matrix Anal. Appl. 30(1), 2008); its top singular
    // value is 1, with left vector sqrt(r). A few Lanczos steps on A A^T, kept
    // orthogonal to sqrt(r), from the start vector sqrt(r) * dir (the last
    // f-update's step: rich in the slow modes); the Ritz value approaches
    // kappa from below. Each step is one product with K and one with K^T.
    // Returns a value in [0, 1), or -1 when (f, g) is too far from the
    // kernel's reference or the estimate is degenerate.
    double rate_estimate(const T* a, const T* b, const T* f, const T* g, const T* dir, bool parallel) {
        constexpr int kSteps = 8;
        const double inv = 1.0 / eps;
        AlignedVector<double> alpha(n), s(n), q(std::size_t(kSteps) * std::size_t(n)), w(n);
        AlignedVector<double> beta2(m);
        AlignedVector<T> av(n), bv(m), xn(n), ym(m);
        if (!(scaled_weights(a, f, fh.data(), inv, n, av.data()) <= kDrift)) return -1.0;
        if (!(scaled_weights(b, g, gh.data(), inv, m, bv.data()) <= kDrift)) return -1.0;
        row_products(k.data(), n, m, bv.data(), xn.data(), parallel);
        column_products(k.data(), n, m, av.data(), ym.data(), parallel);
        // A = diag(alpha) K diag(beta): alpha_i = av_i / sqrt(r_i), beta_j = bv_j / sqrt(c_j).
        double ss = 0.0;
#pragma omp simd reduction(+ : ss)
        for (std::int64_t i = 0; i < n; ++i) {
            const double r = double(av[i]) * double(xn[i]);
            const bool ok = r > kTiny && r < kHuge;
            alpha[i] = ok ? double(av[i]) / std::sqrt(r) : 0.0;
            s[i] = ok ? std::sqrt(r) : 0.0;
            ss += r * double(ok);
        }
#pragma omp simd
        for (std::int64_t j = 0; j < m; ++j) {
            const double c = double(bv[j]) * double(ym[j]);
            beta2[j] = c > kTiny && c < kHuge ? double(bv[j]) / c * double(bv[j]) : 0.0;
        }
        if (!(ss > 0.0)) return -1.0;
        const double inv_norm_s = 1.0 / std::sqrt(ss);
        for (std::int64_t i = 0; i < n; ++i) s[i] *= inv_norm_s;
        // Orthogonalize against sqrt(r) (eigenvalue 1, which rounding would
        // otherwise bring back) and the basis so far (full reorthogonalization:
        // a few steps, so it is cheap); returns the norm.
        auto orthogonalize = [&](double* v, int count) {
            sub_scaled(v, dot(v, s.data(), n), s.data(), n);
            for (int c = 0; c < count; ++c) {
                const double* qc = q.data() + std::size_t(c) * std::size_t(n);
                sub_scaled(v, dot(v, qc, n), qc, n);
            }
            return std::sqrt(dot(v, v, n));
        };
        for (std::int64_t i = 0; i < n; ++i) w[i] = double(dir[i]) * s[i];
        double norm = orthogonalize(w.data(), 0);
        const int steps = int(std::min<std::int64_t>(kSteps, std::min(n, m) - 1));
        double diag[kSteps], off[kSteps];
        int done = 0;
        for (int step = 0; step < steps && norm > 0.0 && std::isfinite(norm); ++step) {
            double* qk = q.data() + std::size_t(step) * std::size_t(n);
            for (std::int64_t i = 0; i < n; ++i) qk[i] = w[i] / norm;
            // w = A A^T q_k = alpha * K (beta^2 * K^T (alpha * q_k))
            for (std::int64_t i = 0; i < n; ++i) xn[i] = T(alpha[i] * qk[i]);
            column_products(k.data(), n, m, xn.data(), ym.data(), parallel);
            for (std::int64_t j = 0; j < m; ++j) ym[j] = T(beta2[j] * double(ym[j]));
            row_products(k.data(), n, m, ym.data(), xn.data(), parallel);
            for (std::int64_t i = 0; i < n; ++i) w[i] = alpha[i] * double(xn[i]);
            diag[step] = dot(w.data(), qk, n);
            done = step + 1;
            norm = orthogonalize(w.data(), done);
            off[step] = norm;
            if (!(norm > 1e-12)) break;
        }
        if (done == 0) return -1.0;
        const double kappa = tridiagonal_max_eigenvalue(diag, off, done, 1.0);
        return kappa >= 0.0 && kappa < 1.0 ? kappa : -1.0;
    }
};

struct ProblemResult {
    double cost = 0, objective = 0, marginal_error = 0;
    std::int64_t n_iter = 0;
    SolveStatus status = SolveStatus::max_iter_reached;
};

// The one Sinkhorn loop. f, g hold the initial potentials and receive the result.
// `scale` is the cost's scale (the first epsilon of eps_scaling).
// Problems up to this many cost entries (2 MB of float64 kernel) estimate the
// over-relaxation factor from the kernel (KernelCache::rate_estimate), if both
// sides have at least kEstimateMinSide points: on smaller clouds the spectrum
// of the first iterate's plan predicted the rate no better than the probe
// (30 random problems per size: sometimes more iterations, sometimes fewer).
constexpr std::int64_t kEstimateEntries = std::int64_t(1) << 18;
constexpr std::int64_t kEstimateMinSide = 32;

template <class T, class Cost>
ProblemResult solve_one(const Cost& cost, const T* a, const T* b, std::int64_t n, std::int64_t m,
                        const SinkhornParams& params, double scale, T* f, T* g, bool parallel,
                        bool may_poll, Interrupt& interrupt) {
    ProblemResult res;
    const int num_threads = parallel ? max_threads() : 1;
    std::vector<Scratch<T>> scratch(std::size_t(std::max(1, num_threads)));
    AlignedVector<T> log_a(n), log_b(m), h_rows(n), h_cols(m), f_new(n), g_new(m);
    AlignedVector<double> row_err(n);
    const double mass_a = log_weights(a, n, log_a.data()), mass_b = log_weights(b, m, log_b.data());
    const Transposed<Cost> cost_t{cost};
    KernelCache<T> kernel;
    kernel.n = n;
    kernel.m = m;
    kernel.scaled.resize(std::size_t(m));
    // Try an update through the kernel: rebuilt when stale (eps changed, drift);
    // when even a freshly built kernel's sums leave the range (far from the
    // solution: early iterations, tiny eps), the next two updates go straight
    // to the log domain instead of paying for another build.
    int log_only = 0;
    // Every decision of the loop: emd/sinkhorn_control.hpp.
    SinkhornControl ctl(params, scale, mass_a, precision_of<T>());
    // rows: the f-update (fused with the next g-update's sums), else the g-update.
    auto kernel_update = [&](bool rows, double eps, T* out, double omega) -> bool {
        if (log_only > 0) {
            --log_only;
            return false;
        }
        bool fresh = false;
        for (;;) {
            if (!kernel.valid || kernel.eps != eps) {
                kernel.build(cost, f, g, eps, scratch, parallel);
                fresh = true;
            }
            const bool done = rows ? kernel.update_rows_fused(a, b, f, g, out, omega, ctl.omega_floor, parallel,
                                                              num_threads)
                                   : kernel.update_cols(a, f, out, parallel);
            if (done) return true;
            kernel.valid = false;
            if (fresh) {
                log_only = 2;
                return false;
            }
        }
    };
    // The f-update (softmin over rows) into f_out, through the kernel when the cost
    // allows one and its sums stay in range, else exactly in the log domain.
    // Returns true when the kernel also summed the next g-update (kernel.z_ok).
    auto update_f = [&](double eps, T* f_out, double omega) -> bool {
        if constexpr (Cost::kKernelMode) {
            if (kernel_update(true, eps, f_out, omega)) return kernel.z_ok;
        }
        const T inv_eps = T(1.0 / eps);
        for (std::int64_t j = 0; j < m; ++j) h_cols[j] = g[j] * inv_eps + log_b[j];
        softmin(cost, n, h_cols.data(), m, eps, f_out, scratch, parallel);
        return false;
    };
    auto update_g = [&](double eps, T* g_out, bool summed, double omega) {
        if constexpr (Cost::kKernelMode) {
            if (summed && kernel.valid && kernel.eps == eps && kernel.z_omega == omega) {
                kernel.cols_from_sums(g_out);
                return;
            }
            if (kernel_update(false, eps, g_out, omega)) return;
        }
        const T inv_eps = T(1.0 / eps);
        for (std::int64_t i = 0; i < n; ++i) h_rows[i] = f[i] * inv_eps + log_a[i];
        softmin(cost_t, m, h_rows.data(), n, eps, g_out, scratch, parallel);
    };
    // Poll Ctrl-C about every 4M cost entries of work.
    const std::int64_t poll_every = std::max<std::int64_t>(1, (std::int64_t(1) << 22) / std::max<std::int64_t>(1, n * m));
    // The row marginal error ||P 1 - a||_1 of (f, g) from the f-update f_new
    // ((P 1)_i = a_i exp((f_i - f_new_i) / eps)), and sum_i a_i |f_i| (for
    // the controller's resolution floor).
    auto measure = [&](double eps, double& weighted_abs_f) {
        const double inv_eps = 1.0 / eps;
        const T* fn = f_new.data();
        double* re = row_err.data();
        double wf = 0.0;
#pragma omp simd reduction(+ : wf)
        for (std::int64_t i = 0; i < n; ++i) {
            const double x = (double(f[i]) - double(fn[i])) * inv_eps;
            const double t = pick(x < 700.0, x, 700.0);
            re[i] = double(a[i]) * abs_expm1(t);
            wf += double(a[i]) * std::fabs(double(f[i]));
        }
        weighted_abs_f = wf;
        // Four partial sums in a fixed order: the same bits for any thread count.
        double e4[4] = {0, 0, 0, 0};
        std::int64_t i = 0;
        for (; i + 4 <= n; i += 4)
            for (int l = 0; l < 4; ++l) e4[l] += re[i + l];
        for (; i < n; ++i) e4[0] += re[i];
        return (e4[0] + e4[1]) + (e4[2] + e4[3]);
    };
    // With a cache-resident kernel at hand, the rate of plain Sinkhorn is
    // estimated right after the first iteration (18 products with K, ~6
    // iterations' time on 64 x 64) instead of measured over the controller's
    // 2 kProbe plain iterations: on the batched benchmark 34 iterations per
    // problem instead of 59. A kernel read from memory would make the
    // estimate cost as much as the iterations it saves.
    auto estimate_rate = [&]() -> double {
        if constexpr (Cost::kKernelMode) {
            if (n * m <= kEstimateEntries && std::min(n, m) >= kEstimateMinSide && kernel.valid &&
                kernel.eps == ctl.eps) {
                for (std::int64_t i = 0; i < n; ++i) h_rows[i] = f_new[i] - f[i];
                return kernel.rate_estimate(a, b, f, g, h_rows.data(), parallel);
            }
        }
        return -1.0;
    };

    for (;;) {
        const double eps = ctl.eps;
        // f-update from g; with the previous f it also measures the row marginal of (f, g).
        const bool summed = update_f(eps, f_new.data(), ctl.omega);
        if (ctl.stage_iter > 0) {
            double weighted_abs_f = 0.0;
            const double measured = measure(eps, weighted_abs_f);
            const SinkhornControl::Step step = ctl.decide(measured, weighted_abs_f, estimate_rate);
            if (step == SinkhornControl::Step::stop) break;
            if (step == SinkhornControl::Step::next_stage) continue;
        }
        const double omega = ctl.omega;
        if (omega == 1.0) {
            std::copy(f_new.begin(), f_new.end(), f);
            update_g(eps, g, summed, omega);
        } else {
            const double inv_eps = 1.0 / eps;
            for (std::int64_t i = 0; i < n; ++i)
                f[i] = T(relaxed(double(f[i]), double(f_new[i]), omega, inv_eps, ctl.omega_floor));
            update_g(eps, g_new.data(), summed, omega);
            for (std::int64_t j = 0; j < m; ++j)
                g[j] = T(relaxed(double(g[j]), double(g_new[j]), omega, inv_eps, ctl.omega_floor));
        }
        ctl.next_iteration();
        if (ctl.n_iter % poll_every == 0 && interrupt.poll(may_poll)) {
            res.n_iter = ctl.n_iter;
            res.marginal_error = ctl.marginal_error;
            res.status = SolveStatus::interrupted;
            return res;
        }
    }
    res.n_iter = ctl.n_iter;
    res.marginal_error = ctl.marginal_error;
    res.status = ctl.status;

    // <P, C> and KL(P || a x b) = sum P log(P / (a b)) - sum P + sum a sum b,
    // with log(P_ij / (a_i b_j)) = (f_i + g_j - C_ij) / reg; per-row partial
    // sums, added serially for determinism.
    const double inv_reg = 1.0 / params.reg;
    std::vector<double> row_cost(n), row_mass(n), row_plogp(n);
    bool summed = false;
    if constexpr (Cost::kKernelMode) {
        if (kernel.valid && kernel.eps == params.reg)
            summed = kernel.plan_sums(cost, a, b, f, g, row_cost.data(), row_mass.data(), row_plogp.data(), parallel);
    }
#pragma omp parallel for schedule(static) if (parallel && !summed)
    for (std::int64_t i = 0; i < n * std::int64_t(!summed); ++i) {
        Scratch<T>& s = scratch[std::size_t(thread_id())];
        const double fi = double(f[i]) * inv_reg, lai = double(log_a[i]);
        double sc = 0, sm = 0, st = 0;
        for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
            const std::int64_t count = std::min(kChunk, m - j0);
            const T* c = cost.row(i, j0, count, s);
            const T* gj = g + j0;  // offset pointers: indexing g[j0 + k] made GCC emit gathers
            const T* lbj = log_b.data() + j0;
#pragma omp simd reduction(+ : sc, sm, st)
            for (std::int64_t k = 0; k < count; ++k) {
                const double cij = double(c[k]);
                const double t = fi + double(gj[k]) * inv_reg - cij * inv_reg;
                const double pij = fast_exp(t + lai + double(lbj[k]));
                sc += pij * cij;
                sm += pij;
                st += pij * t;
            }
        }
        row_cost[i] = sc;
        row_mass[i] = sm;
        row_plogp[i] = st;
    }
    double sc = 0, sm = 0, st = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sc += row_cost[i];
        sm += row_mass[i];
        st += row_plogp[i];
    }
    res.cost = sc;
    res.objective = sc + params.reg * (st - sm + mass_a * mass_b);
    return res;
}

template <class T, class MakeCost>
void run_batch(const T* a, const T* b, std::int64_t num_problems, std::int64_t n, std::int64_t m,
               const SinkhornParams& params, const T* f_init, const T* g_init, const SinkhornOutput<T>& out,
               Interrupt& interrupt, std::int64_t parallel_entries, MakeCost&& make_cost) {
    if (!(params.reg > 0.0) || !std::isfinite(params.reg)) throw std::invalid_argument("reg must be > 0 and finite");
    if (!(params.tol > 0.0)) throw std::invalid_argument("tol must be > 0");
    if (params.max_iter < 1) throw std::invalid_argument("max_iter must be >= 1");
    auto solve = [&](std::int64_t p, bool parallel, bool may_poll) {
        T* f = out.f + p * n;
        T* g = out.g + p * m;
        for (std::int64_t i = 0; i < n; ++i) f[i] = f_init ? f_init[p * n + i] : T(0);
        for (std::int64_t j = 0; j < m; ++j) g[j] = g_init ? g_init[p * m + j] : T(0);
        double scale = 0;
        auto holder = make_cost(p, parallel, params.eps_scaling > 0.0 ? &scale : nullptr);
        const ProblemResult r =
            solve_one<T>(holder.cost, a + p * n, b + p * m, n, m, params, scale, f, g, parallel, may_poll, interrupt);
        out.cost[p] = r.cost;
        out.objective[p] = r.objective;
        out.marginal_error[p] = r.marginal_error;
        out.n_iter[p] = r.n_iter;
        out.status[p] = static_cast<std::int32_t>(r.status);
    };
    const int threads = max_threads();
    // Many problems: one per thread, each stopping on its own. Few: threads over rows.
    const bool over_batch = num_problems > 1 && threads > 1 && (num_problems >= 2 * threads || n * m <= 65536);
    if (over_batch) {
#pragma omp parallel for schedule(dynamic, 1)
        for (std::int64_t p = 0; p < num_problems; ++p) {
            if (interrupt.requested()) {
                out.status[p] = static_cast<std::int32_t>(SolveStatus::interrupted);
                continue;
            }
            solve(p, false, thread_id() == 0);
        }
    } else {
        for (std::int64_t p = 0; p < num_problems; ++p) {
            if (interrupt.requested()) {
                out.status[p] = static_cast<std::int32_t>(SolveStatus::interrupted);
                continue;
            }
            solve(p, n * m >= parallel_entries, true);
        }
    }
}

template <class T>
double max_abs(const T* c, std::int64_t count) {
    double mx = 0;
    for (std::int64_t k = 0; k < count; ++k) mx = std::max(mx, std::fabs(double(c[k])));
    return mx;
}

template <class T>
struct DenseHolder {
    std::unique_ptr<LazyTranspose<T>> own_ct;
    DenseCost<T> cost;
};

template <class T>
struct SampleHolder {
    SampleCost<T> cost;
};

// An upper bound on the cost over all pairs: the metric across the bounding
// box of both clouds (every metric here is monotone in |x_k - y_k|), to the power.
template <class T>
double sample_cost_scale(const T* x, const T* y, std::int64_t n, std::int64_t m, std::int64_t d, Metric metric,
                         double power, double q) {
    std::vector<double> lo(d, std::numeric_limits<double>::infinity()), hi(d, -std::numeric_limits<double>::infinity());
    auto extend = [&](const T* pts, std::int64_t count) {
        for (std::int64_t i = 0; i < count; ++i)
            for (std::int64_t k = 0; k < d; ++k) {
                lo[k] = std::min(lo[k], double(pts[i * d + k]));
                hi[k] = std::max(hi[k], double(pts[i * d + k]));
            }
    };
    extend(x, n);
    extend(y, m);
    return std::pow(metric_distance(metric, lo.data(), hi.data(), d, q), power);
}

template <class T, class Cost>
void plan_rows(const T* a, const T* b, std::int64_t n, std::int64_t m, const T* f, const T* g, double reg,
               T* plan, const Cost& cost) {
    const double inv_reg = 1.0 / reg;
#pragma omp parallel
    {
        Scratch<T> s;
#pragma omp for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) {
            const double base = double(f[i]) * inv_reg + std::log(double(a[i]));
            for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
                const std::int64_t count = std::min(kChunk, m - j0);
                const T* c = cost.row(i, j0, count, s);
                for (std::int64_t k = 0; k < count; ++k) {
                    const double t = base + double(g[j0 + k]) * inv_reg - double(c[k]) * inv_reg +
                                     std::log(double(b[j0 + k]));
                    plan[i * m + j0 + k] = T(fast_exp(t));
                }
            }
        }
    }
}

}  // namespace

template <class T>
void sinkhorn_dense(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                    std::int64_t m, bool shared_cost, const SinkhornParams& params, const T* f_init,
                    const T* g_init, const SinkhornOutput<T>& out, Interrupt& interrupt) {
    LazyTranspose<T> shared_ct(cost, n, m);
    double shared_scale = 0;
    if (shared_cost && params.eps_scaling > 0.0) shared_scale = max_abs(cost, n * m);
    // A batch on one cost, every problem starting from zero potentials: the
    // first kernel, exp(-C / eps) at the first epsilon, is the same for all.
    KernelCache<T> first;
    const T* k_zero = nullptr;
    double k_zero_eps = 0.0;
    if (shared_cost && num_problems > 1 && !f_init && !g_init && params.reg > 0.0 && std::isfinite(params.reg)) {
        k_zero_eps = params.eps_scaling > 0.0 && shared_scale > params.reg ? shared_scale : params.reg;
        first.n = n;
        first.m = m;
        first.scaled.resize(std::size_t(m));
        std::vector<Scratch<T>> scratch(std::size_t(std::max(1, max_threads())));
        const std::vector<T> zf(std::size_t(n), T(0)), zg(std::size_t(m), T(0));
        first.build(DenseCost<T>{cost, &shared_ct, n, m}, zf.data(), zg.data(), k_zero_eps, scratch,
                    n * m >= DenseCost<T>::kParallelEntries);
        k_zero = first.k.data();
    }
    run_batch<T>(a, b, num_problems, n, m, params, f_init, g_init, out, interrupt, DenseCost<T>::kParallelEntries,
                 [&](std::int64_t p, bool, double* scale) {
                     DenseHolder<T> h;
                     const T* c = shared_cost ? cost : cost + p * n * m;
                     LazyTranspose<T>* ct = &shared_ct;
                     if (!shared_cost) {
                         h.own_ct = std::make_unique<LazyTranspose<T>>(c, n, m);
                         ct = h.own_ct.get();
                     }
                     if (scale) *scale = shared_cost ? shared_scale : max_abs(c, n * m);
                     h.cost = DenseCost<T>{c, ct, n, m, k_zero, k_zero_eps};
                     return h;
                 });
}

template <class T>
void sinkhorn_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                      std::int64_t d, Metric metric, double power, double q, const SinkhornParams& params,
                      const T* f_init, const T* g_init, const SinkhornOutput<T>& out, Interrupt& interrupt) {
    std::vector<T> xt(std::size_t(n * d)), yt(std::size_t(m * d));
    transpose(x, n, d, xt.data(), false);
    transpose(y, m, d, yt.data(), false);
    run_batch<T>(a, b, 1, n, m, params, f_init, g_init, out, interrupt, SampleCost<T>::kParallelEntries,
                 [&](std::int64_t, bool, double* scale) {
                     if (scale) *scale = sample_cost_scale(x, y, n, m, d, metric, power, q);
                     return SampleHolder<T>{SampleCost<T>{x, y, xt.data(), yt.data(), n, m, d, metric, power, q}};
                 });
}

template <class T>
void sinkhorn_plan_dense(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                         std::int64_t m, bool shared_cost, const T* f, const T* g, double reg, T* plan) {
    for (std::int64_t p = 0; p < num_problems; ++p) {
        const DenseCost<T> c{shared_cost ? cost : cost + p * n * m, nullptr, n, m};
        plan_rows<T>(a + p * n, b + p * m, n, m, f + p * n, g + p * m, reg, plan + p * n * m, c);
    }
}

template <class T>
void sinkhorn_plan_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                           std::int64_t d, Metric metric, double power, double q, const T* f, const T* g,
                           double reg, T* plan) {
    std::vector<T> xt(std::size_t(n * d)), yt(std::size_t(m * d));
    transpose(x, n, d, xt.data(), false);
    transpose(y, m, d, yt.data(), false);
    const SampleCost<T> c{x, y, xt.data(), yt.data(), n, m, d, metric, power, q};
    plan_rows<T>(a, b, n, m, f, g, reg, plan, c);
}

#define EMD_INSTANTIATE_SINKHORN(T)                                                                              \
    template void sinkhorn_dense<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t, bool, \
                                    const SinkhornParams&, const T*, const T*, const SinkhornOutput<T>&,         \
                                    Interrupt&);                                                                 \
    template void sinkhorn_samples<T>(const T*, const T*, const T*, const T*, std::int64_t, std::int64_t,        \
                                      std::int64_t, Metric, double, double, const SinkhornParams&, const T*,    \
                                      const T*, const SinkhornOutput<T>&, Interrupt&);                           \
    template void sinkhorn_plan_dense<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t, \
                                         bool, const T*, const T*, double, T*);                                  \
    template void sinkhorn_plan_samples<T>(const T*, const T*, const T*, const T*, std::int64_t, std::int64_t,   \
                                           std::int64_t, Metric, double, double, const T*, const T*, double, T*);

EMD_INSTANTIATE_SINKHORN(float)
EMD_INSTANTIATE_SINKHORN(double)

}  // namespace emd
