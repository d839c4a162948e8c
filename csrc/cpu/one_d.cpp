// Exact 1-D Wasserstein: sort each row once, then one merge walk per pair.
//
// References: Villani, "Topics in Optimal Transportation" (2003), Thm 2.18 (the
// quantile formula); Ramdas, Garcia Trillos and Cuturi, "On Wasserstein
// two-sample testing" (2017), eq. (2) (W_1 as the L1 distance of the CDFs).
#include "emd/one_d.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "emd/parallel.hpp"
#include "emd/radix_sort.hpp"

namespace emd {
namespace {

// Neumaier's compensated sum: the walk adds up to n + m terms of mixed sign
// magnitude, and the tests hold the result to 1e-12 of scipy's.
struct CompensatedSum {
    double sum = 0.0, c = 0.0;
    void add(double x) {
        double t = sum + x;
        c += (std::fabs(sum) >= std::fabs(x)) ? (sum - t) + x : (x - t) + sum;
        sum = t;
    }
    double value() const { return sum + c; }
};

template <class T>
struct SortedRow {
    const T* values;
    const T* weights;  // nullptr: uniform
    std::int64_t n;
};

template <class T>
double total_weight(const SortedRow<T>& r) {
    double s = 0.0;  // sequential, in walk order: the last cumulative sum equals it exactly
    for (std::int64_t i = 0; i < r.n; ++i) s += double(r.weights[i]);
    return s;
}

// W_1 = int |F_u(t) - F_v(t)| dt, both rows uniform: F_u = i/n exactly, so the
// CDF difference is the integer |i m - j n| / (n m).
template <class T>
double w1_uniform(const SortedRow<T>& u, const SortedRow<T>& v) {
    const std::int64_t n = u.n, m = v.n;
    std::int64_t i = 0, j = 0;
    double prev = std::min(double(u.values[0]), double(v.values[0]));
    CompensatedSum acc;
    while (i < n || j < m) {
        double x;
        const std::int64_t diff = i * m - j * n;
        if (j >= m || (i < n && u.values[i] <= v.values[j])) {
            x = double(u.values[i++]);
        } else {
            x = double(v.values[j++]);
        }
        if (diff != 0) acc.add(double(diff < 0 ? -diff : diff) * (x - prev));
        prev = x;
    }
    return acc.value() / (double(n) * double(m));
}

template <class T>
double w1_weighted(const SortedRow<T>& u, const SortedRow<T>& v) {
    const std::int64_t n = u.n, m = v.n;
    const double su = u.weights ? total_weight(u) : double(n);
    const double sv = v.weights ? total_weight(v) : double(m);
    std::int64_t i = 0, j = 0;
    double cu = 0.0, cv = 0.0;  // unnormalized cumulative weights
    double prev = std::min(double(u.values[0]), double(v.values[0]));
    CompensatedSum acc;
    while (i < n || j < m) {
        const double gap = std::fabs(cu / su - cv / sv);
        double x;
        if (j >= m || (i < n && u.values[i] <= v.values[j])) {
            x = double(u.values[i]);
            cu += u.weights ? double(u.weights[i]) : 1.0;
            ++i;
        } else {
            x = double(v.values[j]);
            cv += v.weights ? double(v.weights[j]) : 1.0;
            ++j;
        }
        if (gap != 0.0) acc.add(gap * (x - prev));
        prev = x;
    }
    return acc.value();
}

template <class P>
inline double pow_abs(double d, double p, P) {
    d = std::fabs(d);
    if constexpr (P::value == 2) return d * d;
    else return std::pow(d, p);
}
struct PowGeneral { static constexpr int value = 0; };
struct PowTwo { static constexpr int value = 2; };

// W_p^p = int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p dq, both uniform: quantile
// levels are i/n and j/m, compared exactly as integers in units of 1/(n m).
template <class T, class P>
double wpp_uniform(const SortedRow<T>& u, const SortedRow<T>& v, double p, P tag) {
    const std::int64_t n = u.n, m = v.n;
    std::int64_t i = 0, j = 0, q = 0;
    CompensatedSum acc;
    while (i < n && j < m) {
        const std::int64_t next_u = (i + 1) * m, next_v = (j + 1) * n;
        const std::int64_t next = std::min(next_u, next_v);
        acc.add(double(next - q) * pow_abs(double(u.values[i]) - double(v.values[j]), p, tag));
        q = next;
        if (next_u == next) ++i;
        if (next_v == next) ++j;
    }
    return acc.value() / (double(n) * double(m));
}

// Trailing zero-weight points carry no mass; dropping them keeps the level-1
// step below from landing on them (a far zero-weight point must change nothing).
template <class T>
std::int64_t last_positive(const SortedRow<T>& r) {
    std::int64_t n = r.n;
    if (r.weights)
        while (n > 1 && r.weights[n - 1] == T(0)) --n;
    return n;
}

template <class T, class P>
double wpp_weighted(const SortedRow<T>& u, const SortedRow<T>& v, double p, P tag) {
    const std::int64_t n = last_positive(u), m = last_positive(v);
    const double su = u.weights ? total_weight(u) : double(n);
    const double sv = v.weights ? total_weight(v) : double(m);
    // Cumulative levels in [0, 1]; the last level of each row is forced to 1 so
    // both walks end together whatever the rounding of the running sums.
    double cu = u.weights ? double(u.weights[0]) : 1.0;
    double cv = v.weights ? double(v.weights[0]) : 1.0;
    std::int64_t i = 0, j = 0;
    double q = 0.0;
    CompensatedSum acc;
    while (i < n && j < m) {
        const double next_u = (i == n - 1) ? 1.0 : cu / su;
        const double next_v = (j == m - 1) ? 1.0 : cv / sv;
        const double next = std::min(next_u, next_v);
        if (next > q) {
            acc.add((next - q) * pow_abs(double(u.values[i]) - double(v.values[j]), p, tag));
            q = next;
        }
        if (next_u <= q && ++i < n) cu += u.weights ? double(u.weights[i]) : 1.0;
        if (next_v <= q && ++j < m) cv += v.weights ? double(v.weights[j]) : 1.0;
    }
    return acc.value();
}

template <class T>
double wasserstein_pair(const SortedRow<T>& u, const SortedRow<T>& v, double p) {
    const bool uniform = (u.weights == nullptr && v.weights == nullptr);
    if (p == 1.0) return uniform ? w1_uniform(u, v) : w1_weighted(u, v);
    double wpp;
    if (p == 2.0) {
        wpp = uniform ? wpp_uniform(u, v, p, PowTwo{}) : wpp_weighted(u, v, p, PowTwo{});
        return std::sqrt(wpp);
    }
    wpp = uniform ? wpp_uniform(u, v, p, PowGeneral{}) : wpp_weighted(u, v, p, PowGeneral{});
    return std::pow(wpp, 1.0 / p);
}

// Sorted copies of a batch of rows (or views of the caller's arrays when sorted).
template <class T>
struct SortedRows {
    std::vector<T> values, weights;
    const Rows<T>* rows = nullptr;
    bool copied = false;

    SortedRow<T> row(std::int64_t r) const {
        const std::int64_t off = r * rows->n;
        if (!copied)
            return {rows->values + off, rows->weights_of(r), rows->n};
        return {values.data() + off, rows->weights ? weights.data() + off : nullptr, rows->n};
    }
};

}  // namespace

template <class T>
void wasserstein_1d(const Rows<T>& u, const Rows<T>& v, const std::int64_t* pair_u,
                    const std::int64_t* pair_v, std::int64_t num_pairs, double p,
                    bool assume_sorted, T* out) {
    SortedRows<T> su, sv;
    su.rows = &u;
    sv.rows = &v;
    if (!assume_sorted) {
        su.copied = sv.copied = true;
        su.values.resize(std::size_t(u.num_rows * u.n));
        sv.values.resize(std::size_t(v.num_rows * v.n));
        if (u.weights) su.weights.resize(su.values.size());
        if (v.weights) sv.weights.resize(sv.values.size());
        const std::int64_t total_rows = u.num_rows + v.num_rows;
        // Every row is sorted once, however many pairs use it; u's and v's rows
        // share one loop so that a single pair still keeps two threads busy.
#pragma omp parallel if (total_rows > 1)
        {
            detail::SortScratch<T> scratch;
#pragma omp for schedule(dynamic, 1)
            for (std::int64_t r = 0; r < total_rows; ++r) {
                const bool is_u = r < u.num_rows;
                const Rows<T>& src = is_u ? u : v;
                SortedRows<T>& dst = is_u ? su : sv;
                const std::int64_t k = is_u ? r : r - u.num_rows;
                const std::int64_t off = k * src.n;
                detail::sort_row(src.values + off, src.weights_of(k), src.n,
                                 dst.values.data() + off,
                                 src.weights ? dst.weights.data() + off : nullptr, scratch);
            }
        }
    }
#pragma omp parallel for schedule(dynamic, 16) if (num_pairs > 1)
    for (std::int64_t k = 0; k < num_pairs; ++k) {
        out[k] = T(wasserstein_pair(su.row(pair_u[k]), sv.row(pair_v[k]), p));
    }
}

template void wasserstein_1d<float>(const Rows<float>&, const Rows<float>&, const std::int64_t*,
                                    const std::int64_t*, std::int64_t, double, bool, float*);
template void wasserstein_1d<double>(const Rows<double>&, const Rows<double>&, const std::int64_t*,
                                     const std::int64_t*, std::int64_t, double, bool, double*);

}  // namespace emd
