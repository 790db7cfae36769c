"""Data-parallel fits over a ``torch.distributed`` process group.

A script launched by ``torchrun`` calls ``torch.distributed.init_process_group()``;
its fits then train one model over every process of the group: each rank
computes its share of every global batch, ``DistributedDataParallel`` averages
the gradients, and the per-epoch numbers (losses, RMSE) are summed over the
ranks, so every rank takes the same decisions (learning-rate schedule,
convergence, early stopping, divergence).
"""

import hashlib
import json
import os
import threading

import torch
import torch.distributed as dist

from ._fitted import fingerprint

__all__ = ["DistributedTrainingError", "process_group"]


class DistributedTrainingError(RuntimeError):
    """A data-parallel fit lost a process of its group, or its ranks disagreed.

    A process of the group died, or stopped answering within the group's
    timeout, or the ranks disagreed on the fit (their data, for instance).

    See Also
    --------
    DenoisingAutoencoder.fit : Trains data-parallel in a ``torch.distributed`` group.

    Examples
    --------
    >>> from skdae import DistributedTrainingError
    >>> issubclass(DistributedTrainingError, RuntimeError)
    True
    """


# The default group a forked child inherited from its parent: it is the
# parent's, whose connections the child must not use (joblib or multiprocessing
# workers started with fork).
_inherited_group = None


def _remember_inherited_group():
    global _inherited_group
    if dist.is_available() and dist.is_initialized():
        _inherited_group = dist.group.WORLD


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_remember_inherited_group)


def process_group(distributed):
    """The process group a fit trains over, or None for a single-process fit.

    ``distributed="auto"`` takes the default group when this process has
    initialised one (``torch.distributed.init_process_group``) with more than one
    process, and calls from the main thread; ``"off"`` never does. A group
    inherited through ``fork`` (a worker of a parent in a group) is never used,
    nor is one from a thread other than the main one (joblib's threading
    backend): such fits train alone.
    """
    if distributed == "off" or not (dist.is_available() and dist.is_initialized()):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    group = dist.group.WORLD
    if group is None or group is _inherited_group or dist.get_world_size(group) < 2:
        return None
    return group


def writes(net):
    """Whether ``net``'s process writes files: always, but in a data-parallel
    fit only on rank 0 (the others train the same model)."""
    group = getattr(net, "process_group", None)
    return group is None or dist.get_rank(group) == 0


def rank_device(device):
    """``device`` for this rank: a bare ``cuda`` becomes ``cuda:LOCAL_RANK``."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        if "LOCAL_RANK" in os.environ:  # torchrun's
            return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        # Started otherwise (torch.multiprocessing.spawn): ranks spread over the GPUs.
        return torch.device("cuda", dist.get_rank() % torch.cuda.device_count())
    return device


def collective_device(group, device):
    """Where the group's collectives take their tensors (NCCL: the GPU)."""
    return torch.device(device) if dist.get_backend(group) == "nccl" else torch.device("cpu")


def broadcast_seed(seed, group, device):
    """Rank 0's ``seed`` on every rank (``random_state=None`` draws one per process)."""
    tensor = torch.tensor([seed], dtype=torch.int64, device=collective_device(group, device))
    guarded(dist.broadcast, tensor, src=dist.get_global_rank(group, 0), group=group)
    return int(tensor.item())


def _52_bits(digest):
    """52 bits of a digest: exact in a float64, which every backend reduces."""
    return float(int.from_bytes(digest[:8], "big") >> 12)


def data_fingerprint(X, identity=None, rows=None):
    """``[rows, columns, content, parameters]`` of X and of the fit's parameters
    (a hash of ``identity``, JSON-able): what every rank must agree on.

    ``rows`` is X's content hash (``skdae._fitted.fingerprint``), computed when None.
    """
    if rows is None:
        rows = fingerprint(X)
    text = json.dumps(identity, sort_keys=True, default=str).encode()
    params = _52_bits(hashlib.sha256(text).digest())
    return [float(X.shape[0]), float(X.shape[1]), _52_bits(bytes.fromhex(rows)), params]


def agree_on_errors(error, group, device):
    """Every rank learns whether any rank's input was refused, before any other
    collective: one refusing rank must not leave the others waiting for it.

    Raises ``error`` on the rank that has it and ``DistributedTrainingError`` on
    the others; returns when no rank has one. ``device`` is the ``device``
    parameter (it may be the thing that was refused).
    """
    if dist.get_backend(group) == "nccl":
        where = rank_device("cuda")
    else:
        where = torch.device("cpu")
    flag = torch.tensor([0 if error is None else 1], dtype=torch.int64, device=where)
    guarded(dist.all_reduce, flag, op=dist.ReduceOp.SUM, group=group)
    if error is not None:
        raise error
    if int(flag.item()):
        raise DistributedTrainingError(
            f"rank {dist.get_rank(group)}: {int(flag.item())} other process(es) of the "
            f"data-parallel fit refused their input or parameters (device={device!r} here); "
            "their errors say why. Every rank stops without training."
        )


def check_same_data(X, group, device, identity=None, rows=None):
    """Refuse a data-parallel fit whose ranks were given different data or
    parameters (``identity``).

    Every rank must pass the same X (it draws the same batches from it and
    keeps its share of each) and the same parameters; a rank with other rows
    would train another model, one with another ``max_epochs`` would leave the
    others waiting.
    """
    fingerprint = torch.tensor(
        data_fingerprint(X, identity, rows),
        dtype=torch.float64,
        device=collective_device(group, device),
    )
    low, high = fingerprint.clone(), fingerprint.clone()
    guarded(dist.all_reduce, low, op=dist.ReduceOp.MIN, group=group)
    guarded(dist.all_reduce, high, op=dist.ReduceOp.MAX, group=group)
    world = dist.get_world_size(group)
    if not torch.equal(low[:3], high[:3]):
        n_rows = (int(low[0]), int(high[0]))
        columns = (int(low[1]), int(high[1]))
        raise DistributedTrainingError(
            f"data-parallel fit over {world} processes: the ranks were given different X "
            f"(rows {n_rows[0]}..{n_rows[1]}, columns {columns[0]}..{columns[1]}, or other "
            "values or order). Every rank must pass the same X: "
            "each trains on its share of every batch drawn from it. To train alone in one "
            "process, pass distributed='off'."
        )
    if low[3] != high[3]:
        raise DistributedTrainingError(
            f"data-parallel fit over {world} processes: the ranks' estimators have different "
            "parameters (get_params() differs). Every rank must fit the same estimator; to "
            "train a model per process, pass distributed='off'."
        )


def broadcast_state(module, group, device):
    """Copy rank 0's parameters and buffers into ``module`` on every rank."""
    source = dist.get_global_rank(group, 0)
    target = collective_device(group, device)
    for tensor in module.state_dict().values():  # detached views of the module's tensors
        if tensor.device == target:
            guarded(dist.broadcast, tensor, src=source, group=group)
            continue
        staged = tensor.to(target)  # gloo takes CPU tensors: a GPU model goes through one
        guarded(dist.broadcast, staged, src=source, group=group)
        tensor.copy_(staged)


def share(n_rows, group):
    """``(start, stop)`` of this rank's rows in a global batch of ``n_rows``
    (``torch.tensor_split``'s split: sizes differ by at most one row)."""
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    base, extra = divmod(n_rows, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def from_collective(error):
    """Whether ``error`` came from a collective operation (torch raises a plain
    RuntimeError for gloo's "Connection closed by peer")."""
    if isinstance(error, DistributedTrainingError):
        return False
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return any(word in text for word in ("gloo", "nccl", "c10d", "connection closed"))


def lost_peer_error(error):
    """The ``DistributedTrainingError`` for a collective that failed with ``error``."""
    rank = dist.get_rank() if dist.is_initialized() else "?"
    return DistributedTrainingError(
        f"rank {rank}: a collective operation of the data-parallel fit failed: another "
        "process of the group died, or did not answer within the group's timeout "
        "(init_process_group(timeout=...)), or the ranks disagree on the model (the error "
        "below says which). The fit is abandoned on this rank and the "
        "estimator left as it was; restart every process (with checkpoint_dir set, the fit "
        f"resumes from its last epoch). The error: {error}"
    )


def guarded(collective, *args, **kwargs):
    """Run ``collective``; a failure (a peer that died or timed out) becomes a
    ``DistributedTrainingError`` that says what happened."""
    try:
        return collective(*args, **kwargs)
    except RuntimeError as error:  # torch.distributed.DistError is one
        if isinstance(error, DistributedTrainingError):
            raise
        raise lost_peer_error(error) from error
