// The in-place sorts the 1-D kernel runs on each row, as plain function pointers.
//
// Why pointers: sorting is the floor of the exact 1-D distance, and the fastest
// sort on the machine is already loaded in every process that calls emd:
// NumPy's, which dispatches at run time to vectorized kernels (AVX-512 or AVX2
// quicksorts on x86, Highway on Arm) and falls back to an introsort elsewhere.
// The bindings take them from the dtypes' ArrFuncs (csrc/bindings/one_d.cpp);
// they touch no Python object, so they run with the GIL released and on any
// thread. The kernel itself stays pure C++ and knows nothing of Python.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace emd {

// int sort(void* start, npy_intp n, void* array): NumPy's PyArray_SortFunc;
// array is unused by the numeric sorts and passed as nullptr. Returns 0.
using SortFunction = int (*)(void*, std::ptrdiff_t, void*);

struct SortFunctions {
    SortFunction sort_f32 = nullptr;  // ascending float32, in place
    SortFunction sort_f64 = nullptr;  // ascending float64, in place
    SortFunction sort_u64 = nullptr;  // ascending uint64, in place
};

namespace detail {

template <class T>
using key_of_t = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;

// Monotone map float -> unsigned: flip all bits of negatives, the sign bit of
// positives (-0.0 maps just below +0.0; both are the same point on the line).
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
    // Branch-free: the top bit set (a positive value) flips the sign bit only,
    // clear (a negative one) flips every bit.
    const K b = k ^ K(sign | K(K(k >> (8 * sizeof(K) - 1)) - 1));
    T x;
    std::memcpy(&x, &b, sizeof(T));
    return x;
}

template <class To, class From>
inline To bit_cast(From x) {
    static_assert(sizeof(To) == sizeof(From));
    To y;
    std::memcpy(&y, &x, sizeof(To));
    return y;
}

}  // namespace detail
}  // namespace emd
