#include "emd/sinkhorn.hpp"

#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "interrupt.hpp"
#include "sinkhorn_params.hpp"

namespace emd::bindings {
namespace {

// The batched outputs of the Sinkhorn solvers (leading axis B); python/emd
// shapes them into an OTResult.
struct SinkhornResult {
    py::array f;               // (B, n): potential_a, the dtype of a
    py::array g;               // (B, m): potential_b
    py::array cost;            // (B,) float64: <P, C>
    py::array objective;       // (B,) float64: <P, C> + reg KL(P || a x b)
    py::array marginal_error;  // (B,) float64: ||P 1 - a||_1
    py::array n_iter;          // (B,) int64
    py::array status;          // (B,) int32: emd::SolveStatus (status_names())
};

template <class T>
struct Outputs {
    carray<T> f, g;
    carray<double> cost, objective, marginal_error;
    carray<std::int64_t> n_iter;
    carray<std::int32_t> status;
    Outputs(py::ssize_t num_problems, py::ssize_t n, py::ssize_t m)
        : f({num_problems, n}),
          g({num_problems, m}),
          cost(num_problems),
          objective(num_problems),
          marginal_error(num_problems),
          n_iter(num_problems),
          status(num_problems) {}
    SinkhornOutput<T> view() {
        return {f.mutable_data(),      g.mutable_data(),      cost.mutable_data(), objective.mutable_data(),
                marginal_error.mutable_data(), n_iter.mutable_data(), status.mutable_data()};
    }
    SinkhornResult result() const { return {f, g, cost, objective, marginal_error, n_iter, status}; }
};

template <class T>
void check_init(const std::optional<carray<T>>& init, py::ssize_t rows, py::ssize_t len, const char* what) {
    if (init) require(init->ndim() == 2 && init->shape(0) == rows && init->shape(1) == len, what);
}

// a (B, n), b (B, m), cost (n, m) or (B, n, m).
template <class T>
SinkhornResult sinkhorn_dense(const carray<T>& a, const carray<T>& b, const carray<T>& cost,
                              const SinkhornParams& params, const std::optional<carray<T>>& f_init,
                              const std::optional<carray<T>>& g_init) {
    require(a.ndim() == 2 && b.ndim() == 2 && a.shape(0) == b.shape(0), "a and b must be (B, n) and (B, m)");
    const py::ssize_t num_problems = a.shape(0), n = a.shape(1), m = b.shape(1);
    require(n > 0 && m > 0, "a and b must be nonempty");
    const bool shared = cost.ndim() == 2;
    require((shared && cost.shape(0) == n && cost.shape(1) == m) ||
                (cost.ndim() == 3 && cost.shape(0) == num_problems && cost.shape(1) == n && cost.shape(2) == m),
            "cost must be (n, m) or (B, n, m)");
    check_init(f_init, num_problems, n, "f_init must be (B, n)");
    check_init(g_init, num_problems, m, "g_init must be (B, m)");
    Outputs<T> out(num_problems, n, m);
    Interrupt interrupt = python_interrupt();
    {
        py::gil_scoped_release release;
        emd::sinkhorn_dense<T>(a.data(), b.data(), cost.data(), num_problems, n, m, shared, params,
                               ptr_or_null(f_init), ptr_or_null(g_init), out.view(), interrupt);
    }
    raise_if_interrupted(interrupt);
    return out.result();
}

template <class T>
void check_samples(const carray<T>& x, const carray<T>& y, const carray<T>& a, const carray<T>& b, int metric,
                   double power) {
    require(x.ndim() == 2 && y.ndim() == 2 && x.shape(1) == y.shape(1), "x and y must be (n, d) and (m, d)");
    require(x.shape(0) > 0 && y.shape(0) > 0 && x.shape(1) > 0, "x and y must be nonempty");
    require(a.ndim() == 1 && a.shape(0) == x.shape(0), "a must be (n,)");
    require(b.ndim() == 1 && b.shape(0) == y.shape(0), "b must be (m,)");
    require(metric >= 0 && metric <= 4, "unknown metric code");
    require(power > 0.0, "power must be > 0");
}

template <class T>
SinkhornResult sinkhorn_samples(const carray<T>& x, const carray<T>& y, const carray<T>& a, const carray<T>& b,
                                int metric, double power, double q, const SinkhornParams& params,
                                const std::optional<carray<T>>& f_init, const std::optional<carray<T>>& g_init) {
    check_samples(x, y, a, b, metric, power);
    const py::ssize_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
    check_init(f_init, 1, n, "f_init must be (1, n)");
    check_init(g_init, 1, m, "g_init must be (1, m)");
    Outputs<T> out(1, n, m);
    Interrupt interrupt = python_interrupt();
    {
        py::gil_scoped_release release;
        emd::sinkhorn_samples<T>(x.data(), y.data(), a.data(), b.data(), n, m, d, static_cast<Metric>(metric), power,
                                 q, params, ptr_or_null(f_init), ptr_or_null(g_init), out.view(), interrupt);
    }
    raise_if_interrupted(interrupt);
    return out.result();
}

template <class T>
carray<T> sinkhorn_plan_dense(const carray<T>& a, const carray<T>& b, const carray<T>& cost, const carray<T>& f,
                              const carray<T>& g, double reg) {
    require(a.ndim() == 2 && b.ndim() == 2 && a.shape(0) == b.shape(0), "a and b must be (B, n) and (B, m)");
    const py::ssize_t num_problems = a.shape(0), n = a.shape(1), m = b.shape(1);
    const bool shared = cost.ndim() == 2;
    require((shared && cost.shape(0) == n && cost.shape(1) == m) ||
                (cost.ndim() == 3 && cost.shape(0) == num_problems && cost.shape(1) == n && cost.shape(2) == m),
            "cost must be (n, m) or (B, n, m)");
    check_init(std::optional<carray<T>>(f), num_problems, n, "f must be (B, n)");
    check_init(std::optional<carray<T>>(g), num_problems, m, "g must be (B, m)");
    require(reg > 0.0, "reg must be > 0");
    carray<T> plan({num_problems, n, m});
    T* out = plan.mutable_data();
    {
        py::gil_scoped_release release;
        emd::sinkhorn_plan_dense<T>(a.data(), b.data(), cost.data(), num_problems, n, m, shared, f.data(), g.data(),
                                    reg, out);
    }
    return plan;
}

// The checks of a kernel on given potentials f (n,), g (m,) of two clouds.
template <class T>
void check_sample_potentials(const carray<T>& x, const carray<T>& y, const carray<T>& a, const carray<T>& b,
                             int metric, double power, const carray<T>& f, const carray<T>& g, double reg) {
    check_samples(x, y, a, b, metric, power);
    require(f.ndim() == 1 && f.shape(0) == x.shape(0) && g.ndim() == 1 && g.shape(0) == y.shape(0),
            "f must be (n,) and g (m,)");
    require(reg > 0.0, "reg must be > 0");
}

template <class T>
carray<T> sinkhorn_plan_samples(const carray<T>& x, const carray<T>& y, const carray<T>& a, const carray<T>& b,
                                int metric, double power, double q, const carray<T>& f, const carray<T>& g,
                                double reg) {
    check_sample_potentials(x, y, a, b, metric, power, f, g, reg);
    const py::ssize_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
    carray<T> plan({n, m});
    T* out = plan.mutable_data();
    {
        py::gil_scoped_release release;
        emd::sinkhorn_plan_samples<T>(x.data(), y.data(), a.data(), b.data(), n, m, d, static_cast<Metric>(metric),
                                      power, q, f.data(), g.data(), reg, out);
    }
    return plan;
}

template <class T>
carray<T> sinkhorn_gradient_samples(const carray<T>& x, const carray<T>& y, const carray<T>& a, const carray<T>& b,
                                    int metric, double power, const carray<T>& f, const carray<T>& g, double reg) {
    check_sample_potentials(x, y, a, b, metric, power, f, g, reg);
    const py::ssize_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
    carray<T> grad({n, d});
    T* out = grad.mutable_data();
    {
        py::gil_scoped_release release;
        emd::sinkhorn_gradient_samples<T>(x.data(), y.data(), a.data(), b.data(), n, m, d, static_cast<Metric>(metric),
                                          power, f.data(), g.data(), reg, out);
    }
    return grad;
}

template <class T>
void bind_for(py::module_& m) {
    m.def("sinkhorn_dense", &sinkhorn_dense<T>,
          "Log-domain Sinkhorn on a batch of dense problems: a (B, n), b (B, m), cost (n, m) or (B, n, m).",
          py::arg("a"), py::arg("b"), py::arg("cost"), py::arg("params"), py::arg("f_init") = py::none(),
          py::arg("g_init") = py::none());
    m.def("sinkhorn_samples", &sinkhorn_samples<T>,
          "Log-domain Sinkhorn between point clouds x (n, d), y (m, d), cost metric(x, y) ** power on the fly.",
          py::arg("x"), py::arg("y"), py::arg("a"), py::arg("b"), py::arg("metric"), py::arg("power"), py::arg("q"),
          py::arg("params"), py::arg("f_init") = py::none(), py::arg("g_init") = py::none());
    m.def("sinkhorn_plan_dense", &sinkhorn_plan_dense<T>, "The plan (B, n, m) of potentials f (B, n), g (B, m).",
          py::arg("a"), py::arg("b"), py::arg("cost"), py::arg("f"), py::arg("g"), py::arg("reg"));
    m.def("sinkhorn_plan_samples", &sinkhorn_plan_samples<T>, "The plan (n, m) of potentials f (n,), g (m,).",
          py::arg("x"), py::arg("y"), py::arg("a"), py::arg("b"), py::arg("metric"), py::arg("power"), py::arg("q"),
          py::arg("f"), py::arg("g"), py::arg("reg"));
    m.def("sinkhorn_gradient_samples", &sinkhorn_gradient_samples<T>,
          "sum_j P_ij grad_x c(x_i, y_j) (n, d) of potentials f (n,), g (m,), matrix-free; sqeuclidean/euclidean.",
          py::arg("x"), py::arg("y"), py::arg("a"), py::arg("b"), py::arg("metric"), py::arg("power"), py::arg("f"),
          py::arg("g"), py::arg("reg"));
}

}  // namespace

void bind_sinkhorn(py::module_& m) {
    bind_sinkhorn_params(m);
    py::class_<SinkhornResult>(m, "SinkhornResult", "The batched outputs of a Sinkhorn solve (leading axis B), read-only.")
        .def_readonly("f", &SinkhornResult::f, "(B, n): potential_a, the dtype of a")
        .def_readonly("g", &SinkhornResult::g, "(B, m): potential_b, the dtype of a")
        .def_readonly("cost", &SinkhornResult::cost, "(B,) float64: <P, C>")
        .def_readonly("objective", &SinkhornResult::objective, "(B,) float64: <P, C> + reg KL(P || a x b)")
        .def_readonly("marginal_error", &SinkhornResult::marginal_error, "(B,) float64: ||P 1 - a||_1")
        .def_readonly("n_iter", &SinkhornResult::n_iter, "(B,) int64")
        .def_readonly("status", &SinkhornResult::status, "(B,) int32 codes of status_names()");
    bind_for<float>(m);
    bind_for<double>(m);
}

}  // namespace emd::bindings
