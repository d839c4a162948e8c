// The Python side of emd::Interrupt: Ctrl-C reaches a solve running with the GIL released.
#pragma once
#include <pybind11/pybind11.h>

#include "emd/interrupt.hpp"

namespace emd::bindings {

// Call only while the GIL is released (inside a gil_scoped_release block).
inline bool python_signal_pending(void*) {
    pybind11::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) {
        PyErr_Clear();  // the binding re-raises KeyboardInterrupt after the kernel returns
        return true;
    }
    return false;
}

inline Interrupt python_interrupt() { return Interrupt(&python_signal_pending, nullptr); }

// After the kernel returned (GIL held again): turn a requested interrupt into KeyboardInterrupt.
inline void raise_if_interrupted(const Interrupt& interrupt) {
    if (interrupt.requested()) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw pybind11::error_already_set();
    }
}

}  // namespace emd::bindings
