"""Data-parallel fits over torch.distributed: two gloo processes on loopback.

Each test starts its ranks as ``torchrun`` would (RANK, WORLD_SIZE,
MASTER_ADDR=127.0.0.1, MASTER_PORT), one torch thread each, running
``tests/distributed_worker.py``; they write what they saw to a temporary
folder: results, the error that ended each rank and that error's cause.

No test bounds how long a launch takes (a loaded machine may take minutes):
the group's timeout (GROUP_TIMEOUT_S) is far above any launch, and a rank
still running after LAUNCH_TIMEOUT_S (less than the group's timeout) has hung
and fails its test. A rank that stopped waiting on a peer says so by its error:
a lost peer's error caused by a closed connection, or the ranks' agreed error,
never the group's timeout.
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
# A launch on an idle machine takes seconds: these are for a loaded one. A
# rank that waits for a dead or silent peer until the group's timeout is killed
# at LAUNCH_TIMEOUT_S first, and its test fails as hung.
LAUNCH_TIMEOUT_S = 300
GROUP_TIMEOUT_S = 900


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(scenario, out, world=2):
    """Run ``scenario`` on ``world`` ranks (1: alone, no group); return their exit codes.

    Fails the test when a rank is still running after ``LAUNCH_TIMEOUT_S``: it hung.
    Each rank's output goes to ``out/rank{RANK}.log``.
    """
    assert LAUNCH_TIMEOUT_S < GROUP_TIMEOUT_S  # a hang ends here, not in a group timeout
    out.mkdir(parents=True, exist_ok=True)
    port = str(free_port())
    processes, logs = [], []
    try:
        for rank in range(world):
            env = dict(
                os.environ,
                OMP_NUM_THREADS="1",
                PYTHONPATH=str(WORKER.parents[1]),
                SKDAE_TEST_GROUP_TIMEOUT_S=str(GROUP_TIMEOUT_S),
            )
            if world > 1:
                env.update(
                    RANK=str(rank),
                    LOCAL_RANK=str(rank),
                    WORLD_SIZE=str(world),
                    MASTER_ADDR="127.0.0.1",
                    MASTER_PORT=port,
                )
            logs.append(open(out / f"rank{rank}.log", "wb"))
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), scenario, str(out)],
                    env=env,
                    stdout=logs[-1],
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        for rank, process in enumerate(processes):
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"{scenario!r}: rank {rank} still runs after {LAUNCH_TIMEOUT_S} s: it hung. "
                    f"Its log: {(out / f'rank{rank}.log').read_text(errors='replace')[-3000:]}"
                )
        return [process.returncode for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def results(out, rank):
    return dict(np.load(out / f"rank{rank}.npz"))


def error(out, rank):
    """``"Type: message"`` of the error that ended ``rank``, or None."""
    path = out / f"rank{rank}.txt"
    return path.read_text() if path.exists() else None


def cause(out, rank):
    """``"Type: message"`` of that error's ``__cause__``, or None."""
    path = out / f"rank{rank}.cause.txt"
    return path.read_text() if path.exists() else None


def test_two_ranks_train_the_model_one_process_trains(tmp_path):
    codes = launch("fit", tmp_path / "two")
    assert codes == [0, 0], [error(tmp_path / "two", r) for r in range(2)]
    assert error(tmp_path / "two", 0) is None and error(tmp_path / "two", 1) is None
    codes = launch("fit", tmp_path / "one", world=1)
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
    codes = launch(scenario, tmp_path)
    assert codes == [0, 0]
    for rank in range(2):
        message = error(tmp_path, rank)
        assert message.startswith("DistributedTrainingError"), message
        assert what in message


def test_a_diverging_rank_stops_every_rank_with_the_same_error(tmp_path):
    # NaN weights on rank 1 alone, before its third batch: DDP spreads the NaN
    # gradients, and both ranks raise at the end of the epoch, naming that batch.
    codes = launch("diverge", tmp_path)
    assert codes == [0, 0]
    messages = [error(tmp_path, rank) for rank in range(2)]
    assert messages[0] == messages[1], messages
    assert messages[0].startswith("TrainingDivergedError")
    assert "epoch 1, batch 3" in messages[0]


def test_a_rank_that_dies_makes_the_others_fail_not_hang(tmp_path):
    # Rank 1 exits in epoch 2; rank 0 must learn it from the closed connection at
    # once. Had it waited for the dead peer, it would still run at LAUNCH_TIMEOUT_S
    # (launch fails the test), or would end with the group's timeout (below).
    codes = launch("die", tmp_path)
    assert codes == [0, 3]  # rank 0 caught its error; rank 1 died
    message = error(tmp_path, 0)
    assert message is not None and message.startswith("DistributedTrainingError"), message
    assert "another process of the group died" in message
    # What ended the fit: a failed collective (gloo's "Connection closed/reset by
    # peer"), not the group's timeout ("Timed out waiting ...").
    why = cause(tmp_path, 0)
    assert why is not None and why.startswith("RuntimeError"), why
    assert "timed out" not in why.lower() and "timeout" not in why.lower(), why
    assert error(tmp_path, 1) is None  # it died before it could write one


def test_a_checkpointed_fit_resumes_with_another_number_of_processes(tmp_path):
    out = tmp_path / "crash"
    codes = launch("crash", out)
    assert codes == [0, 0]
    assert not (out / "rank0.npz").exists()  # it died
    codes = launch("resume", tmp_path / "resume", world=1)  # one process takes over
    assert codes == [0], error(tmp_path / "resume", 0)
    codes = launch("whole", tmp_path / "whole")  # two processes, never interrupted
    assert codes == [0, 0]
    resumed, whole = results(tmp_path / "resume", 0), results(tmp_path / "whole", 0)
    assert len(resumed["train_loss"]) == len(whole["train_loss"]) == 6
    # Epochs 1-2 come from the checkpoint of the two-process fit, bit for bit.
    np.testing.assert_array_equal(resumed["train_loss"][:2], whole["train_loss"][:2])
    np.testing.assert_allclose(resumed["train_loss"], whole["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(resumed["code"], whole["code"], atol=1e-4)


def test_ranks_may_name_their_own_device(tmp_path):
    # torchrun scripts pass device=f"cuda:{LOCAL_RANK}": the device is each rank's own.
    codes = launch("device_per_rank", tmp_path)
    assert codes == [0, 0]
    assert error(tmp_path, 0) is None and error(tmp_path, 1) is None, error(tmp_path, 1)
    np.testing.assert_array_equal(results(tmp_path, 0)["code"], results(tmp_path, 1)["code"])


def test_a_rank_whose_input_is_refused_stops_the_others_at_once(tmp_path):
    # Rank 1 refuses its X; rank 0 learns it from the ranks' agreement on errors.
    # Had rank 0 waited for rank 1 in a collective, it would still run at
    # LAUNCH_TIMEOUT_S (launch fails the test) or end with a lost peer's error.
    codes = launch("bad_input", tmp_path)
    assert codes == [0, 0]
    assert error(tmp_path, 1).startswith("ValueError: Input X contains infinity")
    message = error(tmp_path, 0)
    assert message.startswith("DistributedTrainingError"), message
    assert "other process(es) of the data-parallel fit refused their input" in message
    # Raised by the agreement itself, not by a collective that failed (a peer gone,
    # or the group's timeout): those errors have the collective's error as cause.
    assert cause(tmp_path, 0) is None, cause(tmp_path, 0)
    assert "timed out" not in message.lower()
