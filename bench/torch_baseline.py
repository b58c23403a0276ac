"""PyTorch CPU baseline for `npm run bench`: the same models, batch sizes and optimizer as fedtune's bench.

Reads one JSON object on stdin: {"threads": int, "seconds": float, "seed": int, "cases": [{"model": "mlp"|"cnn"|"head"|
"fmnist", "batch": int, "mode": "train"|"eval"|"gemm" (default train), "lr": float (default 0.01), "momentum": float
(default 0.9), "products": [{"a": [rows, cols], "b": [rows, cols], "ta": bool, "tb": bool}] (mode gemm only)}]} and prints one JSON object: {"torch": version, "threads": int, "blas": path of the BLAS library torch loaded,
"results": [{"model", "batch", "mode", "samples_per_s", "batches", "cpu_ms_per_batch"}]} (CPU time of the whole
process, all threads). Synthetic data (seeded); the point is throughput,
not accuracy. Mode "gemm" times only `torch.mm` on the listed products (op(a)·op(b), a transpose as a view, as autograd
passes it to the BLAS): one "batch" is one round of all of them.
"""
import json
import os
import sys
import time

import torch
from torch import nn


def build(model_name):
    if model_name == "mlp":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), (784,)
    if model_name == "fmnist":
        # Issue 15's CNN (personalised-FL benchmarks): lib/model/cnn.ts with kernelSize 5, valid padding, dense 512.
        net = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 4 * 4, 512), nn.ReLU(), nn.Linear(512, 10),
        )
        return net, (1, 28, 28)
    # Mirrors lib/model/cnn.ts defaults: conv32(same)-relu-pool-conv64(same)-relu-pool-dense128-relu-head10.
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    if model_name == "head":
        # The "naive loop": the frozen body still runs forward on every batch (no feature cache).
        for layer in list(net)[:7]:
            for p in layer.parameters():
                p.requires_grad_(False)
    return net, (1, 28, 28)


def timed(step, seconds):
    """Runs `step` for at least `seconds` (and 3 times) after 3 warm-ups; returns (count, wall s, process CPU s)."""
    for _ in range(3):
        step()
    n = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return n, elapsed, time.process_time() - cpu_start


def measure(case, seconds, seed):
    model_name = case["model"]
    batch = int(case["batch"])
    mode = case.get("mode", "train")
    torch.manual_seed(seed)
    net, sample_shape = build(model_name)
    x = torch.randn(batch, *sample_shape)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()
    if mode == "gemm":
        operands = [(torch.randn(*p["a"]), torch.randn(*p["b"]), bool(p["ta"]), bool(p["tb"])) for p in case["products"]]

        def step():
            for a, b, ta, tb in operands:
                torch.mm(a.t() if ta else a, b.t() if tb else b)
    elif mode == "eval":
        net.eval()

        def step():
            with torch.no_grad():
                out = net(x)
                loss_fn(out, y).item()
                (out.argmax(1) == y).sum().item()
    else:
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=float(case.get("lr", 0.01)), momentum=float(case.get("momentum", 0.9)))

        def step():
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            loss.item()

    n, elapsed, cpu = timed(step, seconds)
    return {"model": model_name, "batch": batch, "mode": mode, "samples_per_s": n * batch / elapsed, "batches": n,
            "cpu_ms_per_batch": 1000 * cpu / n}


def loaded_blas():
    """The BLAS shared library this process actually mapped (Debian's torch links libblas.so.3, an alternative)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path)
            if "blas" in name or "mkl" in name:
                found.add(os.path.realpath(path))
    return ", ".join(sorted(found)) or "none found (statically linked?)"


def main():
    request = json.load(sys.stdin)
    torch.set_num_threads(int(request["threads"]))
    results = [measure(c, float(request["seconds"]), int(request["seed"])) for c in request["cases"]]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas(),
                      "results": results}))


if __name__ == "__main__":
    main()
