// The vectorized inner loops of the network simplex's pricing and initial
// basis (csrc/cpu/network_simplex.cpp), and the shortlist's selection of a
// row's smallest entries: minima over one row segment of M,
// kept free-standing (restrict pointers, simd reductions) so the compiler
// vectorizes them. Private to that file (anonymous namespace, as when the
// loops lived there, so inlining is unchanged).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "emd/simd.hpp"

namespace emd {
namespace {

using index_t = std::int64_t;

// Scaled reduced cost of arc (i, j) less the source's share: c - p_j + tol (|c| + |p_j|).
template <class T>
inline double scaled_rc(T c, double p, double tol) {
    const double x = double(c);
    return x - p + tol * (std::fabs(x) + std::fabs(p));
}

// First k with scaled_rc(c_k, p_k) == value, or -1 (a vectorized min may
// round differently from this scalar loop; the caller then rescans).
template <class T>
index_t segment_argmin(const T* __restrict c, const double* __restrict p, index_t len, double value, double tol) {
    for (index_t k = 0; k < len; ++k)
        if (scaled_rc(c[k], p[k], tol) == value) return k;
    return -1;
}

// min_k of the scaled reduced cost c_k - p_k + tol (|c_k| + |p_k|) over one
// row segment: the pricing's inner loop, kept free-standing (restrict
// pointers, simd min reduction) so the compiler vectorizes it.
template <class T>
double scaled_segment_min(const T* __restrict c, const double* __restrict p, index_t len, double tol) {
    double mn = std::numeric_limits<double>::infinity();
#if defined(EMD_HAVE_OPENMP)
#pragma omp simd reduction(min : mn)
#endif
    for (index_t k = 0; k < len; ++k) {
        const double val = scaled_rc(c[k], p[k], tol);
        mn = val < mn ? val : mn;
    }
    return mn;
}

// Lanewise min of c_k + q_k over k < len, len a positive multiple of the
// vector width: four independent chains of minima where the row allows, so a
// row costs about its loads and adds rather than the latency of one chain.
template <class U>
inline typename simd::Vec<U>::type lanewise_sum_min(const U* __restrict c, const U* __restrict q, index_t len) {
    using V = typename simd::Vec<U>::type;
    constexpr int L = simd::Vec<U>::lanes;
    V v0 = simd::load(c) + simd::load(q);
    index_t k = L;
    if (len >= 4 * L) {
        V v1 = simd::load(c + L) + simd::load(q + L), v2 = simd::load(c + 2 * L) + simd::load(q + 2 * L);
        V v3 = simd::load(c + 3 * L) + simd::load(q + 3 * L);
        for (k = 4 * L; k + 4 * L <= len; k += 4 * L) {
            const V w0 = simd::load(c + k) + simd::load(q + k);
            const V w1 = simd::load(c + k + L) + simd::load(q + k + L);
            const V w2 = simd::load(c + k + 2 * L) + simd::load(q + k + 2 * L);
            const V w3 = simd::load(c + k + 3 * L) + simd::load(q + k + 3 * L);
            v0 = w0 < v0 ? w0 : v0;
            v1 = w1 < v1 ? w1 : v1;
            v2 = w2 < v2 ? w2 : v2;
            v3 = w3 < v3 ? w3 : v3;
        }
        v0 = v1 < v0 ? v1 : v0;
        v2 = v3 < v2 ? v3 : v2;
        v0 = v2 < v0 ? v2 : v0;
    }
    for (; k < len; k += L) {
        const V w = simd::load(c + k) + simd::load(q + k);
        v0 = w < v0 ? w : v0;
    }
    return v0;
}

// min_k (c_k + q_k): the small problems' scan of a row segment
// (TransportSimplex::cost_tol_).
inline double sum_segment_min(const double* __restrict c, const double* __restrict q, index_t len) {
    constexpr int L = simd::Vec<double>::lanes;
    double mn = std::numeric_limits<double>::infinity();
    index_t k = 0;
    if (len >= L) {
        k = len - len % L;
        const simd::Vec<double>::type v = lanewise_sum_min(c, q, k);
        for (int t = 0; t < L; ++t) mn = v[t] < mn ? v[t] : mn;
    }
    for (; k < len; ++k) {
        const double v = c[k] + q[k];
        mn = v < mn ? v : mn;
    }
    return mn;
}

// min_k (c_k + q_k) and the first k attaining it, len a positive multiple of
// the vector width: one vector pass keeping each lane's least value and its
// first index (a compare and two blends per vector), then the least value
// over the lanes and the least index among the lanes holding it. Once per
// pivot (the winning row) and per allocation of the row-minimum start; it
// replaced a pass of minima followed by a strided search of the winning
// lanes, whose data-dependent exits cost more (6.5% of a 64 x 64 batch
// against 8.5%, benchmarks/RESULTS.md, "..., third round").
struct SegmentMin {
    double value;
    index_t at;
};
inline SegmentMin sum_segment_min_at(const double* __restrict c, const double* __restrict q, index_t len) {
    using V = simd::Vec<double>::type;
    using I = simd::Vec<std::int64_t>::type;
    constexpr int L = simd::Vec<double>::lanes;
    static_assert(simd::Vec<std::int64_t>::lanes == L, "one index lane per value lane");
    I lane{};
    for (int t = 0; t < L; ++t) lane[t] = t;
    V best = simd::load(c) + simd::load(q);
    I idx = lane;
    for (index_t k = L; k < len; k += L) {
        const V w = simd::load(c + k) + simd::load(q + k);
        const auto lt = w < best;  // strict: each lane keeps its first minimum
        best = lt ? w : best;
        idx = lt ? lane + k : idx;
    }
    double mn = best[0];
    for (int t = 1; t < L; ++t) mn = best[t] < mn ? best[t] : mn;
    index_t at = len;
    for (int t = 0; t < L; ++t) {
        const index_t cand = best[t] == mn ? index_t(idx[t]) : len;
        at = cand < at ? cand : at;
    }
    return {mn, at};
}

// First k with c_k + q_k == value (value: sum_segment_min's result; one add
// rounds the same in a vector lane as here, so it is always found).
inline index_t sum_segment_argmin(const double* __restrict c, const double* __restrict q, index_t len, double value) {
    constexpr int L = simd::Vec<double>::lanes;
    index_t k = 0;
    for (; k + L <= len; k += L) {
        const auto eq = (simd::load(c + k) + simd::load(q + k)) == value;
        for (int t = 0; t < L; ++t)
            if (eq[t]) return k + t;
    }
    while (k < len - 1 && c[k] + q[k] != value) ++k;
    return k;
}

struct RowsMin {
    double value = std::numeric_limits<double>::infinity();
    index_t row = -1;
};

// The least c_rk + q_k + shift(p_r) over the rows r < rows of a C-contiguous
// (rows, m) block, m a multiple of the vector width, shift(p) = p + tol |p|:
// the small problems' scan of whole rows (TransportSimplex::scan_range_small).
// Each row is reduced to one vector, shifted, and kept lane by lane with its
// row index, so no row pays a horizontal reduction; only the final vector
// does. Returns the least value (+inf for no rows) and its row (the first
// such row in each lane, the least row over tied lanes).
// U = float: the same on the float32 copies of the folded costs and of q
// (TransportSimplex::cost_tol_f_), twice the lanes and half the bytes; the
// shift is rounded to float once per row. Only a screen: the caller checks
// the winner exactly.
template <class U>
inline RowsMin rows_min(const U* __restrict c, index_t m, const U* __restrict q, const double* __restrict p,
                        double tol, index_t rows) {
    using Idx = std::conditional_t<sizeof(U) == 4, std::int32_t, std::int64_t>;
    using V = typename simd::Vec<U>::type;
    using I = typename simd::Vec<Idx>::type;
    constexpr int L = simd::Vec<U>::lanes;
    static_assert(simd::Vec<Idx>::lanes == L, "one index lane per value lane");
    RowsMin r;
    if (rows <= 0) return r;
    V acc = V{} + std::numeric_limits<U>::infinity();
    I at = I{} - 1;
    for (index_t i = 0; i < rows; ++i) {
        V v = lanewise_sum_min(c + i * m, q, m);
        v += U(p[i] + tol * std::fabs(p[i]));
        const auto lt = v < acc;
        acc = lt ? v : acc;
        at = lt ? I{} + Idx(i) : at;
    }
    for (int t = 0; t < L; ++t) r.value = double(acc[t]) < r.value ? double(acc[t]) : r.value;
    // The least row among the lanes holding the minimum (-1, the lanes' start, where
    // there were no rows below +inf), by selects: a branch here mispredicted
    // about once a call.
    r.row = rows;
    for (int t = 0; t < L; ++t) {
        const index_t cand = double(acc[t]) == r.value ? index_t(at[t]) : rows;
        r.row = cand < r.row ? cand : r.row;
    }
    return r;
}

// min_k (c_k + dead_k): the cheapest sink with demand left (dead_k = +inf once exhausted).
template <class T>
double masked_row_min(const T* __restrict c, const double* __restrict dead, index_t len) {
    double mn = std::numeric_limits<double>::infinity();
#if defined(EMD_HAVE_OPENMP)
#pragma omp simd reduction(min : mn)
#endif
    for (index_t k = 0; k < len; ++k) {
        const double val = double(c[k]) + dead[k];
        mn = val < mn ? val : mn;
    }
    return mn;
}

// The k smallest of value(0), ..., value(len - 1) with their indices, sorted
// by (value, index), into `buf` (k <= len). A buffer of up to 2k candidates
// below a threshold, cut back to the k smallest when full: one compare per
// entry, far fewer moves than a heap. A tie with the threshold loses (its
// index is higher), so the selection is the first k by (value, index).
template <class Value>
void smallest_k(Value&& value, index_t len, index_t k, std::vector<std::pair<double, std::int32_t>>& buf) {
    buf.clear();
    double thr = std::numeric_limits<double>::infinity();
    for (index_t j = 0; j < len; ++j) {
        const double c = value(j);
        if (c < thr) {
            buf.emplace_back(c, std::int32_t(j));
            if (index_t(buf.size()) == 2 * k) {
                std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end());
                buf.resize(std::size_t(k));
                thr = buf[k - 1].first;
            }
        }
    }
    if (index_t(buf.size()) > k) {
        std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end());
        buf.resize(std::size_t(k));
    }
    std::sort(buf.begin(), buf.end());
}

}  // namespace
}  // namespace emd
