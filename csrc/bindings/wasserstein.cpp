// The binding of emd.wasserstein's straight path on point clouds
// (emd/wasserstein_clouds.hpp, csrc/cpu/wasserstein_clouds.cpp holds its
// checks and arithmetic): conversion only. It recognizes the straight path's
// kind of arguments (exact ndarrays of one float dtype, C-contiguous, a
// Python number p), hands their pointers to the kernel with the GIL released,
// lends it NumPy's power for M **= p, and builds the result scalar; None for
// any other kind of argument or where the kernel declines, and the caller
// takes the full path.
#include <cstdint>
#include <optional>

#include "bindings.hpp"
#include "emd/wasserstein_clouds.hpp"
#include "interrupt.hpp"

// NumPy's C API, for the array checks and the result scalar. No
// PY_ARRAY_UNIQUE_SYMBOL: this file keeps its own API table (imported in
// bind_wasserstein), like one_d.cpp.
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#define NPY_TARGET_VERSION NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

#include "straight_args.hpp"

namespace emd::bindings {
namespace {

// M **= p through NumPy itself, as the full path's `M **= pf` does (a Python
// float exponent, NumPy's vectorized pow): emd::CostPower's callback, called
// with the GIL released.
struct NumpyPower {
    py::handle M_array;  // the ndarray over the kernel's M
    py::handle p_float;  // the exponent as a Python float
};

template <class T>
bool numpy_power(void* context, T*, std::int64_t, double) {
    const auto* power = static_cast<const NumpyPower*>(context);
    py::gil_scoped_acquire acquire;
    PyObject* powered = PyNumber_InPlacePower(power->M_array.ptr(), power->p_float.ptr(), Py_None);
    if (powered == nullptr) {  // e.g. np.seterr(under="raise"): the full path meets the same
        PyErr_Clear();
        return false;
    }
    Py_DECREF(powered);  // M_array itself, powered in place
    return true;
}

template <class T>
py::object clouds_distance(PyArrayObject* x, PyArrayObject* y, PyArrayObject* xw, PyArrayObject* yw, double p,
                           py::handle p_float, int metric) {
    const auto data = [](PyArrayObject* a) { return a ? static_cast<const T*>(PyArray_DATA(a)) : nullptr; };
    const CloudsProblem<T> problem{data(x), data(y), data(xw), data(yw), PyArray_DIM(x, 0), PyArray_DIM(y, 0),
                                   PyArray_DIM(x, 1), Metric(metric), p};
    // M as an ndarray, so NumPy can power it in place.
    carray<T> M_array({std::int64_t(problem.n), std::int64_t(problem.m)});
    NumpyPower numpy{M_array, p_float};
    const CostPower<T> power{&numpy_power<T>, &numpy};
    Interrupt interrupt = python_interrupt();
    std::optional<T> value;
    {
        py::gil_scoped_release release;
        value = emd::wasserstein_clouds<T>(problem, M_array.mutable_data(), power, interrupt);
    }
    raise_if_interrupted(interrupt);
    if (!value) return py::none();  // a check flags an input, or the solve fell short: the full path
    PyObject* scalar = PyArray_Scalar(&*value, PyArray_DESCR(x), nullptr);
    if (scalar == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(scalar);
}

// emd.wasserstein(x, y, x_weights=x_weights, y_weights=y_weights, p=p,
// metric=<the metric of code `metric`>) for the straight path's kind of
// arguments: x (n, d) and y (m, d), d >= 2, NumPy float64 or float32 arrays
// (exact ndarrays, C-contiguous, aligned, native order), weights None or 1-D
// of the points' dtype and length, p an exact Python float or int, finite and
// >= 1, `metric` a code of emd::Metric. Returns W_p as a NumPy scalar of the
// dtype, or None for any other kind of argument and wherever a check flags one.
py::object wasserstein_clouds_pair(py::handle x, py::handle y, py::handle x_weights, py::handle y_weights,
                                   py::handle p, int metric) {
    if (metric < 0 || metric > int(Metric::minkowski)) return py::none();
    const std::optional<double> order = straight_order(p);
    if (!order) return py::none();
    const double pf = *order;
    const int type_num = straight_float_type(x);
    if (type_num < 0) return py::none();
    PyArrayObject* ax = straight_array(x, type_num, 2);
    PyArrayObject* ay = straight_array(y, type_num, 2);
    if (ax == nullptr || ay == nullptr) return py::none();
    // d >= 2 (the kernel declines d = 1 too): one-dimensional samples go to
    // the sorting solver (or, with sqeuclidean, the full path's reshape);
    // tested here, before an (n, m) cost matrix is allocated for nothing.
    if (PyArray_DIM(ax, 1) < 2 || PyArray_DIM(ay, 1) != PyArray_DIM(ax, 1)) return py::none();
    PyArrayObject *axw, *ayw;
    if (!straight_weights(x_weights, type_num, PyArray_DIM(ax, 0), axw) ||
        !straight_weights(y_weights, type_num, PyArray_DIM(ay, 0), ayw))
        return py::none();
    // The power goes to NumPy as the full path's `M **= pf` does: a Python float.
    const py::float_ p_float(pf);
    return type_num == NPY_FLOAT64 ? clouds_distance<double>(ax, ay, axw, ayw, pf, p_float, metric)
                                   : clouds_distance<float>(ax, ay, axw, ayw, pf, p_float, metric);
}

}  // namespace

void bind_wasserstein(py::module_& m) {
    if (_import_array() < 0) throw py::error_already_set();
    m.def("wasserstein_clouds_pair", &wasserstein_clouds_pair,
          "W_p between two point clouds (n, d), (m, d), d >= 2, by the network simplex, the inputs checked while"
          " the cost matrix is built; None when the arguments are not of that kind or a check flags one (then"
          " take the full path).",
          py::arg("x"), py::arg("y"), py::arg("x_weights"), py::arg("y_weights"), py::arg("p"), py::arg("metric"));
}

}  // namespace emd::bindings
