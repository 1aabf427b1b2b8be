"""
Decision regions of a small classifier
======================================

A network with two inputs can be drawn: every point of the plane is an input, and the
class the network predicts there colours it. This example trains a 2-16-3 network on two
features of the bundled iris flowers, petal length and petal width, and draws the regions
of the three species with the flowers on top.
"""

# %%
# The data
# --------
# :func:`bpcore.datasets.load_iris` returns the four measurements of 150 flowers (in cm) and
# their species names. The two petal measurements separate the species best. Inputs are
# standardised (mean 0, standard deviation 1 per column), as the recipe of
# :doc:`the training guide </training>` does.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba_array

import bpcore
from bpcore.datasets import load_iris

X, species = load_iris()
names, labels = np.unique(species, return_inverse=True)
petals = X[:, 2:4]
mean, std = petals.mean(axis=0), petals.std(axis=0)
Y = np.eye(len(names))[labels]

# %%
# The networks
# ------------
# One hidden layer of 16 tanh units and a softmax output of the three species, trained by
# full-batch Rprop (one step per epoch on the whole data set) for 200 epochs: once as it
# is, and once with a little weight decay, which pulls every weight towards zero (the
# penalty weight_decay / 2 * sum W^2 added to the loss).
inputs = (petals - mean) / std
networks = {}
for decay in (0.0, 0.01):
    net = bpcore.Network([2, 16, 3], activation="tanh", output="softmax",
                         loss="cross_entropy", seed=0)
    history = net.fit(inputs, Y, epochs=200, optimizer=bpcore.Rprop(weight_decay=decay))
    accuracy = np.mean(net.predict(inputs).argmax(axis=1) == labels)
    print(f"weight decay {decay}: loss {history.losses[-1]:.4f}, "
          f"training accuracy {accuracy:.3f}")
    networks[f"weight decay {decay}"] = net

# %%
# The regions
# -----------
# :meth:`bpcore.Network.predict` takes a whole grid of points at once, one point per row.
# The colour is the most probable species; its shade is that probability, so the pale bands
# are where a network hesitates between two species.
length, width = np.meshgrid(np.linspace(0.5, 7.5, 300), np.linspace(-0.2, 2.8, 300))
grid = np.column_stack([length.ravel(), width.ravel()])
colours = ["tab:blue", "tab:orange", "tab:green"]
rgb = to_rgba_array(colours)[:, :3]

fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
for ax, (title, net) in zip(axes, networks.items()):
    probabilities = net.predict((grid - mean) / std)
    predicted = probabilities.argmax(axis=1).reshape(length.shape)
    confidence = probabilities.max(axis=1).reshape(length.shape)
    # the species' colour mixed with white, the more white the lower the probability
    # (from 1/3, no preference among three, to 1)
    strength = 0.15 + 0.5 * (confidence - 1 / 3) / (2 / 3)
    image = 1 - strength[..., None] * (1 - rgb[predicted])
    ax.imshow(image, origin="lower", aspect="auto",
              extent=(length.min(), length.max(), width.min(), width.max()))
    ax.contour(length, width, predicted, levels=[0.5, 1.5], colors="0.3", linewidths=0.8)
    for index, (name, colour) in enumerate(zip(names, colours)):
        chosen = labels == index
        ax.scatter(petals[chosen, 0], petals[chosen, 1], color=colour, edgecolor="black",
                   label=name, s=25)
    ax.set_xlabel("petal length (cm)")
    ax.set_title(f"2-16-3 tanh/softmax, Rprop, {title}")
axes[0].set_ylabel("petal width (cm)")
axes[0].legend(title="species")
fig.tight_layout()
plt.show()

# %%
# Without weight decay the network bends the border between versicolor and virginica
# around single flowers, fitting the training set almost exactly; with weight decay the
# border is smoother and a few of those flowers fall on the other side. Which generalises
# better is a question for held-out data
# (:ref:`sphx_glr_auto_examples_plot_early_stopping.py` shows how to ask it);
# :doc:`/training` describes weight decay with every optimizer.
