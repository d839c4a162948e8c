// Streaming (online) log-sum-exp, shared by the Sinkhorn kernels.
//
// A partial log-sum-exp is a pair (mx, s) standing for mx + log(s): the
// running maximum and the sum of exp(v - mx) over the values seen. Adding a
// value rescales the sum only when the maximum grows, so one pass suffices and
// nothing overflows whatever eps is. -inf values (log of a zero weight) drop
// out. Combining two pairs is associative up to rounding; every combine here
// runs in a fixed order (warp shuffles, fixed tile shapes), so results are
// the same bits run after run.
#pragma once
#include <cmath>

namespace emd::gpu::detail {

struct Lse {
    double mx;
    double s;
};

__device__ inline Lse lse_empty() { return {-INFINITY, 0.0}; }

// One value into a per-thread running pair kept in T (float keeps the inner
// loop in single precision; the sums across threads are in double).
template <class T>
__device__ inline void lse_push(T v, T& mx, T& s) {
    if (v > mx) {
        s = s * exp(mx - v) + T(1);
        mx = v;
    } else if (v > T(-INFINITY)) {
        s += exp(v - mx);
    }
}

__device__ inline Lse lse_combine(Lse a, Lse b) {
    if (!(b.mx > -INFINITY)) return a;
    if (!(a.mx > -INFINITY)) return b;
    if (a.mx >= b.mx) return {a.mx, a.s + b.s * exp(b.mx - a.mx)};
    return {b.mx, b.s + a.s * exp(a.mx - b.mx)};
}

// Butterfly over the warp: every lane ends with the warp's pair (fixed order).
__device__ inline Lse lse_warp(Lse x) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        Lse o;
        o.mx = __shfl_xor_sync(0xffffffffu, x.mx, off);
        o.s = __shfl_xor_sync(0xffffffffu, x.s, off);
        x = lse_combine(x, o);
    }
    return x;
}

__device__ inline double lse_value(Lse x) { return x.mx + log(x.s); }

}  // namespace emd::gpu::detail
