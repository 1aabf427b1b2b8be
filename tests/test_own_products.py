"""The compiled kernels' own small matrix products (src/kernels/module.pxi), which take a
training step's products where they beat OpenBLAS's Haswell kernels: the products themselves
against exact sums, on every edge of their tiles, the same bits in every SIMD variant, and
whole trainings through them against the fallback and against themselves step by step.
"""
import numpy as np
import pytest

import bpcore
from bpcore import _backend

try:
    VARIANTS = _backend.simd_variants()
except ImportError:  # no compiled kernels at all
    VARIANTS = []
RUNNING = [variant for variant in VARIANTS
           if _backend.simd_module(variant).own_products_run()]

needs_own = pytest.mark.skipif(
    not RUNNING, reason="this CPU does not run the kernels' own products (no AVX2 and FMA)")

# rows 1 to 19 (tiles of 6, one to three of them, and every remainder), columns 1 to 37
# (whole tiles of 16 float or 8 double columns; the last columns under a mask, in a tile of
# one vector or of a vector and a masked one; whole tiles and a last one together), terms 1
# to 70
SHAPES = [(m, n, k) for m in (1, 2, 3, 4, 5, 6, 7, 13, 19)
          for n in (1, 3, 4, 7, 8, 9, 15, 16, 17, 28, 37) for k in (1, 2, 70)]


def _operands(dtype, m, n, k, transposed, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((k, m) if transposed else (m, k)).astype(dtype)
    Y = rng.standard_normal((k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    return X, Y, C


def _bound(dtype, X, Y, C, alpha, beta, transposed, k):
    # an FMA sum of k terms, scaled by alpha and added to beta C, each operation rounded once:
    # within (k + 2) eps of the sum of the terms' magnitudes (the standard dot-product bound);
    # twice that, since the float64 reference of a float64 product has as much error again
    eps = 2 * np.finfo(dtype).eps
    X64 = np.abs(X.astype(np.float64)).T if transposed else np.abs(X.astype(np.float64))
    magnitude = abs(alpha) * (X64 @ np.abs(Y.astype(np.float64))) + abs(beta) * np.abs(C)
    return (k + 2) * eps * magnitude + np.finfo(dtype).tiny


@needs_own
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("transposed", [False, True], ids=["X", "X^T"])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (-0.37, 1.0), (2.5, -0.5)])
def test_the_own_kernel_computes_the_product_within_its_roundings(dtype, transposed, alpha,
                                                                  beta):
    kernels = _backend.simd_module(RUNNING[-1])
    for index, (m, n, k) in enumerate(SHAPES):
        X, Y, C = _operands(dtype, m, n, k, transposed, index)
        exact = (alpha * ((X.T if transposed else X).astype(np.float64) @ Y.astype(np.float64))
                 + beta * C.astype(np.float64))
        bound = _bound(dtype, X, Y, C, alpha, beta, transposed, k)
        for own in (True, False):  # BLAS keeps the same bound
            got = C.copy()
            kernels.matrix_product(X, Y, got, alpha, beta, transposed, own)
            assert np.all(np.abs(got - exact) <= bound), (m, n, k, own)


@needs_own
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_product_writes_its_rows_and_columns_only(dtype):
    # C as rows of a larger block: the rows above and below stay as they were
    kernels = _backend.simd_module(RUNNING[-1])
    for m, n, k in [(13, 37, 5), (7, 9, 70), (1, 16, 3), (6, 17, 1)]:
        for transposed in (False, True):
            X, Y, C = _operands(dtype, m, n, k, transposed, m)
            block = np.full((m + 2, n), 7.0, dtype=dtype)
            block[1:-1] = C
            kernels.matrix_product(X, Y, block[1:-1], -0.37, 0.3, transposed)
            assert (block[0] == 7.0).all() and (block[-1] == 7.0).all()
            got = C.copy()
            kernels.matrix_product(X, Y, got, -0.37, 0.3, transposed)
            np.testing.assert_array_equal(block[1:-1], got)


@needs_own
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_product_with_beta_zero_never_reads_c(dtype):
    # as BLAS: C may hold anything (NaN, scratch of an earlier step) where beta is 0
    kernels = _backend.simd_module(RUNNING[-1])
    for m, n, k in [(5, 37, 3), (4, 16, 70), (1, 1, 1)]:
        X, Y, _ = _operands(dtype, m, n, k, False, 1)
        got = np.full((m, n), np.nan, dtype=dtype)
        kernels.matrix_product(X, Y, got, 1.0, 0.0, False, True)
        assert np.isfinite(got).all()


@needs_own
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_variant_computes_the_same_bits(dtype):
    # every variant runs the one AVX2 and FMA code, whatever its own flags: the same sums,
    # and alpha and beta (neither a power of 2, so that a multiplication fused into the
    # addition after it would show) applied with the same roundings
    for index, (m, n, k) in enumerate(SHAPES[::5]):
        for transposed in (False, True):
            X, Y, C = _operands(dtype, m, n, k, transposed, index)
            results = []
            for variant in RUNNING:
                got = C.copy()
                _backend.simd_module(variant).matrix_product(X, Y, got, -0.37, 0.3, transposed)
                results.append(got)
            for variant, got in zip(RUNNING[1:], results[1:]):
                np.testing.assert_array_equal(got, results[0], err_msg=variant)


@needs_own
def test_the_product_refuses_shapes_that_do_not_fit():
    kernels = _backend.simd_module(RUNNING[-1])
    X, Y, C = _operands("float64", 3, 4, 5, False, 0)
    with pytest.raises(ValueError, match=r"shapes do not fit: X \(3, 5\), Y \(5, 4\), C \(4, 4\)"):
        kernels.matrix_product(X, Y, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="shapes do not fit"):
        kernels.matrix_product(X, Y, C, x_transposed=True)
    with pytest.raises(ValueError, match="every dimension must be at least 1"):
        kernels.matrix_product(np.zeros((3, 0)), np.zeros((0, 4)), C)
    with pytest.raises(ValueError, match="repeats must be at least 1, got 0"):
        kernels.matrix_product(X, Y, C, repeats=0)


def test_the_flag_takes_a_bool_only(backend):
    if backend != "cython":
        pytest.skip("about the compiled kernels' BLAS")
    from bpcore import _blas
    with pytest.raises(TypeError, match="flag must be True, False or None, got 1"):
        _blas.own_products(1)


def test_the_products_are_taken_where_the_flag_and_the_cpu_say(backend, own_products):
    if backend != "cython":
        pytest.skip("about the compiled kernels' BLAS")
    kernels = _backend.compiled()
    assert kernels.own_products_taken() == (own_products and kernels.own_products_run())
    # a forward product the own kernel takes runs on a copy of W^T (float32, 32 x 64 -> 128)
    assert kernels.forward_copies(32, 64, 128, True) == (own_products
                                                        or kernels.forward_copies(32, 64, 128))


def _case(dtype, n=100):
    # batches of 40 through 45 -> 70 -> 37 -> 11: in float32 the own kernel takes every
    # product but the output layer's forward one of the whole batches (11 columns of 40
    # rows by 37 terms), which it takes for the last, shorter batch (20 rows), in float64
    # the narrower ones; the odd sizes end in every kind of tile (37 and 45 columns: a
    # vector and a masked one, 70: a masked vector, 11: both in float32, a masked vector in
    # float64)
    rng = np.random.default_rng(8)
    net = bpcore.Network([45, 70, 37, 11], activation="tanh", output="softmax",
                         loss="cross_entropy", dtype=dtype, seed=4)
    return net, rng.normal(size=(n, 45)), np.eye(11)[rng.integers(0, 11, n)]


def _twin(net):
    copy = bpcore.Network(net.sizes, activation=net.activation, output=net.output,
                          loss=net.loss_name, dtype=net.dtype)
    copy.set_state(net.get_state())
    return copy


def _layers(net):
    return [a for pair in zip(net.weights, net.biases) for a in pair]


OPTIMIZERS = {"sgd": lambda: bpcore.SGD(lr=0.05),
              "momentum": lambda: bpcore.SGD(lr=0.05, momentum=0.9, weight_decay=1e-3),
              "adam": lambda: bpcore.Adam(lr=0.01), "rprop": lambda: bpcore.Rprop(lr=0.01)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_through_either_products_is_the_fallbacks(backend, dtype, name,
                                                          own_products):
    if backend != "cython":
        pytest.skip("the compiled kernels against the fallback")
    net, X, Y = _case(dtype)
    if own_products:  # the first layer's forward product goes to the own kernel, on a copy
        assert _backend.kernels.forward_copies(40, 45, 70, True)
    ours = _twin(net)
    ours.fit(X, Y, epochs=2, optimizer=OPTIMIZERS[name](), batch_size=40, shuffle=False)
    with _backend.use_backend("python"):
        theirs = _twin(net)
        theirs.fit(X, Y, epochs=2, optimizer=OPTIMIZERS[name](), batch_size=40, shuffle=False)
        expected = theirs.predict(X)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for a, b in zip(_layers(ours), _layers(theirs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(ours.predict(X), expected, rtol=rtol, atol=rtol * 1e-2)
    assert not np.allclose(ours.weights[1], net.weights[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_are_fits_batches_to_the_bit(backend, dtype, name, own_products):
    net, X, Y = _case(dtype)
    stepped = _twin(net)
    net.fit(X, Y, epochs=1, optimizer=OPTIMIZERS[name](), batch_size=40, shuffle=False)
    optimizer = OPTIMIZERS[name]()
    for start in range(0, 100, 40):
        stepped.step(X[start:start + 40], Y[start:start + 40], optimizer=optimizer)
    assert all(ours.tobytes() == theirs.tobytes()
               for ours, theirs in zip(_layers(net), _layers(stepped)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_steps_loss_and_gradients_are_the_forward_passs(backend, dtype, own_products):
    # predict, loss, gradients and a training step run their products alike
    net, X, Y = _case(dtype, 40)
    Xc, Yc = net._data(X, Y)
    A, Z = net._forward(Xc)
    expected = _backend.kernels.batch_loss(net._loss_code, net._output(A, 40), Z, Yc,
                                           np.zeros(0, dtype=net.dtype))
    assert net.predict(X).tobytes() == net._output(A, 40).tobytes()
    records = net.train_epoch(X, Y, bpcore.Adam(lr=0.01), batch_size=40)
    assert records[0, 0] == expected


@pytest.mark.skipif(len(RUNNING) < 2, reason="fewer than two variants run the own products here")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_variant_trains_to_the_same_bits_through_the_own_products(backend, dtype, name,
                                                                        own_products):
    if backend != "cython" or not own_products:
        pytest.skip("the compiled variants, each through its own products")
    net, X, Y = _case(dtype)
    results = []
    for variant in RUNNING:
        trained = _twin(net)
        with _backend.use_backend(_backend.simd_module(variant)):
            trained.fit(X, Y, epochs=2, optimizer=OPTIMIZERS[name](), batch_size=40)
            results.append([*_layers(trained), trained.predict(X)])
    for variant, arrays in zip(RUNNING[1:], results[1:]):
        for got, expected in zip(arrays, results[0]):
            np.testing.assert_array_equal(got, expected, err_msg=variant)
