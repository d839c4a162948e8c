#include "emd/critic.hpp"

#include <pybind11/stl.h>

#include <vector>

#include "bindings.hpp"
#include "interrupt.hpp"

namespace emd::bindings {
namespace {

// Layers arrive stacked: weights[l] (K, fan_in, fan_out), biases[l] (K, fan_out).
template <class T>
struct Net {
    std::vector<std::int64_t> dims;
    std::vector<const T*> w, b;
    MLPView<T> view;

    Net(const std::vector<carray<T>>& weights, const std::vector<carray<T>>& biases, double slope) {
        const std::size_t nl = weights.size();
        require(nl >= 1 && biases.size() == nl, "weights and biases must be nonempty lists of equal length");
        const std::int64_t K = weights[0].ndim() == 3 ? weights[0].shape(0) : 0;
        require(K >= 1, "weights must be (K, fan_in, fan_out) arrays");
        dims.push_back(weights[0].shape(1));
        for (std::size_t l = 0; l < nl; ++l) {
            const auto& W = weights[l];
            const auto& B = biases[l];
            require(W.ndim() == 3 && W.shape(0) == K && W.shape(1) == dims.back(),
                    "weights[l] must be (K, fan_in, fan_out) with fan_in = previous fan_out");
            require(B.ndim() == 2 && B.shape(0) == K && B.shape(1) == W.shape(2), "biases[l] must be (K, fan_out)");
            dims.push_back(W.shape(2));
            w.push_back(W.data());
            b.push_back(B.data());
        }
        require(dims.back() == 1, "the last layer must have fan_out 1");
        require(slope >= 0.0 && slope <= 1.0, "slope must be in [0, 1]");
        view.num_layers = int(nl);
        view.dims = dims.data();
        view.weights = w.data();
        view.biases = b.data();
        view.num_critics = K;
        view.slope = T(slope);
    }
};

template <class T>
carray<T> critic_forward(const std::vector<carray<T>>& weights, const std::vector<carray<T>>& biases, double slope,
                         const carray<T>& x) {
    Net<T> net(weights, biases, slope);
    const std::int64_t K = net.view.num_critics;
    // x: (batch, d) shared by every critic, or (K, batch, d).
    const bool shared = x.ndim() == 2;
    require(shared || (x.ndim() == 3 && x.shape(0) == K), "x must be (batch, d) or (K, batch, d)");
    const std::int64_t batch = x.shape(x.ndim() - 2);
    require(x.shape(x.ndim() - 1) == net.dims[0], "x's last axis must equal the critic's input width");
    carray<T> out({K, batch});
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        emd::critic_forward<T>(net.view, x.data(), batch, shared, o);
    }
    return out;
}

template <class T>
double kr_estimate(const std::vector<carray<T>>& weights, const std::vector<carray<T>>& biases, double slope,
                   const carray<T>& x_real, const carray<T>& x_fake) {
    Net<T> net(weights, biases, slope);
    require(net.view.num_critics == 1, "kr_estimate takes one critic");
    require(x_real.ndim() == 2 && x_fake.ndim() == 2 && x_real.shape(1) == net.dims[0] &&
                x_fake.shape(1) == net.dims[0],
            "x_real and x_fake must be (n, d) with d the critic's input width");
    require(x_real.shape(0) >= 1 && x_fake.shape(0) >= 1, "x_real and x_fake must be nonempty");
    Interrupt interrupt = python_interrupt();
    double result = 0.0;
    {
        py::gil_scoped_release release;
        emd::kr_estimate<T>(net.view, x_real.data(), x_real.shape(0), x_fake.data(), x_fake.shape(0), interrupt,
                            &result);
    }
    raise_if_interrupted(interrupt);
    return result;
}

}  // namespace

void bind_critic(py::module_& m) {
    const char* fdoc = "Stacked MLP critics: weights[l] (K, fan_in, fan_out), biases[l] (K, fan_out); -> (K, batch).";
    const char* kdoc = "mean f(x_real) - mean f(x_fake) for one critic (K = 1), fused and tiled.";
    m.def("critic_forward", &critic_forward<float>, fdoc, py::arg("weights"), py::arg("biases"), py::arg("slope"),
          py::arg("x"));
    m.def("critic_forward", &critic_forward<double>, fdoc, py::arg("weights"), py::arg("biases"), py::arg("slope"),
          py::arg("x"));
    m.def("kr_estimate", &kr_estimate<float>, kdoc, py::arg("weights"), py::arg("biases"), py::arg("slope"),
          py::arg("x_real"), py::arg("x_fake"));
    m.def("kr_estimate", &kr_estimate<double>, kdoc, py::arg("weights"), py::arg("biases"), py::arg("slope"),
          py::arg("x_real"), py::arg("x_fake"));
}

}  // namespace emd::bindings
