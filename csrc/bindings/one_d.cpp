#include "emd/one_d.hpp"

#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"

namespace emd::bindings {
namespace {

template <class T>
carray<T> wasserstein_1d(const carray<T>& u, const std::optional<carray<T>>& u_weights,
                         const carray<T>& v, const std::optional<carray<T>>& v_weights,
                         const carray<std::int64_t>& pair_u, const carray<std::int64_t>& pair_v,
                         double p, bool assume_sorted) {
    require(u.ndim() == 2 && v.ndim() == 2, "u and v must be 2-D (rows, n)");
    require(u.shape(1) > 0 && v.shape(1) > 0, "u and v rows must be nonempty");
    // Weights: u's shape, or one row (n,) shared by all of u's rows.
    auto weights_fit = [](const std::optional<carray<T>>& w, const carray<T>& x) {
        if (!w) return true;
        if (w->ndim() == 1) return w->shape(0) == x.shape(1);
        return w->ndim() == 2 && w->shape(0) == x.shape(0) && w->shape(1) == x.shape(1);
    };
    require(weights_fit(u_weights, u), "u_weights must have u's shape or be one row of length n");
    require(weights_fit(v_weights, v), "v_weights must have v's shape or be one row of length m");
    require(pair_u.ndim() == 1 && pair_v.ndim() == 1 && pair_u.shape(0) == pair_v.shape(0),
            "pair_u and pair_v must be 1-D of equal length");
    require(p >= 1.0, "p must be >= 1");
    const std::int64_t num_pairs = pair_u.shape(0);
    for (std::int64_t k = 0; k < num_pairs; ++k) {
        require(pair_u.data()[k] >= 0 && pair_u.data()[k] < u.shape(0) && pair_v.data()[k] >= 0 &&
                    pair_v.data()[k] < v.shape(0),
                "pair index out of range");
    }
    Rows<T> ru{u.data(), ptr_or_null(u_weights), u.shape(0), u.shape(1), u_weights && u_weights->ndim() == 1};
    Rows<T> rv{v.data(), ptr_or_null(v_weights), v.shape(0), v.shape(1), v_weights && v_weights->ndim() == 1};
    carray<T> out(num_pairs);
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        emd::wasserstein_1d<T>(ru, rv, pair_u.data(), pair_v.data(), num_pairs, p, assume_sorted, o);
    }
    return out;
}

}  // namespace

void bind_one_d(py::module_& m) {
    const char* doc = "W_p for each (u[pair_u[k]], v[pair_v[k]]); rows are (num_rows, n) float arrays.";
    m.def("wasserstein_1d", &wasserstein_1d<float>, doc, py::arg("u"), py::arg("u_weights"), py::arg("v"),
          py::arg("v_weights"), py::arg("pair_u"), py::arg("pair_v"), py::arg("p"), py::arg("assume_sorted"));
    m.def("wasserstein_1d", &wasserstein_1d<double>, doc, py::arg("u"), py::arg("u_weights"), py::arg("v"),
          py::arg("v_weights"), py::arg("pair_u"), py::arg("pair_v"), py::arg("p"), py::arg("assume_sorted"));
}

}  // namespace emd::bindings
