// The argument tests the straight paths share (one extension call for the
// common case of a public function, None for anything else: one_d.cpp's
// wasserstein_1d_pair, wasserstein.cpp's wasserstein_clouds_pair). Include it
// after <numpy/arrayobject.h>: each of those files keeps its own NumPy API
// table, so these stay private to each (anonymous namespace).
#pragma once
#include <limits>
#include <optional>

#include "bindings.hpp"

namespace emd::bindings {
namespace {

// The order p a straight path (one extension call for the common case of a
// public function, None for anything else) takes: an exact Python float or
// int (not bool, not a NumPy scalar), finite and >= 1. Anything else, NaN and
// ints beyond the double range included, is nullopt: the full path's check_p
// then names the problem.
std::optional<double> straight_order(py::handle p) {
    double pf;
    if (PyFloat_CheckExact(p.ptr())) {
        pf = PyFloat_AS_DOUBLE(p.ptr());
    } else if (PyLong_CheckExact(p.ptr())) {
        pf = PyLong_AsDouble(p.ptr());
        if (pf == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return std::nullopt;
        }
    } else {
        return std::nullopt;
    }
    if (!(pf >= 1.0 && pf <= std::numeric_limits<double>::max())) return std::nullopt;  // NaN, < 1 or inf
    return pf;
}

// The NumPy type of `h` when it is an exact ndarray of float64 or float32,
// else -1: the dtype a straight path works in.
int straight_float_type(py::handle h) {
    if (!PyArray_CheckExact(h.ptr())) return -1;
    const int type_num = PyArray_TYPE(reinterpret_cast<PyArrayObject*>(h.ptr()));
    return type_num == NPY_FLOAT64 || type_num == NPY_FLOAT32 ? type_num : -1;
}

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

// Optional weights of `n` points: None (out = nullptr), or a straight 1-D
// array of `type_num` and length n (out = it). False for anything else.
bool straight_weights(py::handle h, int type_num, npy_intp n, PyArrayObject*& out) {
    out = nullptr;
    if (h.is_none()) return true;
    out = straight_array(h, type_num, 1);
    return out != nullptr && PyArray_DIM(out, 0) == n;
}

}  // namespace
}  // namespace emd::bindings
