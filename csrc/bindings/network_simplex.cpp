#include "emd/network_simplex.hpp"

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "interrupt.hpp"

namespace emd::bindings {
namespace {

// a (B, n), b (B, m), M (n, m) shared or (B, n, m). Returns the raw batched
// outputs; python/emd/_discrete.py shapes them into an OTResult.
template <class T>
py::tuple network_simplex(const carray<T>& a, const carray<T>& b, const carray<T>& M, std::int64_t max_iter) {
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
    return py::make_tuple(cost, pot_a, pot_b, gap, status, n_iter, plan_rows, plan_cols, plan_values, num_plan);
}

}  // namespace

void bind_network_simplex(py::module_& m) {
    const char* doc =
        "Exact transport by the network simplex: (cost, potential_a, potential_b, duality_gap, status, n_iter, "
        "plan_rows, plan_cols, plan_values, num_plan), each with a leading batch axis.";
    m.def("network_simplex", &network_simplex<float>, doc, py::arg("a"), py::arg("b"), py::arg("M"),
          py::arg("max_iter"));
    m.def("network_simplex", &network_simplex<double>, doc, py::arg("a"), py::arg("b"), py::arg("M"),
          py::arg("max_iter"));
}

}  // namespace emd::bindings
