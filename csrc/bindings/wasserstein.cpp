// The straight path of emd.wasserstein on point clouds: one call that checks
// the inputs while it builds the cost matrix, then solves the transport
// problem, for the common case (two C-contiguous float clouds (n, d), d >= 2,
// weights None or 1-D of the points' dtype, a built-in metric, p a Python
// number, method "exact"). It computes what python/emd/_wasserstein.py's full
// path computes, step for step and bit for bit (tests/test_wasserstein_clouds.py
// compares them), and returns None wherever one of that path's checks could
// fail or its arithmetic could take another branch (points scaled for range,
// costs near a dtype's limit): the full path then raises its own message, or
// handles what is valid after all. Python decides what a bad input is called;
// this only proves inputs good.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "bindings.hpp"
#include "emd/cost_matrix.hpp"
#include "emd/network_simplex.hpp"
#include "interrupt.hpp"

// NumPy's C API, for the array checks and the result scalar. No
// PY_ARRAY_UNIQUE_SYMBOL: this file keeps its own API table (imported in
// bind_wasserstein), like one_d.cpp.
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#define NPY_TARGET_VERSION NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

namespace emd::bindings {
namespace {

// MAX_ABS_COST of python/emd/_network_simplex.py: |M| (n + m) must stay below it.
constexpr double k_max_abs_cost = 1e300;

// The array `h` when it is exactly a NumPy ndarray (no subclass) with `ndim`
// dimensions, none empty, of `type_num`, aligned, C-contiguous and in native
// byte order; else nullptr.
PyArrayObject* straight_array(py::handle h, int type_num, int ndim) {
    if (!PyArray_CheckExact(h.ptr())) return nullptr;
    auto* a = reinterpret_cast<PyArrayObject*>(h.ptr());
    if (PyArray_NDIM(a) != ndim || PyArray_TYPE(a) != type_num || PyArray_SIZE(a) == 0) return nullptr;
    if (!PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISALIGNED(a) || !PyArray_ISNOTSWAPPED(a)) return nullptr;
    return a;
}

// NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src,
// pairwise_sum): eight accumulators over blocks of at most 128 values, halves
// above that, in double. Replicated so the normalized weights are NumPy's to
// the last bit.
template <class T>
double pairwise_sum(const T* a, npy_intp n) {
    if (n < 8) {
        double res = 0.0;
        for (npy_intp i = 0; i < n; ++i) res += double(a[i]);
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; ++k) r[k] = double(a[k]);
        npy_intp i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; ++k) r[k] += double(a[i + k]);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += double(a[i]);
        return res;
    }
    npy_intp n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// w.sum(dtype=np.float64) of a contiguous 1-D array: float64 values in one
// pairwise pass; float32 ones go through the iterator's cast buffers of
// NumPy's default 8192 elements, one pairwise pass per buffer.
template <class T>
double numpy_sum(const T* w, npy_intp n) {
    const npy_intp chunk = sizeof(T) == 8 ? n : 8192;
    double s = 0.0;
    for (npy_intp start = 0; start < n; start += chunk) s += pairwise_sum(w + start, std::min(chunk, n - start));
    return s;
}

// The weights the full path hands the solver: uniform T(1 / n) for None, else
// _normalized(w) = w / T(w.sum(dtype=float64)) once check_weights has passed
// (finite, nonnegative, positive finite total). False where a check could fail.
template <class T>
bool solver_weights(PyArrayObject* w, npy_intp n, std::vector<T>& out) {
    out.resize(std::size_t(n));
    if (w == nullptr) {
        std::fill(out.begin(), out.end(), T(1.0 / double(n)));
        return true;
    }
    const T* v = static_cast<const T*>(PyArray_DATA(w));
    for (npy_intp i = 0; i < n; ++i)
        if (!(v[i] >= T(0)) || !std::isfinite(v[i])) return false;  // NaN fails the first test
    const double total = numpy_sum(v, n);
    const T t = T(total);  // float32: may overflow, and then every weight would be 0
    if (!(total > 0.0) || !std::isfinite(total) || !std::isfinite(t)) return false;
    for (npy_intp i = 0; i < n; ++i) out[std::size_t(i)] = v[i] / t;
    return true;
}

// The points finite and within the range where cost_matrix divides nothing
// (homogeneous_costs scales coordinates above 2^300 or below 2^-300).
template <class T>
bool points_in_range(const T* x, npy_intp size) {
    double big = 0.0;
    for (npy_intp i = 0; i < size; ++i) {
        if (!std::isfinite(x[i])) return false;
        big = std::max(big, std::fabs(double(x[i])));
    }
    return big == 0.0 || (big <= std::ldexp(1.0, 300) && big >= std::ldexp(1.0, -300));
}

// The largest entry of a cost matrix of distances (>= 0), or NaN if one is not finite.
template <class T>
double largest_cost(const T* M, npy_intp size) {
    double big = 0.0;
    for (npy_intp i = 0; i < size; ++i) {
        if (!std::isfinite(M[i])) return std::numeric_limits<double>::quiet_NaN();
        big = std::max(big, double(M[i]));
    }
    return big;
}

template <class T>
py::object clouds_distance(PyArrayObject* x, PyArrayObject* y, PyArrayObject* xw, PyArrayObject* yw, double p,
                           py::handle p_object, int metric) {
    const npy_intp n = PyArray_DIM(x, 0), m = PyArray_DIM(y, 0), d = PyArray_DIM(x, 1);
    const T* xs = static_cast<const T*>(PyArray_DATA(x));
    const T* ys = static_cast<const T*>(PyArray_DATA(y));
    carray<T> M_array({std::int64_t(n), std::int64_t(m)});
    T* M = M_array.mutable_data();
    const npy_intp size = n * m;
    double big = std::numeric_limits<double>::quiet_NaN();  // stays NaN for points out of range
    {
        py::gil_scoped_release release;
        if (points_in_range(xs, n * d) && points_in_range(ys, m * d)) {
            // q = 2: minkowski's default order. Threads only for large builds:
            // below 2^20 coordinate differences the build takes under a
            // millisecond on one core, the solve after it longer, and a
            // parallel build left libgomp's idle workers spinning through the
            // solve (256 x 2 clouds, shared 2-core machine: 6-8 ms wall
            // against 2.6-3.3 ms with OMP_NUM_THREADS=1).
            const bool threads = std::int64_t(n) * m * d > (std::int64_t(1) << 20);
            emd::cost_matrix<T>(xs, ys, n, m, d, Metric(metric), 2.0, M, threads);
            big = largest_cost(M, size);
        }
    }
    const double limit = std::min(k_max_abs_cost / double(n + m), double(std::numeric_limits<T>::max()));
    if (!(big <= limit)) return py::none();  // NaN too: points out of range, or a cost overflowed
    if (p != 1.0) {
        // M **= p through NumPy itself (its vectorized pow), only where no
        // power can overflow (a margin of 2 over the bound), so no warning is
        // raised; the exact range check follows on the powered costs.
        if (!(std::pow(big, p) <= 0.5 * limit)) return py::none();
        PyObject* powered = PyNumber_InPlacePower(M_array.ptr(), p_object.ptr(), Py_None);
        if (powered == nullptr) {  // e.g. np.seterr(under="raise"): the full path meets the same
            PyErr_Clear();
            return py::none();
        }
        Py_DECREF(powered);  // M_array itself, powered in place
        big = largest_cost(M, size);
        // The full path's range check, exactly: largest |M| times (n + m).
        if (!(big * double(n + m) <= k_max_abs_cost)) return py::none();
    } else if (!(big * double(n + m) <= k_max_abs_cost)) {
        return py::none();
    }

    std::vector<T> a, b;
    if (!solver_weights(xw, n, a) || !solver_weights(yw, m, b)) return py::none();
    // emd.solve's remaining checks on these weights: equal masses (relative
    // 1e-9, float32 1e-6) and mass times |M| in range, here with a margin of 2
    // for the order of the sums.
    double sa = 0.0, sb = 0.0;
    for (T v : a) sa += double(v);
    for (T v : b) sb += double(v);
    const double tol = sizeof(T) == 4 ? 1e-6 : 1e-9;
    if (!(sa > 0.0 && sb > 0.0 && std::fabs(sa - sb) <= 0.5 * tol * std::max(sa, sb))) return py::none();
    if (!(std::max(sa, sb) * big <= 0.5 * k_max_abs_cost)) return py::none();

    const auto cap = static_cast<std::size_t>(n + m - 1);  // a basic solution's entries
    std::vector<T> potential_a(static_cast<std::size_t>(n)), potential_b(static_cast<std::size_t>(m)), plan_values(cap);
    std::vector<std::int64_t> plan_rows(cap), plan_cols(cap);
    NetworkSimplexOutput<T> out{potential_a.data(), potential_b.data(), plan_rows.data(), plan_cols.data(),
                                plan_values.data()};
    NetworkSimplexParams params;  // no pivot cap: to optimality, as emd.wasserstein solves
    Interrupt interrupt = python_interrupt();
    {
        py::gil_scoped_release release;
        emd::network_simplex<T>(a.data(), b.data(), M, n, m, params, out, interrupt);
    }
    raise_if_interrupted(interrupt);
    if (out.status != SolveStatus::optimal) return py::none();  // the full path warns

    // Backend.nonnegative_root: T(max(float(T(cost)), 0.0) ** (1.0 / p)), as
    // Python computes it (max keeps its first argument on ties, so -0.0 stays;
    // float ** float is the C library's pow).
    const double cost = double(T(out.cost));
    const double root = std::pow(0.0 > cost ? 0.0 : cost, 1.0 / p);
    const T value = T(root);
    PyObject* scalar = PyArray_Scalar(const_cast<T*>(&value), PyArray_DESCR(x), nullptr);
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
    if (!PyArray_CheckExact(x.ptr())) return py::none();
    const int type_num = PyArray_TYPE(reinterpret_cast<PyArrayObject*>(x.ptr()));
    if (type_num != NPY_FLOAT64 && type_num != NPY_FLOAT32) return py::none();
    PyArrayObject* ax = straight_array(x, type_num, 2);
    PyArrayObject* ay = straight_array(y, type_num, 2);
    if (ax == nullptr || ay == nullptr) return py::none();
    // d >= 2: one-dimensional samples go to the sorting solver (or, with
    // sqeuclidean, the full path's reshape), not here.
    if (PyArray_DIM(ax, 1) < 2 || PyArray_DIM(ay, 1) != PyArray_DIM(ax, 1)) return py::none();
    PyArrayObject *axw = nullptr, *ayw = nullptr;
    if (!x_weights.is_none()) {
        axw = straight_array(x_weights, type_num, 1);
        if (axw == nullptr || PyArray_DIM(axw, 0) != PyArray_DIM(ax, 0)) return py::none();
    }
    if (!y_weights.is_none()) {
        ayw = straight_array(y_weights, type_num, 1);
        if (ayw == nullptr || PyArray_DIM(ayw, 0) != PyArray_DIM(ay, 0)) return py::none();
    }
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
