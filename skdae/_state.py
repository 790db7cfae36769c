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

import numpy as np
import torch

from ._fitted import FittedModel, record_before_records
from ._noise import NOISE_TYPES, make_corruption

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
            "bounded": net.output_activation is not None,  # bce: data in [0, 1]
            "tensors": _numpy(corruption.tensors),
        }
    return {
        "version": STATE_VERSION,
        "record": record.to_plain(encode=False),
        "spec": dict(module.spec),
        "weights": _numpy(module.state_dict()),
        "noise": noise,
        "loss": "bce" if net.output_activation is not None else "mse",
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
    from skorch.history import History

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
        net = estimator._make_net(
            module,
            plain["loss"],
            device,
            corruption=corruption,
            split_seed=plain["split_seed"],
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
