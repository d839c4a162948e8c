// Exact 1-D Wasserstein: sort each row once, then one merge walk per pair.
//
// References: Villani, "Topics in Optimal Transportation" (2003), Thm 2.18 (the
// quantile formula); Ramdas, Garcia Trillos and Cuturi, "On Wasserstein
// two-sample testing" (2017), eq. (2) (W_1 as the L1 distance of the CDFs).
#include "emd/one_d.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "emd/buffer.hpp"
#include "emd/parallel.hpp"
#include "emd/radix_sort.hpp"

namespace emd {
namespace {

using detail::KeyWeight;
using detail::key_of_t;
using detail::key_to_float;

// Neumaier's compensated sum: the walk adds up to n + m terms, and the tests
// hold the result to 1e-12 of scipy's.
struct CompensatedSum {
    double sum = 0.0, c = 0.0;
    void add(double x) {
        const double t = sum + x;
        c += (std::fabs(sum) >= std::fabs(x)) ? (sum - t) + x : (x - t) + sum;
        sum = t;
    }
    // An overflowed sum stays inf: the correction term is then inf - inf = NaN.
    double value() const { return std::isfinite(sum) ? sum + c : sum; }
};

// Row accessors: the walk is written once over value(i) / weight(i).
template <class T>
struct RawRow {  // the caller's arrays (assume_sorted)
    const T* v;
    const T* w;  // nullptr: uniform
    std::int64_t n;
    double value(std::int64_t i) const { return double(v[i]); }
    double weight(std::int64_t i) const { return w ? double(w[i]) : 1.0; }
    bool weighted() const { return w != nullptr; }
};
template <class T>
struct KeyRow {  // sorted keys, uniform weights
    const key_of_t<T>* k;
    std::int64_t n;
    double value(std::int64_t i) const { return double(key_to_float<T>(k[i])); }
    double weight(std::int64_t) const { return 1.0; }
    bool weighted() const { return false; }
};
template <class T>
struct KeyWeightRow {  // sorted key-weight records
    const KeyWeight<T>* e;
    std::int64_t n;
    double value(std::int64_t i) const { return double(key_to_float<T>(e[i].key)); }
    double weight(std::int64_t i) const { return double(e[i].weight); }
    bool weighted() const { return true; }
};

template <class R>
double total_weight(const R& r) {
    if (!r.weighted()) return double(r.n);
    double s = 0.0;  // sequential, in walk order: the last running sum equals it exactly
    for (std::int64_t i = 0; i < r.n; ++i) s += r.weight(i);
    return s;
}

// Trailing zero-weight points carry no mass; dropping them keeps the level-1
// step of the quantile walk off them (a far zero-weight point changes nothing).
template <class R>
std::int64_t last_positive(const R& r) {
    std::int64_t n = r.n;
    if (r.weighted())
        while (n > 1 && r.weight(n - 1) == 0.0) --n;
    return n;
}

// W_1 = int |F_u(t) - F_v(t)| dt. Both uniform: F_u = i/n exactly, so the CDF
// gap is the integer |i m - j n| / (n m). The merge picks the smaller head
// without a branch (the choice is a coin flip for overlapping samples).
template <class U, class V>
double w1_uniform(const U& u, const V& v) {
    const std::int64_t n = u.n, m = v.n;
    std::int64_t i = 0, j = 0;
    double prev = std::min(u.value(0), v.value(0));
    CompensatedSum acc;
    while (i < n && j < m) {
        const double ui = u.value(i), vj = v.value(j);
        const std::int64_t diff = i * m - j * n;
        const bool take_u = ui <= vj;
        const double x = take_u ? ui : vj;
        acc.add(double(diff < 0 ? -diff : diff) * (x - prev));
        prev = x;
        i += take_u;
        j += !take_u;
    }
    for (; i < n; ++i) {  // v is exhausted: gap (n - i) m / (n m) shrinking to 0
        const double x = u.value(i);
        acc.add(double(n * m - i * m) * (x - prev));
        prev = x;
    }
    for (; j < m; ++j) {
        const double x = v.value(j);
        acc.add(double(n * m - j * n) * (x - prev));
        prev = x;
    }
    return acc.value() / (double(n) * double(m));
}

template <class U, class V>
double w1_weighted(const U& u, const V& v) {
    // Trailing zero-weight points are dropped, and an exhausted side counts
    // as exactly F = 1: a far zero-weight point then changes nothing, where a
    // rounded F = 1 - 1e-16 would multiply its distance.
    const std::int64_t n = last_positive(u), m = last_positive(v);
    const double inv_su = 1.0 / total_weight(u), inv_sv = 1.0 / total_weight(v);
    std::int64_t i = 0, j = 0;
    double cu = 0.0, cv = 0.0;  // running (unnormalized) cumulative weights
    double prev = std::min(u.value(0), v.value(0));
    CompensatedSum acc;
    while (i < n && j < m) {
        const double ui = u.value(i), vj = v.value(j);
        const double gap = std::fabs(cu * inv_su - cv * inv_sv);
        const bool take_u = ui <= vj;
        const double x = take_u ? ui : vj;
        acc.add(gap * (x - prev));
        prev = x;
        cu += take_u ? u.weight(i) : 0.0;
        cv += take_u ? 0.0 : v.weight(j);
        i += take_u;
        j += !take_u;
    }
    for (; i < n; ++i) {  // v exhausted: F_v = 1
        const double x = u.value(i);
        acc.add(std::fabs(1.0 - cu * inv_su) * (x - prev));
        prev = x;
        cu += u.weight(i);
    }
    for (; j < m; ++j) {  // u exhausted: F_u = 1
        const double x = v.value(j);
        acc.add(std::fabs(1.0 - cv * inv_sv) * (x - prev));
        prev = x;
        cv += v.weight(j);
    }
    return acc.value();
}

struct PowGeneral {
    double p;
    double operator()(double d) const { return std::pow(std::fabs(d), p); }
};
struct PowTwo {
    double operator()(double d) const { return d * d; }
};
struct PowOne {
    double operator()(double d) const { return std::fabs(d); }
};

// W_p^p = int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p dq, both uniform: quantile
// levels are i/n and j/m, compared exactly as integers in units of 1/(n m).
template <class U, class V, class Pow>
double wpp_uniform(const U& u, const V& v, Pow pw) {
    const std::int64_t n = u.n, m = v.n;
    std::int64_t i = 0, j = 0, q = 0;
    CompensatedSum acc;
    while (i < n && j < m) {
        const std::int64_t next_u = (i + 1) * m, next_v = (j + 1) * n;
        const std::int64_t next = std::min(next_u, next_v);
        acc.add(double(next - q) * pw(u.value(i) - v.value(j)));
        q = next;
        i += (next_u == next);
        j += (next_v == next);
    }
    return acc.value() / (double(n) * double(m));
}

template <class U, class V, class Pow>
double wpp_weighted(const U& u, const V& v, Pow pw) {
    const std::int64_t n = last_positive(u), m = last_positive(v);
    const double inv_su = 1.0 / total_weight(u), inv_sv = 1.0 / total_weight(v);
    // Cumulative levels in [0, 1]; the last level of each row is forced to 1 so
    // both walks end together whatever the rounding of the running sums.
    double cu = u.weight(0), cv = v.weight(0);
    std::int64_t i = 0, j = 0;
    double q = 0.0;
    CompensatedSum acc;
    while (i < n && j < m) {
        const double next_u = (i == n - 1) ? 1.0 : std::min(cu * inv_su, 1.0);
        const double next_v = (j == m - 1) ? 1.0 : std::min(cv * inv_sv, 1.0);
        const double next = std::min(next_u, next_v);
        if (next > q) {
            acc.add((next - q) * pw(u.value(i) - v.value(j)));
            q = next;
        }
        if (next_u <= q && ++i < n) cu += u.weight(i);
        if (next_v <= q && ++j < m) cv += v.weight(j);
    }
    return acc.value();
}

// The largest quantile gap, for the rescaled walk: records max |d| and adds nothing.
struct MaxGap {
    double* largest;
    double operator()(double d) const {
        *largest = std::max(*largest, std::fabs(d));
        return 0.0;
    }
};
struct PowScaled {
    double p, scale;  // a division, not a reciprocal: the scale may be subnormal
    double operator()(double d) const { return std::pow(std::fabs(d) / scale, p); }
};

template <class U, class V, class Pow>
double wpp(const U& u, const V& v, Pow pw) {
    return (!u.weighted() && !v.weighted()) ? wpp_uniform(u, v, pw) : wpp_weighted(u, v, pw);
}

template <class U, class V>
double wasserstein_pair_in_range(const U& u, const V& v, double p) {
    if (p == 1.0) return (!u.weighted() && !v.weighted()) ? w1_uniform(u, v) : w1_weighted(u, v);
    const double wp = p == 2.0 ? wpp(u, v, PowTwo{}) : wpp(u, v, PowGeneral{p});
    // |d|^p left the normal range somewhere (gaps of 1e160 at p = 2, of 2 at
    // p = 2000, of 0.5 at p = 2000): a second walk with the gaps divided by the
    // largest one, so that every term is at most 1, and that scale put back.
    // A zero from gaps that are all zero is exact and takes no second walk.
    if (!(wp >= 1e-280 && wp <= 1e280)) {
        double largest = 0.0;
        wpp(u, v, MaxGap{&largest});
        if (largest > 0.0 && std::isfinite(largest))
            return largest * std::pow(wpp(u, v, PowScaled{p, largest}), 1.0 / p);
    }
    return p == 2.0 ? std::sqrt(wp) : std::pow(wp, 1.0 / p);
}

// A row's values times a power of two (exact for normal values).
template <class R>
struct ScaledRow {
    const R& row;
    double scale;
    std::int64_t n;
    double value(std::int64_t i) const { return row.value(i) * scale; }
    double weight(std::int64_t i) const { return row.weight(i); }
    bool weighted() const { return row.weighted(); }
};

template <class U, class V>
double wasserstein_pair(const U& u, const V& v, double p) {
    // The walks take differences of values (up to twice the largest |value|),
    // and the uniform W1 sums widths times counts up to n m before its one
    // division: for values near the float range (-1e308 .. 1e308 gave inf) the
    // values are divided by a power of two, exactly, and the result multiplied
    // back. Sorted rows hold their extremes at the ends, an O(1) check.
    const double big = std::max(std::max(std::fabs(u.value(0)), std::fabs(u.value(u.n - 1))),
                                std::max(std::fabs(v.value(0)), std::fabs(v.value(v.n - 1))));
    const bool counts = p == 1.0 && !u.weighted() && !v.weighted();
    const double nm = counts ? double(u.n) * double(v.n) : 1.0;
    constexpr double kRoom = 0x1p994;  // 4 big n m below 2^996 ~ 7e299: sums of such terms stay finite
    if (!(big > kRoom / nm)) return wasserstein_pair_in_range(u, v, p);
    const int k = int(std::ceil(std::log2(big) + 2.0 + std::log2(nm) - 996.0));
    const double scale = std::ldexp(1.0, -k);
    const ScaledRow<U> su{u, scale, u.n};
    const ScaledRow<V> sv{v, scale, v.n};
    return std::ldexp(wasserstein_pair_in_range(su, sv, p), k);
}

// One batch of rows sorted into encoded records: keys for uniform rows,
// key-weight records for weighted ones.
template <class T>
struct SortedRows {
    using K = key_of_t<T>;
    const Rows<T>* rows;
    Buffer<K> keys;
    Buffer<KeyWeight<T>> records;

    explicit SortedRows(const Rows<T>& r) : rows(&r) {
        const std::size_t size = std::size_t(r.num_rows * r.n);
        if (r.weights) records.resize(size);
        else keys.resize(size);
    }
    KeyRow<T> key_row(std::int64_t r) const { return {keys.data() + r * rows->n, rows->n}; }
    KeyWeightRow<T> record_row(std::int64_t r) const { return {records.data() + r * rows->n, rows->n}; }
};

template <class T>
struct ThreadScratch {
    Buffer<key_of_t<T>> keys;
    Buffer<KeyWeight<T>> records;
};

template <class T>
void sort_into(const Rows<T>& src, std::int64_t r, SortedRows<T>& dst, ThreadScratch<T>& scratch) {
    using K = key_of_t<T>;
    const std::int64_t n = src.n;
    const T* values = src.values + r * n;
    if (const T* w = src.weights_of(r)) {
        scratch.records.resize(std::size_t(n));
        detail::radix_sort_records<T>(
            n, [&](std::int64_t i) { return KeyWeight<T>{detail::float_to_key(values[i]), w[i]}; },
            dst.records.data() + r * n, scratch.records.data());
    } else {
        scratch.keys.resize(std::size_t(n));
        detail::radix_sort_records<T>(
            n, [&](std::int64_t i) -> K { return detail::float_to_key(values[i]); }, dst.keys.data() + r * n,
            scratch.keys.data());
    }
}

}  // namespace

template <class T>
void wasserstein_1d(const Rows<T>& u, const Rows<T>& v, const std::int64_t* pair_u,
                    const std::int64_t* pair_v, std::int64_t num_pairs, double p,
                    bool assume_sorted, T* out) {
    if (assume_sorted) {
#pragma omp parallel for schedule(dynamic, 16) if (num_pairs > 1)
        for (std::int64_t k = 0; k < num_pairs; ++k) {
            const RawRow<T> ru{u.values + pair_u[k] * u.n, u.weights_of(pair_u[k]), u.n};
            const RawRow<T> rv{v.values + pair_v[k] * v.n, v.weights_of(pair_v[k]), v.n};
            out[k] = T(wasserstein_pair(ru, rv, p));
        }
        return;
    }

    SortedRows<T> su(u), sv(v);
    const std::int64_t total_rows = u.num_rows + v.num_rows;
    // Every row is sorted once, however many pairs use it; u's and v's rows
    // share one loop so that a single pair still keeps two threads busy.
#pragma omp parallel if (total_rows > 1)
    {
        ThreadScratch<T> scratch;
#pragma omp for schedule(dynamic, 1)
        for (std::int64_t r = 0; r < total_rows; ++r) {
            if (r < u.num_rows) sort_into(u, r, su, scratch);
            else sort_into(v, r - u.num_rows, sv, scratch);
        }
    }
#pragma omp parallel for schedule(dynamic, 16) if (num_pairs > 1)
    for (std::int64_t k = 0; k < num_pairs; ++k) {
        const std::int64_t iu = pair_u[k], iv = pair_v[k];
        double w;
        if (u.weights && v.weights) w = wasserstein_pair(su.record_row(iu), sv.record_row(iv), p);
        else if (u.weights) w = wasserstein_pair(su.record_row(iu), sv.key_row(iv), p);
        else if (v.weights) w = wasserstein_pair(su.key_row(iu), sv.record_row(iv), p);
        else w = wasserstein_pair(su.key_row(iu), sv.key_row(iv), p);
        out[k] = T(w);
    }
}

template void wasserstein_1d<float>(const Rows<float>&, const Rows<float>&, const std::int64_t*,
                                    const std::int64_t*, std::int64_t, double, bool, float*);
template void wasserstein_1d<double>(const Rows<double>&, const Rows<double>&, const std::int64_t*,
                                     const std::int64_t*, std::int64_t, double, bool, double*);

}  // namespace emd
