// The costs the CPU Sinkhorn loop runs on, behind one interface: row(i, j0,
// count) and col(j, i0, count) hand out chunks of a row or column of C.
// DenseCost reads them from the matrix (and its transpose, built on first
// use); SampleCost recomputes them from two point clouds (emd/metrics.hpp),
// never forming C. Then the log-domain softmin over any such cost.
// Private to csrc/cpu/sinkhorn.cpp (included there once, in its order:
// fast_math, vector_ops, costs, kernel_cache); anonymous namespace, as the
// code had when it lived in that file, so inlining and rounding are unchanged.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "emd/metrics.hpp"
#include "emd/parallel.hpp"
#include "vector_ops.hpp"

namespace emd {
namespace {

// Rows are processed in chunks of this many columns: the chunk's scores and
// costs stay in L1 between the max pass and the exp pass.
constexpr std::int64_t kChunk = 1024;

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
    static constexpr bool kFusedScores = false;  // C is read, not computed
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

    // The softmin's scores h_k - C_k / eps of a chunk, computed with the cost
    // (fused_scores) when C = |x - y|^2: the commonest cost, whose chunk then
    // takes two passes (d = 2) instead of five (zero, d coordinates, the cast
    // to T, the scores).
    static constexpr bool kFusedScores = true;
    bool fusable() const { return metric == Metric::sqeuclidean && power == 1.0; }
    T row_scores(std::int64_t i, std::int64_t j0, std::int64_t count, const T* h, T inv_reg, T* score,
                 Scratch<T>& s) const {
        return fused_scores(x + i * d, yt + j0, m, count, h, inv_reg, score, s);
    }
    T col_scores(std::int64_t j, std::int64_t i0, std::int64_t count, const T* h, T inv_reg, T* score,
                 Scratch<T>& s) const {
        return fused_scores(y + j * d, xt + i0, n, count, h, inv_reg, score, s);
    }

   private:
    // score_k = h_k - T(|p - q_k|^2) * inv_reg for the points q_k stored
    // coordinate-major (qt[c * ld + k]), and their max: the distance summed in
    // double in coordinate order and rounded once to T, as row() and the
    // score loop of row_log_sum_exp round it, with the last coordinate's
    // pass also forming the score.
    T fused_scores(const T* p, const T* qt, std::int64_t ld, std::int64_t count, const T* h, T inv_reg, T* score,
                   Scratch<T>& s) const {
        double* dist = s.dist();
        const std::int64_t last = d - 1;
        if (last > 0) {
            const double p0 = double(p[0]);
#pragma omp simd
            for (std::int64_t k = 0; k < count; ++k) {
                const double t = p0 - double(qt[k]);
                dist[k] = 0.0 + t * t;
            }
            for (std::int64_t c = 1; c < last; ++c) {
                const double pc = double(p[c]);
                const T* qc = qt + c * ld;
#pragma omp simd
                for (std::int64_t k = 0; k < count; ++k) {
                    const double t = pc - double(qc[k]);
                    dist[k] = dist[k] + t * t;
                }
            }
        } else {
            std::fill(dist, dist + count, 0.0);
        }
        const double pl = double(p[last]);
        const T* ql = qt + last * ld;
        T mx = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : mx)
        for (std::int64_t k = 0; k < count; ++k) {
            const double t = pl - double(ql[k]);
            const T c = T(dist[k] + t * t);
            const T v = h[k] - c * inv_reg;
            score[k] = v;
            mx = v > mx ? v : mx;
        }
        return mx;
    }
};

// The transposed view of a cost: the g-update is the f-update of the transposed problem.
template <class Cost>
struct Transposed {
    const Cost& base;
    static constexpr bool kFusedScores = Cost::kFusedScores;
    template <class T>
    const T* row(std::int64_t i, std::int64_t j0, std::int64_t count, Scratch<T>& s) const {
        return base.col(i, j0, count, s);
    }
    bool fusable() const { return base.fusable(); }
    template <class T>
    T row_scores(std::int64_t i, std::int64_t j0, std::int64_t count, const T* h, T inv_reg, T* score,
                 Scratch<T>& s) const {
        return base.col_scores(i, j0, count, h, inv_reg, score, s);
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
    bool fused = false;
    if constexpr (Cost::kFusedScores) fused = cost.fusable();
    for (std::int64_t j0 = 0; j0 < len; j0 += kChunk) {
        const std::int64_t count = std::min(kChunk, len - j0);
        const T* hj = h + j0;
        T mx = neg_inf;
        if constexpr (Cost::kFusedScores) {
            if (fused) mx = cost.row_scores(i, j0, count, hj, inv_reg, score, s);
        }
        if (!fused) {
            const T* c = cost.row(i, j0, count, s);
#pragma omp simd reduction(max : mx)
            for (std::int64_t k = 0; k < count; ++k) {
                const T v = hj[k] - c[k] * inv_reg;
                score[k] = v;
                mx = v > mx ? v : mx;
            }
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

}  // namespace
}  // namespace emd
