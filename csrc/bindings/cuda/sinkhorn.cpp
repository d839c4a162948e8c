// _cuda bindings of the Sinkhorn kernels: conversion only. Device arrays
// arrive as integer pointers (0 for None), outputs as a 7-tuple of pointers
// (f, g, cost, objective, marginal_error, n_iter, status); python/emd/_gpu.py
// validated the inputs and allocated everything from CuPy's memory pool.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "../interrupt.hpp"
#include "conversion.hpp"
#include "emd/gpu.hpp"

namespace py = pybind11;
using emd::gpu::Dtype;
using std::int64_t;
using std::uintptr_t;

using emd::bindings::cuda::dtype_of;
using emd::bindings::cuda::ptr;

namespace {


emd::gpu::SinkhornOutputs outputs_of(const py::tuple& out) {
    if (out.size() != 7) throw std::invalid_argument("outputs must be 7 device pointers");
    auto at = [&](int k) { return out[k].cast<uintptr_t>(); };
    return {ptr<void>(at(0)), ptr<void>(at(1)), ptr<double>(at(2)), ptr<double>(at(3)), ptr<double>(at(4)),
            ptr<int64_t>(at(5)), ptr<std::int32_t>(at(6))};
}

emd::gpu::SinkhornOptions options_of(double reg, double tol, int64_t max_iter, double eps_scaling, double scale,
                                     double mass_a) {
    emd::gpu::SinkhornOptions o;
    o.params.reg = reg;
    o.params.tol = tol;
    o.params.max_iter = max_iter;
    o.params.eps_scaling = eps_scaling;
    o.scale = scale;
    o.mass_a = mass_a;
    return o;
}

}  // namespace

void bind_cuda_sinkhorn(py::module_& m) {
    m.def("sinkhorn_dense_workspace_bytes",
          [](int itemsize, int64_t n, int64_t mm, int device) {
              return emd::gpu::sinkhorn_dense_workspace_bytes(dtype_of(itemsize), n, mm, device);
          },
          py::arg("itemsize"), py::arg("n"), py::arg("m"), py::arg("device"));
    m.def(
        "sinkhorn_dense",
        [](int itemsize, uintptr_t a, uintptr_t b, uintptr_t cost, int64_t n, int64_t mm, double reg, double tol,
           int64_t max_iter, double eps_scaling, double scale, double mass_a, uintptr_t f_init, uintptr_t g_init,
           const py::tuple& outputs, uintptr_t workspace, std::size_t workspace_bytes, int device, uintptr_t stream) {
            const auto out = outputs_of(outputs);
            const auto o = options_of(reg, tol, max_iter, eps_scaling, scale, mass_a);
            emd::Interrupt interrupt = emd::bindings::python_interrupt();
            {
                py::gil_scoped_release release;
                emd::gpu::sinkhorn_dense(dtype_of(itemsize), ptr<const void>(a), ptr<const void>(b),
                                         ptr<const void>(cost), n, mm, o, ptr<const void>(f_init),
                                         ptr<const void>(g_init), out, ptr<void>(workspace), workspace_bytes, device,
                                         stream, interrupt);
            }
            emd::bindings::raise_if_interrupted(interrupt);
        },
        "Log-domain Sinkhorn on one dense problem; results into the 7 output pointers.", py::arg("itemsize"),
        py::arg("a"), py::arg("b"), py::arg("cost"), py::arg("n"), py::arg("m"), py::arg("reg"), py::arg("tol"),
        py::arg("max_iter"), py::arg("eps_scaling"), py::arg("scale"), py::arg("mass_a"), py::arg("f_init"),
        py::arg("g_init"), py::arg("outputs"), py::arg("workspace"), py::arg("workspace_bytes"), py::arg("device"),
        py::arg("stream"));
    m.def("sinkhorn_batched_fits", &emd::gpu::sinkhorn_batched_fits, py::arg("n"), py::arg("m"));
    m.def(
        "sinkhorn_batched",
        [](int itemsize, uintptr_t a, uintptr_t b, uintptr_t cost, bool shared_cost, int64_t num_problems, int64_t n,
           int64_t mm, double reg, double tol, int64_t max_iter, double eps_scaling, uintptr_t scale, uintptr_t f_init,
           uintptr_t g_init, const py::tuple& outputs, int device, uintptr_t stream) {
            const auto out = outputs_of(outputs);
            const auto o = options_of(reg, tol, max_iter, eps_scaling, 0.0, 1.0);
            py::gil_scoped_release release;
            emd::gpu::sinkhorn_batched(dtype_of(itemsize), ptr<const void>(a), ptr<const void>(b),
                                       ptr<const void>(cost), shared_cost, num_problems, n, mm, o,
                                       ptr<const double>(scale), ptr<const void>(f_init), ptr<const void>(g_init), out,
                                       device, stream);
        },
        "Sinkhorn on a batch of small problems, one block each (asynchronous on `stream`).", py::arg("itemsize"),
        py::arg("a"), py::arg("b"), py::arg("cost"), py::arg("shared_cost"), py::arg("num_problems"), py::arg("n"),
        py::arg("m"), py::arg("reg"), py::arg("tol"), py::arg("max_iter"), py::arg("eps_scaling"), py::arg("scale"),
        py::arg("f_init"), py::arg("g_init"), py::arg("outputs"), py::arg("device"), py::arg("stream"));
    m.def("sinkhorn_samples_workspace_bytes",
          [](int itemsize, int64_t n, int64_t mm, int64_t d, int device) {
              return emd::gpu::sinkhorn_samples_workspace_bytes(dtype_of(itemsize), n, mm, d, device);
          },
          py::arg("itemsize"), py::arg("n"), py::arg("m"), py::arg("d"), py::arg("device"));
    m.def(
        "sinkhorn_samples",
        [](int itemsize, uintptr_t x, uintptr_t y, uintptr_t a, uintptr_t b, int64_t n, int64_t mm, int64_t d,
           int metric, double power, double reg, double tol, int64_t max_iter, double eps_scaling, double scale,
           uintptr_t f_init, uintptr_t g_init, const py::tuple& outputs, uintptr_t workspace,
           std::size_t workspace_bytes, int device, uintptr_t stream) {
            const auto out = outputs_of(outputs);
            const auto o = options_of(reg, tol, max_iter, eps_scaling, scale, 1.0);
            emd::Interrupt interrupt = emd::bindings::python_interrupt();
            {
                py::gil_scoped_release release;
                emd::gpu::sinkhorn_samples(dtype_of(itemsize), ptr<const void>(x), ptr<const void>(y),
                                           ptr<const void>(a), ptr<const void>(b), n, mm, d, metric, power, o,
                                           ptr<const void>(f_init), ptr<const void>(g_init), out, ptr<void>(workspace),
                                           workspace_bytes, device, stream, interrupt);
            }
            emd::bindings::raise_if_interrupted(interrupt);
        },
        "Matrix-free log-domain Sinkhorn between point clouds (weights normalized to 1).", py::arg("itemsize"),
        py::arg("x"), py::arg("y"), py::arg("a"), py::arg("b"), py::arg("n"), py::arg("m"), py::arg("d"),
        py::arg("metric"), py::arg("power"), py::arg("reg"), py::arg("tol"), py::arg("max_iter"),
        py::arg("eps_scaling"), py::arg("scale"), py::arg("f_init"), py::arg("g_init"), py::arg("outputs"),
        py::arg("workspace"), py::arg("workspace_bytes"), py::arg("device"), py::arg("stream"));
}
