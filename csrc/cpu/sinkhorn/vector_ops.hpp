// The vector building blocks of the CPU Sinkhorn (csrc/cpu/sinkhorn.cpp):
// products with the kernel K by rows and by columns (explicit SIMD through
// emd/simd.hpp, fixed summation order), scaled weights, shifted logs, dot
// products, transposes. No algorithm here, only loops written so that GCC
// vectorizes them.
// Private to csrc/cpu/sinkhorn.cpp (included there once, in its order:
// fast_math, vector_ops, costs, kernel_cache); anonymous namespace, as the
// code had when it lived in that file, so inlining and rounding are unchanged.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "../fast_math.hpp"
#include "emd/simd.hpp"
#include "emd/sinkhorn_control.hpp"

namespace emd {
namespace {

// out_j = w_j exp((h_j - href_j) * inv) for the kernel form's products; returns
// max_j |h_j - href_j| * inv (how far h drifted from the kernel's reference).
// A function of its own with restrict pointers: inside KernelCache's member
// function GCC left this loop scalar.
template <class T>
double scaled_weights(const T* __restrict w, const T* __restrict h, const T* __restrict href, double inv,
                      std::int64_t len, T* __restrict out) {
    double drift = 0.0;
#pragma omp simd reduction(max : drift)
    for (std::int64_t j = 0; j < len; ++j) {
        const double t = (double(h[j]) - double(href[j])) * inv;
        drift = std::max(drift, std::fabs(t));
        out[j] = T(double(w[j]) * fast_exp(t));
    }
    return drift;
}

// out_j = ref_j - eps log(z_j), z_j in the normal range (checked by the caller).
template <class T>
void shifted_logs(const T* __restrict ref, const T* __restrict z, double eps, std::int64_t len, T* __restrict out) {
#pragma omp simd
    for (std::int64_t j = 0; j < len; ++j) out[j] = T(double(ref[j]) - eps * fast_log(double(z[j])));
}

// z[0:m] += sum_q u[q] K[q, 0:m] over `rows` rows of K (row-major, rows `stride` apart):
// a row block's share of the kernel's column sums. Four vectors of z stay in
// registers across all the rows (a load and an FMA per vector and row, where
// an axpy per row would also load and store z), and every z_j adds its rows
// in order, so the result does not depend on the vector width's path.
template <class T>
EMD_INLINE void add_column_sums(const T* __restrict k, std::int64_t rows, std::int64_t stride, std::int64_t m,
                                const T* __restrict u, T* __restrict z) {
    using simd::load;
    using simd::store;
    using V = typename simd::Vec<T>::type;
    constexpr int L = simd::Vec<T>::lanes;
    std::int64_t j = 0;
    for (; j + 4 * L <= m; j += 4 * L) {
        V a0 = load<T>(z + j), a1 = load<T>(z + j + L), a2 = load<T>(z + j + 2 * L), a3 = load<T>(z + j + 3 * L);
        for (std::int64_t q = 0; q < rows; ++q) {
            const T* kq = k + q * stride + j;
            const T uq = u[q];
            a0 += load<T>(kq) * uq;
            a1 += load<T>(kq + L) * uq;
            a2 += load<T>(kq + 2 * L) * uq;
            a3 += load<T>(kq + 3 * L) * uq;
        }
        store<T>(z + j, a0);
        store<T>(z + j + L, a1);
        store<T>(z + j + 2 * L, a2);
        store<T>(z + j + 3 * L, a3);
    }
    for (; j + L <= m; j += L) {
        V a = load<T>(z + j);
        for (std::int64_t q = 0; q < rows; ++q) a += load<T>(k + q * stride + j) * u[q];
        store<T>(z + j, a);
    }
    for (; j < m; ++j) {
        T a = z[j];
        for (std::int64_t q = 0; q < rows; ++q) a += k[q * stride + j] * u[q];
        z[j] = a;
    }
}

// out = K v for rows [i0, i1) of K (n x m, row-major): dot products four rows
// at a time (four independent accumulator chains).
template <class T>
EMD_INLINE void row_products_range(const T* __restrict k, std::int64_t i0, std::int64_t i1, std::int64_t m,
                                   const T* __restrict v, T* __restrict out) {
    std::int64_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        const T* k0 = k + i * m;
        const T *k1 = k0 + m, *k2 = k1 + m, *k3 = k2 + m;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (std::int64_t j = 0; j < m; ++j) {
            const T vj = v[j];
            s0 += k0[j] * vj;
            s1 += k1[j] * vj;
            s2 += k2[j] * vj;
            s3 += k3[j] * vj;
        }
        out[i] = s0;
        out[i + 1] = s1;
        out[i + 2] = s2;
        out[i + 3] = s3;
    }
    for (; i < i1; ++i) {
        const T* ki = k + i * m;
        T acc = 0;
#pragma omp simd reduction(+ : acc)
        for (std::int64_t j = 0; j < m; ++j) acc += ki[j] * v[j];
        out[i] = acc;
    }
}

// out = K v, threads over blocks of rows when `parallel`. Serial calls open no
// OpenMP region at all: an inactive one still costs a team set-up, which small
// batched problems would pay many times per solve.
template <class T>
void row_products(const T* k, std::int64_t n, std::int64_t m, const T* v, T* out, bool parallel) {
    if (!parallel) return row_products_range(k, 0, n, m, v, out);
#pragma omp parallel for schedule(static)
    for (std::int64_t i0 = 0; i0 < n; i0 += 64) row_products_range(k, i0, std::min(n, i0 + 64), m, v, out);
}

// out = K^T v: column blocks of K, each summed over all rows with the block's
// sums in registers (add_column_sums), threads over the blocks when `parallel`,
// so every out_j adds its rows in order for any thread count.
template <class T>
void column_products(const T* k, std::int64_t n, std::int64_t m, const T* v, T* out, bool parallel) {
    constexpr std::int64_t kBlock = 512;
    auto block = [&](std::int64_t j0) {
        const std::int64_t count = std::min(kBlock, m - j0);
        std::fill(out + j0, out + j0 + count, T(0));
        add_column_sums(k + j0, n, m, count, v, out + j0);
    };
    if (!parallel) {
        for (std::int64_t j0 = 0; j0 < m; j0 += kBlock) block(j0);
        return;
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t j0 = 0; j0 < m; j0 += kBlock) block(j0);
}

template <class T>
double dot(const T* __restrict x, const T* __restrict y, std::int64_t len) {
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (std::int64_t i = 0; i < len; ++i) acc += double(x[i]) * double(y[i]);
    return acc;
}

// x -= c y
template <class T>
void sub_scaled(T* __restrict x, double c, const T* __restrict y, std::int64_t len) {
#pragma omp simd
    for (std::int64_t i = 0; i < len; ++i) x[i] = T(double(x[i]) - c * double(y[i]));
}

// out_i = log(w_i) (-inf on zero weights: exp(-inf) = 0 drops them); returns sum_i w_i.
// The vectorized log first, then libm's for the few weights below the normal
// range (zeros, subnormals), where fast_log is not defined.
template <class T, class U>
double log_weights(const T* __restrict w, std::int64_t len, U* __restrict out) {
    double mass = 0;
#pragma omp simd reduction(+ : mass)
    for (std::int64_t i = 0; i < len; ++i) {
        const double x = double(w[i]);
        out[i] = U(fast_log(x));
        mass += x;
    }
    for (std::int64_t i = 0; i < len; ++i)
        if (!(double(w[i]) >= std::numeric_limits<double>::min())) out[i] = U(std::log(double(w[i])));
    return mass;
}

// h <- relaxed(h, h_new) entrywise (emd::relaxed: omega, with the ascent
// clamp at `floor`); a copy when omega = 1. Restrict pointers and the
// parameters in locals: read through a struct, GCC left the loop scalar.
template <class T>
void relax_potential(T* __restrict h, const T* __restrict h_new, std::int64_t len, double omega, double inv_eps,
                     double floor) {
    if (omega == 1.0) {
        std::copy(h_new, h_new + len, h);
        return;
    }
#pragma omp simd
    for (std::int64_t j = 0; j < len; ++j) h[j] = T(relaxed(double(h[j]), double(h_new[j]), omega, inv_eps, floor));
}

// The row marginal error ||P 1 - a||_1 of (f, g) from the f-update f_new
// ((P 1)_i = a_i exp((f_i - f_new_i) / eps)), and sum_i a_i |f_i| (for the
// controller's resolution floor), through `row_err` (n entries of scratch).
template <class T>
double row_marginal_error(const T* __restrict a, const T* __restrict f, const T* __restrict fn, std::int64_t n,
                          double eps, double* __restrict row_err, double& weighted_abs_f) {
    const double inv_eps = 1.0 / eps;
    double wf = 0.0, big = 0.0;
    // Near the solution every |t| is below abs_expm1's series threshold: the
    // series alone then gives abs_expm1's bits without its exp (most iterations).
#pragma omp simd reduction(+ : wf) reduction(max : big)
    for (std::int64_t i = 0; i < n; ++i) {
        const double t = (double(f[i]) - double(fn[i])) * inv_eps;
        row_err[i] = double(a[i]) * std::fabs(expm1_series(t));
        wf += double(a[i]) * std::fabs(double(f[i]));
        big = std::max(big, std::fabs(t));
    }
    weighted_abs_f = wf;
    if (!(big < kExpm1Series)) {
#pragma omp simd
        for (std::int64_t i = 0; i < n; ++i) {
            const double x = (double(f[i]) - double(fn[i])) * inv_eps;
            const double t = pick(x < 700.0, x, 700.0);
            row_err[i] = double(a[i]) * abs_expm1(t);
        }
    }
    // Four partial sums in a fixed order: the same bits for any thread count.
    double e4[4] = {0, 0, 0, 0};
    std::int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; ++l) e4[l] += row_err[i + l];
    for (; i < n; ++i) e4[0] += row_err[i];
    return (e4[0] + e4[1]) + (e4[2] + e4[3]);
}

template <class T>
void transpose(const T* src, std::int64_t rows, std::int64_t cols, T* dst, bool parallel) {
    constexpr std::int64_t kTile = 64;
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t i0 = 0; i0 < rows; i0 += kTile) {
        const std::int64_t i1 = std::min(rows, i0 + kTile);
        for (std::int64_t j0 = 0; j0 < cols; j0 += kTile) {
            const std::int64_t j1 = std::min(cols, j0 + kTile);
            for (std::int64_t i = i0; i < i1; ++i)
                for (std::int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
        }
    }
}

}  // namespace
}  // namespace emd
