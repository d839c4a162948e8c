#include "emd/cost_matrix.hpp"

#include "bindings.hpp"

namespace emd::bindings {
namespace {

template <class T>
carray<T> cost_matrix(const carray<T>& x, const carray<T>& y, int metric, double q) {
    require(x.ndim() == 2 && y.ndim() == 2 && x.shape(1) == y.shape(1), "x and y must be (n, d) and (m, d)");
    require(metric >= 0 && metric <= 4, "unknown metric code");
    require(metric != int(Metric::minkowski) || q >= 1.0, "the Minkowski order must be >= 1");
    const std::int64_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
    carray<T> out({n, m});
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        emd::cost_matrix<T>(x.data(), y.data(), n, m, d, Metric(metric), q, o);
    }
    return out;
}

}  // namespace

void bind_cost_matrix(py::module_& m) {
    const char* doc = "out[i, j] = metric(x[i], y[j]); metric codes follow emd::Metric.";
    m.def("cost_matrix", &cost_matrix<float>, doc, py::arg("x"), py::arg("y"), py::arg("metric"), py::arg("q"));
    m.def("cost_matrix", &cost_matrix<double>, doc, py::arg("x"), py::arg("y"), py::arg("metric"), py::arg("q"));
}

}  // namespace emd::bindings
