// A key-value sort: n uint64 keys in ascending order, each uint64 payload
// moved with its key; and kv_sort_records, which sorts a float64 row's
// (value, weight) pairs into records the way the weighted 1-D kernel needs
// them, with no index, random gather or tie fix-up after the sort.
//
// Status: an experiment of issue 19 (branch kvsort), NOT part of the emd
// build. At 1e6 points it beats the kernel's pack + NumPy uint64 sort +
// gather by 1.07-1.16x (CPU time), below the 1.2x asked for wiring it in, and
// it is slower at 1e3-1e5 points (0.78-0.89x), where the gather is in cache;
// benchmarks/RESULTS.md, "Issue 19, a key-value sort for weighted rows",
// has the numbers. Check and benchmark: benchmarks/kv_sort/run.sh.
//
// The algorithm is the vectorized quicksort of Bramas, "A Novel Hybrid
// Quicksort Algorithm Vectorized using AVX-512 on Intel Skylake" (IJACSA 8(10),
// 2017), and of Intel's x86-simd-sort, here written for (key, payload) pairs
// held in two arrays:
// - partition in place: each vector of 8 keys is split by one comparison mask;
//   one permutation per array (from a 256-entry table) puts the pairs below
//   the pivot first, and the same permutation moves the payloads, so the two
//   arrays stay in step; 4 vectors a step, the end to read chosen without a
//   branch;
// - ranges of at most k_kv_base_case pairs are sorted in registers by a bitonic
//   network, payloads blended with the same masks as their keys (the 64-pair
//   leaf in a transposed layout, see bitonic_sort);
// - the pivot is the median of a sorted sample; a recursion deeper than
//   2 log2 n (an adversarial input) finishes the range with a heapsort.
//
// kv_sort_is_available() says whether this CPU runs it (AVX-512F and DQ, asked
// of the CPU on each call: no global state; false where the compiler is not
// GCC/Clang on x86-64); where it does not, a caller keeps its key-only sort.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "emd/sort.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMD_KV_SORT_X86 1
#else
#define EMD_KV_SORT_X86 0
#endif

namespace emd {
namespace kv_detail {

// The scalar fallback (depth limit, and leaves holding the key UINT64_MAX,
// which the network uses as padding): heapsort on the two arrays, O(n log n)
// whatever the input.
inline void sift_down(std::uint64_t* k, std::uint64_t* v, std::int64_t root, std::int64_t n) {
    for (;;) {
        std::int64_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && k[child] < k[child + 1]) ++child;
        if (!(k[root] < k[child])) return;
        std::swap(k[root], k[child]);
        std::swap(v[root], v[child]);
        root = child;
    }
}

inline void heap_sort(std::uint64_t* k, std::uint64_t* v, std::int64_t n) {
    for (std::int64_t i = n / 2; i-- > 0;) sift_down(k, v, i, n);
    for (std::int64_t end = n - 1; end > 0; --end) {
        std::swap(k[0], k[end]);
        std::swap(v[0], v[end]);
        sift_down(k, v, 0, end);
    }
}

// The records of sorted pairs, one at a time (ranges the network does not
// write: runs of equal keys, heapsorted ranges).
inline void emit_records_scalar(const std::uint64_t* keys, const std::uint64_t* values, std::int64_t n,
                                double* out) {
    for (std::int64_t i = 0; i < n; ++i) {
        const double x = detail::key_to_float<double>(keys[i]);
        std::memcpy(out + 2 * i, &x, sizeof(double));
        std::memcpy(out + 2 * i + 1, values + i, sizeof(double));
    }
}

inline int floor_log2(std::uint64_t n) {
    int b = 0;
    while (n >>= 1) ++b;
    return b;
}

#if EMD_KV_SORT_X86
#define EMD_KV_AVX512 __attribute__((target("avx512f,avx512dq")))
#define EMD_KV_AVX512_INLINE __attribute__((target("avx512f,avx512dq"), always_inline)) inline

constexpr std::uint64_t k_pad = ~std::uint64_t(0);
// Leaves of up to this many pairs are sorted in registers: 8 vectors of keys
// and 8 of payloads, 16 of the 32 zmm registers.
constexpr std::int64_t k_kv_base_case = 64;
// Vectors a partition step reads and writes (see partition).
constexpr int k_kv_unroll = 4;

// The bitonic sort of 8V lanes (Batcher 1968), one compare-exchange layer at
// a time: position g meets position g ^ J; within each block of K positions
// the pair is put in ascending order where g & K is 0, descending elsewhere.
// A lane takes its partner's payload exactly when it takes its partner's key
// and the keys differ: equal keys keep their own, so the pairs are preserved
// bit for bit.
//
// Two layouts of positions over lanes. Rows: lane l of register r holds
// g = 8 r + l; partners with J < 8 share a register and meet through a
// permutation. Transposed (the 64-pair leaf): lane l of register r holds
// g = 8 l + r; the first three stages (each column of 8 sorted) and the J < 8
// layers of the later ones then compare whole registers, and only the J >= 8
// layers permute lanes (6 layers of 21, against 15 in rows); one 8 x 8
// transpose of keys and payloads at the end brings the order back to rows.
constexpr int position(bool transposed, int reg, int lane) { return transposed ? 8 * lane + reg : 8 * reg + lane; }

// The lanes of register `reg` that keep the smaller key of their pair.
constexpr __mmask8 keeps_min(bool transposed, int reg, int K, int J) {
    unsigned m = 0;
    for (int lane = 0; lane < 8; ++lane) {
        const int g = position(transposed, reg, lane);
        if (((g & J) == 0) != ((g & K) != 0)) m |= 1u << lane;
    }
    return __mmask8(m);
}

// Lane l of one register against lane l ^ Distance of the same register.
template <__mmask8 KeepsMin, int Distance>
EMD_KV_AVX512_INLINE void exchange_lanes(__m512i& k, __m512i& v) {
    const __m512i partner = _mm512_xor_si512(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(Distance));
    const __m512i pk = _mm512_maskz_permutexvar_epi64(0xff, partner, k);
    const __m512i pv = _mm512_maskz_permutexvar_epi64(0xff, partner, v);
    const __m512i lo = _mm512_maskz_min_epu64(0xff, k, pk), hi = _mm512_maskz_max_epu64(0xff, k, pk);
    const __m512i nk = _mm512_mask_blend_epi64(KeepsMin, hi, lo);
    const __mmask8 took = _mm512_cmpneq_epu64_mask(nk, k);
    k = nk;
    v = _mm512_mask_blend_epi64(took, v, pv);
}

// Register a against register b, lane by lane; a keeps the smaller key in the
// lanes of Ascending, the larger elsewhere.
template <__mmask8 Ascending>
EMD_KV_AVX512_INLINE void exchange_registers(__m512i& ka, __m512i& va, __m512i& kb, __m512i& vb) {
    const __m512i lo = _mm512_maskz_min_epu64(0xff, ka, kb), hi = _mm512_maskz_max_epu64(0xff, ka, kb);
    const __m512i first = _mm512_mask_blend_epi64(Ascending, hi, lo);
    const __mmask8 took = _mm512_cmpneq_epu64_mask(first, ka);
    kb = _mm512_mask_blend_epi64(Ascending, lo, hi);
    ka = first;
    const __m512i v_a = va;
    va = _mm512_mask_blend_epi64(took, va, vb);
    vb = _mm512_mask_blend_epi64(took, vb, v_a);
}

template <int V, bool T, int K, int J, int R>
EMD_KV_AVX512_INLINE void layer_register(__m512i (&k)[V], __m512i (&v)[V]) {
    // partners in the same register: J < 8 in rows, J >= 8 transposed
    constexpr bool same_register = T ? J >= 8 : J < 8;
    constexpr int lane_distance = T ? J / 8 : J, register_distance = T ? J : J / 8;
    if constexpr (same_register) {
        exchange_lanes<keeps_min(T, R, K, J), lane_distance>(k[R], v[R]);
    } else if constexpr ((R & register_distance) == 0) {
        constexpr int S = R | register_distance;
        // the positions of register R are the lower of their pairs
        exchange_registers<keeps_min(T, R, K, J)>(k[R], v[R], k[S], v[S]);
    }
}

template <int V, bool T, int K, int J, std::size_t... R>
EMD_KV_AVX512_INLINE void layer(__m512i (&k)[V], __m512i (&v)[V], std::index_sequence<R...>) {
    (layer_register<V, T, K, J, int(R)>(k, v), ...);
}

template <int V, bool T, int K, int J>
EMD_KV_AVX512_INLINE void merge_layers(__m512i (&k)[V], __m512i (&v)[V]) {
    layer<V, T, K, J>(k, v, std::make_index_sequence<V>{});
    if constexpr (J > 1) merge_layers<V, T, K, J / 2>(k, v);
}

// The rows layout for any V, the transposed one for V = 8 (Transposed).
template <int V, bool Transposed = false, int K = 2>
EMD_KV_AVX512_INLINE void bitonic_sort(__m512i (&k)[V], __m512i (&v)[V]) {
    static_assert(!Transposed || V == 8, "the transposed layout is 8 x 8");
    merge_layers<V, Transposed, K, K / 2>(k, v);
    if constexpr (K < 8 * V) bitonic_sort<V, Transposed, 2 * K>(k, v);
}

// Register j becomes column j: three rounds of two-source permutations, each
// pairing registers at distance 1, 2, then 4.
EMD_KV_AVX512_INLINE void transpose8(__m512i (&x)[8]) {
    __m512i t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_maskz_unpacklo_epi64(0xff, x[i], x[i + 1]);
        t[i + 1] = _mm512_maskz_unpackhi_epi64(0xff, x[i], x[i + 1]);
    }
    const __m512i lo2 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), hi2 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int i : {0, 1, 4, 5}) {
        x[i] = _mm512_maskz_permutex2var_epi64(0xff, t[i], lo2, t[i + 2]);
        x[i + 2] = _mm512_maskz_permutex2var_epi64(0xff, t[i], hi2, t[i + 2]);
    }
    const __m512i lo4 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), hi4 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_maskz_permutex2var_epi64(0xff, x[i], lo4, x[i + 4]);
        t[i + 4] = _mm512_maskz_permutex2var_epi64(0xff, x[i], hi4, x[i + 4]);
    }
    for (int i = 0; i < 8; ++i) x[i] = t[i];
}

// float_to_key and key_to_float (sort.hpp) on 8 lanes: the key flips every
// bit of a negative value and the sign bit of any other.
EMD_KV_AVX512_INLINE __m512i key_of_bits(__m512i b) {
    const __m512i negative = _mm512_maskz_srai_epi64(0xff, b, 63);
    return _mm512_xor_si512(b, _mm512_or_si512(negative, _mm512_set1_epi64(INT64_MIN)));
}
EMD_KV_AVX512_INLINE __m512i bits_of_key(__m512i k) {
    const __m512i positive = _mm512_maskz_srai_epi64(0xff, k, 63);
    return _mm512_xor_si512(k, _mm512_or_si512(_mm512_xor_si512(positive, _mm512_set1_epi64(-1)),
                                               _mm512_set1_epi64(INT64_MIN)));
}

// Writes the first `count` (<= 8) lanes as (value, weight) records: out[2i]
// the value decoded from key i, out[2i + 1] payload i's bits.
EMD_KV_AVX512_INLINE void emit_records(double* out, __m512i k, __m512i v, std::int64_t count) {
    const __m512i x = bits_of_key(k);
    const __m512i lo = _mm512_maskz_permutex2var_epi64(0xff, x, _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), v);
    const __m512i hi = _mm512_maskz_permutex2var_epi64(0xff, x, _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4), v);
    const std::int64_t in_lo = count < 4 ? count : 4, in_hi = count > 4 ? count - 4 : 0;
    _mm512_mask_storeu_epi64(out, __mmask8((1u << (2 * in_lo)) - 1), lo);
    _mm512_mask_storeu_epi64(out + 8, __mmask8((1u << (2 * in_hi)) - 1), hi);
}

// n <= 8V pairs sorted in registers, padded with the key UINT64_MAX, and
// written back (out == nullptr) or as records to out. A leaf that holds that
// key itself goes to the heapsort, since a pad could then end up before one
// of its pairs.
template <int V>
EMD_KV_AVX512 void sort_leaf(std::uint64_t* keys, std::uint64_t* values, std::int64_t n, double* out) {
    __m512i k[V], v[V];
    __mmask8 real_pad = 0;
    for (int r = 0; r < V; ++r) {
        const std::int64_t left = n - 8 * r;
        const __mmask8 m = left >= 8 ? __mmask8(0xff) : left <= 0 ? __mmask8(0) : __mmask8((1u << left) - 1);
        k[r] = _mm512_mask_loadu_epi64(_mm512_set1_epi64(std::int64_t(k_pad)), m, keys + 8 * r);
        v[r] = _mm512_maskz_loadu_epi64(m, values + 8 * r);
        real_pad |= _mm512_mask_cmpeq_epu64_mask(m, k[r], _mm512_set1_epi64(std::int64_t(k_pad)));
    }
    if (real_pad) {
        heap_sort(keys, values, n);
        if (out) emit_records_scalar(keys, values, n, out);
        return;
    }
    if constexpr (V == 8) {
        bitonic_sort<8, true>(k, v);
        transpose8(k);
        transpose8(v);
    } else {
        bitonic_sort<V>(k, v);
    }
    for (int r = 0; r < V; ++r) {
        const std::int64_t left = n - 8 * r;
        if (out) {
            emit_records(out + 16 * r, k[r], v[r], left >= 8 ? 8 : left <= 0 ? 0 : left);
            continue;
        }
        const __mmask8 m = left >= 8 ? __mmask8(0xff) : left <= 0 ? __mmask8(0) : __mmask8((1u << left) - 1);
        _mm512_mask_storeu_epi64(keys + 8 * r, m, k[r]);
        _mm512_mask_storeu_epi64(values + 8 * r, m, v[r]);
    }
}

EMD_KV_AVX512 inline void sort_small(std::uint64_t* keys, std::uint64_t* values, std::int64_t n, double* out) {
    if (n <= 8) sort_leaf<1>(keys, values, n, out);
    else if (n <= 16) sort_leaf<2>(keys, values, n, out);
    else if (n <= 32) sort_leaf<4>(keys, values, n, out);
    else sort_leaf<8>(keys, values, n, out);
}

// For each 8-bit mask, the permutation (one index per byte, lane 0 in the
// low byte) that puts the lanes set in the mask first and the others last,
// each group in lane order.
struct SplitTable {
    std::uint64_t index[256];
    constexpr SplitTable() : index() {
        for (unsigned m = 0; m < 256; ++m) {
            std::uint64_t packed = 0;
            int out = 0;
            for (int pass = 0; pass < 2; ++pass)
                for (int lane = 0; lane < 8; ++lane)
                    if (((m >> lane) & 1u) == (pass == 0 ? 1u : 0u)) packed |= std::uint64_t(lane) << (8 * out++);
            index[m] = packed;
        }
    }
};
inline constexpr SplitTable k_split_table{};

// Writes one vector's pairs: those with key < pivot (mask `below`) to the left
// end at *left, the others to the right end just below *right. One
// permutation (from k_split_table) puts the pairs below first and the others
// last, for the keys and the payloads alike; the left store is then a whole
// vector (its tail lanes land in space already read and are overwritten
// later), the right one a store of the last lanes only, ending at *right.
// One permutation per array costs a quarter of the shuffle work of two
// compresses (vpcompressq is 2 uops on the shuffle port, vpermq 1).
EMD_KV_AVX512_INLINE void place(std::uint64_t* keys, std::uint64_t* values, __m512i k, __m512i v, __mmask8 below,
                                std::int64_t& left, std::int64_t& right) {
    const unsigned mask = unsigned(below);
    const int num_below = __builtin_popcount(mask);
    const __m512i order = _mm512_maskz_cvtepu8_epi64(0xff, _mm_cvtsi64_si128(std::int64_t(k_split_table.index[mask])));
    const __m512i ks = _mm512_maskz_permutexvar_epi64(0xff, order, k), vs = _mm512_maskz_permutexvar_epi64(0xff, order, v);
    _mm512_storeu_si512(keys + left, ks);
    _mm512_storeu_si512(values + left, vs);
    left += num_below;
    const __mmask8 tail = __mmask8(0xffu << num_below);
    right -= 8 - num_below;
    _mm512_mask_storeu_epi64(keys + right - num_below, tail, ks);
    _mm512_mask_storeu_epi64(values + right - num_below, tail, vs);
}

// The final, masked writes of the buffered vectors (the free space then
// matches what is left to write exactly, so the left store is masked too).
EMD_KV_AVX512_INLINE void place_last(std::uint64_t* keys, std::uint64_t* values, __m512i k, __m512i v, __mmask8 real,
                                     __mmask8 below, std::int64_t& left, std::int64_t& right) {
    below &= real;
    const __mmask8 above = __mmask8(~below & real);
    const int num_below = __builtin_popcount(unsigned(below)), num_above = __builtin_popcount(unsigned(above));
    _mm512_mask_storeu_epi64(keys + left, __mmask8((1u << num_below) - 1), _mm512_maskz_compress_epi64(below, k));
    _mm512_mask_storeu_epi64(values + left, __mmask8((1u << num_below) - 1), _mm512_maskz_compress_epi64(below, v));
    left += num_below;
    right -= num_above;
    _mm512_mask_storeu_epi64(keys + right, __mmask8((1u << num_above) - 1), _mm512_maskz_compress_epi64(above, k));
    _mm512_mask_storeu_epi64(values + right, __mmask8((1u << num_above) - 1), _mm512_maskz_compress_epi64(above, v));
}

// Partitions n >= 16U pairs in place by key < pivot; returns how many are
// below. The n % 8U leading pairs and the first and last U whole vectors are
// held in registers, which frees space at both ends; each step then reads the
// next U vectors from the end with less free space, so that both ends have
// room for U whole vectors when they are written (the free space, 16U + n % 8U,
// never changes). U vectors a step keep U independent compress chains in
// flight and make the branch on the side a quarter as frequent.
template <int U>
EMD_KV_AVX512 std::int64_t partition(std::uint64_t* keys, std::uint64_t* values, std::int64_t n,
                                     std::uint64_t pivot) {
    constexpr int W = 8 * U;
    const __m512i p = _mm512_set1_epi64(std::int64_t(pivot));
    const std::int64_t rem = n % W;
    __m512i k_rem[U], v_rem[U], k_first[U], v_first[U], k_last[U], v_last[U];
    __mmask8 rem_mask[U];
    for (int u = 0; u < U; ++u) {
        const std::int64_t left = rem - 8 * u;
        rem_mask[u] = left >= 8 ? __mmask8(0xff) : left <= 0 ? __mmask8(0) : __mmask8((1u << left) - 1);
        k_rem[u] = _mm512_maskz_loadu_epi64(rem_mask[u], keys + 8 * u);
        v_rem[u] = _mm512_maskz_loadu_epi64(rem_mask[u], values + 8 * u);
        k_first[u] = _mm512_loadu_si512(keys + rem + 8 * u);
        v_first[u] = _mm512_loadu_si512(values + rem + 8 * u);
        k_last[u] = _mm512_loadu_si512(keys + n - W + 8 * u);
        v_last[u] = _mm512_loadu_si512(values + n - W + 8 * u);
    }
    std::int64_t read_left = rem + W, read_right = n - W;  // unread: [read_left, read_right)
    std::int64_t left = 0, right = n;                      // written: [0, left) and [right, n)
    while (read_left < read_right) {
        // Which end to read is data-dependent and would be mispredicted half
        // the time as a branch: select the position instead.
        const bool from_left = read_left - left <= right - read_right;
        const std::int64_t at = from_left ? read_left : read_right - W;
        read_left += from_left ? W : 0;
        read_right -= from_left ? 0 : W;
        const std::uint64_t* kp = keys + at;
        const std::uint64_t* vp = values + at;
        __m512i k[U], v[U];
        for (int u = 0; u < U; ++u) {
            k[u] = _mm512_loadu_si512(kp + 8 * u);
            v[u] = _mm512_loadu_si512(vp + 8 * u);
        }
        for (int u = 0; u < U; ++u) place(keys, values, k[u], v[u], _mm512_cmplt_epu64_mask(k[u], p), left, right);
    }
    for (int u = 0; u < U; ++u) {
        place_last(keys, values, k_first[u], v_first[u], 0xff, _mm512_cmplt_epu64_mask(k_first[u], p), left, right);
        place_last(keys, values, k_last[u], v_last[u], 0xff, _mm512_cmplt_epu64_mask(k_last[u], p), left, right);
        place_last(keys, values, k_rem[u], v_rem[u], rem_mask[u], _mm512_cmplt_epu64_mask(k_rem[u], p), left, right);
    }
    return left;
}

EMD_KV_AVX512 inline std::int64_t partition_any(std::uint64_t* keys, std::uint64_t* values, std::int64_t n,
                                                std::uint64_t pivot) {
    return n >= 16 * k_kv_unroll ? partition<k_kv_unroll>(keys, values, n, pivot)
                                 : partition<1>(keys, values, n, pivot);
}

// The (upper) median of 32 keys, by the network.
EMD_KV_AVX512 inline std::uint64_t median_of_32(const std::uint64_t* s) {
    __m512i k[4], v[4];
    for (int r = 0; r < 4; ++r) {
        k[r] = _mm512_loadu_si512(s + 8 * r);
        v[r] = _mm512_setzero_si512();
    }
    bitonic_sort<4>(k, v);
    return std::uint64_t(_mm_cvtsi128_si64(_mm512_maskz_extracti32x4_epi32(0xf, k[2], 0)));
}

// The median of a sample spread over the range: 8 keys for small ranges, 32
// for large ones (a better split there saves more than the network costs).
// The 8 samples are gathered straight into a register and the median read
// from it (a scalar store and reload of a vector would stall store forwarding).
EMD_KV_AVX512 inline std::uint64_t choose_pivot(const std::uint64_t* keys, std::int64_t n) {
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    if (n < 4096) {
        // positions (2i + 1) n / 16, i < 8
        const __m512i at = _mm512_maskz_srli_epi64(
            0xff,             _mm512_mullo_epi64(_mm512_add_epi64(_mm512_slli_epi64(lane, 1), _mm512_set1_epi64(1)),
                               _mm512_set1_epi64(n)), 4);
        __m512i k[1] = {_mm512_mask_i64gather_epi64(_mm512_setzero_si512(), 0xff, at, reinterpret_cast<const long long*>(keys), 8)};
        __m512i v[1] = {_mm512_setzero_si512()};
        bitonic_sort<1>(k, v);
        return std::uint64_t(_mm_cvtsi128_si64(_mm512_maskz_extracti32x4_epi32(0xf, _mm512_maskz_permutexvar_epi64(0xff, _mm512_set1_epi64(4), k[0]), 0)));
    }
    alignas(64) std::uint64_t s[32];
    for (int i = 0; i < 32; ++i) s[i] = keys[(2 * i + 1) * n / 64];
    return median_of_32(s);
}

EMD_KV_AVX512 inline void quicksort(std::uint64_t* keys, std::uint64_t* values, std::int64_t n, int depth,
                                    double* out) {
    while (n > k_kv_base_case) {
        if (depth-- == 0) {
            heap_sort(keys, values, n);
            if (out) emit_records_scalar(keys, values, n, out);
            return;
        }
        std::uint64_t pivot = choose_pivot(keys, n);
        std::int64_t split = partition_any(keys, values, n, pivot);
        if (split == 0) {
            // The pivot is the smallest key: put the keys equal to it (all
            // below pivot + 1; the pivot is not UINT64_MAX, or all keys would be
            // equal) first, where they are in order, and sort the rest.
            split = pivot == k_pad ? n : partition_any(keys, values, n, pivot + 1);
            if (out) {
                emit_records_scalar(keys, values, split, out);
                out += 2 * split;
            }
            keys += split;
            values += split;
            n -= split;
            continue;
        }
        // Recurse into the smaller side, loop on the larger: the stack stays
        // within log2 n frames.
        if (split < n - split) {
            quicksort(keys, values, split, depth, out);
            keys += split;
            values += split;
            if (out) out += 2 * split;
            n -= split;
        } else {
            quicksort(keys + split, values + split, n - split, depth, out ? out + 2 * split : nullptr);
            n = split;
        }
    }
    if (n > 1) sort_small(keys, values, n, out);
    else if (n == 1 && out) emit_records_scalar(keys, values, 1, out);
}

EMD_KV_AVX512 inline void kv_sort_avx512(std::uint64_t* keys, std::uint64_t* values, std::int64_t n) {
    quicksort(keys, values, n, 2 * floor_log2(std::uint64_t(n) | 1), nullptr);
}

// The first partition of sort_records, out of place: reads the caller's
// values and weights, turns values into keys on the way, and writes keys and
// payloads below the pivot to the front of the scratch arrays, the others to
// the back (the pack pass and the first partition in one pass over memory).
EMD_KV_AVX512 inline std::int64_t partition_from(const double* x, const double* w, std::int64_t n,
                                                 std::uint64_t* keys, std::uint64_t* values,
                                                 std::uint64_t pivot) {
    const __m512i p = _mm512_set1_epi64(std::int64_t(pivot));
    std::int64_t left = 0, right = n;
    for (std::int64_t i = 0; i < n; i += 8) {
        const std::int64_t count = n - i >= 8 ? 8 : n - i;
        const __mmask8 real = __mmask8((1u << count) - 1);
        const __m512i k = key_of_bits(_mm512_maskz_loadu_epi64(real, x + i));
        const __m512i v = _mm512_maskz_loadu_epi64(real, w + i);
        const unsigned below = unsigned(_mm512_mask_cmplt_epu64_mask(real, k, p));
        const int num_below = __builtin_popcount(below), num_above = int(count) - num_below;
        // below first, then the others in lane order: the pairs above, then the padding lanes
        const __m512i order = _mm512_maskz_cvtepu8_epi64(0xff, _mm_cvtsi64_si128(std::int64_t(k_split_table.index[below])));
        const __m512i ks = _mm512_maskz_permutexvar_epi64(0xff, order, k), vs = _mm512_maskz_permutexvar_epi64(0xff, order, v);
        const __mmask8 head = __mmask8((1u << num_below) - 1);
        _mm512_mask_storeu_epi64(keys + left, head, ks);
        _mm512_mask_storeu_epi64(values + left, head, vs);
        left += num_below;
        // lanes [num_below, count) land at [right - num_above, right)
        const __mmask8 tail = __mmask8(((1u << count) - 1) & ~((1u << num_below) - 1));
        right -= num_above;
        _mm512_mask_storeu_epi64(keys + right - num_below, tail, ks);
        _mm512_mask_storeu_epi64(values + right - num_below, tail, vs);
    }
    return left;
}

EMD_KV_AVX512 inline void sort_records_avx512(const double* x, const double* w, std::int64_t n,
                                              std::uint64_t* keys, std::uint64_t* values, double* out) {
    const int depth = 2 * floor_log2(std::uint64_t(n) | 1);
    if (n <= k_kv_base_case) {
        for (std::int64_t i = 0; i < n; ++i) {
            keys[i] = detail::float_to_key(x[i]);
            std::memcpy(values + i, w + i, sizeof(double));
        }
        quicksort(keys, values, n, depth, out);
        return;
    }
    // The pivot from a sample of the values' keys (the keys are not written yet).
    alignas(64) std::uint64_t sample[32];
    for (int i = 0; i < 32; ++i) sample[i] = detail::float_to_key(x[(2 * i + 1) * n / 64]);
    const std::uint64_t pivot = median_of_32(sample);
    const std::int64_t split = partition_from(x, w, n, keys, values, pivot);
    quicksort(keys, values, split, depth, out);
    quicksort(keys + split, values + split, n - split, depth, out + 2 * split);
}

#undef EMD_KV_AVX512
#undef EMD_KV_AVX512_INLINE
#endif  // EMD_KV_SORT_X86

}  // namespace kv_detail

inline bool kv_sort_is_available() {
#if EMD_KV_SORT_X86
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}

// Sorts keys[0, n) ascending and applies the same permutation to values[0, n)
// (equal keys in unspecified order). Only where kv_sort_is_available().
inline void kv_sort(std::uint64_t* keys, std::uint64_t* values, std::int64_t n) {
#if EMD_KV_SORT_X86
    kv_detail::kv_sort_avx512(keys, values, n);
#else
    (void)keys;
    (void)values;
    (void)n;
#endif
}

// float64 (x[i], w[i]) pairs sorted by x into records: out[2j] the j-th
// smallest value, out[2j + 1] its weight, both bit for bit (-0.0 before +0.0;
// equal values in unspecified order). keys and payloads are scratch of n
// each. Only where kv_sort_is_available().
inline void kv_sort_records(const double* x, const double* w, std::int64_t n, std::uint64_t* keys,
                            std::uint64_t* payloads, double* out) {
#if EMD_KV_SORT_X86
    kv_detail::sort_records_avx512(x, w, n, keys, payloads, out);
#else
    (void)x;
    (void)w;
    (void)n;
    (void)keys;
    (void)payloads;
    (void)out;
#endif
}

}  // namespace emd
