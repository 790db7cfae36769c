"""One rank of a data-parallel test fit, launched by tests/test_distributed.py.

Started as ``torchrun`` starts a rank (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
in the environment, loopback only): joins a gloo group, runs the scenario
named on the command line and writes what it saw to OUT/rank{RANK}.npz, or
for an error "Type: message" to OUT/rank{RANK}.txt and its ``__cause__`` (the
collective's own error, for a lost peer) to OUT/rank{RANK}.cause.txt. Without
WORLD_SIZE it runs alone (no group). The group's timeout is
SKDAE_TEST_GROUP_TIMEOUT_S seconds (the test's: far above any launch).
"""

import datetime
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from skorch.callbacks import Callback

torch.set_num_threads(1)

import skdae  # noqa: E402
from skdae._distributed import process_group  # noqa: E402


def data(rows=240, columns=12, seed=0):
    return np.random.default_rng(seed).random((rows, columns), dtype=np.float32)


def estimator(**params):
    base = dict(
        hidden_units=(16, 4),
        max_epochs=4,
        batch_size=32,
        random_state=0,
        monitor=False,
        device="cpu",
    )
    return skdae.DenoisingAutoencoder(**{**base, **params})


class OnBatch(Callback):
    """Run ``action(net)`` before batch ``batch`` of epoch ``epoch`` (1-based) on ``rank``."""

    def __init__(self, rank, epoch, batch, action):
        self.rank, self.epoch, self.batch, self.action = rank, epoch, batch, action

    def on_train_begin(self, net, **kwargs):
        self.seen_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        self.seen_ += 1
        rank = dist.get_rank() if dist.is_initialized() else 0
        if rank == self.rank and len(net.history) == self.epoch and self.seen_ == self.batch:
            self.action(net)

    def on_epoch_end(self, net, **kwargs):
        self.seen_ = 0


def has_group(_=None):
    return process_group("auto") is not None


def in_thread():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # joblib's threading backend
        return pool.submit(has_group).result()


def in_fork():
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:  # a forked worker
        return pool.apply(has_group)


def poison(net):
    with torch.no_grad():
        next(net.module_.parameters()).fill_(float("nan"))


def weights(model):
    return {k: v.detach().numpy().copy() for k, v in model.net_.module_.state_dict().items()}


def save(out, rank, **arrays):
    np.savez(out / f"rank{rank}.npz", **arrays)


def main(scenario, out):
    out = Path(out)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        timeout = float(os.environ.get("SKDAE_TEST_GROUP_TIMEOUT_S", "900"))
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout))
    rank = dist.get_rank() if world > 1 else 0
    X = data()
    try:
        if scenario == "fit":  # also: early stopping, dropout + swap noise, batch norm
            model = estimator().fit(X)
            extra = {}
            if rank == 0:
                model.save(out / "model")
            stopped = estimator(early_stopping=True, max_epochs=50, n_iter_no_change=3).fit(X)
            extra["early_n_iter"] = np.array(stopped.n_iter_)
            extra["early_valid"] = np.array(stopped.history_[:, "valid_loss"])
            dropped = estimator(dropout=0.2, noise_type="swap", noise_factor=0.3).fit(X)
            for k, v in weights(dropped).items():
                extra["dropout_" + k] = v
            normed = estimator(batch_norm=True, early_stopping=True).fit(X)
            for k, v in weights(normed).items():  # running statistics included
                extra["bn_" + k] = v
            chunks = estimator()  # partial_fit chunks, then a warm start
            for part in np.array_split(X, 3):
                chunks.partial_fit(part)
            chunks.set_params(warm_start=True, max_epochs=2).fit(X)
            for k, v in weights(chunks).items():
                extra["chunks_" + k] = v
            extra["off_code"] = estimator(distributed="off").fit(X).transform(X)
            extra["group_here"] = np.array(process_group("auto") is not None)
            extra["group_off"] = np.array(process_group("off") is not None)
            extra["group_in_thread"] = np.array(in_thread())
            extra["group_in_fork"] = np.array(in_fork())
            save(
                out,
                rank,
                train_loss=np.array(model.loss_curve_),
                code=model.transform(X),
                **{"w_" + k: v for k, v in weights(model).items()},
                **extra,
            )
        elif scenario == "other_data":
            estimator().fit(data(seed=rank))
        elif scenario == "other_params":  # a max_epochs of its own would leave one waiting
            estimator(max_epochs=4 + rank).fit(X)
        elif scenario == "reordered":  # the same shape and sum, other rows in order
            estimator().fit(X if rank == 0 else X[::-1])
        elif scenario == "device_per_rank":  # torchrun's device=f"cuda:{LOCAL_RANK}", on CPUs
            model = estimator(device="cpu" if rank == 0 else "auto").fit(X)
            save(out, rank, code=model.transform(X))
        elif scenario == "bad_input":  # one rank's X is refused before any collective
            bad = X.copy()
            if rank == 1:
                bad[5, 2] = np.inf
            estimator().fit(bad)
        elif scenario == "diverge":
            estimator(callbacks=[OnBatch(1, 1, 3, poison)]).fit(X)
        elif scenario == "die":
            estimator(callbacks=[OnBatch(1, 2, 2, lambda net: os._exit(3))]).fit(X)
        elif scenario in ("crash", "resume", "whole"):
            params = dict(max_epochs=6, checkpoint_dir=str(out.parent / "ckpt"))
            if scenario == "crash":  # every rank dies in epoch 3 (epochs 1-2 checkpointed)
                params["callbacks"] = [OnBatch(rank, 3, 1, lambda net: os._exit(0))]
            if scenario == "whole":
                params.pop("checkpoint_dir")
            model = estimator(**params).fit(X)
            save(out, rank, train_loss=np.array(model.loss_curve_), code=model.transform(X))
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")
    except Exception as error:  # the test reads what each rank raised, and why
        (out / f"rank{rank}.txt").write_text(f"{type(error).__name__}: {error}")
        if error.__cause__ is not None:
            why = error.__cause__
            (out / f"rank{rank}.cause.txt").write_text(f"{type(why).__name__}: {why}")
    finally:
        if world > 1 and scenario != "die":
            dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
    # Everything is written and the group destroyed: leave without the
    # interpreter's teardown. A group that DistributedDataParallel used outlives
    # destroy_process_group() (torch keeps it), and its gloo threads may still be
    # releasing a finished collective's tensors as Python finalizes: a thread
    # that then needs the GIL is killed mid-destructor and the process aborts
    # ("terminate called without an active exception", exit -6), at random and
    # more often on a loaded machine. What the scenario did is in OUT already.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
