"""Weighted averaging of *named partial* arrays: the arithmetic of fedtune's ServerApp.

A node may send only some of the model's arrays (FedPer keeps its head, FedBN its batch-norm
layers, local-only sends none). Each array of the global model becomes the weighted mean
(weights = num-examples) of the replies that sent it; an array nobody sent keeps its current
value. Sums are accumulated in float64 and rounded once to the array's dtype. Pure functions,
no flwr import, tested in test_named_aggregate.py.
"""

from collections import OrderedDict
from typing import Mapping, Sequence

import numpy as np

NamedArrays = Mapping[str, np.ndarray]


class PartialArraysError(ValueError):
    """A reply's arrays do not fit the global model (unknown name, wrong shape, bad weight)."""


def check_partial(node: str, arrays: NamedArrays, current: NamedArrays) -> None:
    """Raise PartialArraysError naming `node` and the array if `arrays` does not fit `current`."""
    for name, value in arrays.items():
        if name not in current:
            known = ", ".join(current) or "(none)"
            raise PartialArraysError(f"node {node} sent array {name!r}, which the global model does not have (it has: {known})")
        if tuple(value.shape) != tuple(current[name].shape):
            raise PartialArraysError(
                f"node {node} sent array {name!r} with shape {tuple(value.shape)}, the global model's is {tuple(current[name].shape)}"
            )
        if not np.all(np.isfinite(value)):
            raise PartialArraysError(f"node {node} sent array {name!r} with NaN or Inf values")


def aggregate_named(
    replies: Sequence[tuple[str, NamedArrays, float]], current: NamedArrays
) -> tuple["OrderedDict[str, np.ndarray]", dict[str, int]]:
    """Weighted mean per array name over the replies that sent it; the others keep `current`.

    `replies` are (node, arrays, num_examples). Returns the new arrays (in `current`'s order
    and dtypes) and, per array name, how many replies contributed to it.
    """
    for node, arrays, weight in replies:
        if not (np.isfinite(weight) and weight > 0):
            raise PartialArraysError(f"node {node}: num-examples must be > 0, got {weight!r}")
        check_partial(node, arrays, current)
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    contributors: dict[str, int] = {}
    for name, now in current.items():
        senders = [(arrays[name], weight) for _, arrays, weight in replies if name in arrays]
        contributors[name] = len(senders)
        if not senders:
            out[name] = np.array(now, copy=True)
            continue
        total = float(sum(w for _, w in senders))
        acc = np.zeros(now.shape, dtype=np.float64)
        for value, weight in senders:
            acc += value.astype(np.float64) * (weight / total)
        out[name] = acc.astype(now.dtype)
    return out, contributors
