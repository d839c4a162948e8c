// The straight path of emd.wasserstein on point clouds (emd/wasserstein_clouds.hpp):
// the full path's checks made while the cost matrix is built, then its solve,
// step for step. Each helper names the Python it replicates.
#include "emd/wasserstein_clouds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "emd/cost_matrix.hpp"
#include "emd/network_simplex.hpp"

namespace emd {
namespace {

// MAX_ABS_COST of python/emd/_network_simplex.py: |M| (n + m) must stay below it.
constexpr double k_max_abs_cost = 1e300;

// NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src,
// pairwise_sum): eight accumulators over blocks of at most 128 values, halves
// above that, in double. Replicated so the normalized weights are NumPy's to
// the last bit.
template <class T>
double pairwise_sum(const T* a, std::int64_t n) {
    if (n < 8) {
        double res = 0.0;
        for (std::int64_t i = 0; i < n; ++i) res += double(a[i]);
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; ++k) r[k] = double(a[k]);
        std::int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; ++k) r[k] += double(a[i + k]);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += double(a[i]);
        return res;
    }
    std::int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// w.sum(dtype=np.float64) of a contiguous 1-D array: float64 values in one
// pairwise pass; float32 ones go through the iterator's cast buffers of
// NumPy's default 8192 elements, one pairwise pass per buffer.
template <class T>
double numpy_sum(const T* w, std::int64_t n) {
    const std::int64_t chunk = sizeof(T) == 8 ? n : 8192;
    double s = 0.0;
    for (std::int64_t start = 0; start < n; start += chunk) s += pairwise_sum(w + start, std::min(chunk, n - start));
    return s;
}

// The weights the full path hands the solver: uniform T(1 / n) for None, else
// _normalized(w) = w / T(w.sum(dtype=float64)) once check_weights has passed
// (finite, nonnegative, positive finite total). False where a check could fail.
template <class T>
bool solver_weights(const T* w, std::int64_t n, std::vector<T>& out) {
    out.resize(std::size_t(n));
    if (w == nullptr) {
        std::fill(out.begin(), out.end(), T(1.0 / double(n)));
        return true;
    }
    for (std::int64_t i = 0; i < n; ++i)
        if (!(w[i] >= T(0)) || !std::isfinite(w[i])) return false;  // NaN fails the first test
    const double total = numpy_sum(w, n);
    const T t = T(total);  // float32: may overflow, and then every weight would be 0
    if (!(total > 0.0) || !std::isfinite(total) || !std::isfinite(t)) return false;
    for (std::int64_t i = 0; i < n; ++i) out[std::size_t(i)] = w[i] / t;
    return true;
}

// The points finite and within the range where cost_matrix divides nothing
// (homogeneous_costs scales coordinates above 2^300 or below 2^-300).
template <class T>
bool points_in_range(const T* x, std::int64_t size) {
    double big = 0.0;
    for (std::int64_t i = 0; i < size; ++i) {
        if (!std::isfinite(x[i])) return false;
        big = std::max(big, std::fabs(double(x[i])));
    }
    return big == 0.0 || (big <= std::ldexp(1.0, 300) && big >= std::ldexp(1.0, -300));
}

// The largest entry of a cost matrix of distances (>= 0), or NaN if one is not finite.
template <class T>
double largest_cost(const T* M, std::int64_t size) {
    double big = 0.0;
    for (std::int64_t i = 0; i < size; ++i) {
        if (!std::isfinite(M[i])) return std::numeric_limits<double>::quiet_NaN();
        big = std::max(big, double(M[i]));
    }
    return big;
}

}  // namespace

template <class T>
std::optional<T> wasserstein_clouds(const CloudsProblem<T>& problem, T* M, const CostPower<T>& power,
                                    Interrupt& interrupt) {
    const std::int64_t n = problem.n, m = problem.m, d = problem.d;
    const double p = problem.p;
    // d >= 2: the full path sends one-dimensional samples to the sorting
    // solver (or, with sqeuclidean, reshapes them), not to the network simplex.
    if (d < 2 || n < 1 || m < 1) return std::nullopt;
    const std::int64_t size = n * m;
    if (!points_in_range(problem.x, n * d) || !points_in_range(problem.y, m * d)) return std::nullopt;
    // q = 2: minkowski's default order. Threads only for large builds: below
    // 2^20 coordinate differences the build takes under a millisecond on one
    // core, the solve after it longer, and a parallel build left libgomp's
    // idle workers spinning through the solve (256 x 2 clouds, shared 2-core
    // machine: 6-8 ms wall against 2.6-3.3 ms with OMP_NUM_THREADS=1).
    const bool threads = n * m * d > (std::int64_t(1) << 20);
    emd::cost_matrix<T>(problem.x, problem.y, n, m, d, problem.metric, 2.0, M, threads);
    double big = largest_cost(M, size);  // NaN: a cost overflowed

    const double limit = std::min(k_max_abs_cost / double(n + m), double(std::numeric_limits<T>::max()));
    if (!(big <= limit)) return std::nullopt;
    if (p != 1.0) {
        // M **= p by the caller's power (NumPy's, from Python), only where no
        // power can overflow (a margin of 2 over the bound), so no warning is
        // raised; the exact range check follows on the powered costs.
        if (!(std::pow(big, p) <= 0.5 * limit)) return std::nullopt;
        if (power.callback == nullptr || !power.callback(power.context, M, size, p)) return std::nullopt;
        big = largest_cost(M, size);
    }
    // The full path's range check, exactly: largest |M| times (n + m).
    if (!(big * double(n + m) <= k_max_abs_cost)) return std::nullopt;

    std::vector<T> a, b;
    if (!solver_weights(problem.x_weights, n, a) || !solver_weights(problem.y_weights, m, b)) return std::nullopt;
    // emd.solve's remaining checks on these weights: equal masses (relative
    // 1e-9, float32 1e-6) and mass times |M| in range, here with a margin of 2
    // for the order of the sums.
    double sa = 0.0, sb = 0.0;
    for (T v : a) sa += double(v);
    for (T v : b) sb += double(v);
    const double tol = sizeof(T) == 4 ? 1e-6 : 1e-9;
    if (!(sa > 0.0 && sb > 0.0 && std::fabs(sa - sb) <= 0.5 * tol * std::max(sa, sb))) return std::nullopt;
    if (!(std::max(sa, sb) * big <= 0.5 * k_max_abs_cost)) return std::nullopt;

    const auto cap = static_cast<std::size_t>(n + m - 1);  // a basic solution's entries
    std::vector<T> potential_a(static_cast<std::size_t>(n)), potential_b(static_cast<std::size_t>(m)), plan_values(cap);
    std::vector<std::int64_t> plan_rows(cap), plan_cols(cap);
    NetworkSimplexOutput<T> out{potential_a.data(), potential_b.data(), plan_rows.data(), plan_cols.data(),
                                plan_values.data()};
    NetworkSimplexParams params;  // no pivot cap: to optimality, as emd.wasserstein solves
    emd::network_simplex<T>(a.data(), b.data(), M, n, m, params, out, interrupt);
    if (out.status != SolveStatus::optimal) return std::nullopt;  // the full path warns (or was interrupted)

    // Backend.nonnegative_root: T(max(float(T(cost)), 0.0) ** (1.0 / p)), as
    // Python computes it (max keeps its first argument on ties, so -0.0 stays;
    // float ** float is the C library's pow).
    const double cost = double(T(out.cost));
    return T(std::pow(0.0 > cost ? 0.0 : cost, 1.0 / p));
}

template std::optional<float> wasserstein_clouds<float>(const CloudsProblem<float>&, float*, const CostPower<float>&,
                                                        Interrupt&);
template std::optional<double> wasserstein_clouds<double>(const CloudsProblem<double>&, double*,
                                                          const CostPower<double>&, Interrupt&);

}  // namespace emd
