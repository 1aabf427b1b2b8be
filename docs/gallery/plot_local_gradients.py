"""
The local gradients of one sample, drawn on the network
=======================================================

Backpropagation gives every neuron a local gradient, delta = dC/dz: how much the cost C of
one sample changes when that neuron's input sum z changes. This example draws them on the
4-4-4-1 sigmoid network of the :doc:`tutorial </tutorial>` (the same seed and the same iris
flower), with the weight w_22 of W^2 whose gradient the tutorial follows through the chain
rule.
"""

# %%
# The network and the sample
# --------------------------
# Sigmoid hidden layers and output, the mean squared error, weights drawn from the seed.
# The sample is the first flower of the bundled iris data (a setosa) with the target 1.
import matplotlib.pyplot as plt
from matplotlib.colors import SymLogNorm
import numpy as np

import bpcore
from bpcore.datasets import load_iris

X, species = load_iris()
x, y = X[0], np.array([1.0])
net = bpcore.Network([4, 4, 4, 1], activation="sigmoid", output="sigmoid", loss="mse",
                     seed=0)

# %%
# One backward pass
# -----------------
# :meth:`bpcore.Network.gradients` runs the forward and the backward pass. Its ``deltas``
# hold the local gradients of every layer after the input, one row per sample:
# ``deltas[l - 1]`` is delta[l], for layers l = 1, 2, 3 (a[0] = x has none). The gradient of
# a weight is the delta of the neuron it feeds times the activation it comes from,
# dC/dW[l]_jk = delta[l]_j a[l-1]_k.
gradients = net.gradients(x, y)
deltas = [row[0] for row in gradients.deltas]
for layer, delta in enumerate(deltas, start=1):
    print(f"delta[{layer}] =", np.array2string(delta, precision=5))

# %%
# The activations a[l] come from a forward pass written out with the network's weights and
# biases (z[l] = W[l] a[l-1] + b[l], a[l] = sigmoid(z[l])); the last one is the prediction.
activations = [x]
for weights, biases in zip(net.weights, net.biases):
    activations.append(1 / (1 + np.exp(-(weights @ activations[-1] + biases))))
print("a[3] =", activations[-1], " predict:", net.predict(x))

# %%
# The figure
# ----------
# Neurons are circles, one column per layer, filled by their local gradient: blue below
# zero, red above, on a logarithmic scale, since here the deltas shrink about tenfold per
# layer on the way back (each is a sum of the next layer's deltas times weights below 1,
# times a sigmoid derivative of at most 1/4). The inputs have no delta and stay grey. Each
# edge is a weight, drawn thicker the larger its magnitude. The weight of the tutorial,
# ``weights[1][1, 1]``, is the orange edge: it goes from neuron 2 of layer 2, counting from 1
# as the tutorial's walk does (a[1]_1 in bpcore's 0-based indices), into neuron 2 of layer 3
# (a[2]_1), and its
# gradient is the delta of the neuron it feeds times the activation it comes from.
sizes = net.sizes
columns = [np.full(width, float(column)) for column, width in enumerate(sizes)]
rows = [np.arange(width)[::-1] - (width - 1) / 2 for width in sizes]  # neuron 1 on top
scale = max(abs(d).max() for d in deltas)
norm = SymLogNorm(linthresh=1e-4, vmin=-scale, vmax=scale)
colours = plt.get_cmap("coolwarm")

fig, ax = plt.subplots(figsize=(9, 5.5))
for layer, weights in enumerate(net.weights):
    for j in range(weights.shape[0]):
        for k in range(weights.shape[1]):
            chosen = (layer, j, k) == (1, 1, 1)
            ax.plot([columns[layer][k], columns[layer + 1][j]],
                    [rows[layer][k], rows[layer + 1][j]],
                    color="tab:orange" if chosen else "0.6",
                    linewidth=4 if chosen else 0.5 + 2 * abs(weights[j, k]),
                    zorder=2 if chosen else 1)
for layer, width in enumerate(sizes):
    for j in range(width):
        if layer == 0:
            face, label = "0.85", f"x{j + 1}\n{x[j]:.1f}"
        else:
            delta = deltas[layer - 1][j]
            face, label = colours(norm(delta)), f"delta\n{delta:.2e}"
        ax.scatter(columns[layer][j], rows[layer][j], s=1900, color=face, edgecolor="black",
                   zorder=3)
        dark = sum(face[:3]) < 1.5 if layer else False
        ax.text(columns[layer][j], rows[layer][j], label, ha="center", va="center",
                fontsize=8, zorder=4, color="white" if dark else "black")

# the three factors of dC/dw for the chosen weight, beside it
gradient = gradients.weights[1][1, 1]
ax.annotate(f"w$_{{22}}$ of W$^2$ = {net.weights[1][1, 1]:.3f}\n"
            f"dC/dw = delta[2]$_1$ a[1]$_1$\n"
            f"= {deltas[1][1]:.4g} x {activations[1][1]:.4g}\n= {gradient:.4g}",
            xy=(1.5, (rows[1][1] + rows[2][1]) / 2), xytext=(1.15, -2.65), fontsize=9,
            arrowprops={"arrowstyle": "->", "color": "tab:orange"})
ax.set_xticks(range(len(sizes)),
              [f"layer {column + 1} (from 1)\nbpcore a[{column}]" for column in
               range(len(sizes))])
ax.set_yticks([])
ax.set_xlim(-0.5, len(sizes) - 0.5)
ax.set_ylim(-3.2, 2.6)
for side in ("left", "right", "top"):
    ax.spines[side].set_visible(False)
ax.set_title("Local gradients delta = dC/dz of one sample (4-4-4-1 sigmoid network, mse)")
fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax,
             label="delta", shrink=0.7)
fig.tight_layout()
plt.show()

# %%
# The product in the annotation is what backpropagation computes for the weight, the same
# number :meth:`bpcore.Network.explain` reaches factor by factor:
print(net.explain(x, y, layer=1, j=1, k=1))
