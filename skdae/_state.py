"""The fitted model as plain data, for pickle, joblib and skops.

A fitted estimator pickles its net and its record (``FittedModel``) as
``{"record", "spec", "weights", "noise", "history", "optimizer", ...}`` made of
numpy arrays, lists, dicts, strings and numbers, and is rebuilt from it on
unpickling: files do not depend on torch's or skorch's
pickle formats, load on any device, and ``skops.io`` needs to trust nothing
but skdae's estimator classes. Adam's state is kept, so a warm start after
unpickling goes on as it would have.
"""

import dataclasses
import warnings

import numpy as np
import torch
from skorch.history import History

from ._fitted import FittedModel, record_before_records
from ._noise import NOISE_TYPES, make_corruption
from ._runtime import available_device
from ._training import loss_name, make_net

# 2: the fitted record (the parameters trained with, the rows' fingerprint, ...).
STATE_VERSION = 2


class FittedStateError(ValueError):
    """A pickled (or skops) state of a skdae estimator that cannot be a fitted model."""


def _numpy(tensors):
    return {k: v.detach().cpu().numpy().copy() for k, v in tensors.items()}


def to_plain(net, record):
    """The fitted net and its record as plain data."""
    module, corruption = net.module_, net.corruption
    optimizer = net.optimizer_.state_dict()
    noise = None
    if corruption is not None:
        kinds = {kind: name for name, kind in NOISE_TYPES.items()}
        noise = {
            "type": kinds[type(corruption)],
            "noise_factor": corruption.noise_factor,
            "bounded": record.loss == "bce",  # data in [0, 1]
            "tensors": _numpy(corruption.tensors),
        }
    return {
        "version": STATE_VERSION,
        "record": record.to_plain(encode=False),
        "spec": dict(module.spec),
        "weights": _numpy(module.state_dict()),
        "noise": noise,
        "loss": record.loss,
        "device": str(torch.device(net.device)),
        "split_seed": net.split_seed,
        "history": [{k: v for k, v in epoch.items() if k != "batches"} for epoch in net.history],
        # Adam's moments, as (parameter index, {name: array}) pairs, and its groups.
        "optimizer": {
            "state": [[int(i), _numpy(s)] for i, s in optimizer["state"].items()],
            "param_groups": optimizer["param_groups"],
        },
    }


def from_plain(estimator, plain, device):
    """``(net, record)`` of ``estimator`` rebuilt from ``to_plain``'s data on ``device``."""
    try:
        if plain["version"] not in (1, STATE_VERSION):
            raise ValueError(
                f"state version {plain['version']!r}, this skdae reads 1 to {STATE_VERSION}"
            )
        spec = dict(plain["spec"])
        module = estimator._module_class(**spec, device="meta")
        module.spec = spec
        weights = plain["weights"]
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        given = {k: tuple(np.shape(v)) for k, v in weights.items()}
        if expected != given:
            raise ValueError(
                "its weights do not fit its network: "
                f"{sorted(set(expected.items()) ^ set(given.items()))[:4]}"
            )
        module.to_empty(device=device)
        module.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()})
        noise = plain["noise"]
        corruption = None
        if noise is not None:
            tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in noise["tensors"].items()}
            corruption = make_corruption(
                noise["type"], noise["noise_factor"], bounded=noise["bounded"], tensors=tensors
            )
        net = make_net(
            estimator,
            module,
            plain["loss"],
            device,
            corruption=corruption,
            split_seed=plain["split_seed"],
            table=plain["record"].get("table") if plain["version"] != 1 else None,
        )
        net.initialize()
        optimizer = plain["optimizer"]
        net.optimizer_.load_state_dict(
            {
                "state": {
                    int(i): {k: torch.as_tensor(np.asarray(v)) for k, v in s.items()}
                    for i, s in optimizer["state"]
                },
                "param_groups": optimizer["param_groups"],
            }
        )
        net.history = History(list(plain["history"]))
        if plain["version"] == 1:  # before records: the parameters were the current ones
            fitted_noise = (
                {"noise_factor": 0.0}
                if noise is None
                else {"noise_type": noise["type"], "noise_factor": noise["noise_factor"]}
            )
            record = record_before_records(
                estimator, net, plain["loss"], str(device), noise=fitted_noise
            )
        else:
            record = FittedModel.from_plain(plain["record"], net.history, encoded=False)
            record = dataclasses.replace(record, device=str(device))  # where it is now
            if record.spec != spec or record.loss != plain["loss"]:
                raise ValueError("its record does not describe its network")
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
    return net, record


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

    Returns None for an unfitted estimator, else ``rebuild(estimator) -> (net,
    record)`` to call once the parameters are set.
    """
    fitted_model = state.pop("_fitted_model", None)
    net = state.pop("net_", None)  # pickled whole, before the plain state
    # Parameters added since (pickles of earlier versions): their defaults.
    state.setdefault("distributed", "auto")
    state.setdefault("data_placement", "auto")
    state.setdefault("precision", "float32")
    if "categorical_features" in type(estimator)._parameter_constraints:
        state.setdefault("categorical_features", None)
        state.setdefault("feature_layers", "code")
    # Fitted attributes that the record holds now.
    loss = state.pop("loss_function_", None) or state.pop("loss_", None)
    device = state.pop("device_", None)
    if isinstance(state.get("feature_names_in_"), list):
        state["feature_names_in_"] = np.asarray(state["feature_names_in_"], dtype=object)
    if fitted_model is None and net is None:
        return None
    if isinstance(fitted_model, dict) and isinstance(fitted_model.get("record"), dict):
        device = fitted_model["record"].get("device", device)
    if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
        # A model trained on a GPU, unpickled where there is none: evaluate on the CPU.
        warnings.warn(
            f"this model was trained on {device}; torch sees no GPU here, so it is "
            "loaded and evaluated on the CPU.",
            UserWarning,
            stacklevel=3,
        )

    def rebuild(estimator):
        if fitted_model is not None:
            return from_plain(estimator, fitted_model, available_device(device or "cpu"))
        # A whole net, pickled by an early version: its record from what it holds.
        if not hasattr(net.module_, "spec"):
            net.module_.spec = estimator._module_spec(estimator.n_features_in_)
        where = str(available_device(device or net.device))
        return net, record_before_records(estimator, net, loss or loss_name(net), where)

    return rebuild
