// emd::SinkhornParams (emd/sinkhorn_control.hpp) as a Python class, bound by
// both extensions (_core, _cuda): constructed by keyword, fields read-only,
// the cheap invariants re-checked (ValueError naming the field).
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>

#include "emd/sinkhorn_control.hpp"

namespace emd::bindings {

inline void bind_sinkhorn_params(pybind11::module_& m) {
    namespace py = pybind11;
    // module_local: _core and _cuda each have their own Python class for the one C++ type.
    py::class_<SinkhornParams>(m, "SinkhornParams", py::module_local(),
                               "Parameters of a Sinkhorn solve (emd::SinkhornParams); python/emd validated them.")
        .def(py::init([](double reg, double tol, std::int64_t max_iter, double eps_scaling, bool overrelax,
                         std::int64_t stage_iters, bool symmetric, std::int64_t rate_probe, bool objective) {
                 auto require = [](bool ok, const char* what) {
                     if (!ok) throw std::invalid_argument(what);
                 };
                 require(reg > 0.0, "reg must be > 0");
                 require(tol > 0.0, "tol must be > 0");
                 require(max_iter >= 1, "max_iter must be >= 1");
                 require(eps_scaling == 0.0 || (eps_scaling > 0.0 && eps_scaling < 1.0),
                         "eps_scaling must be 0 (off) or in (0, 1)");
                 require(stage_iters >= 0, "stage_iters must be >= 0");
                 require(rate_probe >= 1, "rate_probe must be >= 1");
                 return SinkhornParams{reg,         tol,       max_iter,   eps_scaling, overrelax,
                                       stage_iters, symmetric, rate_probe, objective};
             }),
             py::kw_only(), py::arg("reg"), py::arg("tol"), py::arg("max_iter"), py::arg("eps_scaling") = 0.0,
             py::arg("overrelax") = true, py::arg("stage_iters") = 0, py::arg("symmetric") = false,
             py::arg("rate_probe") = 10, py::arg("objective") = true)
        .def_readonly("reg", &SinkhornParams::reg, "the final epsilon (absolute, in cost units)")
        .def_readonly("tol", &SinkhornParams::tol, "stop when ||P 1 - a||_1 < tol")
        .def_readonly("max_iter", &SinkhornParams::max_iter, "iterations over all epsilon stages")
        .def_readonly("eps_scaling", &SinkhornParams::eps_scaling, "0: off; in (0, 1): the annealing factor")
        .def_readonly("overrelax", &SinkhornParams::overrelax, "over-relaxed updates (same fixed point)")
        .def_readonly("stage_iters", &SinkhornParams::stage_iters,
                      "0: intermediate stages run to a loose tol; k > 0: exactly k iterations each (CPU loop)")
        .def_readonly("symmetric", &SinkhornParams::symmetric,
                      "C = C^T and a = b: the averaged update f <- (f + T(f)) / 2 (CPU matrix-free loop)")
        .def_readonly("rate_probe", &SinkhornParams::rate_probe, "plain iterations per half of the rate probe")
        .def_readonly("objective", &SinkhornParams::objective, "compute cost and objective at the end");
}

}  // namespace emd::bindings
