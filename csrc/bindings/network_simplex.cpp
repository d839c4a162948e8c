#include "emd/network_simplex.hpp"

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "interrupt.hpp"

namespace emd::bindings {
namespace {

// The batched outputs of network_simplex, each with a leading batch axis B;
// python/emd shapes them into an OTResult.
struct NetworkSimplexResult {
    py::array cost;         // (B,) float64: <P, M>
    py::array potential_a;  // (B, n) like a
    py::array potential_b;  // (B, m) like a
    py::array duality_gap;  // (B,) float64
    py::array status;       // (B,) int32: emd::SolveStatus (status_names())
    py::array n_iter;       // (B,) int64: pivots
    py::array plan_rows;    // (B, n + m - 1) int64: the basic solution's entries,
    py::array plan_cols;    // (B, n + m - 1) int64  the first num_plan[k] of row k
    py::array plan_values;  // (B, n + m - 1) like a
    py::array num_plan;     // (B,) int64
};

// a (B, n), b (B, m), M (n, m) shared or (B, n, m).
template <class T>
NetworkSimplexResult network_simplex(const carray<T>& a, const carray<T>& b, const carray<T>& M,
                                     std::int64_t max_iter) {
    require(a.ndim() == 2 && b.ndim() == 2 && a.shape(0) == b.shape(0), "a and b must be (B, n) and (B, m)");
    const std::int64_t num = a.shape(0), n = a.shape(1), m = b.shape(1);
    require(n > 0 && m > 0, "a and b must be nonempty");
    const bool shared = M.ndim() == 2;
    require((shared && M.shape(0) == n && M.shape(1) == m) ||
                (M.ndim() == 3 && M.shape(0) == num && M.shape(1) == n && M.shape(2) == m),
            "M must be (n, m) or (B, n, m)");
    const std::int64_t cap = n + m - 1;
    carray<T> pot_a({num, n}), pot_b({num, m}), plan_values({num, cap});
    carray<std::int64_t> plan_rows({num, cap}), plan_cols({num, cap}), num_plan(num), n_iter(num);
    carray<double> cost(num), gap(num);
    carray<std::int32_t> status(num);
    NetworkSimplexParams params;
    params.max_iter = max_iter;
    Interrupt interrupt = python_interrupt();
    {
        py::gil_scoped_release release;
        emd::network_simplex_batch<T>(a.data(), b.data(), M.data(), num, n, m, shared, params, pot_a.mutable_data(),
                                      pot_b.mutable_data(), plan_rows.mutable_data(), plan_cols.mutable_data(),
                                      plan_values.mutable_data(), num_plan.mutable_data(), cost.mutable_data(),
                                      gap.mutable_data(), n_iter.mutable_data(), status.mutable_data(), interrupt);
    }
    raise_if_interrupted(interrupt);
    return {cost, pot_a, pot_b, gap, status, n_iter, plan_rows, plan_cols, plan_values, num_plan};
}

}  // namespace

void bind_network_simplex(py::module_& m) {
    py::class_<NetworkSimplexResult>(m, "NetworkSimplexResult",
                                     "The batched outputs of network_simplex (leading axis B), read-only.")
        .def_readonly("cost", &NetworkSimplexResult::cost, "(B,) float64: <P, M>")
        .def_readonly("potential_a", &NetworkSimplexResult::potential_a, "(B, n), the dtype of a")
        .def_readonly("potential_b", &NetworkSimplexResult::potential_b, "(B, m), the dtype of a")
        .def_readonly("duality_gap", &NetworkSimplexResult::duality_gap, "(B,) float64")
        .def_readonly("status", &NetworkSimplexResult::status, "(B,) int32 codes of status_names()")
        .def_readonly("n_iter", &NetworkSimplexResult::n_iter, "(B,) int64 pivots")
        .def_readonly("plan_rows", &NetworkSimplexResult::plan_rows, "(B, n + m - 1) int64")
        .def_readonly("plan_cols", &NetworkSimplexResult::plan_cols, "(B, n + m - 1) int64")
        .def_readonly("plan_values", &NetworkSimplexResult::plan_values, "(B, n + m - 1), the dtype of a")
        .def_readonly("num_plan", &NetworkSimplexResult::num_plan, "(B,) int64: plan entries used per row");
    const char* doc = "Exact transport by the network simplex on a batch: a (B, n), b (B, m), M (n, m) or (B, n, m).";
    m.def("network_simplex", &network_simplex<float>, doc, py::arg("a"), py::arg("b"), py::arg("M"),
          py::arg("max_iter"));
    m.def("network_simplex", &network_simplex<double>, doc, py::arg("a"), py::arg("b"), py::arg("M"),
          py::arg("max_iter"));
}

}  // namespace emd::bindings
