// Approximate dual potentials of a large transport problem from an exact
// solve of a subsample of it: the shortlist's guide (csrc/cpu/network_simplex.cpp).
//
// Why: the shortlist method lists each source's cheapest arcs, which is where
// the optimal plan lives only when the two clouds overlap. Between clouds
// apart from each other (a translation of a few point spacings is enough)
// almost no optimal arc is among a source's 16 cheapest: measured on the
// issue-17 benchmark (x ~ N(0, I), y ~ N(1, I) in 2-D, n = 1000 and 2000),
// 2-4% of the optimal support, against 60-84% for the arcs of smallest
// reduced cost c_ij - f_i - g_j under potentials estimated from a quarter of
// the points (more from half, the stride used), and a greedy start at
// 1.1-1.4x the optimum instead of 2.2x: 1.7-2.3x fewer pivots.
//
// How: the potentials (f_S, g_T) of the exact problem restricted to a stride
// sample S of the sources and T of the sinks (weights renormalized), then
// the c-transform g_j = min_{i in S} (c_ij - f_i) over every sink j. Every
// constraint f_i + g_j <= c_ij then holds with f_i = min_j (c_ij - g_j), the
// row's first listed arc (the estimate is dual feasible, so reduced costs are
// >= 0 and a small one means an arc close to tight). The sample is a
// discretization of the same two measures, so its potentials approximate the
// full problem's (the multiscale idea of Mérigot, "A multiscale approach to
// optimal transport", Computer Graphics Forum 30(5), 2011, and Schmitzer, "A
// sparse multiscale algorithm for dense optimal transport", J. Math. Imaging
// Vision 56, 2016), at a quarter of the arcs.
//
// The estimate only chooses which arcs are listed first and the order of the
// greedy start: optimality is still proved by the exact pricing passes over
// all of M, so a poor estimate costs time, never correctness.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "row_scans.hpp"

namespace emd {
namespace {

// One in k_sample_stride sources and sinks: the subproblem has a quarter of
// the arcs, solved (recursively by the same method while it is large enough)
// in about a third of the guided solve's time; a stride of 4 (a sixteenth)
// made the estimate too coarse: 1.8x the CPU time at n = m = 2000.
constexpr std::int64_t k_sample_stride = 2;
// The guide is used only where more than this share of the sample's demand
// sits at sinks that no sampled source lists among its cheapest arcs
// (uncovered_demand): measured 0.18-0.20 between the shifted clouds,
// 0.03-0.04 for uniform clouds in 32-D, under 0.005 for uniform 2-D clouds,
// Dirichlet weights, 1-D |x - y| and costs without geometry, where the
// guide did not pay (the subsolve's time, and more pivots on 1-D costs).
constexpr double k_guide_min_uncovered = 0.1;

// The sample: every k_sample_stride-th index, starting half a stride in (a
// stride sample of a grid is a coarser grid).
inline std::vector<std::int64_t> stride_sample(std::int64_t n) {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = k_sample_stride / 2; i < n; i += k_sample_stride) idx.push_back(i);
    return idx;
}

// The scale of every solve's demands b (solve_one, the warm starts, the
// sample below): b * (sa / sb) would total the supplies' sa; shrunk by a few
// ulps, round-off leaves excess only at sources, where the zero-cost root
// arcs absorb it, and never a demand the real arcs cannot meet. The plan is
// read back with the unshrunk demands (solve_one).
inline double shrunk_demand_scale(double sa, double sb) {
    return (sa / sb) * (1.0 - 8.0 * std::numeric_limits<double>::epsilon());
}

// The sampled subproblem: its costs (rows S, columns T of M) and weights,
// the demands scaled by shrunk_demand_scale.
template <class T>
struct SampledProblem {
    std::vector<std::int64_t> rows, cols;
    std::vector<T> cost;
    std::vector<double> supply, demand;

    SampledProblem(const T* M, std::int64_t n, std::int64_t m, const double* supply_full,
                   const double* demand_full)
        : rows(stride_sample(n)), cols(stride_sample(m)) {
        const std::size_t ns = rows.size(), ms = cols.size();
        cost.resize(ns * ms);
        for (std::size_t r = 0; r < ns; ++r) {
            const T* src = M + rows[r] * m;
            for (std::size_t c = 0; c < ms; ++c) cost[r * ms + c] = src[cols[c]];
        }
        double sa = 0.0, sb = 0.0;
        for (const std::int64_t i : rows) supply.push_back(supply_full[i]), sa += supply_full[i];
        for (const std::int64_t j : cols) demand.push_back(demand_full[j]), sb += demand_full[j];
        const double scale = shrunk_demand_scale(sa, sb);
        for (double& d : demand) d *= scale;
    }
};

// The share of the demand at the sampled sinks (columns `cols` of M) that
// are among no sampled source's (rows `rows`) `k` cheapest arcs, read in
// place from M. Near 0 when the two measures overlap (every sink is some
// source's near neighbour: the plain shortlist suits them, and the guide was
// measured not to pay there); large when they lie apart.
template <class T>
double uncovered_demand(const T* M, std::int64_t m, const std::vector<std::int64_t>& rows,
                        const std::vector<std::int64_t>& cols, const double* demand, std::int64_t k) {
    const std::int64_t ms = std::int64_t(cols.size());
    if (k >= ms) return 0.0;
    std::vector<char> covered(static_cast<std::size_t>(ms), 0);
    std::vector<std::pair<double, std::int32_t>> buf;
    for (const std::int64_t i : rows) {
        const T* row = M + i * m;
        smallest_k([&](std::int64_t c) { return double(row[cols[c]]); }, ms, k, buf);
        for (const auto& e : buf) covered[e.second] = 1;
    }
    double total = 0.0, left = 0.0;
    for (std::int64_t c = 0; c < ms; ++c) {
        total += demand[cols[c]];
        if (!covered[c]) left += demand[cols[c]];
    }
    return total > 0.0 ? left / total : 0.0;
}

// g_j = min_{r} (M[rows[r], j] - f[r]) for every sink j: the c-transform of
// the sampled sources' potentials f (one pass over the sampled rows of M).
template <class T>
std::vector<double> sink_potentials_from_rows(const T* M, std::int64_t m, const std::vector<std::int64_t>& rows,
                                              const std::vector<double>& f) {
    std::vector<double> g(static_cast<std::size_t>(m), std::numeric_limits<double>::infinity());
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const T* __restrict row = M + rows[r] * m;
        double* __restrict gp = g.data();
        const double fr = f[r];
        for (std::int64_t j = 0; j < m; ++j) gp[j] = std::min(gp[j], double(row[j]) - fr);
    }
    return g;
}

}  // namespace
}  // namespace emd
