"""PyTorch CPU baseline for `npm run bench`: the same models, batch sizes and optimizer as fedtune's bench.

Reads one JSON object on stdin: {"threads": int, "seconds": float, "seed": int, "cases": [{"model": "mlp"|"cnn"|"head",
"batch": int}]} and prints one JSON object: {"torch": version, "threads": int, "results": [{"model", "batch",
"samples_per_s", "batches"}]}. Synthetic data (seeded); the point is throughput, not accuracy.
"""
import json
import sys
import time

import torch
from torch import nn


def build(model_name):
    if model_name == "mlp":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), (784,)
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


def measure(model_name, batch, seconds, seed):
    torch.manual_seed(seed)
    net, sample_shape = build(model_name)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, *sample_shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    n = 0
    start = time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            break
    return {"model": model_name, "batch": batch, "samples_per_s": n * batch / elapsed, "batches": n}


def main():
    request = json.load(sys.stdin)
    torch.set_num_threads(int(request["threads"]))
    results = [measure(c["model"], int(c["batch"]), float(request["seconds"]), int(request["seed"]))
               for c in request["cases"]]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
