// The _cuda extension: conversion only. Device arrays arrive as integer
// pointers (0 for None), with the device ordinal and CuPy's current stream;
// every argument by keyword, long argument lists as parameter structs;
// python/emd/_gpu.py has validated them and allocated the outputs and the
// workspace from CuPy's memory pool.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>

#include "conversion.hpp"
#include "emd/gpu.hpp"
#include "emd/status.hpp"

namespace py = pybind11;
using emd::gpu::Dtype;
using std::int64_t;
using std::uintptr_t;

using emd::bindings::cuda::dtype_of;
using emd::bindings::cuda::ptr;

namespace {

// The arguments of wasserstein_1d (emd::gpu::OneDProblem) as Python sees
// them: device arrays as integer pointers (0 for None), the dtype as its itemsize.
struct OneDArgs {
    int itemsize;
    uintptr_t u, u_weights;
    int64_t u_rows, n;
    uintptr_t v, v_weights;
    int64_t v_rows, m;
    uintptr_t pair_u, pair_v;
    int64_t num_pairs;
    double p;
    bool assume_sorted;
    emd::gpu::OneDProblem view() const {
        return {dtype_of(itemsize), ptr<const void>(u), ptr<const void>(u_weights), u_rows, n,
                ptr<const void>(v), ptr<const void>(v_weights), v_rows, m, ptr<const int64_t>(pair_u),
                ptr<const int64_t>(pair_v), num_pairs, p, assume_sorted};
    }
};

}  // namespace

// One per kernel file beside this one (csrc/bindings/cuda/<name>.cpp).
void bind_cuda_sinkhorn(py::module_& m);
void bind_cuda_critic(py::module_& m);

PYBIND11_MODULE(_cuda, m) {
    m.doc() = "emd's CUDA kernels. Private: call them through the emd package, which validates inputs.";
    m.def("status_names", &emd::status_names,
          "The names of emd::SolveStatus, indexed by the status codes the kernels write.");
    m.def("device_count", &emd::gpu::device_count, "Number of usable CUDA devices (0 when none or no driver).");

    py::class_<OneDArgs>(m, "OneDProblem",
                         "A batch of 1-D problems: out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) over (rows, n) device "
                         "arrays (emd::gpu::OneDProblem).")
        .def(py::init([](int itemsize, uintptr_t u, uintptr_t u_weights, int64_t u_rows, int64_t n, uintptr_t v,
                         uintptr_t v_weights, int64_t v_rows, int64_t mm, uintptr_t pair_u, uintptr_t pair_v,
                         int64_t num_pairs, double p, bool assume_sorted) {
                 dtype_of(itemsize);  // refuse a bad itemsize here, by name
                 return OneDArgs{itemsize, u, u_weights, u_rows, n, v, v_weights, v_rows, mm, pair_u, pair_v,
                                 num_pairs, p, assume_sorted};
             }),
             py::kw_only(), py::arg("itemsize"), py::arg("u"), py::arg("u_weights"), py::arg("u_rows"), py::arg("n"),
             py::arg("v"), py::arg("v_weights"), py::arg("v_rows"), py::arg("m"), py::arg("pair_u") = 0,
             py::arg("pair_v") = 0, py::arg("num_pairs"), py::arg("p"), py::arg("assume_sorted"))
        .def_readonly("itemsize", &OneDArgs::itemsize)
        .def_readonly("u", &OneDArgs::u)
        .def_readonly("u_weights", &OneDArgs::u_weights)
        .def_readonly("u_rows", &OneDArgs::u_rows)
        .def_readonly("n", &OneDArgs::n)
        .def_readonly("v", &OneDArgs::v)
        .def_readonly("v_weights", &OneDArgs::v_weights)
        .def_readonly("v_rows", &OneDArgs::v_rows)
        .def_readonly("m", &OneDArgs::m)
        .def_readonly("pair_u", &OneDArgs::pair_u)
        .def_readonly("pair_v", &OneDArgs::pair_v)
        .def_readonly("num_pairs", &OneDArgs::num_pairs)
        .def_readonly("p", &OneDArgs::p)
        .def_readonly("assume_sorted", &OneDArgs::assume_sorted);

    m.def("wasserstein_1d_workspace_bytes",
          [](const OneDArgs& problem, int device) {
              return emd::gpu::wasserstein_1d_workspace_bytes(problem.view(), device);
          },
          py::arg("problem"), py::kw_only(), py::arg("device"));

    m.def(
        "wasserstein_1d",
        [](const OneDArgs& problem, uintptr_t out, uintptr_t workspace, std::size_t workspace_bytes, int device,
           uintptr_t stream) {
            const auto prob = problem.view();
            py::gil_scoped_release release;
            emd::gpu::wasserstein_1d(prob, ptr<void>(out), ptr<void>(workspace), workspace_bytes, device, stream);
        },
        "out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) on `stream`.", py::arg("problem"), py::kw_only(), py::arg("out"),
        py::arg("workspace"), py::arg("workspace_bytes"), py::arg("device"), py::arg("stream"));

    m.def(
        "cost_matrix",
        [](int itemsize, uintptr_t x, int64_t n, uintptr_t y, int64_t mm, int64_t d, int metric, double q,
           uintptr_t out, int device, uintptr_t stream) {
            py::gil_scoped_release release;
            emd::gpu::cost_matrix(dtype_of(itemsize), ptr<const void>(x), n, ptr<const void>(y), mm, d, metric, q,
                                  ptr<void>(out), device, stream);
        },
        "out (n, m) = metric(x_i, y_j); metric is emd::Metric's code.", py::kw_only(), py::arg("itemsize"), py::arg("x"),
        py::arg("n"), py::arg("y"), py::arg("m"), py::arg("d"), py::arg("metric"), py::arg("q"), py::arg("out"),
        py::arg("device"), py::arg("stream"));

    m.def(
        "divergence",
        [](int itemsize, int kind, uintptr_t p, uintptr_t q, int64_t rows, int64_t bins, uintptr_t out, int device,
           uintptr_t stream) {
            py::gil_scoped_release release;
            emd::gpu::divergence(dtype_of(itemsize), kind, ptr<const void>(p), ptr<const void>(q), rows, bins,
                                 ptr<void>(out), device, stream);
        },
        "out[r] = TV (kind 0), KL (1) or JS (2) of rows p[r], q[r].", py::kw_only(), py::arg("itemsize"), py::arg("kind"),
        py::arg("p"), py::arg("q"), py::arg("rows"), py::arg("bins"), py::arg("out"), py::arg("device"),
        py::arg("stream"));

    bind_cuda_sinkhorn(m);
    bind_cuda_critic(m);
}
