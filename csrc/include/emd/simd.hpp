// Portable SIMD vectors through the GCC/Clang vector extensions: the width
// follows the target (-march=native: AVX-512, AVX2, SSE, NEON), so kernels
// written with Vec<T> compile everywhere and use the widest registers there.
#pragma once

namespace emd {
namespace simd {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif

template <class T>
struct Vec {
    typedef T type __attribute__((vector_size(kVecBytes)));
    // The same vector at the element's alignment, for unaligned loads and
    // stores by plain dereference (memcpy into an array made GCC keep vectors
    // on the stack: an extra load per FMA).
    typedef T unaligned __attribute__((vector_size(kVecBytes), aligned(alignof(T)), may_alias));
    static constexpr int lanes = kVecBytes / int(sizeof(T));
};

template <class T>
inline typename Vec<T>::type load(const T* p) {
    return *reinterpret_cast<const typename Vec<T>::unaligned*>(p);
}

template <class T>
inline void store(T* p, const typename Vec<T>::type& v) {
    *reinterpret_cast<typename Vec<T>::unaligned*>(p) = v;
}

}  // namespace simd
}  // namespace emd
