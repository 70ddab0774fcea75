"""Data-parallel training with the command line (`deepsc launch`, `deepsc train --distributed`): ranks
on loopback end with identical parameters equal to a one-process run on the same global batches,
and a rank that dies makes the others fail within the timeout instead of hanging."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest
import torch

import deepsc.nn as dnn
from conftest import ROOT

CONFIG = os.path.join(ROOT, "configs", "fashion-mnist-ml-ista-quick.yaml")
# The CNN of the ML-ISTA family (no batch norm), 12 steps of 48 images, no augmentation.
SETTINGS = ["--set", "model.name=mlcsc-cnn", "--set", "model.unfoldings=0", "--set", "train.max_steps_per_epoch=12",
            "--set", "train.batch_size=48", "--set", "train.epochs=1", "--seed", "3"]


@pytest.fixture(scope="module", autouse=True)
def _needs_data():
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Fashion-MNIST (dataset-fashion-mnist) is not installed")


def parameters(run):
    model = dnn.load_model(run / "checkpoint-last.pt")
    return {name: tensor.detach().clone() for name, tensor in model.named_parameters()}


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_equal_one_process_on_the_same_global_batches(tmp_path, cli, ranks):
    cli("train", "--config", CONFIG, "--out", tmp_path / "one", *SETTINGS)
    cli("launch", "--nproc", ranks, "--", "train", "--distributed", "--config", CONFIG, "--out", tmp_path / "many",
        *SETTINGS)
    one, many = parameters(tmp_path / "one"), parameters(tmp_path / "many")
    assert one.keys() == many.keys()
    for name in one:
        assert torch.allclose(one[name], many[name], rtol=1e-4, atol=1e-5), (name, (one[name] - many[name]).abs().max())


SDNET = os.path.join(ROOT, "configs", "fashion-mnist-sdnet18-quick.yaml")
# SDNet-18 at width 1/8 (batch norm after every CSC layer), 2 steps of 48 images with crop-flip augmentation. More
# steps are not a sharper test: from the third step on, SGD at lr 0.1 amplifies rounding differences (one process
# on 1 thread and on 2 threads already differ by 3% after 6 steps).
SDNET_SETTINGS = ["--set", "model.width=0.125", "--set", "train.max_steps_per_epoch=2", "--set", "train.batch_size=48",
                  "--set", "train.epochs=1", "--seed", "3"]


def state(run):
    model = dnn.load_model(run / "checkpoint-last.pt")
    tensors = dict(model.named_parameters())
    tensors.update({name: t for name, t in model.named_buffers() if t.is_floating_point() and t.numel() > 0})
    return {name: t.detach().clone() for name, t in tensors.items()}


def largest_difference(a, b):
    return max((a[name] - b[name]).abs().max().item() for name in a)


def test_sdnet_with_synchronised_batch_norm_on_ranks_equals_one_process(tmp_path, cli):
    """With train.sync_batch_norm every batch norm normalises by the global batch, so 2 and 3 ranks
    train SDNet as one process does (parameters and running statistics); without it the ranks
    normalise by their own images and the result is measurably different. The sharded evaluation
    covers the whole test set."""
    cli("train", "--config", SDNET, "--out", tmp_path / "one", *SDNET_SETTINGS)
    one = state(tmp_path / "one")
    for ranks in (2, 3):
        run = tmp_path / f"sync{ranks}"
        cli("launch", "--nproc", ranks, "--", "train", "--distributed", "--config", SDNET, "--out", run,
            *SDNET_SETTINGS, "--set", "train.sync_batch_norm=true")
        many = state(run)
        assert one.keys() == many.keys()
        for name in one:
            assert torch.allclose(one[name], many[name], rtol=1e-3, atol=1e-3), (ranks, name,
                                                                                  (one[name] - many[name]).abs().max())
        metrics = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        assert metrics["test"]["samples"] == 10000
    cli("launch", "--nproc", 2, "--", "train", "--distributed", "--config", SDNET, "--out", tmp_path / "local",
        *SDNET_SETTINGS)
    synced, local = largest_difference(one, state(tmp_path / "sync2")), largest_difference(one, state(tmp_path / "local"))
    assert local > 10 * max(synced, 1e-4), (synced, local)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_rank_ends_the_others_with_an_error_within_the_timeout(tmp_path, cli):
    program = os.environ.get("DEEPSC_CLI", os.path.join(ROOT, "build", "apps", "deepsc", "deepsc"))
    port = free_port()
    ranks = []
    for rank in range(2):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
        ranks.append(subprocess.Popen(
            [program, "train", "--distributed", "--dist-timeout", "5", "--config", CONFIG, "--out", str(tmp_path / "run"),
             *SETTINGS[:-4], "--set", "train.epochs=50", "--threads", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    time.sleep(6)  # both ranks are training
    assert ranks[0].poll() is None and ranks[1].poll() is None
    ranks[1].send_signal(signal.SIGKILL)
    start = time.monotonic()
    try:
        _, err = ranks[0].communicate(timeout=60)
    finally:
        ranks[0].kill()
    assert ranks[0].returncode != 0
    assert time.monotonic() - start < 30, "the surviving rank must not hang"
    assert err.strip() and len(err.strip().splitlines()[-1]) < 1000
    print("surviving rank:", round(time.monotonic() - start, 1), "s:", err.strip().splitlines()[-1])


def test_a_run_interrupted_on_two_ranks_resumes_on_one(tmp_path, cli):
    """Ctrl-C to `deepsc launch` after the first epoch's checkpoint; `deepsc train --resume` in one
    process finishes the run with the parameters of an uninterrupted one-process run."""
    plain = list(SETTINGS)
    plain[plain.index("train.epochs=1")] = "train.epochs=3"
    cli("train", "--config", CONFIG, "--out", tmp_path / "one", *plain)
    program = os.environ.get("DEEPSC_CLI", os.path.join(ROOT, "build", "apps", "deepsc", "deepsc"))
    run = tmp_path / "two"
    launcher = subprocess.Popen([program, "launch", "--nproc", "2", "--", "train", "--distributed", "--config", CONFIG,
                                 "--out", str(run), *plain, "--threads", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics, checkpoint = run / "metrics.jsonl", run / "checkpoint-last.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and launcher.poll() is None:
        if checkpoint.exists():  # written atomically at the end of epoch 1
            launcher.send_signal(signal.SIGINT)  # forwarded to both ranks
            break
        time.sleep(0.02)
    launcher.wait(timeout=60)
    done = metrics.read_text().count("\n")
    cli("train", "--config", CONFIG, "--out", run, *plain, "--resume")
    one, resumed = parameters(tmp_path / "one"), parameters(run)
    for name in one:
        assert torch.allclose(one[name], resumed[name], rtol=1e-4, atol=1e-5), (name, done)
    if done >= 3:
        pytest.skip("the two-rank run finished before the interrupt; the resume had nothing to do")


def test_benchmark_on_two_ranks_reports_global_throughput_and_communication(cli):
    """`deepsc launch --nproc 2 -- benchmark train --distributed`: one JSON line from rank 0 with the global
    batch split over the ranks and the communication it measured; bad combinations are refused."""
    out = cli("launch", "--nproc", 2, "--", "benchmark", "train", "--distributed", "--model", "mlcsc-cnn", "--set",
              "model.unfoldings=0", "--input", "1x28x28", "--batch", 32, "--steps", 3, "--warmup", 1, "--bucket-mb",
              0.05, "--json")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out  # rank 0 speaks for the run
    row = json.loads(lines[0])
    assert row["ranks"] == 2 and row["batch_per_rank"] == 16 and row["batch"] == 32
    assert row["images_per_second"] > 0 and row["allreduce_seconds_per_step"] > 0
    assert row["exposed_communication_seconds_per_step"] >= 0
    parameters_bytes = 4 * row["parameters"]
    assert row["gradient_bytes"] == parameters_bytes
    assert row["buckets"] > 1  # a 2.3 MiB gradient in buckets of at most 0.05 MiB (a larger tensor alone)
    program = os.environ.get("DEEPSC_CLI", os.path.join(ROOT, "build", "apps", "deepsc", "deepsc"))
    for args, message in [
        (["launch", "--nproc", "2", "--", "benchmark", "train", "--distributed", "--batch", "33", "--steps", "1"],
         "not divisible"),
        (["benchmark", "train", "--no-overlap", "--steps", "1"], "requires --distributed"),
    ]:
        done = subprocess.run([program, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and message in done.stderr, done.stderr
