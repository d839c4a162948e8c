// Exact Wasserstein distances between weighted empirical measures on the line.
#pragma once
#include <cstdint>

#include "emd/sort.hpp"

namespace emd {

// A batch of rows: values (num_rows, n) C-contiguous; weights the same shape,
// or one row (n,) shared by every row (shared_weights), or nullptr for uniform
// weights. Weights are nonnegative with a positive sum (checked by the
// caller); they need not be normalized.
template <class T>
struct Rows {
    const T* values;
    const T* weights;
    std::int64_t num_rows;
    std::int64_t n;
    bool shared_weights = false;

    const T* weights_of(std::int64_t r) const {
        return weights == nullptr ? nullptr : weights + (shared_weights ? 0 : r * n);
    }
};

// What the optional input scan of wasserstein_1d found, one bit per argument.
// The scan makes the Python layer's checks (python/emd/_validation.py) in the
// pass that copies each row for its sort: values finite; weights finite and
// >= 0 (-0.0 is 0), not all 0, their largest at least 2^-1000 (float64: a
// smaller total is lifted by the Python layer) and at most DBL_MAX / (2 n)
// (so that the total cannot overflow). A flagged argument may still be valid
// (a total near those bounds): the caller then runs its full checks, which
// decide and name the argument.
enum InputFlaw : unsigned {
    u_values_flaw = 1u,
    v_values_flaw = 2u,
    u_weights_flaw = 4u,
    v_weights_flaw = 8u,
};

// How wasserstein_1d sorts a single pair of weighted float64 rows (one row of
// u, one of v, both weighted; other calls ignore it). whole_rows: each row as
// one sort of (key bits | index) keys, then a gather, then one walk. buckets:
// both rows cut by shared splitters into 32 buckets, each sorted by itself in
// cache and (p = 1) walked right after, buckets spread over the threads; a
// pair whose values crowd into one bucket falls back to whole_rows.
// automatic: buckets from 2^20 points of the pair on. The answers agree
// to rounding (the weight sums are added in another order).
enum class WeightedSort { automatic, whole_rows, buckets };

// out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) for k < num_pairs.
//
// p == 1 with weights on either side integrates |F_u - F_v| over the line (the
// CDF form); otherwise the walk integrates |F_u^{-1}(q) - F_v^{-1}(q)|^p over
// q in [0, 1] (the quantile form; uniform rows step at levels fixed by n and
// m), and the result is that integral to the power 1/p. Unless assume_sorted, each row is
// sorted once with `sorts` (T's sort and, for weighted rows, the uint64 sort;
// std::invalid_argument if they are missing); sums are accumulated in double
// for both T. With `flaws` non-null every row is scanned as InputFlaw says and
// *flaws receives the bits of the flagged arguments; when it is not 0, out is
// left unwritten. weighted_sort picks the sort of a single weighted float64
// pair (WeightedSort).
template <class T>
void wasserstein_1d(const Rows<T>& u, const Rows<T>& v, const std::int64_t* pair_u,
                    const std::int64_t* pair_v, std::int64_t num_pairs, double p,
                    bool assume_sorted, const SortFunctions& sorts, T* out, unsigned* flaws = nullptr,
                    WeightedSort weighted_sort = WeightedSort::automatic);

// Where wasserstein_1d_gradients writes: value (num_pairs,) as wasserstein_1d;
// d_u (num_pairs, u.n) and d_v (num_pairs, v.n) the derivatives of W_p with
// respect to the values of row pair_u[k] (resp. pair_v[k]), in the row's own
// order; d_u_weights, d_v_weights likewise for the weights as given
// (unnormalized; they need weights on that side). Any derivative may be
// nullptr: it is then not written.
template <class T>
struct OneDGradients {
    T* value;
    T* d_u = nullptr;
    T* d_v = nullptr;
    T* d_u_weights = nullptr;
    T* d_v_weights = nullptr;
};

// W_p of each pair (the same walk, bit for bit, as wasserstein_1d on rows
// without ties) and its gradient with the sorting permutations and the order
// of the merged quantile levels held fixed, which is exact almost everywhere:
//
//   dW/du_i = sum over the quantile segments s that use u_i of
//             |s| sign(d_s) (|d_s| / W)^(p-1),   d_s = u_(i_s) - v_(j_s),
//
// and through the levels F_u(u_(i)) = A_i / S (A the running weight sums):
// dW/dlevel = (W / p) ((|d_before| / W)^p - (|d_after| / W)^p). Writing the
// derivatives relative to W keeps them in range where |d|^p is not. W = 0
// (identical measures) gives the zero subgradient. Each row is sorted once
// (an argsort through the uint64 sort, which `sorts` must provide); rows
// and pairs are spread over num_threads OpenMP threads (<= 0: the default).
template <class T>
void wasserstein_1d_gradients(const Rows<T>& u, const Rows<T>& v, const std::int64_t* pair_u,
                              const std::int64_t* pair_v, std::int64_t num_pairs, double p, int num_threads,
                              const SortFunctions& sorts, const OneDGradients<T>& out);

}  // namespace emd
