#include "emd/one_d.hpp"

#include <pybind11/stl.h>

#include <array>
#include <limits>
#include <optional>

#include "bindings.hpp"

// NumPy's C API, for its sort functions only. This is the one translation unit
// that includes it, so its API table stays private here (imported in bind_one_d).
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#define NPY_TARGET_VERSION NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

#include "straight_args.hpp"

namespace emd::bindings {
namespace {

static_assert(sizeof(npy_intp) == sizeof(std::ptrdiff_t), "npy_intp is pointer-sized");

// NumPy's quicksort for a builtin dtype: the vectorized sort np.sort runs
// (x86-simd-sort's AVX-512/AVX2 kernels where the CPU has them). The builtin
// descriptors live as long as NumPy, so the pointer stays valid.
SortFunction numpy_sort(int type_num) {
    PyArray_Descr* descr = PyArray_DescrFromType(type_num);
    if (descr == nullptr) throw py::error_already_set();
    PyArray_SortFunc* f = PyDataType_GetArrFuncs(descr)->sort[NPY_QUICKSORT];
    Py_DECREF(descr);
    if (f == nullptr) throw std::runtime_error("numpy has no sort for a builtin dtype");
    return reinterpret_cast<SortFunction>(f);
}

// The sorts wasserstein_1d<T> uses: T's, and the uint64 one for weighted rows
// (none when the rows come sorted).
template <class T>
SortFunctions sorts_for(bool assume_sorted, bool weighted) {
    SortFunctions sorts;
    if (assume_sorted) return sorts;
    (sizeof(T) == 8 ? sorts.sort_f64 : sorts.sort_f32) = numpy_sort(sizeof(T) == 8 ? NPY_FLOAT64 : NPY_FLOAT32);
    if (weighted) sorts.sort_u64 = numpy_sort(NPY_UINT64);
    return sorts;
}

// The checks both entry points share: shapes, weights, pairs in range, p.
template <class T>
void check_pairs(const carray<T>& u, const std::optional<carray<T>>& u_weights, const carray<T>& v,
                 const std::optional<carray<T>>& v_weights, const carray<std::int64_t>& pair_u,
                 const carray<std::int64_t>& pair_v, double p) {
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
}

template <class T>
Rows<T> rows_of(const carray<T>& x, const std::optional<carray<T>>& w) {
    return {x.data(), ptr_or_null(w), x.shape(0), x.shape(1), w && w->ndim() == 1};
}

template <class T>
carray<T> wasserstein_1d(const carray<T>& u, const std::optional<carray<T>>& u_weights,
                         const carray<T>& v, const std::optional<carray<T>>& v_weights,
                         const carray<std::int64_t>& pair_u, const carray<std::int64_t>& pair_v,
                         double p, bool assume_sorted, const std::string& weighted_sort) {
    check_pairs(u, u_weights, v, v_weights, pair_u, pair_v, p);
    WeightedSort how = WeightedSort::automatic;
    if (weighted_sort == "whole_rows") how = WeightedSort::whole_rows;
    else if (weighted_sort == "buckets") how = WeightedSort::buckets;
    else require(weighted_sort == "automatic", "weighted_sort must be 'automatic', 'whole_rows' or 'buckets'");
    const std::int64_t num_pairs = pair_u.shape(0);
    const Rows<T> ru = rows_of(u, u_weights), rv = rows_of(v, v_weights);
    const SortFunctions sorts = sorts_for<T>(assume_sorted, u_weights || v_weights);
    carray<T> out(num_pairs);
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        emd::wasserstein_1d<T>(ru, rv, pair_u.data(), pair_v.data(), num_pairs, p, assume_sorted, sorts, o, nullptr,
                               how);
    }
    return out;
}

// (W_p (K,), dW/du (K, n), dW/dv (K, m), dW/du_weights (K, n), dW/dv_weights (K, m)),
// each derivative None unless asked for in `gradients` (u, v, u_weights, v_weights).
template <class T>
py::tuple wasserstein_1d_gradients(const carray<T>& u, const std::optional<carray<T>>& u_weights,
                                   const carray<T>& v, const std::optional<carray<T>>& v_weights,
                                   const carray<std::int64_t>& pair_u, const carray<std::int64_t>& pair_v,
                                   double p, const std::array<bool, 4>& gradients, int num_threads) {
    check_pairs(u, u_weights, v, v_weights, pair_u, pair_v, p);
    require(!gradients[2] || u_weights, "the u_weights gradient needs u_weights");
    require(!gradients[3] || v_weights, "the v_weights gradient needs v_weights");
    const std::int64_t num_pairs = pair_u.shape(0), n = u.shape(1), m = v.shape(1);
    const Rows<T> ru = rows_of(u, u_weights), rv = rows_of(v, v_weights);
    SortFunctions sorts;
    sorts.sort_u64 = numpy_sort(NPY_UINT64);
    carray<T> value(num_pairs);
    const py::ssize_t widths[4] = {n, m, n, m};
    std::optional<carray<T>> d[4];
    T* ptr[4] = {};
    for (int s = 0; s < 4; ++s) {
        if (!gradients[s]) continue;
        d[s].emplace(std::vector<py::ssize_t>{num_pairs, widths[s]});
        ptr[s] = d[s]->mutable_data();
    }
    const OneDGradients<T> out{value.mutable_data(), ptr[0], ptr[1], ptr[2], ptr[3]};
    {
        py::gil_scoped_release release;
        emd::wasserstein_1d_gradients<T>(ru, rv, pair_u.data(), pair_v.data(), num_pairs, p, num_threads, sorts, out);
    }
    const auto or_none = [](const std::optional<carray<T>>& a) { return a ? py::object(*a) : py::object(py::none()); };
    return py::make_tuple(value, or_none(d[0]), or_none(d[1]), or_none(d[2]), or_none(d[3]));
}

// Below this many points in all the call holds the GIL: releasing and taking it
// back costs more than the sort of a few thousand points.
constexpr npy_intp k_release_gil_points = 4096;

template <class T>
py::object pair_distance(PyArrayObject* u, PyArrayObject* v, PyArrayObject* uw, PyArrayObject* vw, double p,
                         bool assume_sorted) {
    const npy_intp n = PyArray_DIM(u, 0), m = PyArray_DIM(v, 0);
    const auto data = [](PyArrayObject* a) { return a ? static_cast<const T*>(PyArray_DATA(a)) : nullptr; };
    Rows<T> ru{data(u), data(uw), 1, n};
    Rows<T> rv{data(v), data(vw), 1, m};
    const SortFunctions sorts = sorts_for<T>(assume_sorted, uw || vw);
    const std::int64_t pair = 0;
    T out;
    unsigned flaws = 0;
    if (n + m >= k_release_gil_points) {
        py::gil_scoped_release release;
        emd::wasserstein_1d<T>(ru, rv, &pair, &pair, 1, p, assume_sorted, sorts, &out, &flaws);
    } else {
        emd::wasserstein_1d<T>(ru, rv, &pair, &pair, 1, p, assume_sorted, sorts, &out, &flaws);
    }
    if (flaws != 0) return py::none();
    PyObject* scalar = PyArray_Scalar(&out, PyArray_DESCR(u), nullptr);  // a NumPy scalar of u's dtype
    if (scalar == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(scalar);
}

// The straight path of the common call, emd.wasserstein_1d(u, v, u_weights,
// v_weights, p=p, assume_sorted=assume_sorted) on one pair of 1-D NumPy arrays
// of one float dtype (weights None or of the values' shape and dtype; p an
// exact Python float or int, finite and >= 1; assume_sorted True or False).
// The kernel makes the Python layer's input checks in the pass that copies
// the rows for their sort (emd::InputFlaw). Returns W_p as a NumPy scalar of
// the dtype, or None when the arguments are of another kind or a check flags
// one: the caller then takes its full path, whose checks raise the error that
// names the argument (or handle what is valid after all). Python decides what
// a bad input is called; this only proves inputs good.
py::object wasserstein_1d_pair(py::handle u, py::handle v, py::handle u_weights, py::handle v_weights, py::handle p,
                               py::handle assume_sorted) {
    if (assume_sorted.ptr() != Py_True && assume_sorted.ptr() != Py_False) return py::none();
    const std::optional<double> order = straight_order(p);
    if (!order) return py::none();
    const double pf = *order;
    const int type_num = straight_float_type(u);
    if (type_num < 0) return py::none();
    PyArrayObject* au = straight_array(u, type_num, 1);
    PyArrayObject* av = straight_array(v, type_num, 1);
    if (au == nullptr || av == nullptr) return py::none();
    PyArrayObject *auw, *avw;
    if (!straight_weights(u_weights, type_num, PyArray_DIM(au, 0), auw) ||
        !straight_weights(v_weights, type_num, PyArray_DIM(av, 0), avw))
        return py::none();
    const bool sorted = assume_sorted.ptr() == Py_True;
    return type_num == NPY_FLOAT64 ? pair_distance<double>(au, av, auw, avw, pf, sorted)
                                   : pair_distance<float>(au, av, auw, avw, pf, sorted);
}

}  // namespace

void bind_one_d(py::module_& m) {
    if (_import_array() < 0) throw py::error_already_set();
    const char* doc =
        "W_p for each (u[pair_u[k]], v[pair_v[k]]); rows are (num_rows, n) float arrays. weighted_sort "
        "('automatic', 'whole_rows', 'buckets') picks the sort of a single weighted float64 pair (emd::WeightedSort).";
    m.def("wasserstein_1d", &wasserstein_1d<float>, doc, py::arg("u"), py::arg("u_weights"), py::arg("v"),
          py::arg("v_weights"), py::arg("pair_u"), py::arg("pair_v"), py::arg("p"), py::arg("assume_sorted"),
          py::arg("weighted_sort") = "automatic");
    m.def("wasserstein_1d", &wasserstein_1d<double>, doc, py::arg("u"), py::arg("u_weights"), py::arg("v"),
          py::arg("v_weights"), py::arg("pair_u"), py::arg("pair_v"), py::arg("p"), py::arg("assume_sorted"),
          py::arg("weighted_sort") = "automatic");
    const char* grad_doc =
        "(W_p, dW/du, dW/dv, dW/du_weights, dW/dv_weights) for each pair, the derivatives per pair in the "
        "rows' own order, each None unless `gradients` (u, v, u_weights, v_weights) asks for it; "
        "num_threads <= 0: the OpenMP default.";
    m.def("wasserstein_1d_gradients", &wasserstein_1d_gradients<float>, grad_doc, py::arg("u"), py::arg("u_weights"),
          py::arg("v"), py::arg("v_weights"), py::arg("pair_u"), py::arg("pair_v"), py::arg("p"),
          py::arg("gradients"), py::arg("num_threads") = 0);
    m.def("wasserstein_1d_gradients", &wasserstein_1d_gradients<double>, grad_doc, py::arg("u"),
          py::arg("u_weights"), py::arg("v"), py::arg("v_weights"), py::arg("pair_u"), py::arg("pair_v"),
          py::arg("p"), py::arg("gradients"), py::arg("num_threads") = 0);
    m.def("wasserstein_1d_pair", &wasserstein_1d_pair,
          "W_p of one pair of 1-D float arrays, the inputs checked in the kernel's first pass; None when the"
          " arguments are not of that kind or a check flags one (then take the full path).",
          py::arg("u"), py::arg("v"), py::arg("u_weights"), py::arg("v_weights"), py::arg("p"),
          py::arg("assume_sorted"));
}

}  // namespace emd::bindings
