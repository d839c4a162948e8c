// W_p between two point clouds in one call, the inputs checked as it goes:
// the straight path of emd.wasserstein on NumPy point clouds.
//
//     W_p(a, b)^p = min_{P >= 0, P 1 = a, P^T 1 = b} sum_ij P_ij metric(x_i, y_j)^p
//
// It computes what python/emd/_wasserstein.py's full path computes, step for
// step and bit for bit (tests/test_wasserstein_clouds.py compares them): the
// weights normalized as NumPy sums them, the cost matrix, M **= p, the network
// simplex, the root. Wherever one of that path's checks could fail or its
// arithmetic could take another branch (points scaled for range, costs near a
// dtype's limit, a solve that stops short of optimal) it returns nullopt: the
// caller then takes the full path, which raises its own message or handles
// what is valid after all. Python decides what a bad input is called; this
// only proves inputs good.
#pragma once
#include <cstdint>
#include <optional>

#include "emd/interrupt.hpp"
#include "emd/metrics.hpp"

namespace emd {

// Raises the `size` costs in M to the power p in place; false if that failed
// (the kernel then returns nullopt). The caller supplies it so the powered
// costs are exactly the full path's: the Python binding calls NumPy's own
// power (`M **= p`, its vectorized pow), which std::pow need not match to the
// last bit. Called at most once, with p != 1, from the kernel's thread.
template <class T>
struct CostPower {
    using Callback = bool (*)(void* context, T* M, std::int64_t size, double p);
    Callback callback = nullptr;
    void* context = nullptr;
};

// One problem: x (n, d) and y (m, d) C-contiguous, n, m >= 1, d >= 1;
// x_weights (n,) and y_weights (m,) or nullptr for uniform weights; p >= 1
// and finite.
template <class T>
struct CloudsProblem {
    const T* x;
    const T* y;
    const T* x_weights;
    const T* y_weights;
    std::int64_t n, m, d;
    Metric metric;
    double p;
};

// W_p of `problem` in T, or nullopt where a check could fail (see above) or
// the solve was interrupted (interrupt.requested() then says so). M: caller-
// provided scratch of n * m entries, C-contiguous; it receives the cost
// matrix (powered) and is handed to `power` for M **= p. `interrupt` is
// polled from the calling thread during the solve.
template <class T>
std::optional<T> wasserstein_clouds(const CloudsProblem<T>& problem, T* M, const CostPower<T>& power,
                                    Interrupt& interrupt);

}  // namespace emd
