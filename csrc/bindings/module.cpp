// The _core extension: each algorithm registers its functions from its own file.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>


#include "bindings.hpp"
#include "emd/status.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "emd's C++ kernels. Private: call them through the emd package, which validates inputs.";
    m.def("status_names", &emd::status_names,
          "The names of emd::SolveStatus, indexed by the status codes the solvers return.");
    emd::bindings::bind_one_d(m);
    emd::bindings::bind_critic(m);
    emd::bindings::bind_network_simplex(m);
    emd::bindings::bind_cost_matrix(m);
    emd::bindings::bind_sinkhorn(m);
    emd::bindings::bind_wasserstein(m);
}
