"""The timing loop every Python peer of `deepsc benchmark train` shares: SGD steps (momentum 0.9,
weight decay 5e-4, lr 0.01, cross-entropy) of a model on one random batch, `warmup` untimed steps
first, then `steps` timed ones; the same loop as the C++ command."""
import time

import torch
import torch.nn.functional as F


def time_training(model, batch, shape, steps, warmup, classes=10):
    """Returns {"batch", "steps", "seconds", "images_per_second", "threads", "parameters", "torch"}."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(batch, *shape), torch.randint(classes, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t0
    return {"batch": batch, "steps": steps, "seconds": seconds, "images_per_second": batch * steps / seconds,
            "threads": torch.get_num_threads(), "parameters": sum(p.numel() for p in model.parameters()),
            "torch": torch.__version__}
