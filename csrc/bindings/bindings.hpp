// Shared helpers for the binding files: conversion only, no policy.
// Python (python/emd/_validation.py) has already checked dtypes, shapes,
// finiteness and signs; these helpers re-check what the kernels rely on.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace emd::bindings {

namespace py = pybind11;

template <class T>
using carray = py::array_t<T, py::array::c_style>;

template <class T>
const T* ptr_or_null(const std::optional<carray<T>>& a) {
    return a ? a->data() : nullptr;
}

inline void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}

// The order p a straight path (one extension call for the common case of a
// public function, None for anything else) takes: an exact Python float or
// int (not bool, not a NumPy scalar), finite and >= 1. Anything else, NaN and
// ints beyond the double range included, is nullopt: the full path's check_p
// then names the problem.
inline std::optional<double> straight_order(py::handle p) {
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

void bind_one_d(py::module_& m);
void bind_critic(py::module_& m);
void bind_network_simplex(py::module_& m);
void bind_cost_matrix(py::module_& m);
void bind_sinkhorn(py::module_& m);
void bind_wasserstein(py::module_& m);

}  // namespace emd::bindings
