"""The one way a fitted autoencoder is rebuilt: its record plus its tensors.

``skdae.load`` (a model folder), unpickling (pickle, joblib, skops) and the
composite estimators' files all end here: ``rebuild`` plans the net from the
record (``plan_of_record``: the parameters the model was trained with, its
spec, loss, table and noise, never the current parameters), builds the module
on the meta device, checks the tensors against it before any memory is taken,
and puts them in (``skdae._training.restore``, the step a warm start and a
resumed checkpoint share). A parameter that changes what is fitted is taught
to ``FitPlan`` once, and every path that rebuilds a model knows it.
"""

import dataclasses

import numpy as np
import torch

from ._net import restore
from ._noise import COLUMN_MAP, NOISE_TYPES
from ._plan import plan_of_record
from ._table import TableLayout
from ._training import build_module, corruption_for, make_net


def expected_noise(record):
    """The noise statistics a fitted ``record`` keeps: ``{name: shape}``."""
    kind = NOISE_TYPES[record.params["noise_type"]]
    if float(record.params["noise_factor"]) == 0 or (
        record.loss == "bce" and not kind.learns_when_bounded
    ):
        return {}
    width = record.n_features_in
    if record.table is not None:  # the network's inputs: the table's encoding
        width = TableLayout.from_plain(record.table).width
    return kind.statistics_shapes(width)


def noise_tensors(corruption):
    """The corruption's learned statistics (a table's column map is rebuilt, not kept)."""
    if corruption is None:
        return {}
    return {k: v for k, v in corruption.tensors.items() if k not in COLUMN_MAP}


def _shape(value):
    return tuple(value.shape) if hasattr(value, "shape") else tuple(np.shape(value))


def rebuild(estimator, record, weights, *, noise=None, optimizer=None, device="cpu"):
    """``estimator`` (its current parameters set) fitted as ``record`` says, with ``weights``.

    Parameters
    ----------
    estimator : BaseAutoencoder
        An instance of the record's class; its fitted state is replaced.
    record : FittedModel
        What the model is; its history a list of epoch records.
    weights : dict
        The module's ``state_dict``, as tensors or arrays.
    noise : dict, default=None
        The corruption's learned statistics (``noise_tensors``).
    optimizer : dict, default=None
        Adam's ``state`` (parameter index -> tensors) and ``param_groups``.
    device : str or torch.device

    Returns the estimator; raises ValueError when the tensors do not fit the
    record's network (nothing of the estimator changed then).
    """
    device = torch.device(device)
    plan = plan_of_record(record, type(estimator)._module_class, device)
    module = build_module(plan, "meta")
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    given = {k: _shape(v) for k, v in weights.items()}
    if expected != given:
        raise ValueError(
            "its weights do not fit its network: "
            f"{sorted(set(expected.items()) ^ set(given.items()))[:4]}"
        )
    noise = dict(noise or {})
    wanted_noise = expected_noise(record)
    if {k: _shape(v) for k, v in noise.items()} != wanted_noise:
        raise ValueError(
            f"its noise statistics {sorted(noise)} are not the {sorted(wanted_noise)} of its "
            f"{record.params['noise_type']} noise"
        )
    module.to_empty(device=device)
    corruption = corruption_for(plan, tensors={k: _tensor(v, device) for k, v in noise.items()})
    net = make_net(plan, module, corruption)
    net.initialize()
    optimizer = optimizer or {}
    restore(
        net,
        weights={k: _tensor(v, device) for k, v in weights.items()},
        optimizer=optimizer.get("state"),
        param_groups=optimizer.get("param_groups"),
        history=record.history,
    )
    if corruption is not None:
        corruption.to("cpu")  # as a fit leaves it: moved to the device by each call
    record = dataclasses.replace(record, device=str(device), history=net.history)
    estimator._set_fitted(net, record)
    return estimator


def _tensor(value, device):
    return torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value).to(device)
