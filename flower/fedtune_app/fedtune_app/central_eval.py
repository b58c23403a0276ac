"""Optional central evaluation: loss and accuracy of the global arrays of a fedtune MLP on a
held-out set (.npz with "x": samples, "y": integer labels), computed with numpy.

fedtune's MLP (lib/model/mlp.ts) is Dense("hidden_i", relu) … Dense("head", softmax), with weights
named "<layer>/kernel" and "<layer>/bias" in model order; other models (CNN, batch norm) are
refused with a sentence saying so. Hidden activations other than relu: set `activation`.
"""

from pathlib import Path
from typing import Callable, Mapping

import numpy as np

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
}


def dense_layers(arrays: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(layer, kernel, bias) in model order; an error naming the array for anything else."""
    names = list(arrays)
    layers = []
    for name in names:
        layer, _, kind = name.rpartition("/")
        if kind == "kernel":
            bias = arrays.get(f"{layer}/bias")
            if bias is None or arrays[name].ndim != 2:
                raise ValueError(f"central evaluation: array {name!r} is not a dense kernel with a bias (only MLPs can be evaluated centrally)")
            layers.append((layer, arrays[name], bias))
        elif kind != "bias":
            raise ValueError(f"central evaluation: array {name!r} is neither a kernel nor a bias (only MLPs without batch norm can be evaluated centrally)")
    if not layers:
        raise ValueError("central evaluation: the model has no dense layers")
    return layers


def evaluate_mlp(arrays: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray, activation: str = "relu") -> dict[str, float]:
    """Mean cross-entropy and accuracy of the MLP in `arrays` on (x, y), in float64."""
    h = x.reshape(len(x), -1).astype(np.float64)
    layers = dense_layers(arrays)
    for i, (_, kernel, bias) in enumerate(layers):
        h = h @ kernel.astype(np.float64) + bias.astype(np.float64)
        if i < len(layers) - 1:
            h = ACTIVATIONS[activation](h)
    h -= h.max(axis=1, keepdims=True)
    log_p = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
    labels = y.astype(np.int64).reshape(-1)
    loss = float(-log_p[np.arange(len(labels)), labels].mean())
    accuracy = float((log_p.argmax(axis=1) == labels).mean())
    return {"loss": loss, "accuracy": accuracy, "num-examples": int(len(labels))}


def load_test_set(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The "x" and "y" arrays of an .npz, or an error naming the file and what is missing."""
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in ("x", "y") if k not in npz.files]
        if missing:
            raise ValueError(f"central evaluation: {path} lacks array(s) {', '.join(missing)} (has: {', '.join(npz.files)})")
        x, y = npz["x"], npz["y"]
    if len(x) != len(y):
        raise ValueError(f"central evaluation: {path} has {len(x)} samples in x but {len(y)} labels in y")
    return x, y
