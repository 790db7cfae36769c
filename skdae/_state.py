"""The fitted model as plain data, for pickle, joblib and skops.

A fitted estimator pickles its net and its record (``FittedModel``) as
``{"version", "record", "weights", "noise", "history", "optimizer"}`` made of
numpy arrays, lists, dicts, strings and numbers, and is rebuilt from it on
unpickling by ``skdae._rebuild.rebuild``, as ``skdae.load`` rebuilds a model
folder: files do not depend on torch's or skorch's
pickle formats, load on any device, and ``skops.io`` needs to trust nothing
but skdae's estimator classes. Adam's state is kept, so a warm start after
unpickling goes on as it would have.
"""

import warnings

import numpy as np
import torch

from ._fitted import FittedModel
from ._rebuild import noise_tensors, rebuild
from ._runtime import available_device

# 3: the record, the tensors and Adam's state; the net is rebuilt from the record.
# (Earlier versions never left the repository that wrote them.)
STATE_VERSION = 3


class FittedStateError(ValueError):
    """A pickled (or skops) state of a skdae estimator that cannot be a fitted model."""


def _numpy(tensors):
    return {k: v.detach().cpu().numpy().copy() for k, v in tensors.items()}


def to_plain(net, record):
    """The fitted net and its record as plain data."""
    optimizer = net.optimizer_.state_dict()
    return {
        "version": STATE_VERSION,
        "record": record.to_plain(encode=False),
        "weights": _numpy(net.module_.state_dict()),
        "noise": _numpy(noise_tensors(net.corruption)),
        "history": [{k: v for k, v in epoch.items() if k != "batches"} for epoch in net.history],
        # Adam's moments, as (parameter index, {name: array}) pairs, and its groups.
        "optimizer": {
            "state": [[int(i), _numpy(s)] for i, s in optimizer["state"].items()],
            "param_groups": optimizer["param_groups"],
        },
    }


def from_plain(estimator, plain, device):
    """``estimator`` fitted as ``to_plain``'s data says, on ``device`` (``rebuild``)."""
    try:
        if plain["version"] != STATE_VERSION:
            raise ValueError(
                f"state version {plain['version']!r}, this skdae reads {STATE_VERSION}"
            )
        record = FittedModel.from_plain(plain["record"], list(plain["history"]), encoded=False)
        optimizer = plain["optimizer"]
        rebuild(
            estimator,
            record,
            plain["weights"],
            noise=plain["noise"],
            optimizer={
                "state": {
                    int(i): {k: torch.as_tensor(np.asarray(v)) for k, v in s.items()}
                    for i, s in optimizer["state"]
                },
                "param_groups": optimizer["param_groups"],
            },
            device=device,
        )
    except (
        KeyError,
        TypeError,
        ValueError,
        RuntimeError,
        AttributeError,
        OverflowError,
        IndexError,
        RecursionError,
    ) as exc:
        raise FittedStateError(
            f"this pickled state of {type(estimator).__name__} is not a fitted model skdae "
            f"can rebuild: {exc}"
        ) from None


def pickled_state(state):
    """An estimator's ``__getstate__``: its net and record as plain data."""
    state = dict(state)  # a copy: the estimator keeps its net
    net = state.pop("net_", None)
    record = state.pop("fitted_model_", None)
    if net is not None:
        state["_fitted_model"] = to_plain(net, record)
        if "feature_names_in_" in state:
            state["feature_names_in_"] = [str(n) for n in state["feature_names_in_"]]
    return state


def unpickled_state(estimator, state):
    """Prepare a pickled ``state`` (in place) for ``BaseEstimator.__setstate__``.

    Returns None for an unfitted estimator, else ``rebuild(estimator)`` to call
    once the parameters are set.
    """
    fitted_model = state.pop("_fitted_model", None)
    if isinstance(state.get("feature_names_in_"), list):
        state["feature_names_in_"] = np.asarray(state["feature_names_in_"], dtype=object)
    if fitted_model is None:
        return None
    device = None
    if isinstance(fitted_model, dict) and isinstance(fitted_model.get("record"), dict):
        device = fitted_model["record"].get("device")
    if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
        # A model trained on a GPU, unpickled where there is none: evaluate on the CPU.
        warnings.warn(
            f"this model was trained on {device}; torch sees no GPU here, so it is "
            "loaded and evaluated on the CPU.",
            UserWarning,
            stacklevel=3,
        )

    def rebuilt(estimator):
        where = available_device(device if isinstance(device, str) else "cpu")
        from_plain(estimator, fitted_model, where)

    return rebuilt
