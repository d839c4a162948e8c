// Exact 1-D Wasserstein: sort each row once, then one merge walk per pair.
//
// References: Villani, "Topics in Optimal Transportation" (2003), Thm 2.18 (the
// quantile formula); Ramdas, Garcia Trillos and Cuturi, "On Wasserstein
// two-sample testing" (2017), eq. (2) (W_1 as the L1 distance of the CDFs).
#include "emd/one_d.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "emd/buffer.hpp"
#include "emd/parallel.hpp"
#include "emd/sort.hpp"

namespace emd {
namespace {

using detail::float_to_key;
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

// Row accessors: the walk is written once over value(i) / weight(i). Uniform
// and weighted rows are separate types so that no per-point test of "has
// weights" stays in the loops (it kept the weight sums from vectorizing).
// key(i) is the value in the row's own type, for the merge's comparisons: a
// float32 row compares without the conversion to double, which sat on the
// chain from one step's choice to the next step's loads (and made the float32
// merge 2x slower than the float64 one).
template <class T>
struct UniformRow {  // sorted values, uniform weights
    const T* v;
    std::int64_t n;
    double value(std::int64_t i) const { return double(v[i]); }
    T key(std::int64_t i) const { return v[i]; }
    double weight(std::int64_t) const { return 1.0; }
    bool weighted() const { return false; }
};
template <class T>
struct WeightedRow {  // the caller's sorted values and weights (assume_sorted)
    const T* v;
    const T* w;
    std::int64_t n;
    double value(std::int64_t i) const { return double(v[i]); }
    T key(std::int64_t i) const { return v[i]; }
    double weight(std::int64_t i) const { return double(w[i]); }
    bool weighted() const { return true; }
};
// A weighted row after its sort: (value, weight) records in value order.
template <class T>
struct ValueWeight {
    T value, weight;
};
template <class T>
struct RecordRow {
    const ValueWeight<T>* e;
    std::int64_t n;
    double value(std::int64_t i) const { return double(e[i].value); }
    T key(std::int64_t i) const { return e[i].value; }
    double weight(std::int64_t i) const { return double(e[i].weight); }
    bool weighted() const { return true; }
};
// sum of r.weight(i) for i in [begin, end), in 8 independent partial sums
// (a sequential sum waits 4 cycles per add; the weights are >= 0, so the
// error stays within (end - begin) / 8 ulp).
template <class R>
double weight_sum(const R& r, std::int64_t begin, std::int64_t end) {
    constexpr std::int64_t lanes = 8;
    double s[lanes] = {};
    std::int64_t i = begin;
    for (; i + lanes <= end; i += lanes)
        for (std::int64_t l = 0; l < lanes; ++l) s[l] += r.weight(i + l);
    for (; i < end; ++i) s[0] += r.weight(i);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

template <class R>
double total_weight(const R& r) {
    return r.weighted() ? weight_sum(r, 0, r.n) : double(r.n);
}

// A row read from its far end: point i is the row's point last - i, negated.
// The integral of |F_u - F_v| over t > t* equals that over t < -t* of the
// reflected rows' distribution functions, whose running weights are then the
// weights beyond t summed from the far end: 1 - F kept as a sum of what is
// left, not as 1 minus a sum of what was taken, which loses its leading
// digits where F nears 1 (light far points, heavy tails).
template <class R>
struct Reflected {
    R r;
    std::int64_t last;  // the row's point read as point 0
    std::int64_t n;
    double value(std::int64_t i) const { return -r.value(last - i); }
    auto key(std::int64_t i) const { return -r.key(last - i); }
    double weight(std::int64_t i) const { return r.weight(last - i); }
    bool weighted() const { return r.weighted(); }
};
template <class R>
Reflected<R> reflected(const R& r, std::int64_t n) {
    return {r, n - 1, n};
}

// The number of r[:n]'s points below t (strictly: `below`), or at most t.
template <class R>
std::int64_t count_until(const R& r, std::int64_t n, double t, bool strictly) {
    std::int64_t lo = 0, hi = n;
    while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (strictly ? r.value(mid) < t : r.value(mid) <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// The first of r[:n]'s points at which `before` plus the running weight
// reaches half of `total` (the weighted median when before = 0); the last
// point if rounding keeps the sum short of it. `block_sums`, if given, holds
// the sums of r's blocks of kWeightBlock points (weight_sums), so that only
// the block holding the median is read again.
constexpr std::int64_t kWeightBlock = 1024;
template <class R>
double half_weight_point(const R& r, std::int64_t n, double before, double total, const double* block_sums = nullptr) {
    const double half = 0.5 * total;
    double c = before;
    std::int64_t i = 0;
    for (std::int64_t k = 0; i + kWeightBlock <= n; ++k, i += kWeightBlock) {  // whole blocks by their sums
        const double s = block_sums ? block_sums[k] : weight_sum(r, i, i + kWeightBlock);
        if (c + s >= half) break;
        c += s;
    }
    for (; i < n; ++i) {
        c += r.weight(i);
        if (c >= half) return r.value(i);
    }
    return r.value(n - 1);
}

// The total of r's weights, and into `sums` (n / kWeightBlock entries) the
// sums of its whole blocks of kWeightBlock points: one pass for the total and
// the weighted median.
template <class R>
double weight_sums(const R& r, std::vector<double>& sums) {
    sums.resize(std::size_t(r.n / kWeightBlock));
    double total = 0.0;
    std::int64_t i = 0;
    for (std::size_t k = 0; k < sums.size(); ++k, i += kWeightBlock) {
        sums[k] = weight_sum(r, i, i + kWeightBlock);
        total += sums[k];
    }
    return total + weight_sum(r, i, r.n);
}

// Four pieces need 16 registers of state: with AVX-512's 32 vector registers
// they fit; with 16 (SSE/AVX2) two pieces were faster (5.2 against 7.7 ms
// for 10^6 + 10^6 points; one piece: 10.3 ms).
#if defined(__AVX512F__)
constexpr int k_merge_pieces = 4;
#else
constexpr int k_merge_pieces = 2;
#endif
constexpr std::int64_t k_merge_pieces_min_steps = 4096;

// The state of the weighted W_1 merge after some steps: the heads i and j,
// the running (unnormalized) cumulative weights, the last point taken and the
// integral so far.
struct MergeState {
    std::int64_t i, j;
    double cu, cv, prev;
    CompensatedSum acc;
};

// How many points of u the merge has taken after k steps (0 < k, and both
// sides still have points then). The merge takes u's head on ties, so after k
// steps it has taken u[i'] for every i' with u[i'] <= v[k - i' - 1].
template <class U, class V>
std::int64_t merge_co_rank(const U& u, std::int64_t n, const V& v, std::int64_t m, std::int64_t k) {
    std::int64_t lo = std::max<std::int64_t>(0, k - m), hi = std::min(k, n);
    while (lo < hi) {  // u[i] <= v[j - 1] means u[i] comes first: more of u is taken
        const std::int64_t i = lo + (hi - lo) / 2;
        if (u.value(i) <= v.value(k - i - 1)) lo = i + 1;
        else hi = i;
    }
    return lo;
}

// W_1 = int |F_u(t) - F_v(t)| dt over the merged sample points, with F_u =
// (cu0 + u's running weight sum) / su, F_v likewise. While both sides have
// points, each step waits for the previous one (which head is next depends on
// the loads it chose); the `steps` steps are therefore cut into `segments`
// pieces of equal length, each started from its own merge state (found by
// bisection, its cumulative weights by vectorized sums), and advanced in
// lockstep so the CPU overlaps their chains. The cut depends on the sizes
// only, so the result is the same for any number of threads; the pieces'
// integrals are added in order. Without a data-dependent branch: for
// overlapping samples the next side is a coin flip, and a mispredicted branch
// per point cost more than the rest of the step. Returns the state after the
// steps.
template <int segments, class U, class V>
MergeState w1_merge(const U& u, std::int64_t n, const V& v, std::int64_t m, std::int64_t steps, double cu0,
                    double cv0, double su, double sv, CompensatedSum& total) {
    MergeState st[segments];
    std::int64_t len[segments];
    for (int s = 0; s < segments; ++s) {
        const std::int64_t k = steps * s / segments;
        const std::int64_t i = k == 0 ? 0 : merge_co_rank(u, n, v, m, k), j = k - i;
        // The point taken last before step k: the larger of the two heads' predecessors.
        const double prev = k == 0 ? std::min(u.value(0), v.value(0))
                            : i == 0 ? v.value(j - 1)
                            : j == 0 ? u.value(i - 1)
                                     : std::max(u.value(i - 1), v.value(j - 1));
        st[s] = {i, j, cu0, cv0, prev, {}};
        len[s] = steps * (s + 1) / segments - k;
    }
    // Each piece's starting cumulative weights from one pass over each side's
    // weights cut at the pieces' starts.
    for (int s = 1; s < segments; ++s) {
        st[s].cu = st[s - 1].cu + weight_sum(u, st[s - 1].i, st[s].i);
        st[s].cv = st[s - 1].cv + weight_sum(v, st[s - 1].j, st[s].j);
    }
    const double iu = 1.0 / su, iv = 1.0 / sv;
    // The terms gap * (x - prev) are >= 0: each piece adds them plainly in
    // blocks of 256 (within 256 ulp of exact) and compensates across blocks,
    // which keeps Neumaier's branch and four adds out of the step.
    constexpr std::int64_t block = 256;
    double blk[segments];
    const auto step = [&](MergeState& t, double& b) {
        // Both rows' keys are of one type: T, or double for rescaled rows.
        const auto ui = u.key(t.i), vj = v.key(t.j);
        const double gap = std::fabs(t.cu * iu - t.cv * iv);
        const std::int64_t take_u = ui <= vj;
        const double x = double(std::min(ui, vj));
        b += gap * (x - t.prev);
        t.prev = x;
        // Multiplying by 0 or 1 is exact and keeps the select off a branch.
        t.cu += u.weight(t.i) * double(take_u);
        t.cv += v.weight(t.j) * double(1 - take_u);
        t.i += take_u;
        t.j += 1 - take_u;
    };
    const std::int64_t common = len[0];  // the shortest piece (lengths differ by at most 1)
    for (std::int64_t k0 = 0; k0 < common; k0 += block) {
        const std::int64_t k1 = std::min(common, k0 + block);
        for (int s = 0; s < segments; ++s) blk[s] = 0.0;
        for (std::int64_t k = k0; k < k1; ++k)
            for (int s = 0; s < segments; ++s) step(st[s], blk[s]);
        for (int s = 0; s < segments; ++s) st[s].acc.add(blk[s]);
    }
    for (int s = 0; s < segments; ++s) {
        double b = 0.0;
        for (std::int64_t k = common; k < len[s]; ++k) step(st[s], b);
        st[s].acc.add(b);
        total.add(st[s].acc.value());
    }
    return st[segments - 1];
}

// The number of merge steps while both sides have points: all of the side
// whose last point comes first, and the other side's points before it.
template <class U, class V>
std::int64_t merge_steps_both_sides(const U& u, std::int64_t n, const V& v, std::int64_t m) {
    const double lu = u.value(n - 1), lv = v.value(m - 1);
    std::int64_t lo = 0, hi = lu <= lv ? m : n;
    // u ends first (ties: u's head is taken first): v's points < u's last.
    // Otherwise u's points <= v's last.
    while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (lu <= lv ? v.value(mid) < lu : u.value(mid) <= lv) lo = mid + 1;
        else hi = mid;
    }
    return lu <= lv ? n + lo : m + lo;
}

// The integral of |F_r - F_other| over r's points [begin, end) once the
// other side's points are taken: the other's F stays at `other`; r's running
// weight goes on from c, and is returned. Divisions, not the reciprocal:
// w / (2 w) is exactly 0.5, w * (1 / (2 w)) need not be (subnormal weights
// are scaled by a power of two, but not to one).
template <class R>
double one_side_w1(const R& r, std::int64_t begin, std::int64_t end, double c, double total, double other,
                   double prev, CompensatedSum& acc) {
    double b = 0.0;
    for (std::int64_t k = begin; k < end; ++k) {
        const double x = r.value(k);
        b += std::fabs(c / total - other) * (x - prev);
        prev = x;
        c += r.weight(k);
    }
    acc.add(b);
    return c;
}

// The integral of |F_u - F_v| from the first to the last point of a stretch
// of the line holding u[:n] and v[:m] (n + m > 0), with F_u = (cu + u's
// weight up to t) / su, F_v likewise: cu and cv are the weights before the
// stretch, and come back as the weights through it.
template <class U, class V>
void w1_stretch(const U& u, std::int64_t n, const V& v, std::int64_t m, double& cu, double& cv, double su, double sv,
                CompensatedSum& acc) {
    if (n == 0 || m == 0) {
        if (n > 0) cu = one_side_w1(u, 0, n, cu, su, cv / sv, u.value(0), acc);
        if (m > 0) cv = one_side_w1(v, 0, m, cv, sv, cu / su, v.value(0), acc);
        return;
    }
    const std::int64_t steps = merge_steps_both_sides(u, n, v, m);
    // Below a few thousand steps the pieces' bisections are not worth it.
    const MergeState e = steps >= k_merge_pieces_min_steps
                             ? w1_merge<k_merge_pieces>(u, n, v, m, steps, cu, cv, su, sv, acc)
                             : w1_merge<1>(u, n, v, m, steps, cu, cv, su, sv, acc);
    cu = e.cu;
    cv = e.cv;
    // One side is used up; the other's points after it, against the used-up side's F.
    if (e.i < n) cu = one_side_w1(u, e.i, n, cu, su, cv / sv, e.prev, acc);
    if (e.j < m) cv = one_side_w1(v, e.j, m, cv, sv, cu / su, e.prev, acc);
}

// The integral of |F_u - F_v| over a stretch holding u[:n] and v[:m], cut at
// the point `mid` of the stretch: below it from the stretch's first point
// with the weights before the stretch (cu, cv), above it from the last point
// with the weights beyond the stretch (ru, rv), each side's sums running
// toward mid. With mid the lower of the two weighted medians, every F summed
// from the left stays below 1/2 and every 1 - F summed from the right does
// as long as the other side's does not exceed it by more than the gap
// itself, so each gap |F_u - F_v| keeps its digits to about an ulp of 1/2.
template <class U, class V>
void w1_around(const U& u, std::int64_t n, const V& v, std::int64_t m, double mid, double cu, double cv, double ru,
               double rv, double su, double sv, CompensatedSum& acc) {
    const std::int64_t nu = count_until(u, n, mid, true), nv = count_until(v, m, mid, true);
    if (nu + nv > 0) {
        w1_stretch(u, nu, v, nv, cu, cv, su, sv, acc);
        const double last = nu == 0 ? v.value(nv - 1) : nv == 0 ? u.value(nu - 1) : std::max(u.value(nu - 1), v.value(nv - 1));
        acc.add(std::fabs(cu / su - cv / sv) * (mid - last));
    }
    const std::int64_t au = n - count_until(u, n, mid, false), av = m - count_until(v, m, mid, false);
    if (au + av > 0) {
        w1_stretch(reflected(u, n), au, reflected(v, m), av, ru, rv, su, sv, acc);
        const double first = au == 0 ? v.value(m - av) : av == 0 ? u.value(n - au) : std::min(u.value(n - au), v.value(m - av));
        acc.add(std::fabs(ru / su - rv / sv) * (first - mid));
    }
}

// W_1 = int |F_u - F_v| dt, from the left up to the lower weighted median and
// from the right down to it (w1_around). Zero weights at either end count
// exactly nothing: F = 0 before a side's first positive weight and 1 - F = 0
// after its last, so a far zero-weight point changes nothing.
template <class U, class V>
double w1_weighted(const U& u, const V& v) {
    std::vector<double> blocks_u, blocks_v;  // empty below kWeightBlock points: no allocation
    const double su = u.weighted() ? weight_sums(u, blocks_u) : double(u.n);
    const double sv = v.weighted() ? weight_sums(v, blocks_v) : double(v.n);
    const double mid = std::min(half_weight_point(u, u.n, 0.0, su, u.weighted() ? blocks_u.data() : nullptr),
                                half_weight_point(v, v.n, 0.0, sv, v.weighted() ? blocks_v.data() : nullptr));
    CompensatedSum acc;
    w1_around(u, u.n, v, v.n, mid, 0.0, 0.0, 0.0, 0.0, su, sv, acc);
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

// Equal sizes: both quantile functions step at the levels i/n, so
// W_p^p = (1/n) sum_i |u_(i) - v_(i)|^p, a loop without dependencies between
// steps. Blocks of 1024 terms are summed in 8 independent partial sums (the
// compiler vectorizes them; the terms are >= 0, so each block is within
// 128 ulp of exact) and the blocks compensated.
template <class U, class V, class Pow>
double wpp_equal_sizes(const U& u, const V& v, Pow pw) {
    constexpr std::int64_t block = 1024, lanes = 8;
    const std::int64_t n = u.n;
    CompensatedSum acc;
    for (std::int64_t b = 0; b < n; b += block) {
        const std::int64_t e = std::min(n, b + block);
        double s[lanes] = {};
        std::int64_t i = b;
        for (; i + lanes <= e; i += lanes)
            for (std::int64_t l = 0; l < lanes; ++l) s[l] += pw(u.value(i + l) - v.value(i + l));
        for (; i < e; ++i) s[0] += pw(u.value(i) - v.value(i));
        acc.add(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
    }
    return acc.value() / double(n);
}

// W_p^p = int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p dq, both uniform: quantile
// levels are i/n and j/m, compared exactly as integers in units of 1/(n m).
// Which side steps depends on n and m only, never on the values, so the walk
// has no data-dependent branch (for p = 1 as well: it replaces the CDF merge).
template <class U, class V, class Pow>
double wpp_uniform(const U& u, const V& v, Pow pw) {
    const std::int64_t n = u.n, m = v.n;
    if (n == m) return wpp_equal_sizes(u, v, pw);
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

// int_0^{1/2} |F_u^{-1}(q) - F_v^{-1}(q)|^p dq over rows u[:n], v[:m] with
// totals 1 / inv_su, 1 / inv_sv, the levels summed from q = 0. The last level
// of each row is forced to 1, so the walk reaches 1/2 whatever the rounding
// of the running sums.
template <class U, class V, class Pow>
double wpp_lower_half(const U& u, std::int64_t n, const V& v, std::int64_t m, double inv_su, double inv_sv, Pow pw) {
    double cu = u.weight(0), cv = v.weight(0);
    std::int64_t i = 0, j = 0;
    double q = 0.0;
    CompensatedSum acc;
    while (q < 0.5 && i < n && j < m) {
        const double next_u = (i == n - 1) ? 1.0 : std::min(cu * inv_su, 1.0);
        const double next_v = (j == m - 1) ? 1.0 : std::min(cv * inv_sv, 1.0);
        const double next = std::min(std::min(next_u, next_v), 0.5);
        if (next > q) {
            acc.add((next - q) * pw(u.value(i) - v.value(j)));
            q = next;
        }
        if (next_u <= q && ++i < n) cu += u.weight(i);
        if (next_v <= q && ++j < m) cv += v.weight(j);
    }
    return acc.value();
}

// W_p^p = int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p dq: levels below 1/2 summed
// from the left, those above from the right (the reflected rows' levels
// 1 - q: see Reflected), so that a level near 1 keeps its digits.
template <class U, class V, class Pow>
double wpp_weighted(const U& u, const V& v, Pow pw) {
    const double inv_su = 1.0 / total_weight(u), inv_sv = 1.0 / total_weight(v);
    return wpp_lower_half(u, u.n, v, v.n, inv_su, inv_sv, pw) +
           wpp_lower_half(reflected(u, u.n), u.n, reflected(v, v.n), v.n, inv_su, inv_sv, pw);
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
    if (p == 1.0) return (!u.weighted() && !v.weighted()) ? wpp_uniform(u, v, PowOne{}) : w1_weighted(u, v);
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
    double key(std::int64_t i) const { return value(i); }
    double weight(std::int64_t i) const { return row.weight(i); }
    bool weighted() const { return row.weighted(); }
};

template <class U, class V>
double wasserstein_pair(const U& u, const V& v, double p) {
    // The walks take differences of values (up to twice the largest |value|),
    // and the uniform W1 sums differences times counts up to n m before its one
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

// Below this many points in all, threads cost more than they save (waking a
// libgomp team takes microseconds, a 64-point sort tens of nanoseconds).
constexpr std::int64_t k_parallel_min_points = std::int64_t(1) << 15;

template <class T>
SortFunction sort_of(const SortFunctions& s) {
    return sizeof(T) == 8 ? s.sort_f64 : s.sort_f32;
}

// One batch of rows, each sorted once: uniform rows as plain values, weighted
// rows as records that carry each weight with its value.
template <class T>
struct SortedRows {
    const Rows<T>* rows;
    Buffer<T> values;
    Buffer<ValueWeight<T>> records;

    explicit SortedRows(const Rows<T>& r) : rows(&r) {
        const std::size_t size = std::size_t(r.num_rows * r.n);
        if (r.weights) records.resize(size);
        else values.resize(size);
    }
    UniformRow<T> value_row(std::int64_t r) const { return {values.data() + r * rows->n, rows->n}; }
    RecordRow<T> record_row(std::int64_t r) const { return {records.data() + r * rows->n, rows->n}; }
};

// The input checks of one row (see InputFlaw), made from the bits of each
// value and weight inside the loops that copy them for the sort: integer
// operations without branches, which vectorize with the copy. NoScan is the
// same interface doing nothing, for rows the Python layer has checked.
struct NoScan {
    template <class T>
    void value(T) {}
    template <class T>
    void weight(T) {}
};
template <class T>
struct RowScan {
    using K = detail::key_of_t<T>;
    static constexpr K sign = K(1) << (8 * sizeof(K) - 1);
    static constexpr K exponent = sizeof(T) == 8 ? K(0x7ff0000000000000ull) : K(0x7f800000u);
    K bad_value = 0;   // not 0 once a value is inf or NaN (all exponent bits set)
    K bad_weight = 0;  // likewise for a weight, or one below 0 (sign set over a nonzero magnitude)
    K largest = 0;     // the largest weight magnitude's bits: they order as the magnitudes do

    void value(T x) {
        const K b = detail::bit_cast<K>(x);
        bad_value |= K((b & exponent) == exponent);
    }
    void weight(T w) {
        const K b = detail::bit_cast<K>(w);
        bad_weight |= K((b & exponent) == exponent) | K(b > sign);
        largest = std::max(largest, K(b & ~sign));
    }
    void values(const T* x, std::int64_t n) {
        for (std::int64_t i = 0; i < n; ++i) value(x[i]);
    }
    void weights(const T* w, std::int64_t n) {
        for (std::int64_t i = 0; i < n; ++i) weight(w[i]);
    }
    // The InputFlaw bits of the row (`values_bit`, `weights_bit`: its side's);
    // uniform rows have no weights to check.
    unsigned flaws(std::int64_t n, bool weighted, unsigned values_bit, unsigned weights_bit) const {
        unsigned f = bad_value ? values_bit : 0u;
        if (!weighted) return f;
        const double w_max = double(detail::bit_cast<T>(largest));
        // The total lies in [w_max, n w_max]. float32 weights sum in double:
        // any positive total of them is far inside double's range.
        const bool total_ok = sizeof(T) == 4 ? w_max > 0.0
                                             : w_max >= 0x1p-1000 && w_max <= std::numeric_limits<double>::max() / (2.0 * double(n));
        if (bad_weight || !total_ok) f |= weights_bit;
        return f;
    }
};

// The number of bits that index [0, n).
inline int index_bits(std::int64_t n) {
    int b = 0;
    while ((std::int64_t(1) << b) < n) ++b;
    return b;
}

// float64 (value, weight) pairs sorted by value with a key-only uint64 sort:
// each point is packed as its key's top 64 - b bits over its b-bit index, so
// that the sort orders by the top bits and the index finds the point again.
// The records are first copied side by side so that finding a point is one
// random 16-byte read, not two (the reads cost as much as the sort).
// Points whose keys agree in the top bits (ties, or values within a relative
// 2^-(52 - b) of each other) land next to each other in index order; those runs
// are then put in value order, which is a check of order only, unless values
// differ below the cut.
// packed[i] holds point i's ordered key bits above its b-bit index i, for
// i < n: sorts them with the key-only uint64 sort and gathers records into out
// in value order. `truncated`: the key bits were cut, so points whose packed
// upper bits agree (ties, or values that differ only below the cut) land next
// to each other in index order; those runs are then put in value order, which
// is a check of order only, unless values differ below the cut.
void sort_packed_records(std::uint64_t* packed, const ValueWeight<double>* records, std::int64_t n, int b,
                         bool truncated, ValueWeight<double>* out, const SortFunctions& sorts) {
    const std::uint64_t low = (std::uint64_t(1) << b) - 1;
    sorts.sort_u64(packed, n, nullptr);
    bool has_runs = false;
    constexpr std::int64_t ahead = 32;  // reads in flight: the gather waits on memory, not on work
    for (std::int64_t i = 0; i < n; ++i) {
        if (i + ahead < n) __builtin_prefetch(records + (packed[i + ahead] & low));
        out[i] = records[packed[i] & low];
        has_runs |= i > 0 && (packed[i] ^ packed[i - 1]) <= low;
    }
    if (!truncated || !has_runs) return;
    const auto by_value = [](const ValueWeight<double>& l, const ValueWeight<double>& r) { return l.value < r.value; };
    for (std::int64_t s = 0; s < n;) {
        std::int64_t e = s + 1;
        while (e < n && (packed[e] ^ packed[s]) <= low) ++e;
        if (e - s > 1 && !std::is_sorted(out + s, out + e, by_value)) std::sort(out + s, out + e, by_value);
        s = e;
    }
}

// float64 (value, weight) pairs sorted by value with a key-only uint64 sort:
// each point is packed as its key's top 64 - b bits over its b-bit index, so
// that the sort orders by the top bits and the index finds the point again.
// The records are first copied side by side so that finding a point is one
// random 16-byte read, not two (the reads cost as much as the sort).
template <class Scan>
void sort_records_f64(const double* values, const double* weights, std::int64_t n, ValueWeight<double>* out,
                      ValueWeight<double>* records, std::uint64_t* packed, const SortFunctions& sorts, Scan& scan) {
    const int b = index_bits(n);
    const std::uint64_t low = (std::uint64_t(1) << b) - 1;
    for (std::int64_t i = 0; i < n; ++i) {
        packed[i] = (float_to_key(values[i]) & ~low) | std::uint64_t(i);
        records[i] = {values[i], weights[i]};
        scan.value(values[i]);
        scan.weight(weights[i]);
    }
    sort_packed_records(packed, records, n, b, true, out, sorts);
}

template <class T>
struct ThreadScratch {
    Buffer<std::uint64_t> packed;
    Buffer<ValueWeight<double>> records;
};

// Row r of src, sorted into dst; `scan` sees each value and weight on the way.
template <class T, class Scan>
void sort_into(const Rows<T>& src, std::int64_t r, SortedRows<T>& dst, ThreadScratch<T>& scratch,
               const SortFunctions& sorts, Scan& scan) {
    const std::int64_t n = src.n;
    const T* values = src.values + r * n;
    const T* w = src.weights_of(r);
    if (w == nullptr) {
        T* out = dst.values.data() + r * n;
        if constexpr (std::is_same_v<Scan, NoScan>) {
            std::memcpy(out, values, std::size_t(n) * sizeof(T));
        } else {
            for (std::int64_t i = 0; i < n; ++i) {
                out[i] = values[i];
                scan.value(values[i]);
            }
        }
        sort_of<T>(sorts)(out, n, nullptr);
    } else if constexpr (sizeof(T) == 4) {
        // float32 rows sort as one uint64 per point, the value's order-preserving
        // key in the high half and the weight's bits in the low half: a key-only
        // sort carries the weights along, exactly. Unpacked once after the sort
        // (decoding in the walk made it 3x slower).
        scratch.packed.resize(std::size_t(n));
        std::uint64_t* packed = scratch.packed.data();
        for (std::int64_t i = 0; i < n; ++i) {
            packed[i] = std::uint64_t(float_to_key(values[i])) << 32 | detail::bit_cast<std::uint32_t>(w[i]);
            scan.value(values[i]);
            scan.weight(w[i]);
        }
        sorts.sort_u64(packed, n, nullptr);
        ValueWeight<float>* out = dst.records.data() + r * n;
        for (std::int64_t i = 0; i < n; ++i)
            out[i] = {key_to_float<float>(std::uint32_t(packed[i] >> 32)),
                      detail::bit_cast<float>(std::uint32_t(packed[i]))};
    } else {
        scratch.packed.resize(std::size_t(n));
        scratch.records.resize(std::size_t(n));
        sort_records_f64(values, w, n, dst.records.data() + r * n, scratch.records.data(), scratch.packed.data(),
                         sorts, scan);
    }
}

// fn(k) for every k < count, spread over OpenMP threads when `parallel`.
template <class Fn>
void for_each_index(std::int64_t count, bool parallel, Fn fn) {
    if (!parallel) {
        for (std::int64_t k = 0; k < count; ++k) fn(k);
        return;
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (std::int64_t k = 0; k < count; ++k) fn(k);
}

// W_p of one pair; each side's row accessor comes from its weighted or its
// uniform factory, so that each combination is its own instance of the walk.
template <class UW, class UU, class VW, class VU>
double pair_distance(bool u_weighted, bool v_weighted, UW uw, UU uu, VW vw, VU vu, double p) {
    if (u_weighted && v_weighted) return wasserstein_pair(uw(), vw(), p);
    if (u_weighted) return wasserstein_pair(uw(), vu(), p);
    if (v_weighted) return wasserstein_pair(uu(), vw(), p);
    return wasserstein_pair(uu(), vu(), p);
}

// --- one weighted float64 pair by buckets (issue 19) ---------------------------------------
//
// Both rows are cut into buckets by the SAME splitters on their order-preserving
// keys: bucket t of u and bucket t of v cover one value range, and bucket t's
// range lies below bucket t + 1's. Each bucket is then sorted by itself, in
// cache, so after the buckets are sorted each row is sorted as a whole. The
// splitters come from an exact histogram of the keys' 16-bit prefixes
// (key - kmin) >> shift (shift from the pair's key range), whose prefixes are
// grouped, in order, into k_num_buckets buckets of about equal counts of both
// rows. Inside a bucket the keys share their upper bits, so the key's offset
// from the bucket's smallest key usually fits beside the point's index in one
// uint64: the key-only sort is then exact, with no tie fix-up. The W_1 walk
// then runs bucket by bucket, in the threads that sort them (BucketWalk).

constexpr int k_prefix_bits = 16;
// Buckets of the pair. A scatter into more places at once was 2-5x slower per
// point on the 2-core Xeon of RESULTS.md (10^6 records: 17 ms into 275
// buckets, 3.5 ms into 35, 3.2 ms for a plain copy), as if each open place
// cost a TLB entry; fewer buckets make larger sorts (NumPy's uint64 sort: 8.5
// ns a point for 31,000 points, 11 ns for 10^6).
constexpr std::int64_t k_num_buckets = 32;
// A bucket of a row above a quarter of the row (and this many points) is the
// mark of clustered or repeated values: the pair then takes the whole-row sort.
constexpr std::int64_t k_skew_min_points = 4096;
// From this many points of the pair on, WeightedSort::automatic takes the
// buckets (benchmarks/ab_weighted_buckets.py, two threads: 1.23x-1.24x faster
// at 1e6 + 1e6 points; 1.22x or 0.95x at 5e5 + 5e5 and 4e5 + 4e5 by the load;
// 0.99x at 2.5e5 + 2.5e5, 0.90x at 1e5 + 1e5).
constexpr std::int64_t k_bucket_min_points = std::int64_t(1) << 20;

// The number of bits of r (0 for 0).
inline int bit_width_u64(std::uint64_t r) { return r == 0 ? 0 : 64 - __builtin_clzll(r); }

// The splitters shared by both rows: prefix p = (key - kmin) >> shift goes to
// bucket bucket_of[p].
struct BucketSplit {
    std::uint64_t kmin = 0, kmax = 0;
    int shift = 0;
    std::int64_t num_prefixes = 0, num_buckets = 0;
    Buffer<std::uint32_t> bucket_of;

    // The prefix of key k (keys from kmin up, cut by shift); keys outside
    // [kmin, kmax] (a sampled range) go to the first or last prefix, which
    // keeps the buckets in order.
    static std::uint32_t prefix(std::uint64_t k, std::uint64_t kmin, std::uint64_t kmax, int shift) {
        return std::uint32_t((std::min(std::max(k, kmin), kmax) - kmin) >> shift);
    }
};

// One row on its way through the buckets.
struct BucketedRow {
    const double *x = nullptr, *w = nullptr;
    std::int64_t n = 0;
    std::uint64_t kmin = 0, kmax = 0;  // the sampled key range, then the exact one
    RowScan<double> scan;
    Buffer<std::uint32_t> histogram;      // points per prefix
    Buffer<std::int64_t> start;           // bucket -> its first record (num_buckets + 1)
    Buffer<ValueWeight<double>> records;  // the row in bucket order, then in value order
    Buffer<double> bucket_weight;         // each bucket's weight sum (in the row's order)

    // The key range of about 4096 evenly spaced points: the splitters need no
    // more (the prefixes clamp the keys outside it), and a whole pass over
    // the values for the exact range cost 1.1 ns a point.
    void sample_range() {
        const std::int64_t stride = std::max<std::int64_t>(1, n / 4096);
        std::uint64_t lo = ~std::uint64_t(0), hi = 0;
        for (std::int64_t i = 0; i < n; i += stride) {
            const std::uint64_t k = float_to_key(x[i]);
            lo = std::min(lo, k);
            hi = std::max(hi, k);
        }
        kmin = lo;
        kmax = hi;
    }
    // The prefix histogram, the exact key range and the values' flaws, in one
    // pass. The loops below read everything they use from locals: the counters
    // they store to could alias members (a uint64 may alias an int64), which
    // kept the compiler reloading and storing them every point (2-3x slower).
    void count_prefixes(const BucketSplit& split) {
        histogram.resize(std::size_t(split.num_prefixes));
        std::uint32_t* h = histogram.data();
        std::fill(h, h + split.num_prefixes, 0u);
        const std::uint64_t smin = split.kmin, smax = split.kmax;
        const int shift = split.shift;
        std::uint64_t lo = ~std::uint64_t(0), hi = 0;
        RowScan<double> s = scan;
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint64_t k = float_to_key(x[i]);
            lo = std::min(lo, k);
            hi = std::max(hi, k);
            s.value(x[i]);
            ++h[BucketSplit::prefix(k, smin, smax, shift)];
        }
        scan = s;
        kmin = lo;
        kmax = hi;
    }
    // Bucket starts from the prefix counts; returns the largest bucket.
    std::int64_t place_buckets(const BucketSplit& split) {
        start.resize(std::size_t(split.num_buckets + 1));
        std::fill(start.data(), start.data() + split.num_buckets + 1, std::int64_t(0));
        for (std::int64_t p = 0; p < split.num_prefixes; ++p)
            start[split.bucket_of[std::size_t(p)] + 1] += histogram[std::size_t(p)];
        std::int64_t largest = 0;
        for (std::int64_t t = 0; t < split.num_buckets; ++t) {
            largest = std::max(largest, start[std::size_t(t + 1)]);
            start[std::size_t(t + 1)] += start[std::size_t(t)];
        }
        return largest;
    }
    // (value, weight) records into bucket order (each bucket in the row's
    // order); the weights' flaws on the way.
    void scatter(const BucketSplit& split) {
        records.resize(std::size_t(n));
        Buffer<std::int64_t> cursor(std::size_t(split.num_buckets));
        std::copy(start.data(), start.data() + split.num_buckets, cursor.data());
        ValueWeight<double>* out = records.data();
        std::int64_t* next = cursor.data();
        const std::uint32_t* bucket_of = split.bucket_of.data();
        const std::uint64_t smin = split.kmin, smax = split.kmax;
        const int shift = split.shift;
        bucket_weight.resize(std::size_t(split.num_buckets));
        double* sums = bucket_weight.data();
        std::fill(sums, sums + split.num_buckets, 0.0);
        RowScan<double> s = scan;
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint32_t t = bucket_of[BucketSplit::prefix(float_to_key(x[i]), smin, smax, shift)];
            out[next[t]++] = {x[i], w[i]};
            sums[t] += w[i];
            s.weight(w[i]);
        }
        scan = s;
    }
};

// One thread's buffers for sorting buckets.
struct BucketScratch {
    Buffer<std::uint64_t> packed;
    Buffer<ValueWeight<double>> sorted;
};

// A bucket's records, sorted with NumPy's key-only uint64 sort: each
// point packed as its key's offset from the bucket's smallest key over its
// local index, exact where offset and index fit in 64 bits together (the
// offsets of a bucket's keys span far fewer bits than whole keys); the gather
// then reads the bucket, in cache, instead of the whole row.
//
// Returns where the sorted bucket is: `records` itself (fewer than two
// points, or all equal) or scratch.sorted.
//
// Tried and slower: splitting a bucket further by a counting pass down to
// leaves of <= 256 points (where NumPy's sort is a network, 3 ns a point
// against 8.5 ns for a 31,000-point bucket): the scalar histogram and scatter
// passes in cache cost more than they saved (45 ms against 29 ms for the
// buckets of a 10^6 + 10^6 pair, one thread, load ~2).
const ValueWeight<double>* sort_bucket(const ValueWeight<double>* records, std::int64_t count, BucketScratch& scratch,
                                       const SortFunctions& sorts) {
    if (count < 2) return records;
    std::uint64_t lo = ~std::uint64_t(0), hi = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        const std::uint64_t k = float_to_key(records[i].value);
        lo = std::min(lo, k);
        hi = std::max(hi, k);
    }
    if (lo == hi) return records;  // all equal: in order already
    scratch.packed.resize(std::size_t(count));
    scratch.sorted.resize(std::size_t(count));
    std::uint64_t* packed = scratch.packed.data();
    const int b = index_bits(count);
    const int cut = std::max(0, bit_width_u64(hi - lo) + b - 64);
    for (std::int64_t i = 0; i < count; ++i)
        packed[i] = ((float_to_key(records[i].value) - lo) >> cut) << b | std::uint64_t(i);
    sort_packed_records(packed, records, count, b, cut > 0, scratch.sorted.data(), sorts);
    return scratch.sorted.data();
}

// Groups the prefixes, in order, into buckets of about (n + m) / k_num_buckets
// points of both rows (a prefix is never split: one that holds more makes a
// bucket of its own).
void group_prefixes(const BucketedRow& u, const BucketedRow& v, BucketSplit& split) {
    const std::int64_t P = split.num_prefixes;
    const std::int64_t target = (u.n + v.n + k_num_buckets - 1) / k_num_buckets;
    split.bucket_of.resize(std::size_t(P));
    std::int64_t bucket = 0, held = 0;
    for (std::int64_t p = 0; p < P; ++p) {
        const std::int64_t c = std::int64_t(u.histogram[std::size_t(p)]) + v.histogram[std::size_t(p)];
        if (held > 0 && held + c > target) {
            ++bucket;
            held = 0;
        }
        split.bucket_of[std::size_t(p)] = std::uint32_t(bucket);
        held += c;
    }
    split.num_buckets = bucket + 1;
}

enum class BucketOutcome { done, flawed, skewed };

// Sorts the rows of one weighted float64 pair (u, v) by shared buckets into
// ru.records and rv.records, on up to `threads` threads; the rows' flaws in
// their scans. before_sort(split) runs once the buckets are filled;
// after_sort, in the job of each bucket, as said below. `skewed` (nothing
// sorted) when one bucket would hold more than a quarter of a row: clustered
// or repeated values, which the buckets cannot split (one prefix is one
// bucket). `flawed`: a scan found a flaw (InputFlaw); the sort stopped there.
template <class BeforeSort, class AfterSort>
BucketOutcome sort_pair_by_buckets(BucketedRow& ru, BucketedRow& rv, bool scan_flaws, int threads,
                                   const SortFunctions& sorts, const BeforeSort& before_sort,
                                   const AfterSort& after_sort) {
    BucketedRow* rows[2] = {&ru, &rv};
    const auto each_row = [&](auto&& fn) {
        claim_each(2, threads - 1, [&] { return [&](std::int64_t r) { fn(*rows[r]); }; });
    };
    ru.sample_range();
    rv.sample_range();
    BucketSplit split;
    split.kmin = std::min(ru.kmin, rv.kmin);
    split.kmax = std::max(ru.kmax, rv.kmax);
    split.shift = std::max(0, bit_width_u64(split.kmax - split.kmin) - k_prefix_bits);
    split.num_prefixes = std::int64_t((split.kmax - split.kmin) >> split.shift) + 1;
    each_row([&](BucketedRow& r) { r.count_prefixes(split); });
    if (scan_flaws && (ru.scan.bad_value | rv.scan.bad_value)) return BucketOutcome::flawed;
    group_prefixes(ru, rv, split);
    const std::int64_t largest_u = ru.place_buckets(split), largest_v = rv.place_buckets(split);
    if (largest_u > std::max<std::int64_t>(k_skew_min_points, ru.n / 4) ||
        largest_v > std::max<std::int64_t>(k_skew_min_points, rv.n / 4))
        return BucketOutcome::skewed;
    each_row([&](BucketedRow& r) { r.scatter(split); });
    if (scan_flaws && (ru.scan.bad_weight | rv.scan.bad_weight)) return BucketOutcome::flawed;
    before_sort(split);
    // Bucket t of both rows is one job: after_sort(t, u's, v's) gets both
    // sorted, in cache, and says whether it is done with them; if not, they
    // are copied back in place.
    claim_each(split.num_buckets, threads - 1, [&] {
        return [&, scratch = std::array<BucketScratch, 2>{}](std::int64_t t) mutable {
            const ValueWeight<double>* sorted[2];
            for (int r = 0; r < 2; ++r) {
                const std::int64_t s = rows[r]->start[std::size_t(t)];
                sorted[r] = sort_bucket(rows[r]->records.data() + s, rows[r]->start[std::size_t(t + 1)] - s,
                                        scratch[std::size_t(r)], sorts);
            }
            if (after_sort(t, sorted[0], sorted[1])) return;
            for (int r = 0; r < 2; ++r) {
                const std::int64_t s = rows[r]->start[std::size_t(t)], c = rows[r]->start[std::size_t(t + 1)] - s;
                ValueWeight<double>* place = rows[r]->records.data() + s;
                if (sorted[r] != place) std::memcpy(place, sorted[r], std::size_t(c) * sizeof(ValueWeight<double>));
            }
        };
    });
    return BucketOutcome::done;
}

// W_1 of the pair whose buckets are sorted, walked bucket by bucket, each in
// the job that sorts it: the buckets below the one holding the lower of the
// two weighted medians from their weights before them (F summed from the
// left), those above it from their weights beyond them (1 - F summed from the
// right, as w1_weighted does beyond its median), that one around the median
// (w1_around). The segments between buckets and the buckets' integrals are
// added after, in bucket order, so the result does not depend on the thread
// count.
struct BucketWalk {
    const BucketedRow &u, &v;
    std::int64_t num_buckets = 0, split = 0;  // the bucket walked around the median
    std::vector<double> cu, cv;               // weights before each bucket (cu[t]: buckets [0, t))
    std::vector<double> ru, rv;               // weights from each bucket on (ru[t]: buckets [t, K)), summed from the right
    std::vector<double> inside;               // each bucket's integral
    std::vector<double> lowest, highest;      // each bucket's smallest and largest value
    double su = 0.0, sv = 0.0;

    BucketWalk(const BucketedRow& bu, const BucketedRow& bv, std::int64_t K)
        : u(bu),
          v(bv),
          num_buckets(K),
          cu(std::size_t(K + 1)),
          cv(std::size_t(K + 1)),
          ru(std::size_t(K + 1)),
          rv(std::size_t(K + 1)),
          inside(std::size_t(K)),
          lowest(std::size_t(K)),
          highest(std::size_t(K)) {
        for (std::int64_t t = 0; t < K; ++t) {
            cu[std::size_t(t + 1)] = cu[std::size_t(t)] + u.bucket_weight[std::size_t(t)];
            cv[std::size_t(t + 1)] = cv[std::size_t(t)] + v.bucket_weight[std::size_t(t)];
        }
        for (std::int64_t t = K - 1; t >= 0; --t) {
            ru[std::size_t(t)] = ru[std::size_t(t + 1)] + u.bucket_weight[std::size_t(t)];
            rv[std::size_t(t)] = rv[std::size_t(t + 1)] + v.bucket_weight[std::size_t(t)];
        }
        su = cu[std::size_t(K)];
        sv = cv[std::size_t(K)];
        split = std::min(median_bucket(cu, su), median_bucket(cv, sv));
    }
    // The first bucket through which a row's weights reach half its total.
    std::int64_t median_bucket(const std::vector<double>& c, double total) const {
        std::int64_t t = 0;
        while (t + 1 < num_buckets && c[std::size_t(t + 1)] < 0.5 * total) ++t;
        return t;
    }
    static std::int64_t count(const BucketedRow& r, std::int64_t t) {
        return r.start[std::size_t(t + 1)] - r.start[std::size_t(t)];
    }
    // Bucket t's integral from its first point to its last, from its sorted
    // records (xu, xv).
    void walk_bucket(std::int64_t t, const ValueWeight<double>* xu, const ValueWeight<double>* xv) {
        const RecordRow<double> pu{xu, count(u, t)}, pv{xv, count(v, t)};
        if (pu.n + pv.n == 0) return;
        const std::size_t k = std::size_t(t);
        lowest[k] = pu.n == 0 ? pv.value(0) : pv.n == 0 ? pu.value(0) : std::min(pu.value(0), pv.value(0));
        highest[k] = pu.n == 0   ? pv.value(pv.n - 1)
                     : pv.n == 0 ? pu.value(pu.n - 1)
                                 : std::max(pu.value(pu.n - 1), pv.value(pv.n - 1));
        CompensatedSum acc;
        double a, b;
        if (t < split) {
            a = cu[k], b = cv[k];
            w1_stretch(pu, pu.n, pv, pv.n, a, b, su, sv, acc);
        } else if (t > split) {
            a = ru[k + 1], b = rv[k + 1];
            w1_stretch(reflected(pu, pu.n), pu.n, reflected(pv, pv.n), pv.n, a, b, su, sv, acc);
        } else {
            // The lower median among the rows whose median lies in this bucket.
            const double inf = std::numeric_limits<double>::infinity();
            const double mu = pu.n > 0 && median_bucket(cu, su) == t ? half_weight_point(pu, pu.n, cu[k], su) : inf;
            const double mv = pv.n > 0 && median_bucket(cv, sv) == t ? half_weight_point(pv, pv.n, cv[k], sv) : inf;
            w1_around(pu, pu.n, pv, pv.n, std::min(mu, mv), cu[k], cv[k], ru[k + 1], rv[k + 1], su, sv, acc);
        }
        inside[k] = acc.value();
    }
    // The total, once every bucket is walked: each bucket's integral and the
    // segments between buckets, F from the left below the median's bucket
    // and 1 - F from the right above it.
    double finish() const {
        CompensatedSum acc;
        double prev = 0.0;
        bool seen = false;
        for (std::int64_t t = 0; t < num_buckets; ++t) {
            const std::size_t k = std::size_t(t);
            if (count(u, t) + count(v, t) == 0) continue;
            if (seen) {  // from the last point below bucket t to its first
                const double gap = t <= split ? std::fabs(cu[k] / su - cv[k] / sv) : std::fabs(ru[k] / su - rv[k] / sv);
                acc.add(gap * (lowest[k] - prev));
            }
            acc.add(inside[k]);
            prev = highest[k];
            seen = true;
        }
        return acc.value();
    }
};

// W_p of the single weighted float64 pair (u, v) through the bucket sort;
// false (nothing written) when the pair is skewed (see sort_pair_by_buckets):
// the caller then sorts the rows whole. W_1 of values inside 2^994 in
// magnitude is walked bucket by bucket (BucketWalk), in the threads that
// sort the buckets; other pairs are walked whole once sorted.
bool bucketed_pair_distance(const Rows<double>& u, const Rows<double>& v, double p, int threads,
                            const SortFunctions& sorts, double* out, unsigned* flaws) {
    BucketedRow ru, rv;
    ru.x = u.values;
    ru.w = u.weights;
    ru.n = u.n;
    rv.x = v.values;
    rv.w = v.weights;
    rv.n = v.n;
    std::unique_ptr<BucketWalk> walk;
    const auto before_sort = [&](const BucketSplit& split) {
        // The range test of wasserstein_pair for weighted rows (values within 2^994).
        const double big = std::max(std::fabs(key_to_float<double>(std::min(ru.kmin, rv.kmin))),
                                    std::fabs(key_to_float<double>(std::max(ru.kmax, rv.kmax))));
        if (p == 1.0 && big <= 0x1p994) walk = std::make_unique<BucketWalk>(ru, rv, split.num_buckets);
    };
    const auto after_sort = [&](std::int64_t t, const ValueWeight<double>* xu, const ValueWeight<double>* xv) {
        if (walk) walk->walk_bucket(t, xu, xv);
        return walk != nullptr;  // walked: no copy back
    };
    const BucketOutcome outcome =
        sort_pair_by_buckets(ru, rv, flaws != nullptr, threads, sorts, before_sort, after_sort);
    if (outcome == BucketOutcome::skewed) return false;
    if (flaws) {
        // Flawed values stop the sort before the weights are scanned.
        const bool weights_scanned = outcome == BucketOutcome::done || !(ru.scan.bad_value | rv.scan.bad_value);
        *flaws = ru.scan.flaws(u.n, weights_scanned, u_values_flaw, u_weights_flaw) |
                 rv.scan.flaws(v.n, weights_scanned, v_values_flaw, v_weights_flaw);
        if (*flaws != 0) return true;
    }
    *out = walk ? walk->finish()
                : wasserstein_pair(RecordRow<double>{ru.records.data(), u.n}, RecordRow<double>{rv.records.data(), v.n}, p);
    return true;
}

// --- gradients ----------------------------------------------------------------------------

// A row's argsort: perm[i] is the index of its i-th smallest value (ties in
// index order), xs[i] that value. Each point is packed as its order-preserving
// key's top 64 - b bits over its b-bit index and sorted as one uint64 (the
// vectorized sort, as for the weighted rows); points whose top bits agree are
// then put in (value, index) order. For float32 below 2^32 points the key
// keeps all its bits: agreeing top bits are equal values, already in index
// order, and the sorted values are decoded from the keys (no gather). For
// float64 they are ties or values within a relative 2^-(52 - b).
template <class T>
void argsort_row(const T* x, std::int64_t n, std::int64_t* perm, T* xs, std::uint64_t* packed,
                 const SortFunctions& sorts) {
    const int b = index_bits(n);
    const std::uint64_t low = (std::uint64_t(1) << b) - 1;
    const bool whole_keys = sizeof(T) == 4 && b <= 32;
    for (std::int64_t i = 0; i < n; ++i) {
        std::uint64_t key;
        if constexpr (sizeof(T) == 4) key = std::uint64_t(float_to_key(x[i])) << 32;
        else key = float_to_key(x[i]);
        packed[i] = (key & ~low) | std::uint64_t(i);
    }
    sorts.sort_u64(packed, n, nullptr);
    for (std::int64_t i = 0; i < n; ++i) perm[i] = std::int64_t(packed[i] & low);
    if (whole_keys) {
        if constexpr (sizeof(T) == 4)
            for (std::int64_t i = 0; i < n; ++i) xs[i] = key_to_float<float>(std::uint32_t(packed[i] >> 32));
        return;
    }
    const auto by_value = [x](std::int64_t l, std::int64_t r) { return x[l] < x[r] || (x[l] == x[r] && l < r); };
    for (std::int64_t s = 0; s < n;) {
        std::int64_t e = s + 1;
        while (e < n && (packed[e] ^ packed[s]) <= low) ++e;
        if (e - s > 1) std::sort(perm + s, perm + e, by_value);
        s = e;
    }
    for (std::int64_t i = 0; i < n; ++i) xs[i] = x[perm[i]];
}

// One argsorted row: the permutation, the sorted values and (weighted rows)
// the weights in the same order.
template <class T>
struct ArgsortedRow {
    const std::int64_t* perm;
    const T* x;
    const T* w;
};

// One thread's buffers for sorting a row of one side.
template <class T>
struct RowScratch {
    Buffer<std::uint64_t> packed;
    Buffer<std::int64_t> perm;
    Buffer<T> values, weights;
};

// The rows of one side as the pairs read them. Rows that several pairs share
// (more pairs than rows: broadcasting) are argsorted once up front; otherwise
// each pair sorts its row into its thread's buffers right before its walk,
// so that the sorted row is still in cache when the walk and the scatter of
// the gradient read it (one pass over memory instead of three).
template <class T>
struct ArgsortedRows {
    const Rows<T>* rows;
    bool presorted;
    Buffer<std::int64_t> perm;
    Buffer<T> values, weights;

    ArgsortedRows(const Rows<T>& r, std::int64_t num_pairs) : rows(&r), presorted(num_pairs > r.num_rows) {
        if (!presorted) return;
        const std::size_t size = std::size_t(r.num_rows * r.n);
        perm.resize(size);
        values.resize(size);
        if (r.weights) weights.resize(size);
    }
    void sort_into(std::int64_t r, std::int64_t* pr, T* xs, T* ws, Buffer<std::uint64_t>& packed,
                   const SortFunctions& sorts) const {
        const std::int64_t n = rows->n;
        packed.resize(std::size_t(n));
        argsort_row(rows->values + r * n, n, pr, xs, packed.data(), sorts);
        if (const T* w = rows->weights_of(r))
            for (std::int64_t i = 0; i < n; ++i) ws[i] = w[pr[i]];
    }
    void presort(std::int64_t r, Buffer<std::uint64_t>& packed, const SortFunctions& sorts) {
        const std::int64_t off = r * rows->n;
        sort_into(r, perm.data() + off, values.data() + off, rows->weights ? weights.data() + off : nullptr, packed,
                  sorts);
    }
    ArgsortedRow<T> row(std::int64_t r, RowScratch<T>& s, const SortFunctions& sorts) const {
        const std::int64_t n = rows->n;
        if (presorted) {
            const std::int64_t off = r * n;
            return {perm.data() + off, values.data() + off, rows->weights ? weights.data() + off : nullptr};
        }
        s.perm.resize(std::size_t(n));
        s.values.resize(std::size_t(n));
        if (rows->weights) s.weights.resize(std::size_t(n));
        T* ws = rows->weights ? s.weights.data() : nullptr;
        sort_into(r, s.perm.data(), s.values.data(), ws, s.packed, sorts);
        return {s.perm.data(), s.values.data(), ws};
    }
};

// One sorted row as the gradient walk reads it (w == nullptr: uniform).
template <class T>
struct SortedSide {
    const T* x;
    const T* w;
    std::int64_t n;
    double weight(std::int64_t i) const { return w ? double(w[i]) : 1.0; }
};

// The derivatives of |d|^p relative to W: d/dd of W^(1-p) |d|^p / p, and the
// cost itself over W^p; both stay in range wherever W does.
struct RelativePower {
    double p, W;
    double slope(double d) const {
        if (p == 1.0) return double(d > 0.0) - double(d < 0.0);  // sign(0) = 0: the zero subgradient
        if (p == 2.0) return d / W;
        return std::copysign(std::pow(std::fabs(d) / W, p - 1.0), d);
    }
    double cost(double d) const {
        const double r = std::fabs(d) / W;
        return p == 1.0 ? r : p == 2.0 ? r * r : std::pow(r, p);
    }
};

// The walk of gradient_walk over the states (i, j) of the merged quantile
// functions, in two halves so that every level keeps its digits (as in
// wpp_weighted): the levels q below 1/2 summed from the left, those above as
// 1 - q summed from the right. The state holding level 1/2, (i_mid, j_mid),
// is where the left half stops; the right half walks back to it, so each
// level's crossing belongs to exactly one half (u's levels below i_mid and
// v's below j_mid to the left one) whatever the rounding of the two sums.
template <class T>
struct LevelWalk {
    const SortedSide<T>& u;
    const SortedSide<T>& v;
    double su, sv;
    RelativePower rp;
    double *gu, *gv, *gl_u, *gl_v;

    void lower_half(std::int64_t& i_mid, std::int64_t& j_mid) const {
        const std::int64_t n = u.n, m = v.n;
        const bool levels = gl_u != nullptr || gl_v != nullptr;
        double cu = u.weight(0), cv = v.weight(0), q = 0.0;
        std::int64_t i = 0, j = 0, left_u = -1, left_v = -1;
        while (true) {
            const double lu = i == n - 1 ? 1.0 : std::min(cu / su, 1.0);
            const double lv = j == m - 1 ? 1.0 : std::min(cv / sv, 1.0);
            const double next = std::min(std::min(lu, lv), 0.5);
            const double d = double(u.x[i]) - double(v.x[j]);
            double c = 0.0;
            if (levels) {  // the state entered: its cost leaves the level crossed into it
                c = rp.cost(d);
                if (left_u >= 0 && gl_u) gl_u[left_u] -= c;
                if (left_v >= 0 && gl_v) gl_v[left_v] -= c;
                left_u = left_v = -1;
            }
            if (next > q) {
                const double g = (next - q) * rp.slope(d);
                gu[i] += g;
                gv[j] -= g;
                q = next;
            }
            if (q >= 0.5) break;  // the crossings from here on are the right half's
            const bool step_u = lu <= next, step_v = lv <= next;
            if (step_u) {  // the state left: its cost joins the level crossed out of it
                if (gl_u) gl_u[i] += c;
                left_u = i;
                if (++i < n) cu += u.weight(i);
            }
            if (step_v) {
                if (gl_v && !step_u) {  // both at once: the change is u's level's
                    gl_v[j] += c;
                    left_v = j;
                }
                if (++j < m) cv += v.weight(j);
            }
        }
        i_mid = i;
        j_mid = j;
    }

    // From the far ends down to (i_mid, j_mid): state (i, j) holds the levels
    // 1 - q between the weights beyond it and those from it on. Crossing u's
    // level i - 1 from above, d(W^p)/d(level) = cost(state below) - cost(state above).
    void upper_half(std::int64_t i_mid, std::int64_t j_mid) const {
        const std::int64_t n = u.n, m = v.n;
        const bool levels = gl_u != nullptr || gl_v != nullptr;
        constexpr double never = std::numeric_limits<double>::infinity();
        std::int64_t i = n - 1, j = m - 1, left_u = -1, left_v = -1;
        double ru = u.weight(i), rv = v.weight(j), r = 0.0;
        while (true) {
            const double lu = i == i_mid ? never : std::min(ru / su, 1.0);
            const double lv = j == j_mid ? never : std::min(rv / sv, 1.0);
            const double next = std::min(std::min(lu, lv), 0.5);
            const double d = double(u.x[i]) - double(v.x[j]);
            double c = 0.0;
            if (levels) {  // the state entered, below the level crossed into it
                c = rp.cost(d);
                if (left_u >= 0 && gl_u) gl_u[left_u] += c;
                if (left_v >= 0 && gl_v) gl_v[left_v] += c;
                left_u = left_v = -1;
            }
            if (next > r) {
                const double g = (next - r) * rp.slope(d);
                gu[i] += g;
                gv[j] -= g;
                r = next;
            }
            if (i == i_mid && j == j_mid) break;
            // Past 1/2 before (i_mid, j_mid) only by rounding: the states in
            // between then hold no levels, but their crossings are still this half's.
            const bool done = r >= 0.5;
            const bool step_u = i > i_mid && (lu <= next || done);
            const bool step_v = j > j_mid && (lv <= next || (done && !step_u));
            if (step_u) {  // the state left, above the level crossed out of it
                if (gl_u) gl_u[i - 1] -= c;
                left_u = i - 1;
                ru += u.weight(--i);
            }
            if (step_v) {
                if (gl_v && !step_u) {
                    gl_v[j - 1] -= c;
                    left_v = j - 1;
                }
                rv += v.weight(--j);
            }
        }
    }
};

// dW/d(sorted values) into gu (n) and gv (m); when gl_u / gl_v are given,
// dW/d(level) of each sorted point's cumulative level into them (the last
// level, 1, is a constant and gets nothing that is used).
//
// The walk visits the states (i, j) of the merged quantile functions in
// order; state (i, j) holds the segment of levels where F_u^{-1} = u_(i) and
// F_v^{-1} = v_(j) (possibly empty: zero weights, shared levels). Moving the
// level at which the walk leaves a state changes W^p by (cost of the state
// left) - (cost of the state entered). Where both sides step at the same
// level (a set of measure zero for weighted rows) the whole change is
// assigned to u's level.
template <class T>
void gradient_walk(const SortedSide<T>& u, const SortedSide<T>& v, double p, double W, double* gu, double* gv,
                   double* gl_u, double* gl_v) {
    const std::int64_t n = u.n, m = v.n;
    std::fill(gu, gu + n, 0.0);
    std::fill(gv, gv + m, 0.0);
    if (gl_u) std::fill(gl_u, gl_u + n, 0.0);
    if (gl_v) std::fill(gl_v, gl_v + m, 0.0);
    if (!(W > 0.0) || !std::isfinite(W)) return;  // identical measures: the zero subgradient
    const RelativePower rp{p, W};
    if (n == m && !u.w && !v.w) {  // every level shared: W^p = mean |u_(i) - v_(i)|^p
        const double inv_n = 1.0 / double(n);
        for (std::int64_t i = 0; i < n; ++i) {
            gu[i] = rp.slope(double(u.x[i]) - double(v.x[i])) * inv_n;
            gv[i] = -gu[i];
        }
        return;
    }
    // Levels as divisions: equal rationals (i + 1) / n = (j + 1) / m of uniform
    // rows round to equal doubles, so shared levels are found exactly.
    const double su = u.w ? weight_sum(WeightedRow<T>{u.x, u.w, n}, 0, n) : double(n);
    const double sv = v.w ? weight_sum(WeightedRow<T>{v.x, v.w, m}, 0, m) : double(m);
    const LevelWalk<T> walk{u, v, su, sv, rp, gu, gv, gl_u, gl_v};
    std::int64_t i_mid, j_mid;
    walk.lower_half(i_mid, j_mid);
    walk.upper_half(i_mid, j_mid);
    // d(W^p)/dlevel times dW/d(W^p) = W^(1-p) / p, the costs being relative to W^p.
    const double scale = W / p;
    if (gl_u) for (std::int64_t k = 0; k < n; ++k) gl_u[k] *= scale;
    if (gl_v) for (std::int64_t k = 0; k < m; ++k) gl_v[k] *= scale;
}

// dW/dw for the raw weights w (sorted order) of one side, from the levels'
// derivatives g: level_i = A_i / S with A_i = w_0 + ... + w_i and S = A_{n-1}, so
// dW/dw_l = (sum_{i >= l} g_i - sum_i g_i level_i) / S over the levels i < n - 1
// (the last is 1 whatever the weights). Written through perm to the row's order.
// A level near 1 enters as 1 - R_i, R_i the weights beyond i over S summed from
// the right (as the walk does): from b, the first level at or above 1/2,
//     S dW/dw_l = sum_{l <= i < b} g_i (l <= b), or -sum_{b <= i < l} g_i (l > b),
//                 - sum_{i < b} g_i level_i + sum_{i >= b} g_i R_i,
// so that a large g_i of a level near 1 (a light far point) is multiplied by its
// small R_i instead of cancelling against itself in every other weight's sum.
template <class T>
void weight_gradient(const T* w, const double* g, std::int64_t n, const std::int64_t* perm, T* out) {
    // The same total, summed the same way, as the walk that made the value.
    const double s = weight_sum(WeightedRow<T>{nullptr, w, n}, 0, n);
    const std::int64_t last = n - 1;  // levels i < last
    std::int64_t b = 0;
    double a = 0.0, constant = 0.0;
    for (; b < last; ++b) {
        a += double(w[b]);
        if (a / s >= 0.5) break;
        constant -= g[b] * (a / s);
    }
    double rest = 0.0;
    for (std::int64_t i = last - 1; i >= b; --i) {
        rest += double(w[i + 1]);
        constant += g[i] * (rest / s);
    }
    double partial = 0.0;
    out[perm[b]] = T(constant / s);
    for (std::int64_t l = b - 1; l >= 0; --l) {
        partial += g[l];
        out[perm[l]] = T((partial + constant) / s);
    }
    partial = 0.0;
    for (std::int64_t l = b + 1; l <= last; ++l) {
        partial -= g[l - 1];
        out[perm[l]] = T((partial + constant) / s);
    }
}

inline int thread_count(int requested) { return requested > 0 ? requested : max_threads(); }

}  // namespace

template <class T>
void wasserstein_1d_gradients(const Rows<T>& u, const Rows<T>& v, const std::int64_t* pair_u,
                              const std::int64_t* pair_v, std::int64_t num_pairs, double p, int num_threads,
                              const SortFunctions& sorts, const OneDGradients<T>& out) {
    if (sorts.sort_u64 == nullptr) throw std::invalid_argument("wasserstein_1d_gradients needs the uint64 sort");
    if ((out.d_u_weights && !u.weights) || (out.d_v_weights && !v.weights))
        throw std::invalid_argument("weight gradients need weights on that side");
    const int threads = thread_count(num_threads);
    ArgsortedRows<T> su(u, num_pairs), sv(v, num_pairs);
    if (su.presorted || sv.presorted) {
        const std::int64_t nu = su.presorted ? u.num_rows : 0, nv = sv.presorted ? v.num_rows : 0;
        const bool many_rows = threads > 1 && nu + nv > 1 && nu * u.n + nv * v.n >= k_parallel_min_points;
        claim_each(nu + nv, many_rows ? threads - 1 : 0, [&] {
            return [&, packed = Buffer<std::uint64_t>{}](std::int64_t r) mutable {
                if (r < nu) su.presort(r, packed, sorts);
                else sv.presort(r - nu, packed, sorts);
            };
        });
    }
    const std::int64_t n = u.n, m = v.n;
    const bool many_pairs = threads > 1 && num_pairs > 1 && num_pairs * (n + m) >= k_parallel_min_points;
#pragma omp parallel num_threads(threads) if (many_pairs)
    {
        RowScratch<T> scratch_u, scratch_v;
        Buffer<double> scratch(std::size_t(2 * (n + m)));
        double *gu = scratch.data(), *gv = gu + n, *gl_u = gv + m, *gl_v = gl_u + n;
#pragma omp for schedule(dynamic, 4)
        for (std::int64_t k = 0; k < num_pairs; ++k) {
            const ArgsortedRow<T> ru = su.row(pair_u[k], scratch_u, sorts), rv = sv.row(pair_v[k], scratch_v, sorts);
            const SortedSide<T> a{ru.x, ru.w, n}, b{rv.x, rv.w, m};
            // The value by the same walks as wasserstein_1d, over the same sorted rows.
            const double W = pair_distance(
                a.w != nullptr, b.w != nullptr, [&] { return WeightedRow<T>{a.x, a.w, n}; },
                [&] { return UniformRow<T>{a.x, n}; }, [&] { return WeightedRow<T>{b.x, b.w, m}; },
                [&] { return UniformRow<T>{b.x, m}; }, p);
            out.value[k] = T(W);
            gradient_walk(a, b, p, W, gu, gv, out.d_u_weights ? gl_u : nullptr, out.d_v_weights ? gl_v : nullptr);
            if (T* du = out.d_u ? out.d_u + k * n : nullptr)
                for (std::int64_t i = 0; i < n; ++i) du[ru.perm[i]] = T(gu[i]);
            if (T* dv = out.d_v ? out.d_v + k * m : nullptr)
                for (std::int64_t j = 0; j < m; ++j) dv[rv.perm[j]] = T(gv[j]);
            if (out.d_u_weights) weight_gradient(a.w, gl_u, n, ru.perm, out.d_u_weights + k * n);
            if (out.d_v_weights) weight_gradient(b.w, gl_v, m, rv.perm, out.d_v_weights + k * m);
        }
    }
}

template void wasserstein_1d_gradients<float>(const Rows<float>&, const Rows<float>&, const std::int64_t*,
                                              const std::int64_t*, std::int64_t, double, int, const SortFunctions&,
                                              const OneDGradients<float>&);
template void wasserstein_1d_gradients<double>(const Rows<double>&, const Rows<double>&, const std::int64_t*,
                                               const std::int64_t*, std::int64_t, double, int, const SortFunctions&,
                                               const OneDGradients<double>&);

namespace {
// The InputFlaw bits of row r of u's rows followed by v's, from its scan.
template <class T>
unsigned row_flaws(const Rows<T>& u, const Rows<T>& v, std::int64_t r, const RowScan<T>& scan) {
    return r < u.num_rows ? scan.flaws(u.n, u.weights != nullptr, u_values_flaw, u_weights_flaw)
                          : scan.flaws(v.n, v.weights != nullptr, v_values_flaw, v_weights_flaw);
}

}  // namespace

template <class T>
void wasserstein_1d(const Rows<T>& u, const Rows<T>& v, const std::int64_t* pair_u,
                    const std::int64_t* pair_v, std::int64_t num_pairs, double p,
                    bool assume_sorted, const SortFunctions& sorts, T* out, unsigned* flaws,
                    WeightedSort weighted_sort) {
    // Small calls stay off OpenMP altogether: even a team of one
    // (parallel if (false)) cost a measurable part of a 64-point call.
    const bool many_pairs = num_pairs > 1 && num_pairs * (u.n + v.n) >= k_parallel_min_points;
    const std::int64_t total_rows = u.num_rows + v.num_rows;
    const auto row_of = [&](std::int64_t r) -> std::pair<const Rows<T>*, std::int64_t> {
        return r < u.num_rows ? std::pair{&u, r} : std::pair{&v, r - u.num_rows};
    };
    // Each row's flaws in its own slot (rows may be sorted on several threads).
    Buffer<unsigned> found(flaws ? std::size_t(total_rows) : 0);
    const auto any_flaw = [&] {
        unsigned f = 0;
        for (std::int64_t r = 0; r < total_rows; ++r) f |= found[std::size_t(r)];
        *flaws = f;
        return f != 0;
    };
    if (assume_sorted) {
        if (flaws) {  // no copy to check in: one read of each row
            for (std::int64_t r = 0; r < total_rows; ++r) {
                const auto [rows, i] = row_of(r);
                RowScan<T> scan;
                scan.values(rows->values + i * rows->n, rows->n);
                if (rows->weights) scan.weights(rows->weights_of(i), rows->n);
                found[std::size_t(r)] = row_flaws(u, v, r, scan);
            }
            if (any_flaw()) return;
        }
        for_each_index(num_pairs, many_pairs, [&](std::int64_t k) {
            const T *xu = u.values + pair_u[k] * u.n, *xv = v.values + pair_v[k] * v.n;
            const T *wu = u.weights_of(pair_u[k]), *wv = v.weights_of(pair_v[k]);
            out[k] = T(pair_distance(
                wu != nullptr, wv != nullptr, [&] { return WeightedRow<T>{xu, wu, u.n}; },
                [&] { return UniformRow<T>{xu, u.n}; }, [&] { return WeightedRow<T>{xv, wv, v.n}; },
                [&] { return UniformRow<T>{xv, v.n}; }, p));
        });
        return;
    }
    if (sort_of<T>(sorts) == nullptr || ((u.weights || v.weights) && sorts.sort_u64 == nullptr))
        throw std::invalid_argument("wasserstein_1d needs T's sort, and the uint64 sort for weighted rows");

    if constexpr (std::is_same_v<T, double>) {
        // (The prefix histograms count in uint32.)
        const bool one_weighted_pair = u.num_rows == 1 && v.num_rows == 1 && u.weights && v.weights &&
                                       u.n < (std::int64_t(1) << 31) && v.n < (std::int64_t(1) << 31);
        const bool buckets = weighted_sort == WeightedSort::buckets ||
                             (weighted_sort == WeightedSort::automatic && u.n + v.n >= k_bucket_min_points);
        if (one_weighted_pair && buckets) {
            const int threads = u.n + v.n >= k_parallel_min_points ? max_threads() : 1;
            double w = 0.0;
            if (bucketed_pair_distance(u, v, p, threads, sorts, &w, flaws)) {
                if (!flaws || *flaws == 0) std::fill(out, out + num_pairs, w);  // every pair is (0, 0)
                return;
            }
        }
    }
    SortedRows<T> su(u), sv(v);
    const auto sort_row = [&](std::int64_t r, ThreadScratch<T>& scratch) {
        const auto [rows, i] = row_of(r);
        SortedRows<T>& dst = rows == &u ? su : sv;
        if (flaws) {
            RowScan<T> scan;
            sort_into(*rows, i, dst, scratch, sorts, scan);
            found[std::size_t(r)] = row_flaws(u, v, r, scan);
        } else {
            NoScan none;
            sort_into(*rows, i, dst, scratch, sorts, none);
        }
    };
    // Every row is sorted once, however many pairs use it; u's and v's rows
    // share one loop so that a single pair still keeps two threads busy
    // (claim_each: a busy machine's late thread does not hold up the call).
    const bool many_rows = total_rows > 1 && u.num_rows * u.n + v.num_rows * v.n >= k_parallel_min_points;
    if (many_rows) {
        claim_each(total_rows, max_threads() - 1, [&] {
            return [&, scratch = ThreadScratch<T>{}](std::int64_t r) mutable { sort_row(r, scratch); };
        });
    } else {
        ThreadScratch<T> scratch;
        for (std::int64_t r = 0; r < total_rows; ++r) sort_row(r, scratch);
    }
    if (flaws && any_flaw()) return;
    for_each_index(num_pairs, many_pairs, [&](std::int64_t k) {
        const std::int64_t iu = pair_u[k], iv = pair_v[k];
        out[k] = T(pair_distance(
            u.weights != nullptr, v.weights != nullptr, [&] { return su.record_row(iu); },
            [&] { return su.value_row(iu); }, [&] { return sv.record_row(iv); }, [&] { return sv.value_row(iv); },
            p));
    });
}

template void wasserstein_1d<float>(const Rows<float>&, const Rows<float>&, const std::int64_t*,
                                    const std::int64_t*, std::int64_t, double, bool, const SortFunctions&,
                                    float*, unsigned*, WeightedSort);
template void wasserstein_1d<double>(const Rows<double>&, const Rows<double>&, const std::int64_t*,
                                     const std::int64_t*, std::int64_t, double, bool, const SortFunctions&,
                                     double*, unsigned*, WeightedSort);

}  // namespace emd
