"""FedAvg-family strategies over named partial arrays, on flwr 1.23's message API.

`NamedFedAvg` is flwr's FedAvg with one change: replies may carry only some of the global
model's arrays (fedtune's FedPer, FedRep and FedBN nodes send only their shared arrays, a
local-only node none), aggregated by name with `named_aggregate.aggregate_named`. The other
strategies are flwr's own (FedProx: Li et al. 2020; FedAvgM: Hsu et al. 2019; FedAdam, FedYogi,
FedAdagrad: Reddi et al. 2021) with `NamedFedAvg` placed under them in the method resolution
order, so their server-side rules run unchanged on the full, name-aggregated model (an array no
node sent has a zero pseudo-gradient). Every reply, good or failed, is recorded per node for the
history (failures are data: node id and reason).
"""

from typing import Iterable, Optional

import numpy as np

from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAdagrad, FedAdam, FedAvg, FedAvgM, FedProx, FedYogi
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

from .named_aggregate import PartialArraysError, aggregate_named


def _metrics_of(msg: Message) -> dict:
    """The reply's metrics as plain JSON values (first MetricRecord, as flwr's FedAvg reads it)."""
    records = list(msg.content.metric_records.values())
    return {k: (list(v) if isinstance(v, list) else v) for k, v in (records[0].items() if records else [])}


class NamedFedAvg(FedAvg):
    """FedAvg over named partial arrays (weights = "num-examples"), recording every reply."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._named_current: Optional[dict[str, np.ndarray]] = None
        #: One row per reply: {"round", "step", "node", "metrics" | "error", "arrays"}.
        self.replies_log: list[dict] = []

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """Remember the global arrays the replies will be aggregated into, then configure as FedAvg."""
        self._named_current = {k: a.numpy() for k, a in arrays.items()}
        return super().configure_train(server_round, arrays, config, grid)

    def _log_replies(self, server_round: int, step: str, replies: list[Message]) -> tuple[list[Message], list[Message]]:
        valid, failed = [], []
        for msg in replies:
            node = msg.metadata.src_node_id
            if msg.has_error():
                failed.append(msg)
                self.replies_log.append({"round": server_round, "step": step, "node": node, "error": msg.error.reason})
                continue
            metrics = _metrics_of(msg)
            if self.weighted_by_key not in metrics:
                failed.append(msg)
                reason = f"reply has no metric {self.weighted_by_key!r} (metrics: {sorted(metrics)})"
                self.replies_log.append({"round": server_round, "step": step, "node": node, "error": reason})
                continue
            valid.append(msg)
            sent = [name for rec in msg.content.array_records.values() for name in rec.keys()]
            self.replies_log.append({"round": server_round, "step": step, "node": node, "metrics": metrics, "arrays": sent})
        return valid, failed

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[Optional[ArrayRecord], Optional[MetricRecord]]:
        """Name-wise weighted mean of the arrays the valid replies sent; weighted mean of their metrics."""
        valid, _ = self._log_replies(server_round, "train", list(replies))
        if not valid or self._named_current is None:
            return None, None
        named = []
        for msg in valid:
            arrays = {name: a.numpy() for rec in msg.content.array_records.values() for name, a in rec.items()}
            named.append((str(msg.metadata.src_node_id), arrays, float(_metrics_of(msg)[self.weighted_by_key])))
        try:
            new, _ = aggregate_named(named, self._named_current)
        except PartialArraysError as err:
            raise RuntimeError(f"fedtune_app round {server_round}: {err}") from None
        contents = [msg.content for msg in valid]
        return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in new.items()}), self.train_metrics_aggr_fn(contents, self.weighted_by_key)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> Optional[MetricRecord]:
        """Weighted mean of the valid replies' metrics."""
        valid, _ = self._log_replies(server_round, "evaluate", list(replies))
        if not valid:
            return None
        return self.evaluate_metrics_aggr_fn([m.content for m in valid], self.weighted_by_key)


class NamedFedProx(FedProx, NamedFedAvg):
    """flwr's FedProx (sends "proximal-mu") over named partial arrays."""


class NamedFedAvgM(FedAvgM, NamedFedAvg):
    """flwr's FedAvgM (server momentum) over named partial arrays."""


class NamedFedAdam(FedAdam, NamedFedAvg):
    """flwr's FedAdam over named partial arrays."""


class NamedFedYogi(FedYogi, NamedFedAvg):
    """flwr's FedYogi over named partial arrays."""


class NamedFedAdagrad(FedAdagrad, NamedFedAvg):
    """flwr's FedAdagrad over named partial arrays."""


STRATEGIES = {
    "FedAvg": NamedFedAvg,
    "FedProx": NamedFedProx,
    "FedAvgM": NamedFedAvgM,
    "FedAdam": NamedFedAdam,
    "FedYogi": NamedFedYogi,
    "FedAdagrad": NamedFedAdagrad,
}


def build_strategy(name: str, *, min_nodes: int, federated_evaluate: bool, proximal_mu: float, server_lr: float, server_momentum: float) -> NamedFedAvg:
    """The strategy called `name`, sampling every connected node once `min_nodes` are online."""
    if name not in STRATEGIES:
        raise ValueError(f"fedtune_app: run config `strategy` must be one of {', '.join(STRATEGIES)}, got {name!r}")
    common = dict(
        fraction_train=1.0,
        fraction_evaluate=1.0 if federated_evaluate else 0.0,
        min_train_nodes=min_nodes,
        min_evaluate_nodes=min_nodes,
        min_available_nodes=min_nodes,
        train_metrics_aggr_fn=aggregate_metricrecords,
        evaluate_metrics_aggr_fn=aggregate_metricrecords,
    )
    if name == "FedProx":
        return NamedFedProx(proximal_mu=proximal_mu, **common)
    if name == "FedAvgM":
        return NamedFedAvgM(server_momentum=server_momentum, **({"server_learning_rate": server_lr} if server_lr > 0 else {}), **common)
    if name in ("FedAdam", "FedYogi", "FedAdagrad"):
        return STRATEGIES[name](**({"eta": server_lr} if server_lr > 0 else {}), **common)
    return NamedFedAvg(**common)
