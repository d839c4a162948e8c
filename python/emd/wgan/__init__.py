"""The reference WGAN trainer: Algorithm 1 of Arjovsky et al. (2017) and its
gradient-penalty and spectral-normalization variants, measured with emd.

Run it as ``python -m emd.wgan`` (see ``--help``), or from Python::

    from emd.wgan import Config, train
    summary = train(Config(iters=2000, out="runs/8g"))                  # clip, Algorithm 1
    summary = train(Config(lipschitz="gp", iters=2000, out="runs/gp"))  # WGAN-GP, Adam as published

Each method trains by default with its paper's optimizer settings
(:data:`.config.METHOD_DEFAULTS`). ``python -m emd.wgan.compare`` runs them
all on the same data and seed and tabulates the exact W1 against each
critic's estimate of it.

Modules: :mod:`.config` (options, each method's published settings, their
checks), :mod:`.data` (the toy datasets), :mod:`.models` (numpy MLPs with
hand-written backpropagation), :mod:`.optim` (RMSProp and Adam), :mod:`.train`
(the loop and its evaluation), :mod:`.compare` (the methods side by side).
"""

from __future__ import annotations

from .config import METHOD_DEFAULTS, Config
from .train import pearson, spearman, train

__all__ = ["Config", "METHOD_DEFAULTS", "pearson", "spearman", "train"]
