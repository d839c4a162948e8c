// Exact 1-D Wasserstein on the GPU: sort each row once, then the merge walk
// of csrc/cpu/one_d.cpp cut into merge-path chunks that run in parallel.
//
// Stages (all on the caller's stream, scratch carved from one workspace):
//   1. sort    every row of u and v, carrying its weights (CUB radix sort:
//              one device-wide sort per row for long rows, one segmented radix
//              sort for many short rows; cub::DeviceSegmentedSort would suit
//              very short rows better but doubles this file's compile time);
//   2. levels  cumulative weights of each sorted row in double, by a
//              deterministic reduce-then-scan (tile sums, per-row scan of the
//              tile sums, rescan of each tile), made exactly nondecreasing;
//   3. walk    the merged order of the two rows of a pair, n + m steps, is cut
//              into chunks of ITEMS steps; each thread finds where its chunk
//              starts by a binary search along a merge-path diagonal
//              (Odeh, Green, Mwassi, Shmueli, Birk, "Merge Path - parallel
//              merging made simple", IPDPSW 2012) and walks it sequentially;
//   4. finish  per pair, the chunk sums are added in a fixed order and the
//              1/p-th root is taken.
// Ranges, as on the CPU: values near the float range are divided by a power
// of two for the walk (range_shift), and a pair whose sum of |d|^p leaves the
// normal range is walked twice more, for its largest gap and for the sum of
// (|d| / largest gap)^p (walk_kernel's passes). Ordinary data gives the same
// bits as without either.
//
// p == 1 integrates |F_u - F_v| between consecutive merged values (the CDF
// form); p > 1 integrates |F_u^{-1} - F_v^{-1}|^p between consecutive merged
// quantile levels (the quantile form). Every term is nonnegative, so the sums
// (double for float and double inputs) lose no accuracy to cancellation.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cmath>
#include <cstdint>

#include "common/check.cuh"
#include "common/reduce.cuh"
#include "emd/gpu.hpp"

namespace emd::gpu {
namespace {

using detail::Carver;
using detail::check;
using detail::check_launch;
using detail::require;
using i64 = std::int64_t;

constexpr int SCAN_BLOCK = 256;
constexpr int SCAN_ITEMS = 8;
constexpr i64 SCAN_TILE = SCAN_BLOCK * SCAN_ITEMS;
constexpr int WALK_BLOCK = 256;
constexpr int WALK_ITEMS = 16;  // merged steps per thread: amortizes its diagonal search
constexpr i64 WALK_SPAN = i64(WALK_BLOCK) * WALK_ITEMS;
constexpr int FINISH_BLOCK = 128;
// Rows at least this long are sorted one at a time by the device-wide radix
// sort (all SMs on one row); shorter rows go to the segmented sort.
constexpr i64 LONG_ROW = i64(1) << 16;

i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }

// ---------------------------------------------------------------------------
// Stage 2: levels. c[r, i] = sum_{k <= i} w[r, k] in double.

// Kernel A: one block per tile, its sum.
template <class T>
__global__ void tile_sums_kernel(const T* __restrict__ w, i64 n, i64 tiles_per_row, double* __restrict__ tile_sum) {
    const i64 t = blockIdx.x;
    const i64 row = t / tiles_per_row, begin = (t % tiles_per_row) * SCAN_TILE;
    const T* rw = w + row * n;
    double s = 0.0;
    for (int k = 0; k < SCAN_ITEMS; ++k) {
        const i64 i = begin + i64(k) * SCAN_BLOCK + threadIdx.x;  // striped: coalesced
        if (i < n) s += double(rw[i]);
    }
    s = detail::block_sum<SCAN_BLOCK>(s);
    if (threadIdx.x == 0) tile_sum[t] = s;
}

// Kernel B: one block per row; exclusive scan of its tile sums, in chunks of
// SCAN_TILE with a carry, then a running maximum so that the tile offsets are
// exactly nondecreasing whatever the rounding of the scan.
__global__ void tile_offsets_kernel(const double* __restrict__ tile_sum, i64 tiles_per_row, double* __restrict__ offset) {
    const i64 row = blockIdx.x;
    const double* ts = tile_sum + row * tiles_per_row;
    double* off = offset + row * tiles_per_row;
    double carry = 0.0, running_max = 0.0;
    for (i64 base = 0; base < tiles_per_row; base += SCAN_TILE) {
        double items[SCAN_ITEMS];
        for (int k = 0; k < SCAN_ITEMS; ++k) {
            const i64 i = base + i64(threadIdx.x) * SCAN_ITEMS + k;  // blocked, as BlockScan wants
            items[k] = i < tiles_per_row ? ts[i] : 0.0;
        }
        const double total = detail::block_exclusive_sum<SCAN_BLOCK>(items);
        double local_max = 0.0;
        for (int k = 0; k < SCAN_ITEMS; ++k) {
            items[k] += carry;
            local_max = fmax(local_max, items[k]);
        }
        const double before = fmax(running_max, detail::block_exclusive_max<SCAN_BLOCK>(local_max, 0.0));
        double m = before;
        for (int k = 0; k < SCAN_ITEMS; ++k) {
            m = fmax(m, items[k]);
            const i64 i = base + i64(threadIdx.x) * SCAN_ITEMS + k;
            if (i < tiles_per_row) off[i] = m;
        }
        carry += total;
        // The block's running max is the max over all threads' m: thread
        // SCAN_BLOCK - 1 holds it (m is nondecreasing in thread order).
        __shared__ double last_max;
        if (threadIdx.x == SCAN_BLOCK - 1) last_max = m;
        __syncthreads();
        running_max = last_max;
        __syncthreads();
    }
}

// Kernel C: one block per tile; the inclusive scan of the tile plus its offset,
// made nondecreasing and capped by the next tile's offset, so the whole row is
// nondecreasing: the merge-path search below relies on sorted levels.
template <class T>
__global__ void tile_scan_kernel(const T* __restrict__ w, i64 n, i64 tiles_per_row, const double* __restrict__ offset,
                                 double* __restrict__ c) {
    const i64 t = blockIdx.x;
    const i64 row = t / tiles_per_row, tile = t % tiles_per_row, begin = tile * SCAN_TILE;
    const T* rw = w + row * n;
    double items[SCAN_ITEMS];
    for (int k = 0; k < SCAN_ITEMS; ++k) {
        const i64 i = begin + i64(threadIdx.x) * SCAN_ITEMS + k;
        items[k] = i < n ? double(rw[i]) : 0.0;
    }
    // Inclusive within the thread, then the block's exclusive sum of thread totals.
    double thread_items[1];
    for (int k = 1; k < SCAN_ITEMS; ++k) items[k] += items[k - 1];
    thread_items[0] = items[SCAN_ITEMS - 1];
    (void)detail::block_exclusive_sum<SCAN_BLOCK, 1>(thread_items);
    for (int k = 0; k < SCAN_ITEMS; ++k) items[k] += thread_items[0];
    // Within a thread the values are nondecreasing (nonnegative terms added to
    // one prefix); across threads the scan's rounding may dip by an ulp.
    const double before = detail::block_exclusive_max<SCAN_BLOCK>(items[SCAN_ITEMS - 1], 0.0);
    const double off = offset[row * tiles_per_row + tile];
    const double cap = tile + 1 < tiles_per_row ? offset[row * tiles_per_row + tile + 1]
                                                : INFINITY;
    double* rc = c + row * n;
    for (int k = 0; k < SCAN_ITEMS; ++k) {
        const i64 i = begin + i64(threadIdx.x) * SCAN_ITEMS + k;
        if (i < n) rc[i] = fmin(off + fmax(items[k], before), cap);
    }
}

// ---------------------------------------------------------------------------
// Stage 3: the walk.

template <class T>
struct SortedRow {
    const T* x;       // sorted values
    const double* c;  // cumulative weights, nullptr: uniform
    i64 n;

    // Quantile level of the first i + 1 points. Division (not a product with
    // 1 / total) keeps the last level exactly 1 and the levels nondecreasing;
    // uniform levels (i + 1) / n are correctly rounded, so equal fractions tie
    // exactly, as the integer comparisons of the CPU kernel do.
    __device__ double level(i64 i) const { return c ? c[i] / c[n - 1] : double(i + 1) / double(n); }
    // Times a power of two (1 but for values near the float range: exact).
    __device__ double value(i64 i) const { return double(x[i]) * scale; }
    double scale = 1.0;
};

template <class T>
__device__ SortedRow<T> row_of(const T* x, const double* c, i64 row, i64 n) {
    return {x + row * n, c ? c + row * n : nullptr, n};
}

// Values near the float range: the walks take differences of values (up to
// twice the largest |value|), so -1e308 .. 1e308 would give inf. The CPU's
// rule (csrc/cpu/one_d.cpp, wasserstein_pair), without its n m factor since the
// levels here are fractions, not counts: the values are divided by 2^k
// (exact for normal values) and the result multiplied back. Sorted rows hold
// their extremes at the ends, so the check is O(1) and costs ordinary data
// nothing (k = 0, the values multiplied by exactly 1).
template <class T>
__device__ int range_shift(const SortedRow<T>& u, const SortedRow<T>& v) {
    const double big = fmax(fmax(fabs(u.value(0)), fabs(u.value(u.n - 1))), fmax(fabs(v.value(0)), fabs(v.value(v.n - 1))));
    if (!(big > 0x1p994)) return 0;
    return int(ceil(log2(big) + 2.0 - 996.0));
}

// The two sorted rows of pair k, their values scaled by 2^-shift.
template <class T>
struct PairRows {
    const T* u_x;
    const double* u_c;
    i64 n;
    const T* v_x;
    const double* v_c;
    i64 m;
    const i64* pair_u;
    const i64* pair_v;

    __device__ int rows(i64 k, SortedRow<T>& u, SortedRow<T>& v) const {
        u = row_of(u_x, u_c, pair_u[k], n);
        v = row_of(v_x, v_c, pair_v[k], m);
        const int shift = range_shift(u, v);
        u.scale = v.scale = ldexp(1.0, -shift);
        return shift;
    }
};

// Where the first d steps of the merge end: i steps in u, d - i in v, with
// u[a] going before v[b] when key_u(a) <= key_v(b) (u first on ties). The
// answer is known to lie in [lo, hi] (the splits of an enclosing range of
// diagonals bound it: splits are nondecreasing in d).
template <class KeyU, class KeyV>
__device__ i64 merge_path_split(i64 d, i64 n, i64 m, i64 lo, i64 hi, KeyU key_u, KeyV key_v) {
    lo = lo > d - m ? lo : d - m;
    hi = hi < d ? hi : d;
    hi = hi < n ? hi : n;
    while (lo < hi) {
        const i64 mid = (lo + hi) / 2;
        if (key_u(mid) <= key_v(d - 1 - mid)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

__device__ inline double pow_abs(double d, double p) {
    d = fabs(d);
    return p == 2.0 ? d * d : pow(d, p);
}

// W_1: after each merged value x, the CDFs stay at (F_u, F_v) until the next
// merged value; the step adds |F_u - F_v| (next - x).
template <class T>
__device__ double w1_chunk(const SortedRow<T>& u, const SortedRow<T>& v, i64 d0, i64 d1, i64 i) {
    const i64 n = u.n, m = v.n;
    i64 j = d0 - i;
    double fu = i > 0 ? u.level(i - 1) : 0.0, fv = j > 0 ? v.level(j - 1) : 0.0;
    double acc = 0.0;
    for (i64 d = d0; d < d1; ++d) {
        double x;
        if (j >= m || (i < n && u.value(i) <= v.value(j))) {
            x = u.value(i);
            fu = u.level(i);
            ++i;
        } else {
            x = v.value(j);
            fv = v.level(j);
            ++j;
        }
        if (i < n || j < m) {
            const double next = j >= m ? u.value(i) : (i >= n ? v.value(j) : fmin(u.value(i), v.value(j)));
            acc += fabs(fu - fv) * (next - x);
        }
    }
    return acc;
}

// What a positive-length step of the quantile walk adds: (level - previous)
// |u_i - v_j|^p (the sum W_p^p), the same with the gaps divided by `scale` (the
// second walk of pairs whose sum left the float range), or only the largest
// |u_i - v_j| (which sets that scale).
struct PowSum {
    double p;
    __device__ double operator()(double acc, double len, double d) const { return acc + len * pow_abs(d, p); }
};
struct ScaledPowSum {
    double p, scale;  // a division, not a reciprocal: the scale may be subnormal
    __device__ double operator()(double acc, double len, double d) const { return acc + len * pow_abs(d / scale, p); }
};
struct MaxGap {
    __device__ double operator()(double acc, double, double d) const { return fmax(acc, fabs(d)); }
};

// W_p^p: between consecutive merged quantile levels the quantile functions are
// the current points u[i], v[j]; the step adds (level - previous) |u_i - v_j|^p.
template <class T, class Step>
__device__ double wpp_chunk(const SortedRow<T>& u, const SortedRow<T>& v, i64 d0, i64 d1, i64 i, Step step) {
    const i64 n = u.n, m = v.n;
    i64 j = d0 - i;
    double prev_u = i > 0 ? u.level(i - 1) : 0.0, prev_v = j > 0 ? v.level(j - 1) : 0.0;
    double acc = 0.0;
    for (i64 d = d0; d < d1; ++d) {
        const double lu = i < n ? u.level(i) : 2.0, lv = j < m ? v.level(j) : 2.0;
        const double prev = fmax(prev_u, prev_v);
        // Levels end at exactly 1 in both rows, so the index of the other row
        // is in range whenever the step has positive length; clamp for the rest.
        const i64 ic = i < n ? i : n - 1, jc = j < m ? j : m - 1;
        if (lu <= lv) {
            if (lu > prev) acc = step(acc, lu - prev, u.value(i) - v.value(jc));
            prev_u = lu;
            ++i;
        } else {
            if (lv > prev) acc = step(acc, lv - prev, u.value(ic) - v.value(j));
            prev_v = lv;
            ++j;
        }
    }
    return acc;
}

// The walk's three passes. SUM: every pair (W_1, or W_p^p with p > 1). Then,
// only for pairs whose W_p^p left the normal range (gap_scale[k] != 0 after
// finish_kernel), as in csrc/cpu/one_d.cpp: MAX_GAP finds the largest gap, and
// SCALED sums the terms with the gaps divided by it (each term at most 1).
enum class Pass { sum, max_gap, scaled };

template <class T, Pass PASS>
__global__ void walk_kernel(PairRows<T> rows, i64 blocks_per_pair, double p, const double* __restrict__ gap_scale,
                            double* __restrict__ partial) {
    const i64 b = blockIdx.x;
    const i64 k = b / blocks_per_pair;
    if (PASS != Pass::sum && gap_scale[k] == 0.0) return;  // the whole block: before any barrier
    const i64 n = rows.n, m = rows.m;
    const i64 total = n + m;
    const i64 block_d0 = (b % blocks_per_pair) * WALK_SPAN;
    const i64 d0 = block_d0 + i64(threadIdx.x) * WALK_ITEMS;
    SortedRow<T> u, v;
    rows.rows(k, u, v);
    // p == 1 merges by value, p > 1 by quantile level.
    const bool by_value = p == 1.0;
    auto key_u = [&](i64 a) { return by_value ? u.value(a) : u.level(a); };
    auto key_v = [&](i64 c) { return by_value ? v.value(c) : v.level(c); };
    // Two-level search: two threads find the block's splits over the whole
    // rows (log2(n) steps), then every thread searches only between them
    // (log2(WALK_SPAN) steps).
    __shared__ i64 block_split[2];
    if (threadIdx.x < 2) {
        const i64 db = block_d0 + threadIdx.x * WALK_SPAN;
        block_split[threadIdx.x] = merge_path_split(db < total ? db : total, n, m, 0, n, key_u, key_v);
    }
    __syncthreads();
    double acc = 0.0;
    if (d0 < total) {
        const i64 d1 = d0 + WALK_ITEMS < total ? d0 + WALK_ITEMS : total;
        const i64 i = merge_path_split(d0, n, m, block_split[0], block_split[1], key_u, key_v);
        if (PASS == Pass::max_gap) acc = wpp_chunk(u, v, d0, d1, i, MaxGap{});
        else if (PASS == Pass::scaled) acc = wpp_chunk(u, v, d0, d1, i, ScaledPowSum{p, gap_scale[k]});
        else acc = by_value ? w1_chunk(u, v, d0, d1, i) : wpp_chunk(u, v, d0, d1, i, PowSum{p});
    }
    if (PASS == Pass::max_gap) {
        acc = detail::block_max<WALK_BLOCK>(acc);
    } else {
        acc = detail::block_sum<WALK_BLOCK>(acc);
    }
    if (threadIdx.x == 0) partial[b] = acc;
}

__device__ inline double root(double s, double p) { return p == 1.0 ? s : (p == 2.0 ? sqrt(s) : pow(s, 1.0 / p)); }

// Stage 4: one block per pair adds its chunk sums in a fixed order (or, after
// the MAX_GAP pass, takes their maximum). SUM writes every result and marks
// in gap_scale (when given: p > 1) the pairs whose W_p^p left the normal range
// (|d|^p overflowed or underflowed: gaps of 1e160 at p = 2, of 2 or 0.5 at
// p = 2000); MAX_GAP replaces each mark by the largest gap (0 when there is
// nothing to rescale: all gaps zero); SCALED rewrites the marked results.
template <class T, Pass PASS>
__global__ void finish_kernel(PairRows<T> rows, const double* __restrict__ partial, i64 blocks_per_pair, double p,
                              double* __restrict__ gap_scale, T* __restrict__ out) {
    const i64 k = blockIdx.x;
    if (PASS != Pass::sum && gap_scale[k] == 0.0) return;  // the whole block: before any barrier
    double s = 0.0;
    if (PASS == Pass::max_gap) {
        for (i64 b = threadIdx.x; b < blocks_per_pair; b += FINISH_BLOCK) s = fmax(s, partial[k * blocks_per_pair + b]);
        s = detail::block_max<FINISH_BLOCK>(s);
    } else {
        for (i64 b = threadIdx.x; b < blocks_per_pair; b += FINISH_BLOCK) s += partial[k * blocks_per_pair + b];
        s = detail::block_sum<FINISH_BLOCK>(s);
    }
    if (threadIdx.x != 0) return;
    if (PASS == Pass::max_gap) {
        gap_scale[k] = s > 0.0 && isfinite(s) ? s : 0.0;
        return;
    }
    SortedRow<T> u, v;
    const int shift = rows.rows(k, u, v);
    s = fmax(s, 0.0);
    if (PASS == Pass::scaled) {
        out[k] = T(ldexp(gap_scale[k] * root(s, p), shift));
        return;
    }
    out[k] = T(ldexp(root(s, p), shift));
    if (gap_scale) gap_scale[k] = s >= 1e-280 && s <= 1e280 ? 0.0 : 1.0;
}

// ---------------------------------------------------------------------------
// Host side. One plan walks the workspace twice: to measure it, then to use it.

struct RowStart {
    i64 n;
    __host__ __device__ i64 operator()(i64 r) const { return r * n; }
};

template <class T>
struct Side {
    const T* values;
    const T* weights;
    i64 rows, n;
    // carved:
    T* sorted_values = nullptr;
    T* sorted_weights = nullptr;
    double* levels = nullptr;
    double* tile_sum = nullptr;
    double* tile_offset = nullptr;
    std::size_t sort_temp_bytes = 0;
};

template <class T>
std::size_t sort_temp_bytes(const Side<T>& s) {
    std::size_t bytes = 0;
    if (s.rows == 1 || s.n >= LONG_ROW) {
        if (s.weights)
            check(cub::DeviceRadixSort::SortPairs(nullptr, bytes, s.values, (T*)nullptr, s.weights, (T*)nullptr, s.n),
                  "cub::DeviceRadixSort::SortPairs (size)");
        else
            check(cub::DeviceRadixSort::SortKeys(nullptr, bytes, s.values, (T*)nullptr, s.n),
                  "cub::DeviceRadixSort::SortKeys (size)");
    } else {
        auto starts = thrust::make_transform_iterator(thrust::make_counting_iterator<i64>(0), RowStart{s.n});
        const i64 items = s.rows * s.n;
        if (s.weights)
            check(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, bytes, s.values, (T*)nullptr, s.weights, (T*)nullptr,
                                                      items, s.rows, starts, starts + 1),
                  "cub::DeviceSegmentedRadixSort::SortPairs (size)");
        else
            check(cub::DeviceSegmentedRadixSort::SortKeys(nullptr, bytes, s.values, (T*)nullptr, items, s.rows, starts,
                                                     starts + 1),
                  "cub::DeviceSegmentedRadixSort::SortKeys (size)");
    }
    return bytes;
}

template <class T>
void sort_side(Side<T>& s, void* temp, cudaStream_t stream) {
    std::size_t bytes = s.sort_temp_bytes;
    if (s.rows == 1 || s.n >= LONG_ROW) {
        for (i64 r = 0; r < s.rows; ++r) {
            const i64 off = r * s.n;
            if (s.weights)
                check(cub::DeviceRadixSort::SortPairs(temp, bytes, s.values + off, s.sorted_values + off,
                                                      s.weights + off, s.sorted_weights + off, s.n, 0,
                                                      int(sizeof(T) * 8), stream),
                      "cub::DeviceRadixSort::SortPairs");
            else
                check(cub::DeviceRadixSort::SortKeys(temp, bytes, s.values + off, s.sorted_values + off, s.n, 0,
                                                     int(sizeof(T) * 8), stream),
                      "cub::DeviceRadixSort::SortKeys");
        }
    } else {
        auto starts = thrust::make_transform_iterator(thrust::make_counting_iterator<i64>(0), RowStart{s.n});
        const i64 items = s.rows * s.n;
        if (s.weights)
            check(cub::DeviceSegmentedRadixSort::SortPairs(temp, bytes, s.values, s.sorted_values, s.weights,
                                                      s.sorted_weights, items, s.rows, starts, starts + 1, 0, int(sizeof(T) * 8), stream),
                  "cub::DeviceSegmentedRadixSort::SortPairs");
        else
            check(cub::DeviceSegmentedRadixSort::SortKeys(temp, bytes, s.values, s.sorted_values, items, s.rows, starts,
                                                     starts + 1, 0, int(sizeof(T) * 8), stream),
                  "cub::DeviceSegmentedRadixSort::SortKeys");
    }
}

template <class T>
void levels_side(Side<T>& s, cudaStream_t stream) {
    const i64 tiles = ceil_div(s.n, SCAN_TILE);
    const T* w = s.sorted_weights;
    tile_sums_kernel<T><<<detail::grid_1d(s.rows * tiles), SCAN_BLOCK, 0, stream>>>(w, s.n, tiles, s.tile_sum);
    check_launch("tile_sums_kernel");
    tile_offsets_kernel<<<detail::grid_1d(s.rows), SCAN_BLOCK, 0, stream>>>(s.tile_sum, tiles, s.tile_offset);
    check_launch("tile_offsets_kernel");
    tile_scan_kernel<T><<<detail::grid_1d(s.rows * tiles), SCAN_BLOCK, 0, stream>>>(w, s.n, tiles, s.tile_offset,
                                                                                      s.levels);
    check_launch("tile_scan_kernel");
}

template <class T>
struct Plan {
    Side<T> u, v;
    i64 blocks_per_pair = 0;
    double* partial = nullptr;
    double* gap_scale = nullptr;  // p > 1: per pair, 0 or the largest gap (see finish_kernel)
    void* sort_temp = nullptr;
    std::size_t sort_temp_bytes = 0;
    std::size_t bytes = 0;

    Plan(const OneDProblem& prob, void* base) {
        u = Side<T>{static_cast<const T*>(prob.d_u_values), static_cast<const T*>(prob.d_u_weights), prob.u_rows, prob.n};
        v = Side<T>{static_cast<const T*>(prob.d_v_values), static_cast<const T*>(prob.d_v_weights), prob.v_rows, prob.m};
        blocks_per_pair = ceil_div(prob.n + prob.m, WALK_SPAN);
        Carver carve(base);
        partial = carve.take<double>(std::size_t(prob.num_pairs * blocks_per_pair));
        if (prob.p != 1.0) gap_scale = carve.take<double>(std::size_t(prob.num_pairs));
        for (Side<T>* s : {&u, &v}) {
            const std::size_t items = std::size_t(s->rows * s->n);
            if (!prob.assume_sorted) {
                s->sorted_values = carve.take<T>(items);
                if (s->weights) s->sorted_weights = carve.take<T>(items);
                s->sort_temp_bytes = emd::gpu::sort_temp_bytes(*s);
                sort_temp_bytes = s->sort_temp_bytes > sort_temp_bytes ? s->sort_temp_bytes : sort_temp_bytes;
            } else {
                s->sorted_values = const_cast<T*>(s->values);
                s->sorted_weights = const_cast<T*>(s->weights);
            }
            if (s->weights) {
                const std::size_t tiles = std::size_t(s->rows * ceil_div(s->n, SCAN_TILE));
                s->levels = carve.take<double>(items);
                s->tile_sum = carve.take<double>(tiles);
                s->tile_offset = carve.take<double>(tiles);
            }
        }
        if (!prob.assume_sorted) sort_temp = carve.take<char>(sort_temp_bytes);
        bytes = carve.bytes();
    }
};

void validate(const OneDProblem& prob) {
    require(prob.u_rows >= 1 && prob.v_rows >= 1 && prob.n >= 1 && prob.m >= 1, "u and v rows must be nonempty");
    require(prob.num_pairs >= 0, "num_pairs must be >= 0");
    require(prob.p >= 1.0 && std::isfinite(prob.p), "p must be a finite number >= 1");
    // cub's segmented radix sort counts items in 32 bits.
    require(prob.n < (i64(1) << 31) && prob.m < (i64(1) << 31), "rows longer than 2^31 - 1 points are not supported on the GPU");
    require((prob.u_rows * prob.n < (i64(1) << 31) || prob.n >= LONG_ROW) &&
                (prob.v_rows * prob.m < (i64(1) << 31) || prob.m >= LONG_ROW),
            "batches of more than 2^31 - 1 points in all are not supported on the GPU; split the batch");
}

template <class T>
std::size_t workspace_bytes_t(const OneDProblem& prob) {
    return Plan<T>(prob, nullptr).bytes;
}

template <class T, Pass PASS>
void walk_pass(const PairRows<T>& rows, const Plan<T>& plan, const OneDProblem& prob, double* gap_scale, T* out,
               cudaStream_t stream) {
    walk_kernel<T, PASS><<<detail::grid_1d(prob.num_pairs * plan.blocks_per_pair), WALK_BLOCK, 0, stream>>>(
        rows, plan.blocks_per_pair, prob.p, gap_scale, plan.partial);
    check_launch("walk_kernel");
    finish_kernel<T, PASS><<<detail::grid_1d(prob.num_pairs), FINISH_BLOCK, 0, stream>>>(
        rows, plan.partial, plan.blocks_per_pair, prob.p, gap_scale, out);
    check_launch("finish_kernel");
}

template <class T>
void run_t(const OneDProblem& prob, T* out, void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
    Plan<T> plan(prob, workspace);
    require(workspace_bytes >= plan.bytes, "workspace too small for this problem");
    if (prob.num_pairs == 0) return;
    for (Side<T>* s : {&plan.u, &plan.v}) {
        if (!prob.assume_sorted) sort_side(*s, plan.sort_temp, stream);
        if (s->weights) levels_side(*s, stream);
    }
    const PairRows<T> rows{plan.u.sorted_values, plan.u.levels, prob.n, plan.v.sorted_values, plan.v.levels, prob.m,
                           prob.d_pair_u, prob.d_pair_v};
    // p == 1 takes no powers: no marks, and only the SUM pass.
    double* gap_scale = prob.p == 1.0 ? nullptr : plan.gap_scale;
    walk_pass<T, Pass::sum>(rows, plan, prob, gap_scale, out, stream);
    if (!gap_scale) return;
    // The rescaled walks of the pairs the SUM pass marked; the blocks of
    // every other pair return at once, so ordinary data pays four near-empty
    // launches and no read back to the host.
    walk_pass<T, Pass::max_gap>(rows, plan, prob, gap_scale, out, stream);
    walk_pass<T, Pass::scaled>(rows, plan, prob, gap_scale, out, stream);
}

}  // namespace

std::size_t wasserstein_1d_workspace_bytes(const OneDProblem& prob, int device) {
    validate(prob);
    detail::use_device(device);
    return prob.dtype == Dtype::float32 ? workspace_bytes_t<float>(prob) : workspace_bytes_t<double>(prob);
}

void wasserstein_1d(const OneDProblem& prob, void* d_out, void* d_workspace, std::size_t workspace_bytes, int device,
                    std::uintptr_t stream) {
    validate(prob);
    detail::use_device(device);
    if (prob.dtype == Dtype::float32)
        run_t<float>(prob, static_cast<float*>(d_out), d_workspace, workspace_bytes, detail::as_stream(stream));
    else
        run_t<double>(prob, static_cast<double*>(d_out), d_workspace, workspace_bytes, detail::as_stream(stream));
}

}  // namespace emd::gpu
