"""Any memory layout of X and Y gives exactly the results of a C-contiguous native copy:
read-only arrays, memory-mapped files, Fortran order, strided views, big-endian data."""
import numpy as np
import pytest

import bpcore

N, N_IN, N_OUT = 7, 3, 2


def data():
    rng = np.random.default_rng(11)
    return rng.normal(size=(N, N_IN)), rng.uniform(size=(N, N_OUT))


def read_only(array, tmp_path):
    array = array.copy()
    array.flags.writeable = False
    return array


def memmap(array, tmp_path):
    path = tmp_path / f"data-{array.shape[1]}.bin"
    mapped = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape)
    mapped[...] = array
    mapped.flush()
    return np.memmap(path, dtype=array.dtype, mode="r", shape=array.shape)


def fortran(array, tmp_path):
    result = np.asfortranarray(array)
    assert not result.flags.c_contiguous
    return result


def strided(array, tmp_path):
    big = np.full((3 * array.shape[0], 2 * array.shape[1]), np.nan)
    big[::3, 1::2] = array
    view = big[::3, 1::2]
    assert not view.flags.c_contiguous and view.base is big
    return view


def reversed_rows(array, tmp_path):
    flipped = array[::-1].copy()
    return flipped[::-1]  # negative strides


def big_endian(array, tmp_path):
    result = array.astype(">f8")
    assert not result.dtype.isnative
    return result


def big_endian_float32(array, tmp_path):
    return array.astype(">f4")


def transposed(array, tmp_path):
    return np.ascontiguousarray(array.T).T


def unaligned(array, tmp_path):
    # the values at an odd byte address, not aligned for their dtype (the one-sample fast paths
    # must leave such an array to the general path)
    buffer = np.zeros(array.nbytes + 1, dtype=np.uint8)
    result = buffer[1:].view(array.dtype).reshape(array.shape)
    result[...] = array
    assert not result.flags.aligned and not result[2].flags.aligned
    return result


LAYOUTS = [read_only, memmap, fortran, strided, reversed_rows, big_endian, big_endian_float32,
           transposed, unaligned]


def contiguous(array, tmp_path):
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


def network(dtype, seed=3):
    return bpcore.Network([N_IN, 4, N_OUT], activation="tanh", dtype=dtype, seed=seed)


def flat(net):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(net.weights, net.biases)])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layout", LAYOUTS, ids=[f.__name__ for f in LAYOUTS])
def test_layout_gives_the_results_of_a_contiguous_copy(layout, dtype, tmp_path):
    X, Y = data()
    if layout is big_endian_float32:
        X, Y = X.astype(np.float32), Y.astype(np.float32)
    X_odd, Y_odd = layout(X, tmp_path), layout(Y, tmp_path)
    X_ref, Y_ref = contiguous(X_odd, tmp_path), contiguous(Y_odd, tmp_path)
    assert np.array_equal(X_odd, X_ref) and np.array_equal(Y_odd, Y_ref)
    X_before, Y_before = np.array(X_odd), np.array(Y_odd)

    net = network(dtype)
    assert np.array_equal(net.predict(X_odd), net.predict(X_ref))
    assert np.array_equal(net.predict(X_odd[2]), net.predict(X_ref[2]))
    assert net.loss(X_odd, Y_odd) == net.loss(X_ref, Y_ref)
    g_odd, g_ref = net.gradients(X_odd, Y_odd), net.gradients(X_ref, Y_ref)
    assert g_odd.loss == g_ref.loss
    for name in ("weights", "biases", "deltas"):
        for a, b in zip(getattr(g_odd, name), getattr(g_ref, name)):
            assert np.array_equal(a, b), name

    for kwargs in ({"batch_size": 1}, {"batch_size": 3, "momentum": 0.9, "weight_decay": 0.01}):
        odd, ref = network(dtype), network(dtype)
        h_odd = odd.fit(X_odd, Y_odd, epochs=4, lr=0.2, **kwargs)
        h_ref = ref.fit(X_ref, Y_ref, epochs=4, lr=0.2, **kwargs)
        assert h_odd.losses == h_ref.losses
        assert np.array_equal(flat(odd), flat(ref))
        assert not np.array_equal(flat(odd), flat(network(dtype)))  # training did something

    odd, ref = network(dtype), network(dtype)
    assert odd.step(X_odd, Y_odd, lr=0.3, momentum=0.5) == ref.step(X_ref, Y_ref, lr=0.3, momentum=0.5)
    assert np.array_equal(flat(odd), flat(ref))

    # the inputs were only read
    assert np.array_equal(X_odd, X_before) and np.array_equal(Y_odd, Y_before)


def test_one_dimensional_targets_of_a_single_output_network():
    X, Y = data()
    y = np.ascontiguousarray(Y[:, 0])
    y_strided = Y[:, 0]  # a column view: stride of two floats
    assert not y_strided.flags.c_contiguous
    net, twin = bpcore.Network([N_IN, 3, 1], seed=2), bpcore.Network([N_IN, 3, 1], seed=2)
    assert net.loss(X, y_strided) == net.loss(X, y.reshape(-1, 1))
    net.fit(X, y_strided, epochs=3)
    twin.fit(X, y.reshape(-1, 1), epochs=3)
    assert np.array_equal(flat(net), flat(twin))


def test_network_parameter_views_may_be_replaced_by_odd_layouts():
    # Writing a Fortran-ordered or big-endian array into the weight views keeps the values.
    net = network("float64")
    w = np.asfortranarray(np.arange(12, dtype=">f8").reshape(4, 3) / 10)
    net.weights[0][...] = w
    assert np.array_equal(net.weights[0], w)
    twin = network("float64")
    twin.weights[0][...] = np.ascontiguousarray(w, dtype=np.float64)
    X, _ = data()
    assert np.array_equal(net.predict(X), twin.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parameters_and_optimizer_state_start_on_a_cache_line(dtype):
    # bpcore/_layout.py's ALIGNMENT: kept through training, a change of optimizer and pickling
    import copy
    import pickle

    from bpcore._layout import ALIGNMENT

    def aligned(array):
        return array.ctypes.data % ALIGNMENT == 0

    net = bpcore.Network([5, 7, 3], dtype=dtype, seed=0)
    assert aligned(net._params) and aligned(net._state.arrays)
    X, Y = data()[0][:, :2].repeat(3, axis=1)[:, :5], np.eye(3)[[0, 1, 2, 0, 1, 2, 0]]
    net.fit(X, Y, epochs=1, optimizer=bpcore.Adam(lr=0.01))
    assert aligned(net._params) and aligned(net._state.arrays) and net._state.name == "adam"
    twin = pickle.loads(pickle.dumps(net))
    assert aligned(twin._params) and aligned(twin._state.arrays)
    np.testing.assert_array_equal(twin._params, net._params)
    np.testing.assert_array_equal(twin._state.arrays, net._state.arrays)
    shallow = copy.copy(net)  # a shallow copy shares the arrays, aligned as they are
    assert shallow._params is net._params and shallow._state.arrays is net._state.arrays
    saved = net._state.copy()
    net.fit(X, Y, epochs=1, lr=0.1, momentum=0.9)
    net._state.assign(saved)  # back to Adam's state, of another length
    assert aligned(net._state.arrays)
    np.testing.assert_array_equal(net._state.arrays, saved.arrays)
