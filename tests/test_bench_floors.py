"""The floors of `bpcore bench` (bpcore.bench.floors) and the reference loops they time
(bpcore.bench._reference, src/reference/module.pxi): the loops compute what bpcore computes,
every SIMD variant of them gives the same bits, and each floor is a positive finite time.
No timing is asserted beyond that."""
import math

import numpy as np
import pytest

from bpcore import Network, _backend
from bpcore.bench import _network, _seconds, cases, training_flops
from bpcore.bench import floors

REFERENCE = floors.reference_module("baseline")
pytestmark = pytest.mark.skipif(REFERENCE is None,
                                reason="bpcore.bench._reference is not built (no compiled "
                                       "build of bpcore)")
VARIANTS = _backend.simd_variants()

# (sizes, hidden, output, loss, lr): the bench's two online cases, smaller ones of each head,
# and the two mixed heads
ONLINE = [((4, 4, 4, 1), "sigmoid", "sigmoid", "mse", 0.1),
          ((64, 128, 64, 10), "relu", "softmax", "cross_entropy", 0.01),
          ((3, 5, 2), "sigmoid", "sigmoid", "mse", 0.5),
          ((6, 9, 7, 4), "relu", "softmax", "cross_entropy", 0.1),
          ((5, 8, 3), "relu", "sigmoid", "mse", 0.2),
          ((16, 32, 16, 10), "sigmoid", "softmax", "cross_entropy", 0.1)]


def _online_data(sizes, loss, n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    else:
        Y = rng.uniform(0.0, 1.0, (n, sizes[-1]))
    return X, Y


@pytest.mark.parametrize("sizes, hidden, output, loss, lr", ONLINE,
                         ids=lambda value: "-".join(map(str, value))
                         if isinstance(value, tuple) else None)
def test_online_epoch_is_bpcores_online_sgd(sizes, hidden, output, loss, lr):
    # The same arithmetic in the same order, but for the exps (the reference calls libm's,
    # the compiled kernels compute their own, within about an ulp of it) and where bpcore's
    # products go to BLAS's gemv (64-128-64-10) or to NumPy (the fallback), whose sums round
    # in another order: a few ulps (1e-16 relative) per step, so 60 steps drift by about
    # 1e-14: 1e-12 leaves a margin of 100 and still fails on any difference in the
    # arithmetic (an update before the backward pass moves the weights by about
    # lr * delta * a, far above it).
    X, Y = _online_data(sizes, loss)
    network = Network(sizes, activation=hidden, output=output, loss=loss, dtype="float64",
                      seed=1)
    params = network.get_state()["parameters"]
    start = params.copy()
    total = REFERENCE.online_epoch(params, sizes, X, Y, lr, hidden, output)
    history = network.fit(X, Y, epochs=1, lr=lr, batch_size=1, shuffle=False)
    expected = network.get_state()["parameters"]
    assert not np.array_equal(expected, start)
    np.testing.assert_allclose(params, expected, rtol=1e-12,
                               atol=1e-12 * np.abs(expected).max())
    assert total / len(X) == pytest.approx(history.losses[0], rel=1e-12)


def test_online_epoch_checks_its_arguments():
    X, Y = _online_data((3, 5, 2), "mse")
    params = np.zeros(32)
    with pytest.raises(ValueError, match="hidden must be one of sigmoid, relu, got 'tanh'"):
        REFERENCE.online_epoch(params, (3, 5, 2), X, Y, 0.1, "tanh", "sigmoid")
    with pytest.raises(ValueError, match="output must be one of"):
        REFERENCE.online_epoch(params, (3, 5, 2), X, Y, 0.1, "relu", "identity")
    with pytest.raises(ValueError, match="params must have 32 entries for sizes \\[3, 5, 2\\], "
                                         "got 31"):
        REFERENCE.online_epoch(params[:31], (3, 5, 2), X, Y, 0.1, "relu", "sigmoid")
    with pytest.raises(ValueError, match="X and Y must be"):
        REFERENCE.online_epoch(params, (3, 5, 2), X[:, :2].copy(), Y, 0.1, "relu", "sigmoid")


def _product_operands(products, dtype, rng):
    a = rng.standard_normal(sum(m * k for _, _, m, _, k in products)).astype(dtype)
    b = rng.standard_normal(sum(k * n for _, _, _, n, k in products)).astype(dtype)
    return a, b


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", floors.LAYOUTS)
def test_gemm_sequence_computes_each_product_in_its_layout(dtype, layout):
    transa, transb = layout[0] == "T", layout[1] == "T"
    # shapes past and below bpcore._blas's crossover, and m = 1 and n = 1 (gemv in BLAS)
    shapes = [(32, 128, 64), (10, 64, 32), (1, 7, 5), (6, 1, 9), (3, 4, 2)]
    products = np.array([[transa, transb, m, n, k] for m, n, k in shapes], dtype=np.intp)
    a, b = _product_operands(products, dtype, np.random.default_rng(5))
    c = np.full(sum(m * n for m, n, _ in shapes), np.nan, dtype=dtype)
    REFERENCE.gemm_sequence(products, a, b, c, 2)
    offsets = np.zeros(3, dtype=int)
    for m, n, k in shapes:
        stored_a = a[offsets[0]:offsets[0] + m * k].astype(np.float64)
        stored_b = b[offsets[1]:offsets[1] + k * n].astype(np.float64)
        A = stored_a.reshape(k, m).T if transa else stored_a.reshape(m, k)
        B = stored_b.reshape(n, k).T if transb else stored_b.reshape(k, n)
        got = c[offsets[2]:offsets[2] + m * n].reshape(m, n)
        # a sum of k products rounds within k eps sum |a_i b_i| (and the float64 reference
        # within as much again)
        bound = 2 * k * np.finfo(dtype).eps * (np.abs(A) @ np.abs(B))
        assert np.all(np.abs(got - A @ B) <= bound), (m, n, k)
        offsets += (m * k, k * n, m * n)


def test_gemm_sequence_checks_its_arguments():
    products = np.array([[0, 0, 4, 5, 6]], dtype=np.intp)
    a, b, c = np.zeros(24), np.zeros(30), np.full(20, np.nan)
    REFERENCE.gemm_sequence(products, a, b, c, 0)
    assert np.isnan(c).all()  # no repeat: nothing computed
    with pytest.raises(ValueError, match="b must have at least 30 entries for these products, "
                                         "got 29"):
        REFERENCE.gemm_sequence(products, a, b[:29], c, 1)
    with pytest.raises(ValueError, match="products must have 5 columns"):
        REFERENCE.gemm_sequence(products[:, :4].copy(), a, b, c, 1)
    with pytest.raises(ValueError, match="product 0 must be"):
        REFERENCE.gemm_sequence(np.array([[2, 0, 4, 5, 6]], dtype=np.intp), a, b, c, 1)
    with pytest.raises(ValueError, match="product 0 must be"):
        REFERENCE.gemm_sequence(np.array([[0, 0, 0, 5, 6]], dtype=np.intp), a, b, c, 1)


def test_parameter_passes_reads_and_writes_every_parameter():
    rng = np.random.default_rng(6)
    params, vector = rng.standard_normal(1001), rng.standard_normal(37)
    start = params.copy()
    tiled = np.resize(vector, len(params))  # vector repeated along the parameters
    dot = REFERENCE.parameter_passes(params, vector, 3, 0.25)
    # the last repeat's dot product is taken before its own write pass
    assert dot == pytest.approx((start - 0.5 * tiled) @ tiled, rel=1e-12)
    np.testing.assert_allclose(params, start - 0.75 * tiled, rtol=1e-12, atol=1e-12)
    assert REFERENCE.parameter_passes(params, vector, 1) == pytest.approx(params @ tiled)


def test_step_products_of_the_mid_case():
    products = floors.step_products((64, 128, 64, 10), 32)
    # forward Z = A W^T, backward D[l-1] = D[l] W[l], gradients G = D^T A, as (m, n, k)
    assert [(p.m, p.n, p.k) for p in products] == [
        (32, 128, 64), (32, 64, 128), (32, 10, 64),
        (32, 64, 10), (32, 128, 64),
        (128, 64, 32), (64, 128, 32), (10, 64, 32)]
    assert [p.kind for p in products] == ["forward"] * 3 + ["backward"] * 2 + ["gradient"] * 3
    assert sum(p.flops for p in products) == training_flops((64, 128, 64, 10)) * 32


def test_bpcore_layouts_follow_the_kernels_rules(copies):
    # the compiled kernels keep W[0] transposed up to FIRST_LAYER_TRANSPOSED_UP_TO
    # multiply-adds: the mid case's first forward product is then untransposed, the large
    # case's (past the bound) is not; a later layer's is where forward_copies says so (with
    # BLAS kernels that run A B^T slowly, the `copies` runs: the mid case's second layer, 32
    # rows, 128 -> 64), never the large case's or the 10 outputs'
    bound = _backend.compiled().FIRST_LAYER_TRANSPOSED_UP_TO
    mid = floors.step_products((64, 128, 64, 10), 32)
    large = floors.step_products((784, 1024, 1024, 10), 256)
    assert 32 * 64 * 128 <= bound < 256 * 784 * 1024
    second = "NN" if copies else "NT"
    assert [p.bpcore_layout for p in mid if p.kind == "forward"] == ["NN", second, "NT"]
    assert [p.bpcore_layout for p in large if p.kind == "forward"] == ["NT", "NT", "NT"]
    assert {p.bpcore_layout for p in mid if p.kind != "forward"} == {"NN", "TN"}


def test_bpcore_layouts_follow_the_own_products_by_dtype(own_products):
    # where the kernels' own products take a forward product, it runs on a copy of W^T:
    # every one of the mid case's; in float32 not 40 rows through 37 -> 11 (fewer than 16
    # columns and 64 terms, more than 32 rows), in float64 that one too
    if not own_products:
        pytest.skip("about the own products' layouts")
    for sizes, n, single, expected in [((64, 128, 64, 10), 32, True, ["NN", "NN", "NN"]),
                                       ((64, 128, 64, 10), 32, False, ["NN", "NN", "NN"]),
                                       ((8, 37, 11), 40, True, ["NN", "NT"]),
                                       ((8, 37, 11), 40, False, ["NN", "NN"])]:
        layouts = [p.bpcore_layout for p in floors.step_products(sizes, n, single)
                   if p.kind == "forward"]
        assert layouts == expected, (sizes, single)


@pytest.mark.parametrize("sizes, n", [((4, 4, 4, 1), 1), ((2, 3), 5), ((784, 1024, 1024, 10), 256)])
def test_step_products_count_the_bench_flops(sizes, n):
    products = floors.step_products(sizes, n)
    assert len(products) == 3 * (len(sizes) - 1) - 1
    assert sum(p.flops for p in products) == training_flops(sizes) * n


def test_step_products_check_their_arguments():
    with pytest.raises(ValueError, match="sizes must be at least two positive widths"):
        floors.step_products((4,), 2)
    with pytest.raises(ValueError, match="n must be a positive number of samples, got 0"):
        floors.step_products((4, 2), 0)


def _fma_recurrence(dtype, iterations):
    # what fma_peak computes: twelve sums from 0, .01, ..., .11, each s -> s * 0.999 + 0.001,
    # in every lane. Here with the product and the sum rounded apart (NumPy has no fused
    # multiply-add), so to within a few roundings of the fused loop.
    m, a = dtype(0.999), dtype(0.001)
    sums = np.array([0, .01, .02, .03, .04, .05, .06, .07, .08, .09, .1, .11], dtype=dtype)
    for _ in range(iterations):
        sums = sums * m + a
    return float(sums.astype(np.float64).sum()) * (8 if dtype == np.float32 else 4)


@pytest.mark.skipif("avx2" not in VARIANTS, reason="this CPU has no AVX2 and FMA")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_fma_peak_runs_its_multiply_adds(dtype):
    # the loop ran `iterations` times on twelve distinct sums (none merged, none left out):
    # each count gives another total, and the sums tend to a / (1 - m) = 1 in every lane
    single = dtype == np.float32
    rel = 1e-5 if single else 1e-13
    assert REFERENCE.FMA_PEAK_CHAINS == 12
    totals = [REFERENCE.fma_peak(single, n) for n in (1, 2, 50)]
    for n, total in zip((1, 2, 50), totals):
        assert total == pytest.approx(_fma_recurrence(dtype, n), rel=rel)
    assert len(set(totals)) == 3
    lanes = 8 if single else 4
    assert REFERENCE.fma_peak(single, 100_000) == pytest.approx(12 * lanes, rel=1e-3)
    with pytest.raises(ValueError, match="iterations must be at least 1, got 0"):
        REFERENCE.fma_peak(single, 0)


def test_reference_module_matches_the_kernels_variant(backend):
    module = floors.reference_module()
    assert module is not None
    assert module.SIMD == _backend.compiled().SIMD  # the compiled column's variant
    for variant in VARIANTS:
        assert floors.reference_module(variant).SIMD == variant
    with pytest.raises(ValueError, match="variant must be one of"):
        floors.reference_module("sse9")


@pytest.mark.skipif(len(VARIANTS) < 2, reason="this CPU runs one variant only")
def test_every_variant_gives_the_same_bits(backend):
    # like tests/test_simd.py for the kernels: the variants are built with -ffp-contract=off
    # and without -ffast-math, so vectorised loops round as the scalar ones
    if backend != "cython":
        pytest.skip("compares the compiled variants with each other")
    results = {}
    for variant in VARIANTS:
        module = floors.reference_module(variant)
        got = []
        for sizes, hidden, output, loss, lr in ONLINE:
            X, Y = _online_data(sizes, loss)
            params = Network(sizes, activation=hidden, output=output, loss=loss,
                             seed=1).get_state()["parameters"]
            got += [module.online_epoch(params, sizes, X, Y, lr, hidden, output), params]
        for dtype in ("float32", "float64"):
            rng = np.random.default_rng(8)
            params = rng.standard_normal(1000).astype(dtype)
            got += [module.parameter_passes(params, rng.standard_normal(128).astype(dtype), 3,
                                            0.5), params]
        results[variant] = got
    for variant in VARIANTS[1:]:
        for got, expected in zip(results[variant], results["baseline"]):
            np.testing.assert_array_equal(got, expected, err_msg=variant)


def test_the_floors_are_positive_times():
    def positive(value):
        return math.isfinite(value) and value > 0
    for case in cases("smoke"):
        if case.batch_size > 1:
            assert positive(floors.minibatch_floor(case, 0.0, _seconds))
            assert positive(floors.minibatch_floor(case, 0.0, _seconds, layouts="bpcore"))
        else:
            X, Y = _online_data(case.sizes, case.loss, case.n_samples)
            assert positive(floors.online_floor(case, X, Y, _network, 0.0, _seconds))
            assert positive(floors.online_bound(case, 0.0, _seconds))
    assert positive(floors.call_floor(0.0, _seconds))


def test_fastest_layouts_times_every_layout():
    products = floors.step_products((16, 32, 16, 10), 8)
    timed = floors.fastest_layouts(products, "float32", 0.0, _seconds)
    assert [t.product for t in timed] == products
    for t in timed:
        assert sorted(t.times) == sorted(floors.LAYOUTS)
        assert all(math.isfinite(value) and value > 0 for value in t.times.values())
        assert t.fastest in floors.LAYOUTS and t.bpcore_over_fastest >= 1.0


def test_floors_reject_cases_they_do_not_model():
    online, mid_batch = cases("smoke")[1], cases("smoke")[2]
    X, Y = _online_data(online.sizes, online.loss, 4)
    with pytest.raises(ValueError, match="online float64 case"):
        floors.online_floor(mid_batch, X, Y, _network, 0.0, _seconds)
    with pytest.raises(ValueError, match="layouts must be 'fastest' or 'bpcore'"):
        floors.minibatch_floor(mid_batch, 0.0, _seconds, layouts="mine")
