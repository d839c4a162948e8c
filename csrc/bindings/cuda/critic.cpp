// _cuda bindings of the critic kernels: conversion only. The network arrives
// as a CriticNet (widths, lists of device pointers), the rest by keyword;
// python/emd validated them.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

#include "conversion.hpp"
#include "emd/gpu.hpp"

namespace py = pybind11;
using std::int64_t;
using std::uintptr_t;

namespace {

emd::gpu::CriticNet net_of(int itemsize, const std::vector<int64_t>& dims, const std::vector<uintptr_t>& weights,
                           const std::vector<uintptr_t>& biases, int64_t num_critics, double slope) {
    const int layers = int(weights.size());
    if (layers < 1 || layers > emd::gpu::kCriticMaxLayers || int(biases.size()) != layers ||
        int(dims.size()) != layers + 1)
        throw std::invalid_argument("critic: need 1..8 layers, one bias per weight and layers + 1 widths");
    emd::gpu::CriticNet net{};
    net.dtype = emd::bindings::cuda::dtype_of(itemsize);
    net.num_layers = layers;
    for (int l = 0; l <= layers; ++l) net.dims[l] = dims[std::size_t(l)];
    for (int l = 0; l < layers; ++l) {
        net.d_weights[l] = reinterpret_cast<const void*>(weights[std::size_t(l)]);
        net.d_biases[l] = reinterpret_cast<const void*>(biases[std::size_t(l)]);
    }
    net.num_critics = num_critics;
    net.slope = slope;
    return net;
}

}  // namespace

// The network as Python hands it over: widths (d, hidden..., 1), one device
// pointer per layer's weights (K, fan_in, fan_out) and biases (K, fan_out).
struct CriticArgs {
    int itemsize;
    std::vector<int64_t> dims;
    std::vector<uintptr_t> weights, biases;
    int64_t num_critics;
    double slope;
    emd::gpu::CriticNet view() const { return net_of(itemsize, dims, weights, biases, num_critics, slope); }
};

void bind_cuda_critic(py::module_& m) {
    py::class_<CriticArgs>(m, "CriticNet", "K stacked MLP critics on the device (emd::gpu::CriticNet).")
        .def(py::init([](int itemsize, const std::vector<int64_t>& dims, const std::vector<uintptr_t>& weights,
                         const std::vector<uintptr_t>& biases, int64_t num_critics, double slope) {
                 net_of(itemsize, dims, weights, biases, num_critics, slope);  // refuse bad shapes here
                 return CriticArgs{itemsize, dims, weights, biases, num_critics, slope};
             }),
             py::kw_only(), py::arg("itemsize"), py::arg("dims"), py::arg("weights"), py::arg("biases"),
             py::arg("num_critics"), py::arg("slope"))
        .def_readonly("itemsize", &CriticArgs::itemsize)
        .def_readonly("dims", &CriticArgs::dims)
        .def_readonly("weights", &CriticArgs::weights)
        .def_readonly("biases", &CriticArgs::biases)
        .def_readonly("num_critics", &CriticArgs::num_critics)
        .def_readonly("slope", &CriticArgs::slope);
    m.def("critic_fused_fits",
          [](int itemsize, const std::vector<int64_t>& dims, int device) {
              std::vector<uintptr_t> none(dims.empty() ? 0 : dims.size() - 1, 0);
              if (none.empty() || none.size() > std::size_t(emd::gpu::kCriticMaxLayers)) return false;
              return emd::gpu::critic_fused_fits(net_of(itemsize, dims, none, none, 1, 0.0), device);
          },
          "Whether the fused kernel takes a network of these widths (d, hidden..., 1).", py::kw_only(),
          py::arg("itemsize"), py::arg("dims"), py::arg("device"));
    m.def(
        "critic_forward",
        [](const CriticArgs& net, uintptr_t x, int64_t batch, bool shared_x, uintptr_t out, int device,
           uintptr_t stream) {
            const auto n = net.view();
            py::gil_scoped_release release;
            emd::gpu::critic_forward(n, reinterpret_cast<const void*>(x), batch, shared_x,
                                     reinterpret_cast<void*>(out), device, stream);
        },
        "out (K, batch) = f_k(x) by the fused kernel.", py::arg("net"), py::kw_only(), py::arg("x"),
        py::arg("batch"), py::arg("shared_x"), py::arg("out"), py::arg("device"), py::arg("stream"));
    m.def("kr_estimate_workspace_bytes",
          [](int64_t num_critics) {
              emd::gpu::CriticNet net{};
              net.num_critics = num_critics;
              return emd::gpu::kr_estimate_workspace_bytes(net);
          },
          py::arg("num_critics"));
    m.def(
        "kr_estimate",
        [](const CriticArgs& net, uintptr_t x_real, int64_t n_real, uintptr_t x_fake, int64_t n_fake, uintptr_t out,
           uintptr_t workspace, std::size_t workspace_bytes, int device, uintptr_t stream) {
            const auto n = net.view();
            py::gil_scoped_release release;
            emd::gpu::kr_estimate(n, reinterpret_cast<const void*>(x_real), n_real,
                                  reinterpret_cast<const void*>(x_fake), n_fake, reinterpret_cast<double*>(out),
                                  reinterpret_cast<void*>(workspace), workspace_bytes, device, stream);
        },
        "out (K,) float64 = mean f_k(x_real) - mean f_k(x_fake), fused.", py::arg("net"), py::kw_only(),
        py::arg("x_real"), py::arg("n_real"), py::arg("x_fake"), py::arg("n_fake"), py::arg("out"),
        py::arg("workspace"), py::arg("workspace_bytes"), py::arg("device"), py::arg("stream"));
}
