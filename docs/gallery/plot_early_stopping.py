"""
Early stopping on held-out data
===============================

A network with more weights than its training set has samples learns the training set
ever better, while its loss on data it has not seen first falls and then rises again: it
overfits. Measuring a validation loss after every epoch shows when this starts; early
stopping ends training there and keeps the parameters of the best epoch. This example
trains the same network on a small part of the bundled handwritten digits twice, without
and with early stopping, and compares the loss curves and the accuracy on a test set.
"""

# %%
# The data: 300 digits to train on, 700 to validate, the rest to test
# -------------------------------------------------------------------
# The 8x8 images of :func:`bpcore.datasets.load_digits` have pixel values 0 to 16; dividing
# by 16 puts them in [0, 1]. The targets of a softmax output with the cross-entropy loss
# are one-hot rows.
import matplotlib.pyplot as plt
import numpy as np

import bpcore
from bpcore.datasets import load_digits

X, digits = load_digits()
X = X / 16.0
Y = np.eye(10)[digits]
order = np.random.default_rng(0).permutation(len(X))
train, validation, test = order[:300], order[300:1000], order[1000:]


def new_network():
    # the same seed, so both runs start from the same weights and shuffle alike
    return bpcore.Network([64, 64, 10], activation="relu", output="softmax",
                          loss="cross_entropy", seed=0)


def on_test_set(net):
    accuracy = np.mean(net.predict(X[test]).argmax(axis=1) == digits[test])
    return f"test loss {net.loss(X[test], Y[test]):.4f}, test accuracy {accuracy:.3f}"


# %%
# Without early stopping
# ----------------------
# 200 epochs of Adam on mini-batches of 32. ``validation_data`` only measures the
# validation loss after each epoch (``History.val_losses``); with ``restore_best=False``
# the network keeps the parameters of the last epoch.
adam = dict(optimizer=bpcore.Adam(lr=0.01), batch_size=32)
net = new_network()
full = net.fit(X[train], Y[train], epochs=200, validation_data=(X[validation], Y[validation]),
               restore_best=False, **adam)
print(f"{full.epochs} epochs ({full.stop_reason}); lowest validation loss at epoch "
      f"{np.argmin(full.val_losses) + 1}; {on_test_set(net)}")

# %%
# With early stopping
# -------------------
# ``patience=10`` stops after 10 epochs in a row without a validation loss below the best
# so far, and ``restore_best=True`` (the default) gives the network back the parameters of
# that best epoch (``History.best_epoch``). Without a separate validation set,
# ``validation_fraction=0.2`` would hold out a fifth of the training rows instead.
net = new_network()
early = net.fit(X[train], Y[train], epochs=200, patience=10,
                validation_data=(X[validation], Y[validation]), **adam)
print(f"{early.epochs} epochs ({early.stop_reason}); kept epoch {early.best_epoch} "
      f"(validation loss {early.best_loss:.4f}); {on_test_set(net)}")

# %%
# The loss curves
# ---------------
# The training loss of an epoch is the mean of its samples' losses, each measured just
# before the step that uses it; the validation loss is measured after the epoch. A log
# scale shows the training loss falling for as long as training goes on.
fig, ax = plt.subplots(figsize=(8, 4.5))
epochs = np.arange(1, full.epochs + 1)
ax.plot(epochs, full.losses, color="tab:blue", label="training loss")
ax.plot(epochs, full.val_losses, color="tab:orange", label="validation loss")
ax.plot(np.arange(1, early.epochs + 1), early.val_losses, color="tab:green", linewidth=3,
        alpha=0.6, label="validation loss, early stopping (patience 10)")
ax.axvline(early.best_epoch, color="tab:green", linestyle="--",
           label=f"epoch kept by early stopping ({early.best_epoch})")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy loss")
ax.set_title("64-64-10 relu network on 300 digits, Adam, batches of 32")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Both runs take the same steps up to the epoch where early stopping ends (the same seed
# gives the same initial weights and the same shuffles), so its curve lies on the other one.
# Early stopping trains for a fraction of the epochs and ends with the parameters of the
# lowest validation loss, which the test loss printed above follows. The accuracy can move
# less than the loss: a network that overfits grows ever more confident, and the
# cross-entropy punishes a confident mistake heavily while the accuracy counts it once.
# :doc:`/training` describes the other stopping rules (``tol``, a ``callback``) and how
# they combine with validation data.
