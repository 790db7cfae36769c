"""Data-parallel fits over torch.distributed: two gloo processes on loopback.

Each test starts its ranks as ``torchrun`` would (RANK, WORLD_SIZE,
MASTER_ADDR=127.0.0.1, MASTER_PORT), one torch thread each, running
``tests/distributed_worker.py``; they write what they saw to a temporary
folder.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist

import skdae

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch without gloo"
)

WORKER = Path(__file__).with_name("distributed_worker.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(scenario, out, world=2, timeout=120):
    """Run ``scenario`` on ``world`` ranks (1: alone, no group); return (seconds, codes)."""
    out.mkdir(parents=True, exist_ok=True)
    port = str(free_port())
    processes = []
    start = time.perf_counter()
    for rank in range(world):
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(WORKER.parents[1]))
        if world > 1:
            env.update(
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                WORLD_SIZE=str(world),
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
            )
        processes.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), scenario, str(out)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    codes = []
    try:
        for process in processes:
            process.wait(timeout=timeout)
            codes.append(process.returncode)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return time.perf_counter() - start, codes


def results(out, rank):
    return dict(np.load(out / f"rank{rank}.npz"))


def error(out, rank):
    path = out / f"rank{rank}.txt"
    return path.read_text() if path.exists() else None


def test_two_ranks_train_the_model_one_process_trains(tmp_path):
    _, codes = launch("fit", tmp_path / "two")
    assert codes == [0, 0], [error(tmp_path / "two", r) for r in range(2)]
    assert error(tmp_path / "two", 0) is None and error(tmp_path / "two", 1) is None
    _, codes = launch("fit", tmp_path / "one", world=1)
    assert codes == [0]
    rank0, rank1 = results(tmp_path / "two", 0), results(tmp_path / "two", 1)
    alone = results(tmp_path / "one", 0)
    for key in ("group_here", "group_off", "group_in_thread", "group_in_fork"):
        del alone[key]
    # After the fit every rank holds the same weights, bit for bit (DDP averages
    # the gradients in the same order on both; early stopping, dropout, swap noise too).
    # The group is used from the main thread, never from a thread or a forked
    # worker (which inherit the parent's group), nor with distributed="off".
    assert rank0["group_here"] and not rank0["group_off"]
    assert not rank0["group_in_thread"] and not rank0["group_in_fork"]
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)
    # The same model as one process with the same seed and global batches: the
    # same batches and noise, only the sums are split in two and added in another
    # order, so float32 rounding differs (~1e-7 a step, grown over 4 epochs).
    np.testing.assert_allclose(rank0["train_loss"], alone["train_loss"], rtol=1e-4)
    for key in (k for k in rank0 if k.startswith("w_")):
        np.testing.assert_allclose(rank0[key], alone[key], atol=1e-4, err_msg=key)
    np.testing.assert_allclose(rank0["code"], alone["code"], atol=1e-4)
    # partial_fit chunks and a warm start too. (Batch norm is compared across
    # ranks only, above: each rank normalises its own share of the batch.)
    for key in (k for k in rank0 if k.startswith("chunks_")):
        np.testing.assert_allclose(rank0[key], alone[key], atol=1e-4, err_msg=key)
    # distributed="off" inside the group: each rank trains alone, as one process does.
    np.testing.assert_array_equal(rank0["off_code"], alone["off_code"])
    assert rank0["early_n_iter"] == alone["early_n_iter"]
    np.testing.assert_allclose(rank0["early_valid"], alone["early_valid"], rtol=1e-4)
    # Rank 0's file loads here, without any process group.
    model = skdae.load(tmp_path / "two" / "model")
    X = np.random.default_rng(0).random((240, 12), dtype=np.float32)
    np.testing.assert_array_equal(model.transform(X), rank0["code"])


@pytest.mark.parametrize(
    ("scenario", "what"),
    [
        ("other_data", "the ranks were given different X"),
        ("reordered", "the ranks were given different X"),  # the same shape and sum
        ("other_params", "different parameters"),
    ],
)
def test_ranks_given_different_data_or_parameters_are_refused(tmp_path, scenario, what):
    _, codes = launch(scenario, tmp_path)
    assert codes == [0, 0]
    for rank in range(2):
        message = error(tmp_path, rank)
        assert message.startswith("DistributedTrainingError"), message
        assert what in message


def test_a_diverging_rank_stops_every_rank_with_the_same_error(tmp_path):
    # NaN weights on rank 1 alone, before its third batch: DDP spreads the NaN
    # gradients, and both ranks raise at the end of the epoch, naming that batch.
    seconds, codes = launch("diverge", tmp_path)
    assert codes == [0, 0]
    messages = [error(tmp_path, rank) for rank in range(2)]
    assert messages[0] == messages[1], messages
    assert messages[0].startswith("TrainingDivergedError")
    assert "epoch 1, batch 3" in messages[0]


def test_a_rank_that_dies_makes_the_others_fail_not_hang(tmp_path):
    seconds, codes = launch("die", tmp_path, timeout=90)
    assert codes[1] == 3  # the rank that died
    message = error(tmp_path, 0)
    assert message is not None and message.startswith("DistributedTrainingError"), message
    assert "another process of the group died" in message
    assert seconds < 60


def test_a_checkpointed_fit_resumes_with_another_number_of_processes(tmp_path):
    out = tmp_path / "crash"
    _, codes = launch("crash", out)
    assert codes == [0, 0]
    assert not (out / "rank0.npz").exists()  # it died
    _, codes = launch("resume", tmp_path / "resume", world=1)  # one process takes over
    assert codes == [0], error(tmp_path / "resume", 0)
    _, codes = launch("whole", tmp_path / "whole")  # two processes, never interrupted
    assert codes == [0, 0]
    resumed, whole = results(tmp_path / "resume", 0), results(tmp_path / "whole", 0)
    assert len(resumed["train_loss"]) == len(whole["train_loss"]) == 6
    # Epochs 1-2 come from the checkpoint of the two-process fit, bit for bit.
    np.testing.assert_array_equal(resumed["train_loss"][:2], whole["train_loss"][:2])
    np.testing.assert_allclose(resumed["train_loss"], whole["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(resumed["code"], whole["code"], atol=1e-4)


def test_ranks_may_name_their_own_device(tmp_path):
    # torchrun scripts pass device=f"cuda:{LOCAL_RANK}": the device is each rank's own.
    _, codes = launch("device_per_rank", tmp_path)
    assert codes == [0, 0]
    assert error(tmp_path, 0) is None and error(tmp_path, 1) is None, error(tmp_path, 1)
    np.testing.assert_array_equal(results(tmp_path, 0)["code"], results(tmp_path, 1)["code"])


def test_a_rank_whose_input_is_refused_stops_the_others_at_once(tmp_path):
    seconds, codes = launch("bad_input", tmp_path, timeout=90)
    assert codes == [0, 0]
    assert error(tmp_path, 1).startswith("ValueError: Input X contains infinity")
    message = error(tmp_path, 0)
    assert message.startswith("DistributedTrainingError"), message
    assert "other process(es) of the data-parallel fit refused their input" in message
    assert seconds < 25  # not the group's 30 s timeout
