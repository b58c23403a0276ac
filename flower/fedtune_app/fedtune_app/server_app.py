"""fedtune's ServerApp: a FedAvg-family strategy over named partial arrays for fedtune's
TypeScript SuperNodes, driven by the run config (see pyproject.toml for every key).

Each round sends the global arrays with a train ConfigRecord "config" carrying the method keys
the nodes read: "personalisation", "clip-norm", "proximal-mu" (FedProx), "lr", "local-epochs",
"batch-size" and any "extra-config" keys; the evaluate ConfigRecord carries "personalisation"
too, so nodes report global and personal metrics. After the last round it writes, atomically,
`history-json` first, then `final-arrays`:

    {"num-server-rounds": N, "strategy": "...", "train-config": {...},
     "rounds": [{"round": r, "train": {...}, "evaluate": {...}, "central": {...}}],
     "replies": [{"round": r, "step": "train"|"evaluate", "node": id, "metrics": {...}|"error": "..."}]}
"""

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from flwr.app import Array, ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.app.exception import AppExitException
from flwr.serverapp import Grid, ServerApp

from .central_eval import evaluate_mlp, load_test_set
from .strategies import build_strategy

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the configured strategy and write the history and the final arrays."""
    cfg = context.run_config
    rounds = positive_int(cfg, "num-server-rounds")
    min_nodes = positive_int(cfg, "min-nodes")
    initial_path = absolute_path(cfg, "initial-arrays")
    final_path = absolute_path(cfg, "final-arrays")
    history_path = absolute_path(cfg, "history-json")
    federated_evaluate = cfg["federated-evaluate"]
    if not isinstance(federated_evaluate, bool):
        raise ValueError(f"fedtune_app: run config `federated-evaluate` must be true or false, got {federated_evaluate!r}")

    train_config = method_config(cfg)
    evaluate_config = ConfigRecord({k: v for k, v in train_config.items() if k == "personalisation"})
    strategy = build_strategy(
        str(cfg["strategy"]),
        min_nodes=min_nodes,
        federated_evaluate=federated_evaluate,
        proximal_mu=float(cfg["proximal-mu"]),
        server_lr=float(cfg["server-lr"]),
        server_momentum=float(cfg["server-momentum"]),
    )
    initial = load_arrays(initial_path)
    evaluate_fn = central_evaluation(cfg)
    try:
        result = strategy.start(
            grid=grid,
            initial_arrays=initial,
            num_rounds=rounds,
            timeout=float(cfg["round-timeout"]),
            train_config=train_config,
            evaluate_config=evaluate_config,
            evaluate_fn=evaluate_fn,
        )
    except AppExitException as exc:
        # flwr 1.23's AppExitException derives from BaseException, which flwr-serverapp does not
        # catch (the run would hang as "running"); as an Exception it fails at once, with the reason.
        raise RuntimeError(f"fedtune_app: {type(exc).__name__}: {exc}") from None

    history = {
        "num-server-rounds": rounds,
        "strategy": str(cfg["strategy"]),
        "train-config": {k: v for k, v in train_config.items()},
        "rounds": [
            {
                "round": r,
                "train": dict(result.train_metrics_clientapp.get(r, {})),
                "evaluate": dict(result.evaluate_metrics_clientapp.get(r, {})),
                "central": dict(result.evaluate_metrics_serverapp.get(r, {})),
            }
            for r in range(1, rounds + 1)
        ],
        "central-initial": dict(result.evaluate_metrics_serverapp.get(0, {})),
        "replies": strategy.replies_log,
    }
    write_json(history_path, history)
    arrays = result.arrays if len(result.arrays) > 0 else initial
    save_arrays(final_path, arrays)


def method_config(cfg) -> ConfigRecord:
    """The train ConfigRecord: the method keys set in the run config (0 or "" = the node's default)."""
    out = ConfigRecord()
    if str(cfg["personalisation"]):
        out["personalisation"] = str(cfg["personalisation"])
    clip = float(cfg["clip-norm"])
    if clip < 0:
        raise ValueError(f"fedtune_app: run config `clip-norm` must be >= 0 (0 = no clipping), got {clip}")
    if clip > 0:
        out["clip-norm"] = clip
    if float(cfg["lr"]) > 0:
        out["lr"] = float(cfg["lr"])
    for key in ("local-epochs", "batch-size"):
        if int(cfg[key]) > 0:
            out[key] = int(cfg[key])
    for key, value in parse_extra(str(cfg["extra-config"])).items():
        out[key] = value
    return out


def parse_extra(text: str) -> "OrderedDict[str, object]":
    """"k=v,k=v" → {k: int | float | bool | str}; an error names a malformed pair."""
    out: "OrderedDict[str, object]" = OrderedDict()
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"fedtune_app: run config `extra-config` must be \"key=value,key=value\", got {pair!r}")
        raw = raw.strip()
        value: object = raw
        if raw in ("true", "false"):
            value = raw == "true"
        else:
            for cast in (int, float):
                try:
                    value = cast(raw)
                    break
                except ValueError:
                    pass
        out[key.strip()] = value
    return out


def central_evaluation(cfg):
    """evaluate_fn for strategy.start when `central-test-set` is set, else None."""
    path = str(cfg["central-test-set"]).strip()
    if not path:
        return None
    if not os.path.isabs(path):
        raise ValueError(f"fedtune_app: run config `central-test-set` must be an absolute path, got {path!r}")
    x, y = load_test_set(Path(path))

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        return MetricRecord(evaluate_mlp({k: a.numpy() for k, a in arrays.items()}, x, y))

    return evaluate


def positive_int(cfg, key: str) -> int:
    """Run-config `key` as an int >= 1, or an error naming it."""
    value = int(cfg[key])
    if value < 1:
        raise ValueError(f"fedtune_app: run config `{key}` must be >= 1, got {value}")
    return value


def absolute_path(cfg, key: str) -> Path:
    """Run-config `key` as an absolute path, or an error naming it."""
    value = str(cfg.get(key, "")).strip()
    if not value or not os.path.isabs(value):
        raise ValueError(f"fedtune_app: run config `{key}` must be an absolute path, got {value!r}")
    return Path(value)


def load_arrays(path: Path) -> ArrayRecord:
    """Every array of an .npz as an ArrayRecord (names and order kept, C-contiguous)."""
    with np.load(path, allow_pickle=False) as npz:
        if not npz.files:
            raise ValueError(f"fedtune_app: {path} holds no arrays")
        return ArrayRecord(OrderedDict((name, Array(np.ascontiguousarray(npz[name]))) for name in npz.files))


def save_arrays(path: Path, record: ArrayRecord) -> None:
    """Write an ArrayRecord as .npz (same names), atomically."""
    arrays = {name: array.numpy() for name, array in record.items()}
    atomic_write(path, lambda f: np.savez(f, **arrays))


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically."""
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=2, default=float).encode("utf-8")))


def atomic_write(path: Path, write) -> None:
    """Write to `path` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)
