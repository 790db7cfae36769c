"""Checkpoints during a fit, and resuming a crashed fit from them.

``checkpoint_dir/last`` holds, after every epoch, what a fit needs to go on:
the weights, Adam's state, the fit's random generator and the history, in the
same safe formats as ``save`` (safetensors and JSON). With early stopping,
``checkpoint_dir/best`` holds the best epoch's. A fit with the same
``checkpoint_dir``, parameters and rows (X's content fingerprint) resumes from
``last``, so a crash costs at most the epoch that was running; any other fit
starts afresh and replaces it. skdae writes nothing else there, and replaces
``last`` and ``best`` only when they are checkpoints it wrote.
"""

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from skorch.callbacks import Callback

from ._files import (
    check_replaceable,
    cpu_tensors,
    folder_replaced_atomically,
    history_records,
    is_ours,
)
from ._net import restore

STATE_FILE, TENSORS_FILE = "checkpoint.json", "tensors.safetensors"
FORMAT = "skdae-checkpoint"


def is_checkpoint_folder(path):
    """Whether ``path`` is a checkpoint folder skdae wrote, holding nothing else
    (checkpoints of earlier versions have an identity but no format)."""
    return is_ours(
        Path(path),
        {STATE_FILE, TENSORS_FILE},
        STATE_FILE,
        lambda document: document.get("format", FORMAT) == FORMAT and "identity" in document,
    )


def check_checkpoint_dir(directory):
    """Refuse, before a fit, a ``checkpoint_dir`` whose ``last`` or ``best`` is not ours."""
    for name in ("last", "best"):
        check_replaceable(Path(directory) / name, is_checkpoint_folder, "a checkpoint")


def _write(folder, net, identity):
    tensors = cpu_tensors(net.module_.state_dict(), prefix="module.")
    optimizer = net.optimizer_.state_dict()
    for index, state in optimizer["state"].items():
        state = {key: torch.as_tensor(value) for key, value in state.items()}
        tensors.update(cpu_tensors(state, prefix=f"optimizer.{index}."))
    if net.generator is not None:
        tensors["generator"] = net.generator.get_state()
    document = {
        "format": FORMAT,
        "identity": identity,
        "param_groups": optimizer["param_groups"],
        "history": history_records(net.history),
        "split_seed": net.split_seed,
        "grad_scaler": None if net.grad_scaler_ is None else net.grad_scaler_.state_dict(),
    }
    with folder_replaced_atomically(folder, is_checkpoint_folder, "a checkpoint") as staging:
        save_file(tensors, str(staging / TENSORS_FILE))
        (staging / STATE_FILE).write_text(json.dumps(document))


class ResumeFromCheckpoint(Callback):
    """At the start of a fit, load ``directory/last`` if it belongs to this fit
    (the same parameters and rows).

    Placed before skdae's other callbacks, so that they (the learning-rate
    schedule, the convergence test) start from the restored history.
    """

    def __init__(self, directory, identity):
        self.directory = directory
        self.identity = identity

    def on_train_begin(self, net, **kwargs):
        self.resumed_epochs_ = resume(self.directory, net, self.identity)


class Checkpoint(Callback):
    """Write ``last`` after every epoch (and ``best`` on a new best validation loss)."""

    def __init__(self, directory, identity):
        self.directory = directory
        self.identity = identity

    def on_epoch_end(self, net, **kwargs):
        directory = Path(self.directory)
        losses = [e["valid_loss"] for e in net.history if "valid_loss" in e]
        # best before last: a crash between the two never leaves a ``last`` whose
        # best epoch is missing. The first of equal losses is the best.
        if losses and losses[-1] < min(losses[:-1], default=math.inf):
            _write(directory / "best", net, self.identity)
        _write(directory / "last", net, self.identity)

    def load_best(self, net):
        """Put the weights of ``best`` into ``net`` (early stopping's best epoch)."""
        tensors = load_file(str(Path(self.directory) / "best" / TENSORS_FILE), device="cpu")
        restore(net, weights=_module_weights(tensors))


def _module_weights(tensors):
    return {k[len("module.") :]: v for k, v in tensors.items() if k.startswith("module.")}


def resume(directory, net, identity):
    """Load ``directory/last`` into an initialized net if ``identity`` matches its own.

    Returns the number of epochs it holds (0 when there is nothing to resume).
    """
    folder = Path(directory) / "last"
    if not (folder / STATE_FILE).is_file():
        return 0
    document = json.loads((folder / STATE_FILE).read_text())
    if document.get("identity") != identity:
        # Another fit's checkpoint (other rows or parameters): start afresh, and replace it.
        if net.verbose:
            print(
                f"{folder} is the checkpoint of another fit (other rows or parameters): "
                "this fit starts afresh and replaces it."
            )
        return 0
    tensors = load_file(str(folder / TENSORS_FILE), device="cpu")
    state = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    restore(
        net,
        weights=_module_weights(tensors),
        optimizer=state,
        param_groups=document["param_groups"],
        history=document["history"],
    )
    if "generator" in tensors and net.generator is not None:
        net.generator.set_state(tensors["generator"])
    if document.get("grad_scaler") and net.grad_scaler_ is not None:  # float16's loss scale
        net.grad_scaler_.load_state_dict(document["grad_scaler"])
    # The rows held out before the crash, whatever random_state drew this time.
    net.split_seed = document.get("split_seed", net.split_seed)
    return len(net.history)
