"""emd's warnings, attributed to the caller's line."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["ConvergenceWarning", "warn_at_caller"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class ConvergenceWarning(RuntimeWarning):
    """A solver stopped before its stopping criterion (``status`` says which way:
    "max_iter_reached", "resolution_limit", ...). A RuntimeWarning, so existing
    filters keep working; filter this class to silence only emd's solvers::

        warnings.filterwarnings("ignore", category=emd.ConvergenceWarning)
    """


def warn_at_caller(message: str, category: type[Warning] = ConvergenceWarning) -> None:
    """``warnings.warn`` attributed to the user's line: the first frame outside
    the emd package (a fixed stacklevel would point into emd, whose depth
    differs between entry points)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
