// LSD radix sort of floating-point rows, optionally carrying a weight per value.
//
// Why not std::sort: sorting dominates the exact 1-D distance, and a radix sort
// on order-preserving integer keys is O(n) with streaming memory access; for
// n = 1e6 doubles it beats both std::sort and numpy's SIMD sort. Passes whose
// digit is the same for every key (common in the exponent bytes) are skipped.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace emd::detail {

template <class T>
using key_of_t = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;

// Monotone map float -> unsigned: flip all bits of negatives, the sign bit of positives.
template <class T>
inline key_of_t<T> float_to_key(T x) {
    using K = key_of_t<T>;
    K b;
    std::memcpy(&b, &x, sizeof(T));
    constexpr K sign = K(1) << (8 * sizeof(K) - 1);
    return (b & sign) ? K(~b) : K(b | sign);
}

template <class T>
inline T key_to_float(key_of_t<T> k) {
    using K = key_of_t<T>;
    constexpr K sign = K(1) << (8 * sizeof(K) - 1);
    K b = (k & sign) ? K(k & ~sign) : K(~k);
    T x;
    std::memcpy(&x, &b, sizeof(T));
    return x;
}

template <class T>
struct KeyWeight {
    key_of_t<T> key;
    T weight;
};

// Scratch space owned by one thread and reused across the rows it sorts.
template <class T>
struct SortScratch {
    std::vector<key_of_t<T>> keys_a, keys_b;
    std::vector<KeyWeight<T>> kw_a, kw_b;
};

// Below this size a comparison sort is faster than building 256-bucket histograms.
inline constexpr std::int64_t k_radix_min = 192;

// Sorts values[0:n) (with weights[0:n) moved alongside when weights != nullptr)
// into out_values / out_weights. The input is left untouched. NaN-free input.
template <class T>
void sort_row(const T* values, const T* weights, std::int64_t n, T* out_values, T* out_weights,
              SortScratch<T>& scratch) {
    using K = key_of_t<T>;
    constexpr int num_digits = int(sizeof(K));
    if (n <= 0) return;

    if (n < k_radix_min) {
        if (weights == nullptr) {
            std::copy(values, values + n, out_values);
            std::sort(out_values, out_values + n);
        } else {
            auto& kw = scratch.kw_a;
            kw.resize(std::size_t(n));
            for (std::int64_t i = 0; i < n; ++i) kw[i] = {float_to_key(values[i]), weights[i]};
            std::sort(kw.begin(), kw.end(), [](const KeyWeight<T>& l, const KeyWeight<T>& r) { return l.key < r.key; });
            for (std::int64_t i = 0; i < n; ++i) {
                out_values[i] = key_to_float<T>(kw[i].key);
                out_weights[i] = kw[i].weight;
            }
        }
        return;
    }

    // One pass builds every digit's histogram.
    std::vector<std::int64_t> hist(std::size_t(num_digits) * 256, 0);
    for (std::int64_t i = 0; i < n; ++i) {
        K k = float_to_key(values[i]);
        for (int d = 0; d < num_digits; ++d) ++hist[std::size_t(d) * 256 + ((k >> (8 * d)) & 0xff)];
    }
    int passes[num_digits];
    int num_passes = 0;
    for (int d = 0; d < num_digits; ++d) {
        std::int64_t* h = &hist[std::size_t(d) * 256];
        bool trivial = false;  // one bucket holds every key: this digit sorts nothing
        for (int b = 0; b < 256 && !trivial; ++b) trivial = (h[b] == n);
        if (trivial) continue;
        std::int64_t sum = 0;  // exclusive prefix sums: bucket start offsets
        for (int b = 0; b < 256; ++b) {
            std::int64_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        passes[num_passes++] = d;
    }

    if (num_passes == 0) {  // all keys equal
        std::copy(values, values + n, out_values);
        if (weights) std::copy(weights, weights + n, out_weights);
        return;
    }

    auto run = [&](auto* buf_a, auto* buf_b, auto load, auto key_of, auto store) {
        // First pass reads the caller's arrays, middle passes ping-pong, the last
        // pass decodes straight into the outputs: no extra copy pass.
        using E = std::remove_pointer_t<decltype(buf_a)>;
        E* src = buf_a;
        E* dst = buf_b;
        for (int pi = 0; pi < num_passes; ++pi) {
            const int d = passes[pi];
            std::int64_t* h = &hist[std::size_t(d) * 256];
            const int shift = 8 * d;
            const bool first = (pi == 0), last = (pi == num_passes - 1);
            if (first && last) {
                for (std::int64_t i = 0; i < n; ++i) {
                    E e = load(i);
                    store(h[(key_of(e) >> shift) & 0xff]++, e);
                }
            } else if (first) {
                for (std::int64_t i = 0; i < n; ++i) {
                    E e = load(i);
                    src[h[(key_of(e) >> shift) & 0xff]++] = e;
                }
            } else if (last) {
                for (std::int64_t i = 0; i < n; ++i) {
                    const E& e = src[i];
                    store(h[(key_of(e) >> shift) & 0xff]++, e);
                }
            } else {
                for (std::int64_t i = 0; i < n; ++i) {
                    const E& e = src[i];
                    dst[h[(key_of(e) >> shift) & 0xff]++] = e;
                }
                std::swap(src, dst);
            }
        }
    };

    if (weights == nullptr) {
        scratch.keys_a.resize(std::size_t(n));
        scratch.keys_b.resize(std::size_t(n));
        run(scratch.keys_a.data(), scratch.keys_b.data(),
            [&](std::int64_t i) { return float_to_key(values[i]); },
            [](K k) { return k; },
            [&](std::int64_t pos, K k) { out_values[pos] = key_to_float<T>(k); });
    } else {
        scratch.kw_a.resize(std::size_t(n));
        scratch.kw_b.resize(std::size_t(n));
        run(scratch.kw_a.data(), scratch.kw_b.data(),
            [&](std::int64_t i) { return KeyWeight<T>{float_to_key(values[i]), weights[i]}; },
            [](const KeyWeight<T>& e) { return e.key; },
            [&](std::int64_t pos, const KeyWeight<T>& e) {
                out_values[pos] = key_to_float<T>(e.key);
                out_weights[pos] = e.weight;
            });
    }
}

}  // namespace emd::detail
