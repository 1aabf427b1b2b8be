"""The optimizers: SGD (momentum, Nesterov), Adam, AdamW and Rprop against PyTorch, L-BFGS
against scikit-learn, the two backends against each other, fit against step, the one-sample
path against the general one, their settings' checks, and their state on the network: kept,
rolled back, reset."""
import dataclasses
import warnings

import numpy as np
import pytest

import bpcore
from bpcore import _backend, _spec


def data(n=24, n_in=5, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.normal(size=(n, n_out))


def network(dtype="float64", seed=0, sizes=(5, 7, 3)):
    return bpcore.Network(list(sizes), activation="tanh", output="identity", loss="mse",
                          dtype=dtype, seed=seed)


def parameters(net):
    return net.get_state()["parameters"]


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("batch_size", [1, 8])
def test_adam_follows_torch(backend, decoupled, weight_decay, batch_size):
    torch = pytest.importorskip("torch", reason="the trajectory oracle is torch.optim")
    X, Y = data()
    net = network()
    layers = torch_twin(torch, net)
    # weight decay on the weights only, as bpcore applies it: the biases in a group without
    groups = [{"params": [layer.weight for layer in layers], "weight_decay": weight_decay},
              {"params": [layer.bias for layer in layers], "weight_decay": 0.0}]
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    reference = kind(groups, lr=0.01, betas=(0.8, 0.99), eps=1e-7)
    optimizer = bpcore.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7,
                            weight_decay=weight_decay, decoupled=decoupled)
    for step in range(20):
        rows = slice((step * batch_size) % len(X), (step * batch_size) % len(X) + batch_size)
        x, y = X[rows], Y[rows]
        loss = net.step(x[0] if batch_size == 1 else x, y[0] if batch_size == 1 else y,
                        optimizer=optimizer)
        reference.zero_grad()
        torch_loss = torch_mse(torch, layers, x, y)
        torch_loss.backward()
        reference.step()
        assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
    for weights, biases, layer in zip(net.weights, net.biases, layers):
        np.testing.assert_allclose(weights, layer.weight.detach().numpy(), rtol=1e-10,
                                   atol=1e-14)
        np.testing.assert_allclose(biases, layer.bias.detach().numpy(), rtol=1e-10, atol=1e-14)
    assert net.get_state()["optimizer"]["step"] == 20


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("batch_size", [1, 6])
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("sizes", [(5, 7, 3), (20, 64, 32, 3)], ids=["loops", "blas"])
def test_adam_trains_alike_on_both_backends(backend, dtype, rtol, batch_size, decoupled, sizes):
    if backend != "cython":
        pytest.skip("compares both backends in one run")
    X, Y = data(n=30, n_in=sizes[0], n_out=sizes[-1])
    nets = []
    for name in ("cython", "python"):
        with _backend.use_backend(name):
            net = network(dtype, sizes=sizes)
            net.fit(X, Y, epochs=3, batch_size=batch_size, shuffle=False,
                    optimizer=bpcore.Adam(lr=0.01, weight_decay=0.01, decoupled=decoupled))
            nets.append(net)
    a, b = (net.get_state() for net in nets)
    scale = np.abs(b["parameters"]).max()
    np.testing.assert_allclose(a["parameters"], b["parameters"], rtol=rtol, atol=rtol * scale)
    for moment in ("m", "v"):
        reference = b["optimizer"][moment]
        np.testing.assert_allclose(a["optimizer"][moment], reference, rtol=rtol,
                                   atol=rtol * np.abs(reference).max())
    assert a["optimizer"]["step"] == b["optimizer"]["step"] == 3 * -(-30 // batch_size)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_an_adam_epoch_takes_the_steps_that_step_takes(backend, batch_size):
    X, Y = data(n=12)
    optimizer = bpcore.Adam(lr=0.02, weight_decay=0.01)
    a, b = network(), network()
    a.fit(X, Y, epochs=2, batch_size=batch_size, shuffle=False, optimizer=optimizer)
    for _ in range(2):
        for start in range(0, 12, batch_size):
            rows = slice(start, start + batch_size)
            if batch_size == 1:
                b.step(X[start], Y[start], optimizer=optimizer)  # the one-sample kernel
            else:
                b.step(X[rows], Y[rows], optimizer=optimizer)
    state_a, state_b = a.get_state(), b.get_state()
    np.testing.assert_array_equal(state_a["parameters"], state_b["parameters"])
    for key in ("m", "v", "step"):
        np.testing.assert_array_equal(state_a["optimizer"][key], state_b["optimizer"][key])


@pytest.mark.parametrize("one_sample", [True, False])
def test_a_diverged_adam_step_restores_the_moments_and_the_step_count(backend, one_sample):
    X, Y = data(n=4)
    net = network()
    net.step(X, Y, optimizer=bpcore.Adam(lr=0.01))
    before = net.get_state()
    huge = bpcore.Adam(lr=1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(bpcore.DivergenceError, match="undone"):
            net.step(X[0] if one_sample else X, Y[0] if one_sample else Y, optimizer=huge)
    after = net.get_state()
    np.testing.assert_array_equal(after["parameters"], before["parameters"])
    for key in ("m", "v", "step"):
        np.testing.assert_array_equal(after["optimizer"][key], before["optimizer"][key])


def test_the_state_follows_the_kind_of_optimizer(backend):
    X, Y = data()
    net = network()
    net.fit(X, Y, epochs=1, lr=0.05, momentum=0.9)
    assert np.any(net.get_state()["optimizer"]["velocity"])
    net.fit(X, Y, epochs=1, optimizer="adam")
    state = net.get_state()["optimizer"]
    assert state["name"] == "adam" and state["step"] == len(X) and np.any(state["m"])
    net.fit(X, Y, epochs=1, optimizer="adam")
    assert net.get_state()["optimizer"]["step"] == 2 * len(X)  # carried across calls
    net.step(X[:3], Y[:3], lr=0.05)  # back to SGD: a fresh velocity (momentum 0 leaves it)
    state = net.get_state()["optimizer"]
    assert state["name"] == "sgd" and not np.any(state["velocity"])


@pytest.mark.parametrize("bad", ["rows", "nan", "one sample", "diverges", "diverges, list",
                                 "one sample diverges"])
def test_a_refused_or_undone_step_of_another_kind_keeps_the_state(backend, bad):
    # a step of SGD refused for its samples, or undone as it diverged, loses no Adam
    # moments: the new kind's fresh state goes as the step does
    X, Y = data()
    net = network()
    net.fit(X, Y, epochs=1, optimizer="adam")
    before = net.get_state()["optimizer"]
    parameters = net.get_state()["parameters"]
    samples = {"rows": (X[:3], Y[:2]), "nan": (X[:3], np.where(Y[:3] == Y[0, 0], np.nan, Y[:3])),
               "one sample": (X[0], Y[0, :-1]), "diverges": (X[:3] * 1e10, Y[:3] * 1e10),
               "diverges, list": ((X[:3] * 1e10).tolist(), Y[:3] * 1e10),  # the general path
               "one sample diverges": (X[0] * 1e10, Y[0] * 1e10)}[bad]
    with pytest.raises(ValueError):  # DivergenceError is one
        net.step(*samples, lr=1e300)
    np.testing.assert_array_equal(net.get_state()["parameters"], parameters)
    after = net.get_state()["optimizer"]
    assert after["name"] == "adam" and after["step"] == before["step"] == len(X)
    np.testing.assert_array_equal(after["m"], before["m"])
    net.step(X[:3], Y[:3], lr=0.05)  # a step it takes starts SGD afresh, as before
    assert net.get_state()["optimizer"]["name"] == "sgd"


def test_adam_state_round_trips_and_continues_bit_for_bit(backend):
    X, Y = data()
    optimizer = bpcore.Adam(lr=0.01)
    net = network()
    net.fit(X, Y, epochs=2, batch_size=5, shuffle=False, optimizer=optimizer)
    twin = network(seed=4)
    twin.set_state(net.get_state())
    for trained in (net, twin):
        trained.fit(X, Y, epochs=2, batch_size=5, shuffle=False, optimizer=optimizer)
    a, b = net.get_state(), twin.get_state()
    np.testing.assert_array_equal(a["parameters"], b["parameters"])
    assert a["optimizer"]["step"] == b["optimizer"]["step"]


@pytest.mark.parametrize("settings, error, message", [
    ({"beta1": 1.0}, ValueError, r"beta1 must be a finite number in \[0, 1\)"),
    ({"beta2": -0.1}, ValueError, r"beta2 must be a finite number in \[0, 1\)"),
    ({"eps": 0.0}, ValueError, r"eps must be a finite number in \(0, inf\)"),
    ({"lr": float("nan")}, ValueError, "lr must be a finite number"),
    ({"weight_decay": -1.0}, ValueError, "weight_decay must be a finite number"),
    ({"decoupled": "yes"}, TypeError, "decoupled must be True or False"),
    ({"beta1": "0.9"}, TypeError, "beta1 must be a real number"),
])
def test_bad_adam_settings_are_refused(settings, error, message):
    with pytest.raises(error, match=message):
        bpcore.Adam(**settings)


# ---- every optimizer against an independent implementation ----

def learnable(n=32, seed=0):
    """Targets a [3, ..., 2] network can learn, so that gradient signs persist across batches
    for a while (Rprop's step sizes then grow as well as shrink)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.stack([np.sin(X[:, 0]), 0.5 * X[:, 1] * X[:, 2]], axis=1)


def deep_network(dtype="float64", seed=3):
    return bpcore.Network([3, 5, 4, 2], activation="tanh", output="identity", loss="mse",
                          dtype=dtype, seed=seed)


def torch_twin(torch, net):
    """torch.nn.Linear layers holding copies of the network's parameters (W is (n_out, n_in)
    in both, samples are rows)."""
    layers = []
    for weights, biases in zip(net.weights, net.biases):
        layer = torch.nn.Linear(weights.shape[1], weights.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(weights.copy()))
            layer.bias.copy_(torch.from_numpy(biases.copy()))
        layers.append(layer)
    return layers


def torch_mse(torch, layers, x, y):
    """bpcore's mse with tanh hidden layers and an identity output: the mean over the samples
    of 0.5 * sum_j (a_j - y_j)^2."""
    h = torch.from_numpy(x)
    for i, layer in enumerate(layers):
        h = layer(h)
        if i < len(layers) - 1:
            h = torch.tanh(h)
    return 0.5 * ((h - torch.from_numpy(y)) ** 2).sum(dim=1).mean()


def sgd_case(momentum, nesterov, weight_decay):
    def reference(torch, layers):
        # weight decay on the weights only, as bpcore applies it: the biases in a group without
        groups = [{"params": [layer.weight for layer in layers], "weight_decay": weight_decay},
                  {"params": [layer.bias for layer in layers], "weight_decay": 0.0}]
        return torch.optim.SGD(groups, lr=0.05, momentum=momentum, nesterov=nesterov)
    optimizer = bpcore.SGD(lr=0.05, momentum=momentum, nesterov=nesterov,
                           weight_decay=weight_decay)
    return pytest.param(optimizer, reference,
                        id=f"sgd-momentum{momentum}-nesterov{nesterov}-decay{weight_decay}")


def rprop_case(name, **settings):
    def reference(torch, layers):
        # torch's Rprop has no weight decay: bpcore's is tested against step on its own
        parameters = [p for layer in layers for p in (layer.weight, layer.bias)]
        return torch.optim.Rprop(parameters, lr=settings["lr"],
                                 etas=(settings.get("eta_minus", 0.5),
                                       settings.get("eta_plus", 1.2)),
                                 step_sizes=(settings.get("step_min", 1e-6),
                                             settings.get("step_max", 50.0)))
    return pytest.param(bpcore.Rprop(**settings), reference, id=name)


TORCH_CASES = [sgd_case(momentum, nesterov, weight_decay)
               for momentum, nesterov in ((0.0, False), (0.9, False), (0.9, True))
               for weight_decay in (0.0, 0.05)] + [
    rprop_case("rprop", lr=0.002),
    # a narrow range of step sizes, so that steps are clamped at both ends
    rprop_case("rprop-clamped", lr=0.01, eta_minus=0.3, eta_plus=1.5, step_min=1e-3,
               step_max=0.02),
]  # Adam and AdamW: test_adam_follows_torch


@pytest.mark.parametrize("optimizer, reference", TORCH_CASES)
def test_sgd_and_rprop_follow_torch(backend, optimizer, reference):
    torch = pytest.importorskip("torch", reason="the trajectory oracle is torch.optim")
    X, Y = learnable()
    net = deep_network()
    layers = torch_twin(torch, net)
    oracle = reference(torch, layers)
    step_sizes = []
    for step in range(20):
        rows = slice(8 * (step % 4), 8 * (step % 4) + 8)  # four batches of 8, in turn
        loss = net.step(X[rows], Y[rows], optimizer=optimizer)
        oracle.zero_grad()
        torch_loss = torch_mse(torch, layers, X[rows], Y[rows])
        torch_loss.backward()
        oracle.step()
        assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
        if isinstance(optimizer, bpcore.Rprop):
            step_sizes.append(net.get_state()["optimizer"]["step_size"])
    for weights, biases, layer in zip(net.weights, net.biases, layers):
        # atol: the few entries near zero, where a relative tolerance means nothing
        np.testing.assert_allclose(weights, layer.weight.detach().numpy(), rtol=1e-10,
                                   atol=1e-13)
        np.testing.assert_allclose(biases, layer.bias.detach().numpy(), rtol=1e-10, atol=1e-13)
    if step_sizes:  # the run took every branch of iRprop-
        sizes = np.array(step_sizes)
        assert (sizes < optimizer.lr).any()  # a sign flipped
        if optimizer.step_max < 1:
            assert (sizes == optimizer.step_max).any() and (sizes == optimizer.step_min).any()
        else:
            assert (sizes > optimizer.lr).any()  # a sign held
        assert net.get_state()["optimizer"]["step"] == 20


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plain_sgd_is_p_minus_lr_times_g_plus_0_p_to_the_bit(backend, dtype):
    # plain SGD without weight decay skips adding 0 p to the gradient (the compiled update's
    # own loop, the fallback's shortcut): for finite p the two gradients differ at most in a
    # zero's sign, which p - lr g does not show. Every pair of special values (signed zeros,
    # subnormals, the largest), weights and biases alike, in every SIMD variant
    finfo = np.finfo(dtype)
    values = np.array([0.0, -0.0, finfo.smallest_subnormal, -finfo.smallest_subnormal,
                       finfo.tiny, -finfo.tiny, 1.0, -3.5, finfo.max, -finfo.max], dtype=dtype)
    p, g = np.tile(values, 10), np.repeat(values, 10)
    sizes = np.array([1, 50], dtype=np.intp)  # 50 weights, then 50 biases
    if backend == "python":
        variants = [_backend.kernels]
    else:
        variants = [_backend.simd_module(variant) for variant in _backend.simd_variants()]
    for kernels in variants:
        for lr in (0.1, 3.0):
            for shift in (0, 50):  # each pair once among the weights, once among the biases
                params, grads = np.roll(p, shift), np.roll(g, shift)
                with np.errstate(over="ignore"):
                    expected = params - dtype(lr) * (grads + dtype(0) * params)
                    kernels.update(params, grads, np.zeros_like(params), sizes,
                                   bpcore.SGD(lr=lr).code, np.array([lr, 0.0, 0.0, 0.0]))
                np.testing.assert_array_equal(params.view(f"u{params.itemsize}"),
                                              expected.view(f"u{params.itemsize}"))


FIT_OPTIMIZERS = [
    pytest.param(bpcore.SGD(lr=0.05), id="sgd"),
    pytest.param(bpcore.SGD(lr=0.05, momentum=0.9, weight_decay=0.01), id="momentum"),
    pytest.param(bpcore.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                 id="nesterov"),
    pytest.param(bpcore.Adam(lr=0.01, weight_decay=0.1, decoupled=True), id="adamw"),
    pytest.param(bpcore.Rprop(lr=0.01, weight_decay=0.01), id="rprop"),
]  # Adam: test_an_adam_epoch_takes_the_steps_that_step_takes


@pytest.mark.parametrize("optimizer", FIT_OPTIMIZERS)
def test_a_mini_batch_epoch_takes_the_steps_that_step_takes(backend, optimizer):
    X, Y = learnable(n=20)  # batches of 8, 8 and 4
    a, b = deep_network(), deep_network()
    history = a.fit(X, Y, epochs=3, batch_size=8, shuffle=False, optimizer=optimizer)
    losses = []
    for _ in range(3):
        total = 0.0
        for start in range(0, 20, 8):
            rows = slice(start, start + 8)
            total += b.step(X[rows], Y[rows], optimizer=optimizer) * len(X[rows])
        losses.append(total / 20)
    state_a, state_b = a.get_state(), b.get_state()
    np.testing.assert_array_equal(state_a["parameters"], state_b["parameters"])
    assert not np.array_equal(state_a["parameters"], deep_network().get_state()["parameters"])
    assert state_a["optimizer"].keys() == state_b["optimizer"].keys()
    for key in state_a["optimizer"]:
        np.testing.assert_array_equal(state_a["optimizer"][key], state_b["optimizer"][key])
    # an epoch's loss is the mean of its samples' losses before their steps
    np.testing.assert_allclose(history.losses, losses, rtol=1e-12)


def unfused_steps(net, X, Y, optimizer):
    """One step per row of X, Y on net as Network.gradients and the kernels' update make it
    (backward pass, gradient vector, then the optimizer's rule over it): the unfused path.
    Returns the losses, the final parameters and the optimizer's state."""
    kernels = _backend.kernels
    state = bpcore.optim.OptimizerState(optimizer.name, len(parameters(net)), net.dtype)
    sizes = np.array(net.sizes, dtype=np.intp)
    losses = []
    for i in range(len(X)):
        g = net.gradients(X[i:i + 1], Y[i:i + 1])
        grads = np.concatenate([a.ravel() for pair in zip(g.weights, g.biases) for a in pair])
        held = net.get_state()
        settings = state.settings_for(optimizer)
        kernels.update(held["parameters"], grads, state.arrays, sizes, optimizer.code, settings)
        state.keep(settings)
        net.set_state(held)
        losses.append(g.loss)
    return losses, parameters(net), state


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", [
    pytest.param(bpcore.SGD(lr=0.01), id="sgd"),
    pytest.param(bpcore.SGD(lr=0.01, weight_decay=0.01), id="sgd-decay"),
    pytest.param(bpcore.Adam(lr=0.01, weight_decay=0.01), id="adam"),
    pytest.param(bpcore.Adam(lr=0.01, weight_decay=0.1, decoupled=True), id="adamw"),
    pytest.param(bpcore.Rprop(lr=0.01, weight_decay=0.01), id="rprop"),
    pytest.param(bpcore.SGD(lr=0.01, momentum=0.9, weight_decay=0.01), id="momentum"),
    pytest.param(bpcore.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01),
                 id="nesterov"),
])
# [3, 60, 50, 2] has layers past the BLAS crossover: the unfused backward must then sum in
# the fused online step's order too (one sample keeps the plain loops)
@pytest.mark.parametrize("hidden", [(5, 4), (60, 50)])
# relu: plain SGD's fused step skips the rows of the units that did not fire
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_one_sample_step_is_the_general_step(backend, dtype, optimizer, hidden,
                                                 activation, monkeypatch):
    # Network.step on one sample, 1-D (the one-kernel path) or 2-D (the epoch kernel), is the
    # unfused gradient and update to the bit: the compiled side fuses them into one pass
    # over the weights (network_online_step, with its own loops for plain SGD)
    X, Y = (array.astype(dtype) for array in learnable(n=10))
    def make():
        return bpcore.Network([3, *hidden, 2], activation=activation, output="identity",
                              loss="mse", dtype=dtype, seed=3)
    fast, general = make(), make()
    if activation == "relu":  # of the first layer's units, some fire and some do not
        fired = X @ fast.weights[0].T + fast.biases[0] > 0
        assert 0.2 < fired.mean() < 0.8
    calls, losses = [], []
    step_direct = _backend.kernels.step_direct

    def recorded(*arguments):
        result = step_direct(*arguments)
        calls.append((arguments[6].ndim, result is not None))  # X's dimensions; stepped
        return result
    monkeypatch.setattr(_backend.kernels, "step_direct", recorded)
    for i in range(10):
        losses.append(fast.step(X[i], Y[i], optimizer=optimizer))
        assert general.step(X[i:i + 1], Y[i:i + 1], optimizer=optimizer) == losses[-1]
    # the 1-D steps took the fused one-sample step, the 2-D ones a batch of one row
    assert calls == [(1, True), (2, True)] * 10
    a, b = fast.get_state(), general.get_state()
    np.testing.assert_array_equal(a["parameters"], b["parameters"])
    for key in a["optimizer"]:
        np.testing.assert_array_equal(a["optimizer"][key], b["optimizer"][key])
    if "step" in a["optimizer"]:
        assert a["optimizer"]["step"] == 10
    unfused_losses, unfused, state = unfused_steps(make(), X, Y, optimizer)
    assert unfused_losses == losses
    np.testing.assert_array_equal(a["parameters"], unfused)
    for key, array in state.named().items():
        np.testing.assert_array_equal(a["optimizer"][key], array)


# ---- L-BFGS against scikit-learn's ----

@pytest.mark.parametrize("alpha, margin", [(1e-2, 0.1), (1.0, 1e-3)])
def test_lbfgs_reaches_scikit_learns_lbfgs_loss(backend, alpha, margin):
    # Both run SciPy's L-BFGS-B on the same objective: scikit-learn's loss_ is
    # 0.5 * mean (y - p)^2 + alpha / (2 n) * sum W^2 (its squared_loss and L2 term), bpcore's
    # the mean mse loss + weight_decay / 2 * sum W^2, so weight_decay = alpha / n. Both start
    # from the same point (scikit-learn's parameters after one iteration, as warm_start
    # continues from them) with the same history and gtol, so they follow the same path until
    # rounding differences grow, then each converges on its own. With alpha=1e-2 the valley
    # is flat: over 30 starting points and both backends bpcore ended within [0.96, 1.03] of
    # scikit-learn's loss (another CPU's rounding is just another such path), so 10% is
    # generous yet far below the start's loss; with alpha=1.0 the minimum is sharp and both
    # reached it to 1e-6, so 1e-3 holds it tightly (and checks the decay's scale).
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    rng = np.random.default_rng(0)
    n = 60
    X = rng.uniform(-2, 2, size=(n, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    reference = MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs",
                             alpha=alpha, max_iter=1, tol=1e-6, warm_start=True,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
        start = ([c.T.copy() for c in reference.coefs_], [b.copy() for b in reference.intercepts_])
        reference.set_params(max_iter=1000)
        reference.fit(X, y)
    net = bpcore.Network([2, 4, 1], activation="tanh", output="identity", loss="mse")
    for i in range(2):
        net.weights[i][...] = start[0][i]
        net.biases[i][...] = start[1][i]

    def objective():
        return net.loss(X, y) + alpha / (2 * n) * sum(float((w ** 2).sum()) for w in net.weights)

    initial = objective()
    # restore_best=False: the objective's last iterate (restore_best watches the data loss)
    history = net.fit(X, y, optimizer=bpcore.LBFGS(max_iter=1000, tol=1e-6,
                                                   weight_decay=alpha / n),
                      restore_best=False)
    assert history.stop_reason == "converged"
    assert objective() <= reference.loss_ * (1 + margin)
    assert reference.loss_ < 0.1 * initial  # the bound is far below where both started


# ---- both backends train alike with every optimizer ----

SMALL, LARGE = [6, 8, 5, 3], [20, 64, 32, 3]  # the compiled loops, and its BLAS paths


# The tolerances of tests/test_backends.py (float64: rtol 1e-10 of a layer's largest entry).
# L-BFGS runs 10 iterations: its line searches amplify rounding differences (measured 5e-14
# after 10 iterations, 4e-10 after 40, between rows repeated and integer weights).
@pytest.mark.parametrize("optimizer, batch_size", [
    pytest.param(bpcore.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-3), 1,
                 id="nesterov-online"),
    pytest.param(bpcore.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-3), 8,
                 id="nesterov-batches"),
    pytest.param(bpcore.Rprop(lr=0.01, weight_decay=1e-3), None, id="rprop"),
    pytest.param(bpcore.Rprop(lr=0.01), 8, id="rprop-batches"),
    pytest.param(bpcore.LBFGS(max_iter=10, weight_decay=1e-3), None, id="lbfgs"),
])  # Adam: test_adam_trains_alike_on_both_backends
@pytest.mark.parametrize("sizes", [SMALL, LARGE], ids=["loops", "blas"])
def test_every_optimizer_trains_alike_on_both_backends(backend, optimizer, batch_size, sizes):
    if backend != "cython":
        pytest.skip("compares both backends in one run")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, sizes[0]))
    Y = np.eye(3)[rng.integers(0, 3, 50)]
    start = bpcore.Network(sizes, activation="tanh", output="softmax", loss="cross_entropy",
                           seed=11).get_state()["parameters"]
    results = []
    for name in ("cython", "python"):
        with _backend.use_backend(name):
            net = bpcore.Network(sizes, activation="tanh", output="softmax",
                                 loss="cross_entropy", seed=11)
            history = net.fit(X, Y, epochs=3, batch_size=batch_size, optimizer=optimizer,
                              restore_best=False)
            results.append((net.get_state(), history))
    (a, history_a), (b, history_b) = results
    rtol = 1e-10
    scale = np.abs(b["parameters"]).max()
    np.testing.assert_allclose(a["parameters"], b["parameters"], rtol=rtol, atol=rtol * scale)
    assert not np.allclose(a["parameters"], start, rtol=1e-6, atol=0)  # training moved them
    np.testing.assert_allclose(history_a.losses, history_b.losses, rtol=rtol)
    assert history_a.epochs == history_b.epochs
    for key, reference in b["optimizer"].items():
        if key != "name":
            np.testing.assert_allclose(a["optimizer"][key], reference, rtol=rtol,
                                       atol=rtol * max(np.abs(reference).max(), 1e-30))


# ---- the settings' checks ----

@pytest.mark.parametrize("kind, settings, error, message", [
    (bpcore.SGD, {"lr": 0.0}, ValueError, r"lr must be a finite number in \(0, inf\), got 0.0"),
    (bpcore.SGD, {"lr": float("inf")}, ValueError, "lr must be a finite number"),
    (bpcore.SGD, {"momentum": float("nan")}, ValueError,
     r"momentum must be a finite number in \[0, 1\), got nan"),
    (bpcore.SGD, {"momentum": -0.1}, ValueError, r"momentum must be a finite number in \[0, 1\)"),
    (bpcore.SGD, {"weight_decay": float("inf")}, ValueError, "weight_decay must be a finite"),
    (bpcore.SGD, {"nesterov": True}, ValueError, "nesterov=True needs a momentum > 0"),
    (bpcore.SGD, {"momentum": 0.9, "nesterov": 1}, TypeError, "nesterov must be True or False"),
    (bpcore.Adam, {"beta1": float("nan")}, ValueError,
     r"beta1 must be a finite number in \[0, 1\)"),
    (bpcore.Adam, {"beta2": 1.5}, ValueError, r"beta2 must be a finite number in \[0, 1\)"),
    (bpcore.Adam, {"eps": float("inf")}, ValueError, "eps must be a finite number"),
    (bpcore.Adam, {"lr": -0.001}, ValueError, "lr must be a finite number"),
    (bpcore.Rprop, {"lr": 0.0}, ValueError, r"lr must be a finite number in \(0, inf\)"),
    (bpcore.Rprop, {"eta_minus": 0.0}, ValueError,
     r"eta_minus must be a finite number in \(0, 1\)"),
    (bpcore.Rprop, {"eta_minus": 1.0}, ValueError,
     r"eta_minus must be a finite number in \(0, 1\)"),
    (bpcore.Rprop, {"eta_plus": 1.0}, ValueError,
     r"eta_plus must be a finite number in \(1, inf\)"),
    (bpcore.Rprop, {"eta_plus": float("inf")}, ValueError, "eta_plus must be a finite number"),
    (bpcore.Rprop, {"step_min": -1e-6}, ValueError, r"step_min must be a finite number in \[0"),
    (bpcore.Rprop, {"step_max": 0.0}, ValueError, r"step_max must be a finite number in \(0"),
    (bpcore.Rprop, {"step_max": float("nan")}, ValueError, "step_max must be a finite number"),
    (bpcore.Rprop, {"step_min": 1.0, "step_max": 0.5}, ValueError,
     "step_min must be at most step_max, got step_min=1.0 and step_max=0.5"),
    (bpcore.Rprop, {"weight_decay": -1.0}, ValueError, "weight_decay must be a finite number"),
    (bpcore.Rprop, {"lr": lambda epoch: 0.1}, TypeError,
     "lr of Rprop must be a number .*not a schedule"),
    (bpcore.Rprop, {"eta_plus": "1.2"}, TypeError, "eta_plus must be a real number"),
    (bpcore.LBFGS, {"max_iter": 0}, ValueError, "max_iter must be at least 1, got 0"),
    (bpcore.LBFGS, {"max_iter": 1.5}, TypeError, "max_iter must be an int"),
    (bpcore.LBFGS, {"max_iter": True}, TypeError, "max_iter must be an int, got bool"),
    (bpcore.LBFGS, {"tol": -1.0}, ValueError, r"tol must be a finite number in \[0, inf\)"),
    (bpcore.LBFGS, {"tol": float("nan")}, ValueError, "tol must be a finite number"),
    (bpcore.LBFGS, {"history": 0}, ValueError, "history must be at least 1, got 0"),
    (bpcore.LBFGS, {"weight_decay": float("nan")}, ValueError, "weight_decay must be a finite"),
])
def test_bad_sgd_rprop_and_lbfgs_settings_are_refused(kind, settings, error, message):
    with pytest.raises(error, match=message):
        kind(**settings)


def test_a_subclass_of_an_optimizer_does_not_replace_it_by_name(backend):
    from bpcore.optim import Optimizer

    @dataclasses.dataclass(frozen=True)
    class Slow(bpcore.SGD):
        pass

    assert Optimizer.classes["sgd"] is bpcore.SGD
    assert Slow(lr=0.5).name == "sgd"


@pytest.mark.parametrize("name, arrays", [("adam", ("m", "v")), ("rprop", ("step_size",
                                                                          "previous"))])
def test_state_that_cannot_be_negative_is_refused(backend, name, arrays):
    net = bpcore.Network([2, 1], seed=0)
    state = net.get_state()
    n = len(state["parameters"])
    given = {"name": name, **{array: np.zeros(n) for array in arrays}, "step": 1.0}
    given[arrays[-1] if name == "adam" else arrays[0]] = -np.ones(n)
    state["optimizer"] = given
    with pytest.raises(ValueError, match=r"must hold numbers >= 0"):
        net.set_state(state)


@pytest.mark.parametrize("name", sorted(_spec.OPTIMIZERS))
def test_each_optimizers_fields_are_its_kernel_settings_in_order(backend, name):
    # Optimizer.settings builds the kernels' vector in field order, OptimizerState counts the
    # scalar state from the number of fields, and the training loop writes each epoch's rate
    # into the first entry: the dataclass must list _spec's settings, lr first, in order
    from bpcore.optim import Optimizer
    names = [field.name for field in dataclasses.fields(Optimizer.classes[name])]
    settings = _spec.OPTIMIZERS[name].settings
    assert names[0] == "lr" and tuple(names) == settings[:len(names)]
