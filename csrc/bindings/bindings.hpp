// Shared helpers for the binding files: conversion only, no policy.
// Python (python/emd/_validation.py) has already checked dtypes, shapes,
// finiteness and signs; these helpers re-check what the kernels rely on.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

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

void bind_one_d(py::module_& m);
void bind_critic(py::module_& m);
void bind_network_simplex(py::module_& m);
void bind_cost_matrix(py::module_& m);
void bind_sinkhorn(py::module_& m);
void bind_wasserstein(py::module_& m);

}  // namespace emd::bindings
