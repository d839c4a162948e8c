"""The reference WGAN trainer: Algorithm 1 of Arjovsky et al. (2017), measured with emd.

Run it as ``python -m emd.wgan`` (see ``--help``), or from Python::

    from emd.wgan import Config, train
    summary = train(Config(iters=2000, out="runs/8g"))

Modules: :mod:`.config` (options and their checks), :mod:`.data` (the toy
datasets), :mod:`.models` (numpy MLPs with hand-written backpropagation and
RMSProp), :mod:`.train` (the loop and its evaluation).
"""

from __future__ import annotations

from .config import Config
from .train import spearman, train

__all__ = ["Config", "spearman", "train"]
