// Translation unit that carries the precompiled <torch/torch.h> for every deepsc target.
