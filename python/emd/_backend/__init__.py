"""Backends: one kernel table per array library, behind one interface.

A public function checks its inputs, describes the problem (``emd._problems``)
and calls ``backend.<kernel>(problem)``; ``emd._dispatch.backend_for`` picks
the backend from the library of the array arguments:

========  ===========================  =============================================
backend   module                       arrays
========  ===========================  =============================================
cpu       ``emd._backend.cpu``         NumPy (and lists, scalars): the C++ ``_core``
cuda      ``emd._backend.cuda``        CuPy, on its current device and stream: ``_cuda``
torch     ``emd._backend.torch``       torch tensors, on the CPU or the CUDA backend
========  ===========================  =============================================

Every backend implements the methods of :class:`emd._backend.base.Backend`;
adding one is a new module and one entry in ``_dispatch``, not a change to the
algorithm modules. Only the cpu backend is imported by ``import emd``.
"""
