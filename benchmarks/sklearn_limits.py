"""What bounds issue 14's targets against scikit-learn's MLPs, measured on this machine.

    python benchmarks/sklearn_limits.py

Needs scikit-learn. Two measurements (a few minutes on two cores). Run it on an otherwise
idle machine: with OpenBLAS's threads contending for a busy core, NumPy's products and
scikit-learn's fits run several times slower (a digits fit measured 11.7 s instead of 0.8 s
while another job ran) and the speed figures say nothing about the bound.

1. Speed. For sgd and adam on the bench's two fit cases (bpcore.bench.estimators), the
   matrix products any implementation computes (forward, weight gradients, back-propagated
   deltas of every batch) in GFLOP, scikit-learn's fit time, and the rate at which those
   products alone would have to run for a fit ten times faster than scikit-learn's; against
   the machine's own peak, a large float64 GEMM on all cores through NumPy, and against the
   products alone timed in NumPy (`products_floor`).
2. L-BFGS parity. For a few bundled data sets, the relative difference of the final loss_
   between scikit-learn and itself with X multiplied by (1 + 1e-15), and between bpcore and
   scikit-learn, after max_iter 50, 100 and 200 (tol=0): how far rounding alone moves a run.
"""
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as TheirClassifier
from sklearn.preprocessing import StandardScaler

from bpcore.bench.estimators import estimator_pair, fit_cases, load_data, products_floor
from bpcore.sklearn import MLPClassifier


def best_seconds(function, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def peak_gflops(n=4000):
    a, b = np.random.default_rng(0).random((2, n, n))
    a @ b
    return 2 * n ** 3 / best_seconds(lambda: a @ b) / 1e9


def product_flops(sizes, n_samples, epochs):
    # forward and weight gradient of every layer, delta passed back through all but the first
    per_sample = sum(2 * n_in * n_out * (3 if layer else 2)
                     for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])))
    return per_sample * n_samples * epochs


def speed():
    peak = peak_gflops()
    print(f"peak: float64 GEMM 4000 x 4000 through NumPy, all cores: {peak:.0f} GFLOP/s")
    for case in fit_cases("full"):
        if case.solver == "lbfgs":
            continue
        X, y = load_data(case.data, case.n_samples)
        ours, theirs = estimator_pair(case)
        theirs_seconds = best_seconds(lambda: theirs.fit(X, y), 2)
        sizes = [X.shape[1], *case.hidden, theirs.n_outputs_]  # two classes: one output
        gflop = product_flops(sizes, len(X), theirs.n_iter_) / 1e9
        floor = min(products_floor(X, sizes, min(200, len(X)), theirs.n_iter_)
                    for _ in range(2))
        print(f"{case.key}: {gflop:.1f} GFLOP of products; scikit-learn {theirs_seconds:.3f} s; "
              f"10x faster is {theirs_seconds / 10:.3f} s, {10 * gflop / theirs_seconds:.0f} "
              f"GFLOP/s ({10 * gflop / theirs_seconds / peak:.2f} of the peak); the products "
              f"alone in NumPy take {floor:.3f} s")


def lbfgs_parity():
    sets = {"digits": load_data("digits", 1797)}
    for name in ("iris", "wine", "breast_cancer"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        sets[name] = (StandardScaler().fit_transform(X), y)
    for name, (X, y) in sets.items():
        for max_iter in (50, 100, 200):
            settings = dict(solver="lbfgs", max_iter=max_iter, tol=0.0, random_state=0)
            theirs = TheirClassifier(**settings).fit(X, y)
            moved = TheirClassifier(**settings).fit(X * (1 + 1e-15), y)
            ours = MLPClassifier(**settings).fit(X, y)
            print(f"{name}, max_iter {max_iter}: loss_ apart: scikit-learn and itself "
                  f"{abs(moved.loss_ - theirs.loss_) / theirs.loss_:.1e}, bpcore and "
                  f"scikit-learn {abs(ours.loss_ - theirs.loss_) / theirs.loss_:.1e} "
                  f"(iterations {theirs.n_iter_}, {moved.n_iter_}, {ours.n_iter_})")


if __name__ == "__main__":
    warnings.simplefilter("ignore", ConvergenceWarning)
    speed()
    lbfgs_parity()
