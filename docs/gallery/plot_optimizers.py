"""
Optimizers compared on one data set
===================================

bpcore's optimizers (:class:`bpcore.SGD`, with and without Nesterov momentum,
:class:`bpcore.Adam`, :class:`bpcore.Rprop` and :class:`bpcore.LBFGS`) train the same
network from the same initial weights on the bundled handwritten digits, 50 epochs each.
The figure shows the training loss after every epoch, against the epoch and against the
wall time.
"""

# %%
# The data and the network
# ------------------------
# 1000 digits to train on, the other 797 to test; pixel values scaled to [0, 1] and one-hot
# targets for a softmax output under the cross-entropy loss.
import matplotlib.pyplot as plt
import numpy as np

import bpcore
from bpcore.datasets import load_digits

X, digits = load_digits()
X = X / 16.0
Y = np.eye(10)[digits]
order = np.random.default_rng(0).permutation(len(X))
train, test = order[:1000], order[1000:]

# %%
# The optimizers
# --------------
# SGD and Adam take a step per mini-batch of 32 samples (32 steps an epoch); Rprop and
# L-BFGS are full-batch methods and take one step an epoch (for L-BFGS an epoch is one
# iteration, which may evaluate the loss more than once in its line search). The learning
# rates are usual first choices, not tuned; Rprop and L-BFGS run with their defaults.
optimizers = {
    "SGD (lr 0.1)": dict(optimizer=bpcore.SGD(lr=0.1), batch_size=32),
    "SGD, Nesterov momentum 0.9 (lr 0.05)":
        dict(optimizer=bpcore.SGD(lr=0.05, momentum=0.9, nesterov=True), batch_size=32),
    "Adam (lr 0.003)": dict(optimizer=bpcore.Adam(lr=0.003), batch_size=32),
    "Rprop": dict(optimizer=bpcore.Rprop()),
    "L-BFGS": dict(optimizer=bpcore.LBFGS()),
}

# %%
# Training
# --------
# The loss an epoch reports for SGD and Adam is a running mean over its steps, and for
# L-BFGS the loss after its iteration. To compare like with like, ``validation_data``
# measures the loss on the whole training set after every epoch (``History.val_losses``),
# and ``restore_best=False`` keeps the last epoch's parameters. ``History.times`` holds each
# epoch's wall time, that measurement included.
histories = {}
for name, settings in optimizers.items():
    net = bpcore.Network([64, 32, 10], activation="relu", output="softmax",
                         loss="cross_entropy", seed=0)
    history = net.fit(X[train], Y[train], epochs=50, restore_best=False,
                      validation_data=(X[train], Y[train]), **settings)
    histories[name] = history
    accuracy = np.mean(net.predict(X[test]).argmax(axis=1) == digits[test])
    print(f"{name:<38} training loss {history.val_losses[-1]:.4f}, test accuracy "
          f"{accuracy:.3f}, {sum(history.times):.2f} s")

# %%
# The curves
# ----------
fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
for name, history in histories.items():
    by_epoch.plot(np.arange(1, history.epochs + 1), history.val_losses, label=name)
    by_time.plot(np.cumsum(history.times), history.val_losses, label=name)
by_epoch.set_yscale("log")
by_epoch.set_xlabel("epoch")
by_epoch.set_ylabel("cross-entropy loss on the training set")
by_time.set_xlabel("wall time (s)")
by_epoch.legend(fontsize=8)
fig.suptitle(f"64-32-10 relu network on 1000 digits (backend: {bpcore.backend})")
fig.tight_layout()
plt.show()

# %%
# In the first epochs the mini-batch methods are ahead: they take 32 steps where Rprop and
# L-BFGS take one. The full-batch methods step along the gradient of the whole training set
# and keep going down at a steady rate (Rprop's loss can jump up for an epoch when steps
# that have grown large overshoot: iRprop- then shrinks them and takes no step back), while
# plain SGD at a constant rate slows down. The wall times depend on the machine, on the
# backend (the title says which ran here) and on what else the machine was running while
# the documentation was built; ``bpcore bench`` measures speed properly
# (:doc:`/performance`). Which optimizer to choose, and the settings of each, are in
# :doc:`/training`; its recipe for small tabular data is full-batch Rprop.
