// _cuda bindings of the Sinkhorn kernels: conversion only. Device arrays
// arrive as integer pointers (0 for None), the parameters as SinkhornParams
// (the CPU's struct), the seven per-problem outputs as SinkhornOutputs (named
// device pointers); every argument by keyword. python/emd validated the inputs
// and allocated everything from CuPy's memory pool.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "../interrupt.hpp"
#include "../sinkhorn_params.hpp"
#include "conversion.hpp"
#include "emd/gpu.hpp"

namespace py = pybind11;
using std::int64_t;
using std::uintptr_t;

using emd::bindings::cuda::dtype_of;
using emd::bindings::cuda::ptr;

namespace {

// Where the kernels write problem p's results: device pointers to its slot of
// each output array (f (n,) and g (m,) of the input dtype; cost, objective,
// marginal_error float64; n_iter int64; status int32, emd::SolveStatus).
struct OutputPointers {
    uintptr_t f, g, cost, objective, marginal_error, n_iter, status;
    emd::gpu::SinkhornOutputs view() const {
        return {ptr<void>(f),          ptr<void>(g),      ptr<double>(cost),       ptr<double>(objective),
                ptr<double>(marginal_error), ptr<int64_t>(n_iter), ptr<std::int32_t>(status)};
    }
};

emd::gpu::SinkhornOptions options_of(const emd::SinkhornParams& params, double scale, double mass_a) {
    emd::gpu::SinkhornOptions o;
    o.params = params;
    o.scale = scale;
    o.mass_a = mass_a;
    return o;
}

}  // namespace

void bind_cuda_sinkhorn(py::module_& m) {
    emd::bindings::bind_sinkhorn_params(m);
    py::class_<OutputPointers>(m, "SinkhornOutputs", "Device pointers to one problem's output slots, by name.")
        .def(py::init([](uintptr_t f, uintptr_t g, uintptr_t cost, uintptr_t objective, uintptr_t marginal_error,
                         uintptr_t n_iter, uintptr_t status) {
                 return OutputPointers{f, g, cost, objective, marginal_error, n_iter, status};
             }),
             py::kw_only(), py::arg("f"), py::arg("g"), py::arg("cost"), py::arg("objective"),
             py::arg("marginal_error"), py::arg("n_iter"), py::arg("status"))
        .def_readonly("f", &OutputPointers::f)
        .def_readonly("g", &OutputPointers::g)
        .def_readonly("cost", &OutputPointers::cost)
        .def_readonly("objective", &OutputPointers::objective)
        .def_readonly("marginal_error", &OutputPointers::marginal_error)
        .def_readonly("n_iter", &OutputPointers::n_iter)
        .def_readonly("status", &OutputPointers::status);

    m.def("sinkhorn_dense_workspace_bytes",
          [](int itemsize, int64_t n, int64_t mm, int device) {
              return emd::gpu::sinkhorn_dense_workspace_bytes(dtype_of(itemsize), n, mm, device);
          },
          py::kw_only(), py::arg("itemsize"), py::arg("n"), py::arg("m"), py::arg("device"));
    m.def(
        "sinkhorn_dense",
        [](int itemsize, uintptr_t a, uintptr_t b, uintptr_t cost, int64_t n, int64_t mm,
           const emd::SinkhornParams& params, double scale, double mass_a, uintptr_t f_init, uintptr_t g_init,
           const OutputPointers& outputs, uintptr_t workspace, std::size_t workspace_bytes, int device,
           uintptr_t stream) {
            const auto o = options_of(params, scale, mass_a);
            emd::Interrupt interrupt = emd::bindings::python_interrupt();
            {
                py::gil_scoped_release release;
                emd::gpu::sinkhorn_dense(dtype_of(itemsize), ptr<const void>(a), ptr<const void>(b),
                                         ptr<const void>(cost), n, mm, o, ptr<const void>(f_init),
                                         ptr<const void>(g_init), outputs.view(), ptr<void>(workspace),
                                         workspace_bytes, device, stream, interrupt);
            }
            emd::bindings::raise_if_interrupted(interrupt);
        },
        "Log-domain Sinkhorn on one dense problem; results into `outputs`.", py::kw_only(), py::arg("itemsize"),
        py::arg("a"), py::arg("b"), py::arg("cost"), py::arg("n"), py::arg("m"), py::arg("params"),
        py::arg("scale"), py::arg("mass_a"), py::arg("f_init"), py::arg("g_init"), py::arg("outputs"),
        py::arg("workspace"), py::arg("workspace_bytes"), py::arg("device"), py::arg("stream"));
    m.def("sinkhorn_batched_fits", &emd::gpu::sinkhorn_batched_fits, py::arg("n"), py::arg("m"));
    m.def(
        "sinkhorn_batched",
        [](int itemsize, uintptr_t a, uintptr_t b, uintptr_t cost, bool shared_cost, int64_t num_problems, int64_t n,
           int64_t mm, const emd::SinkhornParams& params, uintptr_t scale, uintptr_t f_init, uintptr_t g_init,
           const OutputPointers& outputs, int device, uintptr_t stream) {
            const auto o = options_of(params, 0.0, 1.0);
            py::gil_scoped_release release;
            emd::gpu::sinkhorn_batched(dtype_of(itemsize), ptr<const void>(a), ptr<const void>(b),
                                       ptr<const void>(cost), shared_cost, num_problems, n, mm, o,
                                       ptr<const double>(scale), ptr<const void>(f_init), ptr<const void>(g_init),
                                       outputs.view(), device, stream);
        },
        "Sinkhorn on a batch of small problems, one block each (asynchronous on `stream`); `outputs` points to "
        "problem 0's slots of (B,)-long arrays.",
        py::kw_only(), py::arg("itemsize"), py::arg("a"), py::arg("b"), py::arg("cost"), py::arg("shared_cost"),
        py::arg("num_problems"), py::arg("n"), py::arg("m"), py::arg("params"), py::arg("scale"), py::arg("f_init"),
        py::arg("g_init"), py::arg("outputs"), py::arg("device"), py::arg("stream"));
    m.def("sinkhorn_samples_workspace_bytes",
          [](int itemsize, int64_t n, int64_t mm, int64_t d, int device) {
              return emd::gpu::sinkhorn_samples_workspace_bytes(dtype_of(itemsize), n, mm, d, device);
          },
          py::kw_only(), py::arg("itemsize"), py::arg("n"), py::arg("m"), py::arg("d"), py::arg("device"));
    m.def(
        "sinkhorn_samples",
        [](int itemsize, uintptr_t x, uintptr_t y, uintptr_t a, uintptr_t b, int64_t n, int64_t mm, int64_t d,
           int metric, double power, const emd::SinkhornParams& params, double scale, uintptr_t f_init,
           uintptr_t g_init, const OutputPointers& outputs, uintptr_t workspace, std::size_t workspace_bytes,
           int device, uintptr_t stream) {
            const auto o = options_of(params, scale, 1.0);
            emd::Interrupt interrupt = emd::bindings::python_interrupt();
            {
                py::gil_scoped_release release;
                emd::gpu::sinkhorn_samples(dtype_of(itemsize), ptr<const void>(x), ptr<const void>(y),
                                           ptr<const void>(a), ptr<const void>(b), n, mm, d, metric, power, o,
                                           ptr<const void>(f_init), ptr<const void>(g_init), outputs.view(),
                                           ptr<void>(workspace), workspace_bytes, device, stream, interrupt);
            }
            emd::bindings::raise_if_interrupted(interrupt);
        },
        "Matrix-free log-domain Sinkhorn between point clouds (weights normalized to 1).", py::kw_only(),
        py::arg("itemsize"), py::arg("x"), py::arg("y"), py::arg("a"), py::arg("b"), py::arg("n"), py::arg("m"),
        py::arg("d"), py::arg("metric"), py::arg("power"), py::arg("params"), py::arg("scale"), py::arg("f_init"),
        py::arg("g_init"), py::arg("outputs"), py::arg("workspace"), py::arg("workspace_bytes"), py::arg("device"),
        py::arg("stream"));
}
