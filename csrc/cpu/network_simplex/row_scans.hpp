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
#include <utility>
#include <vector>

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
