"""Network.train_epoch (summed_penalty, records) and Adam's eps_hat, against NumPy references
built from Network.gradients and the optimizers' documented formulas."""
import os
import subprocess
import sys

import numpy as np
import pytest

import bpcore
from bpcore import _backend
from bpcore.optim import LBFGS

RTOL = 1e-12  # float64 twins of the same arithmetic, summed in other orders


def network(kind, dtype="float64"):
    if kind == "mse":
        return bpcore.Network([3, 4, 2], activation="tanh", output="identity", dtype=dtype,
                              seed=1)
    return bpcore.Network([3, 4, 3], activation="tanh", output="softmax",
                          loss="cross_entropy", dtype=dtype, seed=1)


def data(kind, n=8):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, 3))
    if kind == "mse":
        return X, rng.normal(size=(n, 2))
    return X, np.eye(3)[rng.integers(0, 3, n)]


def twin(net):
    copy = bpcore.Network(net.sizes, activation=net.activation, output=net.output,
                          loss=net.loss_name, dtype=net.dtype)
    copy.set_state(net.get_state())
    return copy


def layers(held):
    """[W0, b0, W1, b1, ...] of a Network (views) or of its Gradients."""
    return [a for pair in zip(held.weights, held.biases) for a in pair]


def parameters(net):
    return np.concatenate([a.ravel() for a in layers(net)])


class Reference:
    """The optimizer's update in NumPy, on the parameters of a Network (its weights and biases
    views), with the optimizer's state kept here."""

    def __init__(self, net, optimizer):
        self.net, self.opt, self.t = net, optimizer, 0
        self.params = layers(net)
        self.decays = [i % 2 == 0 for i in range(len(self.params))]  # weights, not biases
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    def step(self, grads, decay):
        opt = self.opt
        self.t += 1
        for p, g, m, v, decayed in zip(self.params, grads, self.m, self.v, self.decays):
            g = g + decay * p if decayed else g
            if isinstance(opt, bpcore.SGD):
                if opt.momentum == 0:
                    p -= opt.lr * g
                    continue
                m[...] = opt.momentum * m + g  # the velocity
                p -= opt.lr * (g + opt.momentum * m if opt.nesterov else m)
                continue
            m[...] = opt.beta1 * m + (1 - opt.beta1) * g
            v[...] = opt.beta2 * v + (1 - opt.beta2) * g * g
            bias1, bias2 = 1 - opt.beta1 ** self.t, 1 - opt.beta2 ** self.t
            if opt.eps_hat:
                p -= opt.lr * np.sqrt(bias2) / bias1 * m / (np.sqrt(v) + opt.eps)
            else:
                p -= opt.lr / bias1 * m / (np.sqrt(v) / np.sqrt(bias2) + opt.eps)

    def epoch(self, X, Y, order, batch_size, weights, summed):
        """train_epoch's documented steps; returns its records."""
        records = []
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            w = np.ones(len(rows)) if weights is None else weights[rows]
            S, b = w.sum(), len(rows)
            squares = sum(float((W ** 2).sum()) for W in self.net.weights)
            if S == 0:
                mean, loss = [np.zeros_like(p) for p in self.params], 0.0
            else:
                g = self.net.gradients(X[rows], Y[rows],
                                       sample_weight=None if weights is None else w)
                mean = layers(g)
                loss = g.loss * (b if summed else S)  # sum (w b/S) C, or sum w C
            records.append((loss, S, squares))
            if summed and S == 0:
                continue
            if summed:  # sum w g / S + (weight_decay / S) W
                self.step(mean, self.opt.weight_decay / S)
            else:  # sum w g / b + weight_decay W
                self.step([a * (S / b) for a in mean], self.opt.weight_decay)
        return np.array(records)


OPTIMIZERS = [bpcore.SGD(lr=0.1, weight_decay=0.3),
              bpcore.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.3),
              bpcore.Adam(lr=0.01, weight_decay=0.3, eps_hat=True)]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd", "nesterov", "adam_eps_hat"])
@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("summed", [True, False])
@pytest.mark.parametrize("batch_size", [3, 1])
def test_epochs_follow_the_numpy_reference(optimizer, kind, weighted, summed, batch_size):
    X, Y = data(kind)
    # rows repeat and one is left out; with batch_size 3 the last batch has 2 rows
    order = np.array([5, 0, 3, 3, 7, 1, 6, 2])
    weights = np.array([0.5, 2.0, 1.0, 0.0, 1.5, 0.25, 3.0, 1.0]) if weighted else None
    net = network(kind)
    reference = Reference(twin(net), optimizer)
    for _ in range(2):  # the optimizer's state carries on into a second epoch
        records = net.train_epoch(X, Y, optimizer, order=order, batch_size=batch_size,
                                  sample_weight=weights, summed_penalty=summed)
        expected = reference.epoch(X, Y, order, batch_size, weights, summed)
        np.testing.assert_allclose(records, expected, rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(parameters(net), parameters(reference.net), rtol=RTOL,
                                   atol=1e-15)
    assert not np.allclose(parameters(net), parameters(network(kind)))


@pytest.mark.parametrize("optimizer", [bpcore.SGD(lr=0.1, momentum=0.9, weight_decay=0.5),
                                       bpcore.Adam(lr=0.01, weight_decay=0.5, eps_hat=True)])
def test_a_batch_of_zero_weights_takes_no_step(optimizer, assert_same_state):
    X, Y = data("mse", 6)
    weights = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 0.5])
    net = network("mse")
    net.train_epoch(X, Y, optimizer, order=[3, 4], batch_size=2)  # some optimizer state
    before = net.get_state()
    records = net.train_epoch(X, Y, optimizer, order=[0, 1, 2, 0], batch_size=3,
                              sample_weight=weights, summed_penalty=True)
    assert_same_state(net.get_state(), before)
    assert records[:, :2].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # after zero batches, a batch steps with the weight decay it has alone
    alone = twin(net)
    net.train_epoch(X, Y, optimizer, order=[0, 1, 3, 4, 5], batch_size=2,
                    sample_weight=weights, summed_penalty=True)
    alone.train_epoch(X, Y, optimizer, order=[3, 4, 5], batch_size=2,
                      sample_weight=weights, summed_penalty=True)
    assert_same_state(net.get_state(), alone.get_state())


@pytest.mark.parametrize("optimizer", OPTIMIZERS[:2] + [bpcore.Adam(lr=0.01, weight_decay=0.1)])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_an_epoch_in_order_is_steps_on_its_batches(optimizer, batch_size):
    X, Y = data("cross_entropy", 7)
    net = network("cross_entropy")
    stepped = twin(net)
    records = net.train_epoch(X, Y, optimizer, batch_size=batch_size)
    losses = [stepped.step(X[start:start + batch_size], Y[start:start + batch_size],
                           optimizer=optimizer) for start in range(0, 7, batch_size)]
    sizes = [min(batch_size, 7 - start) for start in range(0, 7, batch_size)]
    np.testing.assert_allclose(parameters(net), parameters(stepped), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(records[:, 0], np.multiply(losses, sizes), rtol=RTOL)
    assert records[:, 1].tolist() == sizes


def test_eps_hat_is_scikit_learns_adam():
    X, Y = data("mse")
    optimizer = bpcore.Adam(lr=0.05, eps=1e-3, eps_hat=True)
    net = network("mse")
    reference = Reference(twin(net), optimizer)
    for start in (0, 4, 0):
        rows = slice(start, start + 4)
        net.step(X[rows], Y[rows], optimizer=optimizer)
        g = reference.net.gradients(X[rows], Y[rows])
        reference.step(layers(g), 0.0)
        np.testing.assert_allclose(parameters(net), parameters(reference.net), rtol=RTOL)
    # one sample as a 1-D row takes the online kernel
    net.step(X[0], Y[0], optimizer=optimizer)
    g = reference.net.gradients(X[:1], Y[:1])
    reference.step(layers(g), 0.0)
    np.testing.assert_allclose(parameters(net), parameters(reference.net), rtol=RTOL)
    # PyTorch's placement of eps (eps_hat=False) gives other weights while 1 - beta2^t is small
    nets = {}
    for eps_hat in (False, True):
        nets[eps_hat] = network("mse")
        for start in (0, 4, 0):
            nets[eps_hat].step(X[start:start + 4], Y[start:start + 4], optimizer=bpcore.Adam(
                lr=0.05, eps=1e-3, eps_hat=eps_hat))
    moved = np.abs(parameters(nets[True]) - parameters(network("mse"))).max()
    assert np.abs(parameters(nets[False]) - parameters(nets[True])).max() > 1e-3 * moved


def test_eps_hat_is_an_adam_setting():
    assert not bpcore.Adam().eps_hat
    assert bpcore.Adam(eps_hat=True).state_dict()["eps_hat"] is True


BAD = [
    (dict(optimizer="sgd"), TypeError, "optimizer"),
    (dict(optimizer=LBFGS()), TypeError, "optimizer"),
    (dict(optimizer=bpcore.SGD(lr=lambda epoch: 0.1)), TypeError, "lr"),
    (dict(order=[0, 8]), ValueError, "order"),
    (dict(order=[-1, 2]), ValueError, "order"),
    (dict(order=[[0, 1], [2, 3]]), (TypeError, ValueError), "order"),
    (dict(order=[0.0, 1.0]), TypeError, "order"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(sample_weight=np.ones(7)), ValueError, "sample_weight"),
    (dict(sample_weight=np.r_[np.ones(7), -1.0]), ValueError, "sample_weight"),
    (dict(sample_weight=np.r_[np.ones(7), np.nan]), ValueError, "sample_weight"),
    (dict(sample_weight=["a"] * 8), TypeError, "sample_weight"),
]


@pytest.mark.parametrize("given, error, name", BAD)
def test_bad_input_is_refused_and_changes_nothing(given, error, name, assert_same_state):
    X, Y = data("mse")
    net = network("mse")
    net.train_epoch(X, Y, bpcore.SGD(lr=0.1, momentum=0.9), batch_size=3)  # some velocity
    before = net.get_state()
    arguments = dict(optimizer=bpcore.Adam(), summed_penalty=True) | given
    with pytest.raises(error, match=name):
        net.train_epoch(X, Y, **arguments)
    assert_same_state(net.get_state(), before)


@pytest.mark.parametrize("summed", [False, True])
def test_float32_networks_train(summed):
    X, Y = data("cross_entropy")
    net = network("cross_entropy", dtype="float32")
    wide = network("cross_entropy")
    start = parameters(net).copy()
    weights = np.linspace(0.0, 2.0, 8)
    # SGD: linear in the gradient, so float32's rounding is not amplified as Adam's m / sqrt(v)
    # would amplify it for a gradient near zero
    optimizer = bpcore.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)
    records = net.train_epoch(X, Y, optimizer, batch_size=3, sample_weight=weights,
                              summed_penalty=summed)
    wide.train_epoch(X, Y, optimizer, batch_size=3, sample_weight=weights,
                     summed_penalty=summed)
    assert net.dtype == np.float32 and parameters(net).dtype == np.float32
    assert records.dtype == np.float64 and np.isfinite(records).all()
    assert not np.array_equal(parameters(net), start)
    # the same steps as in float64, to float32's precision
    np.testing.assert_allclose(parameters(net), parameters(wide), atol=1e-4)


@pytest.mark.parametrize("output, loss", [("sigmoid", "binary_cross_entropy"),
                                          ("softmax", "cross_entropy")])
def test_clipped_loss_is_scikit_learns_value_where_outputs_saturate(output, loss):
    net = bpcore.Network([3, 3], activation="identity", output=output, loss=loss, seed=0)
    net.weights[0][...] = 60.0 * np.eye(3)  # outputs saturate to 0 or 1 in float64
    X = np.eye(3)[[0, 1, 2, 0]]
    Y = np.eye(3)[[1, 1, 2, 0]]  # the first row is confidently wrong
    probabilities = np.clip(net.predict(X), np.finfo(float).eps, 1 - np.finfo(float).eps)
    terms = Y * np.log(probabilities)
    if loss == "binary_cross_entropy":
        terms += (1 - Y) * np.log(1 - probabilities)
    expected = -terms.sum()
    exact = net.loss(X, Y) * len(X)
    records = net.train_epoch(X, Y, bpcore.SGD(lr=1e-9), batch_size=4, clipped_loss=True)
    np.testing.assert_allclose(records[0, 0], expected, rtol=1e-12)
    assert abs(exact - expected) > 1.0  # the exact value is another number here
    with pytest.raises(TypeError, match="clipped_loss"):
        net.train_epoch(X, Y, bpcore.SGD(lr=0.1), clipped_loss="yes")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_steps_loss_is_the_loss_before_it_to_the_bit(dtype, weighted):
    # A step takes its cross-entropy's logsumexp from the softmax's own exps; the loss it
    # reports must still be the one the forward pass and the loss kernel give on their own
    rng = np.random.default_rng(3)
    X = rng.normal(scale=4.0, size=(6, 3))  # logits spread wide: exps far from 1
    Y = np.eye(3)[rng.integers(0, 3, 6)]
    weights = rng.uniform(0.5, 2.0, 6) if weighted else None
    net = network("cross_entropy", dtype)
    kernels = bpcore._backend.kernels

    def loss_sum(rows):
        Xc, Yc = net._data(X[rows], Y[rows])
        A, Z = net._forward(Xc)
        w = np.zeros(0) if weights is None else weights[rows]  # as given: train_epoch's
        return kernels.batch_loss(net._loss_code, net._output(A, len(rows)), Z, Yc,
                                  np.asarray(w, dtype=net.dtype))

    for rows in ([0, 1, 2, 3, 4, 5], [2], [4]):  # a mini-batch, then the online path
        expected = loss_sum(rows)
        records = net.train_epoch(X, Y, bpcore.SGD(lr=0.1), order=rows, batch_size=6,
                                  sample_weight=weights)
        assert records[0, 0] == expected
    weights = None
    x, y = net._data(X[5], Y[5])
    expected = loss_sum([5])
    assert net.step(x[0], y[0], lr=0.1) == expected  # the one-sample kernel call


def first_layer_case(dtype, n=27, activation="relu"):
    # a first layer in BLAS's small-matrix regime (batch 8: 8 * 37 * 53 multiply-adds), of odd
    # sizes, so that an epoch of plain SGD keeps W[0] transposed (src/kernels/epochs.pxi)
    rng = np.random.default_rng(5)
    net = bpcore.Network([37, 53, 5], activation=activation, output="softmax",
                         loss="cross_entropy", dtype=dtype, seed=2)
    return net, rng.normal(size=(n, 37)), np.eye(5)[rng.integers(0, 5, n)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_epoch_gives_the_first_layer_back_entry_for_entry(dtype):
    # with inputs of 0 the first layer's weights get a zero gradient: transposed for the
    # epoch and back, they must be the same bits (their biases and the next layer do change:
    # sigmoid(0) and its slope are not 0)
    net, X, Y = first_layer_case(dtype, activation="sigmoid")
    before = [w.copy() for w in net.weights] + [b.copy() for b in net.biases]
    net.fit(np.zeros_like(X), Y, epochs=1, lr=0.1, batch_size=8, shuffle=False)
    assert net.weights[0].tobytes() == before[0].tobytes()
    assert not np.array_equal(net.biases[0], before[2])
    assert not np.array_equal(net.weights[1], before[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [24, 27, 25])  # whole batches; a shorter last one; one of 1
def test_fit_with_the_first_layer_transposed_is_the_plain_epoch(dtype, n):
    # fit keeps W[0] transposed through its plain SGD batches (handing it back before a batch
    # of one sample); Network.train_epoch, which records each batch, never does: the same
    # steps, each product rounded in its own order
    net, X, Y = first_layer_case(dtype, n)
    plain = twin(net)
    net.fit(X, Y, epochs=1, lr=0.1, batch_size=8, shuffle=False)
    plain.train_epoch(X, Y, bpcore.SGD(lr=0.1), batch_size=8)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for ours, theirs in zip(layers(net), layers(plain)):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * 1e-2)
    assert not np.allclose(net.weights[0], first_layer_case(dtype)[0].weights[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_steps_are_fits_batches_to_the_bit_with_the_first_layer_transposed(dtype):
    net, X, Y = first_layer_case(dtype, 24)
    stepped = twin(net)
    net.fit(X, Y, epochs=1, lr=0.1, batch_size=8, shuffle=False)
    for start in range(0, 24, 8):
        stepped.step(X[start:start + 8], Y[start:start + 8], lr=0.1)
    assert all(ours.tobytes() == theirs.tobytes()
               for ours, theirs in zip(layers(net), layers(stepped)))


OPTIMIZERS = {"sgd": bpcore.SGD(lr=0.05),
              "momentum": bpcore.SGD(lr=0.05, momentum=0.9, weight_decay=1e-3),
              "adam": bpcore.Adam(lr=0.01), "rprop": bpcore.Rprop(lr=0.01)}


def copy_case(dtype, n=100):
    # batches of 40 through layers that copy W^T for their forward products where BLAS runs
    # A B^T slowly (copy_pays in src/kernels/layers.pxi: 45 -> 70 and 70 -> 37; not 37 -> 5),
    # of odd sizes, so that the blocked copy's edges are crossed; the last batch (20 rows)
    # copies nothing
    rng = np.random.default_rng(8)
    net = bpcore.Network([45, 70, 37, 5], activation="tanh", output="softmax",
                         loss="cross_entropy", dtype=dtype, seed=4)
    return net, rng.normal(size=(n, 45)), np.eye(5)[rng.integers(0, 5, n)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_forward_products_on_copies_of_the_weights_are_the_fallbacks(backend, dtype, name,
                                                                    copies):
    if backend != "cython":
        pytest.skip("the compiled kernels against the fallback")
    # a copy of the wrong shape, or a stale one, would leave the fallback's plain products
    # far behind; the same steps, each product rounded in its own order, stay within roundings
    net, X, Y = copy_case(dtype)
    ours = twin(net)
    ours.fit(X, Y, epochs=2, optimizer=OPTIMIZERS[name], batch_size=40, shuffle=False)
    with _backend.use_backend("python"):
        theirs = twin(net)
        theirs.fit(X, Y, epochs=2, optimizer=OPTIMIZERS[name], batch_size=40, shuffle=False)
        expected = theirs.predict(X)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for a, b in zip(layers(ours), layers(theirs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(ours.predict(X), expected, rtol=rtol, atol=rtol * 1e-2)
    assert not np.allclose(ours.weights[1], net.weights[1])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_are_fits_batches_to_the_bit_where_the_weights_are_copied(name, copies):
    net, X, Y = copy_case("float32")
    stepped = twin(net)
    net.fit(X, Y, epochs=1, optimizer=OPTIMIZERS[name], batch_size=40, shuffle=False)
    for start in range(0, 100, 40):
        stepped.step(X[start:start + 40], Y[start:start + 40], optimizer=OPTIMIZERS[name])
    assert all(ours.tobytes() == theirs.tobytes()
               for ours, theirs in zip(layers(net), layers(stepped)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_steps_loss_is_the_forward_passs_where_the_weights_are_copied(dtype, copies):
    # the forward kernel (predict, loss) runs the products as a training step does
    net, X, Y = copy_case(dtype, 40)
    Xc, Yc = net._data(X, Y)
    A, Z = net._forward(Xc)
    expected = bpcore._backend.kernels.batch_loss(net._loss_code, net._output(A, 40), Z, Yc,
                                                  np.zeros(0, dtype=net.dtype))
    records = net.train_epoch(X, Y, bpcore.Adam(lr=0.01), batch_size=40)
    assert records[0, 0] == expected


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lbfgss_objective_is_the_forward_passs_where_the_weights_are_copied(dtype, copies):
    # loss_gradients (L-BFGS's objective and gradient) runs the products as forward does
    net, X, Y = copy_case(dtype, 40)
    Xc, Yc = net._data(X, Y)
    none = np.zeros(0, dtype=net.dtype)
    A, Z = net._forward(Xc)
    expected = _backend.kernels.batch_loss(net._loss_code, net._output(A, 40), Z, Yc, none)
    grads = np.empty_like(net._params)
    total = _backend.kernels.loss_gradients(net._params, net._sizes_array,
                                            net._activation_codes, net._loss_code, Xc, Yc,
                                            none, grads)
    assert total == expected
    assert grads.tobytes() == parameters(net.gradients(X, Y)).tobytes()


def test_the_blas_kernels_are_named_as_threadpoolctl_names_them(backend):
    if backend != "cython":
        pytest.skip("about the compiled kernels' BLAS")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from bpcore import _blas
    from bpcore.bench import record
    name = _backend.compiled().blas_kernels()  # loads SciPy's BLAS first
    scipys = [info for info in threadpoolctl.threadpool_info()
              if record._package_of(info["filepath"]) == "scipy"]
    if not scipys:
        pytest.skip("SciPy's BLAS is not a library of SciPy's own wheel")
    assert [info["architecture"] if info["internal_api"] == "openblas" else ""
            for info in scipys] == [name]
    assert _blas.transposed_slow() == (name.lower() in _blas.SLOW_CORES)


def test_a_library_that_is_not_openblas_has_no_kernel_name(backend):
    if backend != "cython":
        pytest.skip("about the compiled kernels' BLAS")
    import ctypes.util
    from bpcore import _blas
    assert _blas.core_name(os.path.join(os.path.dirname(_blas.__file__),
                                        "no such library.so")) == ""
    libc = ctypes.util.find_library("c")
    if libc:  # opens, has no get_corename
        assert _blas.core_name(libc) == ""
    with pytest.raises(TypeError, match="flag must be True, False or None, got 1"):
        _blas.transposed_slow(1)


@pytest.mark.parametrize("core, slow", [("Haswell", False), ("SkylakeX", True)])
def test_a_process_copies_the_weights_only_with_blas_kernels_slow_at_a_b_transposed(
        backend, core, slow, tmp_path):
    # OPENBLAS_CORETYPE picks OpenBLAS's kernels for the process: the copies follow them,
    # not the CPU's instruction sets: with Haswell's kernels, on any CPU, the forward product
    # goes to the kernels' own product instead (which takes its copy of W^T too), with
    # SkylakeX's to BLAS on a copy
    if backend != "cython":
        pytest.skip("about the compiled kernels' BLAS")
    if not _backend.compiled().blas_kernels():
        pytest.skip("SciPy's BLAS is not OpenBLAS: OPENBLAS_CORETYPE does not apply")
    if ("avx512" if slow else "avx2") not in _backend.compiled().cpu_runs():
        pytest.skip(f"this CPU does not run OpenBLAS's {core} kernels")
    code = """if True:
        from bpcore import _backend, _blas
        kernels = _backend.compiled()
        copies = kernels.forward_copies(32, 64, 128)
        print(kernels.blas_kernels(), copies, _blas.transposed_slow(), _blas.own_products(),
              kernels.own_products_run())
    """
    environment = dict(os.environ, OPENBLAS_CORETYPE=core, BPCORE_BACKEND="cython")
    # run outside the checkout, whose unbuilt bpcore/ would shadow the installed package
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environment, check=True, cwd=tmp_path)
    named = result.stdout.split()[0]
    if named != core:  # an OpenBLAS built for one CPU (no DYNAMIC_ARCH) ignores the variable
        pytest.skip(f"this OpenBLAS runs {named} whatever OPENBLAS_CORETYPE says")
    runs = result.stdout.split()[4] == "True"  # the own kernel, where the CPU runs it
    assert result.stdout.split() == [core, str(slow or runs), str(slow), str(not slow),
                                     str(runs)]


def test_the_first_fit_of_a_process_is_the_same_fit_run_again(backend, tmp_path):
    # SciPy's BLAS is loaded by the first kernel call that needs it: that call must choose the
    # layouts as every later one does (first_transposed asks whether BLAS is loaded), or the
    # first fit of a process (a fresh process: BLAS not loaded yet) rounds apart from a rerun
    if backend != "cython":
        pytest.skip("about the compiled kernels' loading of BLAS")
    code = """if True:
        import numpy as np, bpcore
        def fitted():
            rng = np.random.default_rng(5)
            net = bpcore.Network([37, 53, 5], activation="relu", output="softmax",
                                 loss="cross_entropy", dtype="float32", seed=2)
            net.fit(rng.normal(size=(27, 37)), np.eye(5)[rng.integers(0, 5, 27)], epochs=2,
                    lr=0.1, batch_size=8, shuffle=False)
            return net.get_state()["parameters"].tobytes()
        print(fitted() == fitted())
    """
    # from another folder: in the checkout, Python would import the source tree's bpcore
    # (no compiled module) instead of the installed one the tests run
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "BPCORE_BACKEND": "cython"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]
