"""What a fit will do, resolved once: the plan a training session reads.

A fit turns the estimator's parameters and X into a ``FitPlan`` (the loss with
"auto" resolved, the batch size, the device, the module's spec, the seed, a
mixed table's layout, the noise) before anything trains; the session that
trains (``skdae._training``) reads the plan, never the estimator. A fitted
model is rebuilt from its record by the same plan (``plan_of_record``), so
that a parameter that changes what is fitted is resolved in one place.
"""

import dataclasses
from types import MappingProxyType

import torch

from ._data import validation_size
from ._fitted import MACHINE_PARAMS
from ._table import TableLayout

# batch_size="auto": rows // this, between 32 and 256 (see batch_size_for).
AUTO_BATCHES_PER_EPOCH = 50
# A rebuilt net's batch size when its parameters said "auto" (it only evaluates
# and is the source of a warm start, which plans its own).
REBUILT_BATCH_SIZE = 256


def n_train_rows(params, n_samples):
    """Rows that train (the others validate, with early stopping)."""
    fraction = params["validation_fraction"] if params["early_stopping"] else 0.0
    return n_samples - validation_size(n_samples, fraction)


def batch_size_for(params, n_train):
    """``batch_size``, with "auto" resolved for ``n_train`` training rows.

    "auto" gives an epoch at least ``AUTO_BATCHES_PER_EPOCH`` batches (of 32
    rows at the least, 256 at the most): convergence is judged per epoch,
    and on a small data set an epoch of a few large batches is too few
    steps to judge by.
    """
    if params["batch_size"] != "auto":
        return params["batch_size"]
    return int(min(256, max(32, n_train // AUTO_BATCHES_PER_EPOCH)))


def features_out(module, params):
    """The width of ``transform``'s output: the code, or every hidden layer's
    activations with ``feature_layers="all"``."""
    if params.get("feature_layers", "code") == "all":
        return module.hidden_size
    return module.code_size


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """A fit's parameters, resolved: what the training session reads.

    Attributes
    ----------
    estimator : str
        The estimator's class name.
    params : mapping
        ``get_params(deep=False)`` as this fit uses them (read-only; the
        user's callbacks as given).
    module_class : type
        The ``nn.Module`` to build, from ``spec``.
    spec : dict
        The module's arguments.
    loss : {"bce", "mse", "table"}
        ``loss`` with "auto" resolved ("table" for a mixed table).
    device : torch.device
    batch_size : int
        ``batch_size`` with "auto" resolved.
    n_features_in, feature_names_in : int, tuple of str or None
        The features as the user sees them (a mixed table's columns, not its
        encoding).
    table : TableLayout or None
        A mixed table's columns and their encoding.
    seed : int or None
        The fit's random stream (None for a rebuilt model).
    split_seed : int or None
        Seeds the choice of the validation rows.
    rows : str
        ``fingerprint`` of the rows.
    missing : bool
        Whether X holds NaN (holes the net fills and the loss skips).
    """

    estimator: str
    params: MappingProxyType
    module_class: type
    spec: dict
    loss: str
    device: torch.device
    batch_size: int
    n_features_in: int
    feature_names_in: tuple | None = None
    table: object = None
    seed: int | None = None
    split_seed: int | None = None
    rows: str = ""
    missing: bool = False

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def n_inputs(self):
        """The network's input width: a table's encoded width, else the features."""
        return self.n_features_in if self.table is None else self.table.width

    @property
    def noise(self):
        """``(noise_type, noise_factor)``."""
        return self.params["noise_type"], float(self.params["noise_factor"])


def plan_of_record(record, module_class, device):
    """The plan a fitted ``record`` (``FittedModel``) was trained by, on ``device``:
    what rebuilds its net (``skdae._rebuild``)."""
    batch_size = record.params["batch_size"]
    # What writes on this machine is no part of a fitted model.
    params = {**record.params, **dict.fromkeys(MACHINE_PARAMS)}
    return FitPlan(
        estimator=record.estimator,
        params=params,
        module_class=module_class,
        spec=dict(record.spec),
        loss=record.loss,
        device=torch.device(device),
        batch_size=REBUILT_BATCH_SIZE if batch_size == "auto" else batch_size,
        n_features_in=record.n_features_in,
        feature_names_in=record.feature_names_in,
        table=None if record.table is None else TableLayout.from_plain(record.table),
        split_seed=record.split_seed,
        rows=record.rows,
    )
