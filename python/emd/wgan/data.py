"""The toy datasets, all generated (nothing is downloaded), and user data from a .npy file.

Each dataset is a sampler ``sample(rng, n) -> (n, d) float64``. The mixtures
(8gaussians, 25gaussians, rings) also describe their modes, so that mode
coverage can be measured: a sample is *near* a mode when it lies within three
standard deviations of it (of its centre, or of its circle for a ring).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Dataset", "make_dataset", "load_npy"]


@dataclass(frozen=True)
class Dataset:
    name: str
    dim: int
    sample: Callable[[np.random.Generator, int], np.ndarray]
    centers: np.ndarray | None = None  # (k, d) mode centres of a Gaussian mixture
    radii: np.ndarray | None = None  # (k,) circle radii of a ring mixture
    std: float = 0.0

    @property
    def num_modes(self) -> int:
        if self.centers is not None:
            return len(self.centers)
        return 0 if self.radii is None else len(self.radii)

    def mode_distances(self, x: np.ndarray) -> np.ndarray:
        """(n, k) distance of every sample to every mode."""
        if self.centers is not None:
            return np.sqrt(((x[:, None, :] - self.centers[None, :, :]) ** 2).sum(-1))
        r = np.linalg.norm(x, axis=1)
        return np.abs(r[:, None] - self.radii[None, :])

    def mode_coverage(self, x: np.ndarray) -> tuple[int, float]:
        """(modes holding at least one sample within 3 std, fraction of samples within 3 std of a mode)."""
        near = self.mode_distances(x) <= 3.0 * self.std
        return int(near.any(axis=0).sum()), float(near.any(axis=1).mean())


def _gaussian_mixture(name: str, centers: np.ndarray, std: float) -> Dataset:
    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        k = rng.integers(0, len(centers), size=n)
        return centers[k] + std * rng.standard_normal((n, centers.shape[1]))

    return Dataset(name, centers.shape[1], sample, centers=centers, std=std)


def _rings(radii: np.ndarray, std: float) -> Dataset:
    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        k = rng.integers(0, len(radii), size=n)
        angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
        r = radii[k] + std * rng.standard_normal(n)
        return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)

    return Dataset("rings", 2, sample, radii=radii, std=std)


def _swissroll(rng: np.random.Generator, n: int) -> np.ndarray:
    # scikit-learn's make_swiss_roll in the plane, scaled to about [-2.5, 2.5].
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.uniform(size=n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 5.0
    return x + 0.05 * rng.standard_normal((n, 2))


def _parallel_lines(rng: np.random.Generator, n: int) -> np.ndarray:
    # Example 1 of the WGAN paper: the real distribution is (0, Z) with Z ~ U[0, 1].
    z = rng.uniform(size=n)
    return np.stack([np.zeros(n), z], axis=1)


def make_dataset(name: str) -> Dataset:
    if name == "8gaussians":
        angles = np.arange(8) * (2.0 * np.pi / 8)
        centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return _gaussian_mixture(name, centers, 0.1)
    if name == "25gaussians":
        g = np.arange(-2, 3, dtype=np.float64)
        centers = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
        return _gaussian_mixture(name, centers, 0.05)
    if name == "rings":
        return _rings(np.array([0.5, 1.25, 2.0]), 0.05)
    if name == "swissroll":
        return Dataset(name, 2, _swissroll)
    if name == "parallel_lines":
        return Dataset(name, 2, _parallel_lines)
    raise ValueError(f"unknown dataset {name!r}")


def load_npy(path: str) -> np.ndarray:
    """An (n, d) finite real array from a .npy file; ValueError saying what is wrong otherwise."""
    if not path.endswith(".npy"):
        raise ValueError(f"--data must be a .npy file, got {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"--data file {path!r} does not exist")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # a corrupt file, a pickle, a .npz renamed
        raise ValueError(f"--data file {path!r} is not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise ValueError(f"--data must hold a real numeric array, got dtype {getattr(arr, 'dtype', type(arr))}")
    if arr.ndim != 2:
        raise ValueError(f"--data must be a 2-D (n, d) array, got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"--data needs at least 2 rows and 1 column, got shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"--data {path!r} contains NaN or inf")
    big = float(np.abs(arr).max())
    if big > 1e100:  # the exact W1's costs (distances) must stay far inside float64
        raise ValueError(f"--data {path!r} has values up to {big:.3g}; rescale it (at most 1e100)")
    return arr


def user_dataset(arr: np.ndarray, rng: np.random.Generator) -> tuple[Dataset, np.ndarray]:
    """(training sampler, held-out rows): a fifth of the rows, shuffled by rng, is held out for evaluation."""
    perm = rng.permutation(len(arr))
    n_eval = max(1, len(arr) // 5)
    held, train_rows = arr[perm[:n_eval]], arr[perm[n_eval:]]

    def sample(r: np.random.Generator, n: int) -> np.ndarray:
        return train_rows[r.integers(0, len(train_rows), size=n)]

    return Dataset("data", arr.shape[1], sample), held
