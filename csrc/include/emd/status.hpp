// How a solve ended: the one status enum of every kernel (network simplex,
// CPU and CUDA Sinkhorn). Outputs cross to Python as int32 arrays of these
// values; the bindings export status_names() (indexed by value), the one
// place Python maps codes to the strings of OTResult.status.
#pragma once
#include <array>
#include <cstdint>

namespace emd {

enum class SolveStatus : std::int32_t {
    optimal = 0,           // exact solver: the final tree proves optimality
    converged = 1,         // iterative solver: the stopping rule was met (marginal error < tol)
    max_iter_reached = 2,  // the iteration (pivot) budget ran out first
    infeasible = 3,        // no feasible plan (unequal masses beyond round-off)
    interrupted = 4,       // Ctrl-C (the binding then raises KeyboardInterrupt)
    // Sinkhorn: the marginal error fell to what the potentials' precision can
    // resolve while still above tol, so no further iteration can certify tol
    // (float32 potentials at tol 1e-9, say).
    resolution_limit = 5,
};

constexpr int kNumStatuses = 6;

// The name Python shows for each value, indexed by value.
inline std::array<const char*, kNumStatuses> status_names() {
    return {"optimal", "converged", "max_iter_reached", "infeasible", "interrupted", "resolution_limit"};
}

}  // namespace emd
