"""What a model folder must hold: every field of ``model.json`` and the weights
file's header checked before anything is built from them.

A model file from someone else is data to validate, not code to run: the
description must be complete, of a known format, sealed by its checksum, typed
and in range; the weights file's header must describe exactly the tensors of the
described network (computed on the meta device, without memory) before a byte
of weights becomes a tensor. Every refusal is a ``ModelFileError`` that says
what was wrong.
"""

import hashlib
import json
import math

import numpy as np
import torch

from ._fitted import MACHINE_PARAMS, decode_params

MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.safetensors"
# 3: the fitted record (the parameters trained with, the spec, the rows' fingerprint,
#    float16's loss scale) apart from the current parameters, which keep their types.
# 4: imputers and outlier detectors: their inner autoencoders as ``members``.
# (Formats 1 and 2 never left the repository that wrote them.)
FORMAT_VERSION = 4
OLDEST_FORMAT = 3
KEYS = {
    "format",
    "format_version",
    "skdae_version",
    "torch_version",
    "class",
    "params",
    "fitted",
    "history",
    "weights_sha256",
    "checksum",
}
FITTED_KEYS = {
    "n_features_in_",
    "feature_names_in_",
    "loss_",
    "device_",
    "n_iter_",
    "n_features_out",
    "validation_split_seed",
    "params",
    "spec",
    "rows",
    "grad_scaler",
    "table",
}
# float16's loss scaler state (torch.amp.GradScaler.state_dict).
GRAD_SCALER_KEYS = {
    "scale",
    "growth_factor",
    "backoff_factor",
    "growth_interval",
    "_growth_tracker",
}
# An inner autoencoder of an imputer or outlier detector, in its ``fitted["members"]``.
MEMBER_KEYS = {"class", "params", "fitted", "history"}
# A composite estimator's fitted arrays are stored beside its members' weights under this.
COMPOSITE_PREFIX = "__skdae__.fitted_"
# The longest text an epoch's record may hold.
MAX_TEXT = 1000
# The corruption's data-derived tensors are stored beside the weights under this
# prefix; format 1 files knew only the Gaussian scale, under the same name.
NOISE_PREFIX = "__skdae__.noise_"


class ModelFileError(ValueError):
    """A model file is damaged, tampered with, or not one skdae can read.

    ``skdae.load`` raises it, before building anything, for a folder that is
    not a model folder, a description that is truncated, edited (checksum
    mismatch), of a newer format or describes a network its weights do not
    fit, and a weights file that does not match its description. A
    ``ValueError``.

    See Also
    --------
    load : Reads a model folder, or raises this error.

    Examples
    --------
    >>> import skdae
    >>> try:
    ...     skdae.load("no-such-folder")
    ... except skdae.ModelFileError as error:
    ...     print(error)
    no-such-folder is not a skdae model folder: model.json is missing.
    """


def checksum(document):
    body = {k: v for k, v in document.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def is_int(value, low=0, high=None):
    """An int (not a bool) in [low, high]."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def checked_fitted(document, model_file):
    """The fitted attributes and history, typed and in range, or ModelFileError."""
    fitted, history = document["fitted"], document["history"]
    if not isinstance(fitted, dict):
        raise ModelFileError(f"{model_file}: 'fitted' must be an object, got {fitted!r}.")
    required = {"n_features_in_", "loss_", "n_features_out", "params", "spec", "rows"}
    if set(fitted) - FITTED_KEYS or not required <= set(fitted):
        raise ModelFileError(f"{model_file} has unexpected fitted attributes {sorted(fitted)}.")
    fitted = {"device_": "cpu", **fitted}
    problems = []
    if not is_int(fitted["n_features_in_"], low=1):
        problems.append(f"n_features_in_ must be a positive int, got {fitted['n_features_in_']!r}")
    if not is_int(fitted["n_features_out"], low=1):
        problems.append(f"n_features_out must be a positive int, got {fitted['n_features_out']!r}")
    if fitted["loss_"] not in ("bce", "mse", "table"):
        problems.append(f"loss_ must be 'bce', 'mse' or 'table', got {fitted['loss_']!r}")
    if (fitted["loss_"] == "table") != ("table" in fitted):
        problems.append("a mixed table's model has loss_ 'table' and a table, others neither")
    elif "table" in fitted:
        problems += table_problems(fitted["table"], fitted["n_features_in_"])
    if not isinstance(fitted["device_"], str):
        problems.append(f"device_ must be a string, got {fitted['device_']!r}")
    seed = fitted.get("validation_split_seed")
    if seed is not None and not is_int(seed, high=2**63 - 1):
        problems.append(f"validation_split_seed must be an int in [0, 2**63), got {seed!r}")
    rows = fitted.get("rows", "")
    if not (isinstance(rows, str) and len(rows) in (0, 64)):
        problems.append(f"rows must be a SHA-256 in hex, got {rows!r}")
    scaler = fitted.get("grad_scaler")
    if scaler is not None and not (
        isinstance(scaler, dict)
        and set(scaler) in (set(), GRAD_SCALER_KEYS)
        and all(_number(v) and math.isfinite(v) for v in scaler.values())
    ):
        problems.append(f"grad_scaler must be float16's loss-scaler state, got {scaler!r}")
    names = fitted.get("feature_names_in_")
    if names is not None and not (
        isinstance(names, list)
        and all(isinstance(n, str) for n in names)
        and len(names) == fitted["n_features_in_"]
    ):
        problems.append("feature_names_in_ must be n_features_in_ strings")
    if not (
        isinstance(history, list)
        and history
        and all(good_epoch(epoch, number) for number, epoch in enumerate(history, start=1))
    ):
        problems.append(
            "history must be a non-empty list of epochs numbered from 1, each with a numeric "
            "train_loss and numeric records (or flags, short texts)"
        )
    elif fitted.get("n_iter_", len(history)) != len(history):
        problems.append(f"n_iter_ is {fitted['n_iter_']!r}, but the history has {len(history)}")
    if problems:
        raise ModelFileError(f"{model_file}: " + "; ".join(problems) + ".")
    return fitted


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def record_value(value):
    """A value of an epoch's record: a number, a flag (skorch's ``event_cp``,
    ``train_loss_best``), a short text, or None."""
    return (
        _number(value)
        or value is None
        or isinstance(value, bool)
        or (isinstance(value, str) and len(value) <= MAX_TEXT)
    )


def good_epoch(epoch, number):
    """An epoch record as skdae and skorch's callbacks write it: its number, a
    train_loss, and record values (or a table of them, such as zero_fraction)."""
    if not (
        isinstance(epoch, dict)
        and epoch.get("epoch") == number
        and _number(epoch.get("train_loss"))
    ):
        return False
    for value in epoch.values():
        if isinstance(value, dict):
            if not all(record_value(v) for v in value.values()):
                return False
        elif not record_value(value):
            return False
    return True


def decoded(params, model_file):
    try:
        return decode_params(params)
    except (TypeError, ValueError, OverflowError, RuntimeError, IndexError, RecursionError) as exc:
        raise ModelFileError(f"{model_file} holds invalid parameters: {exc}") from None


def checked_estimator(cls, params, model_file, n_features, builds=True):
    """A ``cls`` with a file's parameters, set through its own validation, or ModelFileError.

    ``builds``: the parameters the network was built from, checked against its
    ``n_features`` as a fit would; the current parameters need only be valid
    ones, for whatever X the next fit brings. ``MACHINE_PARAMS`` are never
    taken from a file: None.
    """
    if not isinstance(params, dict):
        raise ModelFileError(f"{model_file}: 'params' must be an object, got {params!r}.")
    params = decoded(params, model_file)
    estimator = cls()
    known = estimator.get_params(deep=False)
    params.update({k: None for k in MACHINE_PARAMS if k in known})
    strange = sorted(str(k) for k in params if k not in known)
    if strange:
        raise ModelFileError(f"{model_file} holds unknown parameters {strange}.")
    huge = sorted(
        k
        for k, v in params.items()
        if isinstance(v, (int, float, np.number))
        and not isinstance(v, (bool, np.bool_))
        and not abs(v) < 2.0**63
        and v == v  # NaN: each parameter's constraints say whether it may be (missing_values)
    )
    if huge:
        raise ModelFileError(f"{model_file}: parameters {huge} are not finite numbers in range.")
    try:
        estimator.set_params(**params)
        estimator._validate_params()
        if builds:
            estimator._check_params(None, n_features)  # the checks fit makes, without data
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{model_file} holds invalid parameters: {exc}") from None
    return estimator


TABLE_KEYS = {"names", "categorical", "categories", "mean", "scale", "baseline", "frame"}


def table_problems(table, n_columns):
    """What is wrong with a file's mixed-table layout (``TableLayout.to_plain``): a list."""
    if not (isinstance(table, dict) and set(table) == TABLE_KEYS and is_int(n_columns, low=1)):
        return [f"table must be an object with the keys {sorted(TABLE_KEYS)}"]

    def column_list(key, good):
        value = table[key]
        return isinstance(value, list) and len(value) == n_columns and all(map(good, value))

    def category(value):
        return isinstance(value, (str, bool)) or (_number(value) and math.isfinite(value))

    def categories(value):
        return value is None or (
            isinstance(value, list)
            and value
            and all(map(category, value))
            and len({(type(v), v) for v in value}) == len(value)
        )

    positive = lambda v: _number(v) and math.isfinite(v) and v > 0  # noqa: E731
    good = (
        column_list("names", lambda v: isinstance(v, str))
        and column_list("categorical", lambda v: isinstance(v, bool))
        and column_list("categories", categories)
        and [c is not None for c in table["categories"]] == table["categorical"]
        and column_list("mean", lambda v: _number(v) and math.isfinite(v))
        and column_list("scale", positive)
        and column_list("baseline", positive)
        and isinstance(table["frame"], bool)
    )
    return [] if good else ["table must describe n_features_in_ columns and their encoding"]


# safetensors' dtype names of the tensors skdae writes.
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.float64: "F64"}


def safetensors_header(weights, weights_file):
    """The header of a safetensors file: ``{name: (shape, dtype)}``, checked for sense."""
    problem = None
    if len(weights) < 8:
        problem = "shorter than its header"
    else:
        size = int.from_bytes(weights[:8], "little")
        if size > len(weights) - 8:
            problem = "its header runs past its end"
    if problem is None:
        try:
            header = json.loads(weights[8 : 8 + size])
        except (ValueError, RecursionError):
            header, problem = None, "its header is not JSON"
    if problem is None and not isinstance(header, dict):
        problem = "its header is not a table of tensors"
    if problem is not None:
        raise ModelFileError(f"{weights_file} is not a safetensors file: {problem}.")
    header.pop("__metadata__", None)
    tensors = {}
    end = len(weights) - 8 - size
    for name, entry in header.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (
            isinstance(shape, list)
            and all(is_int(d) for d in shape)
            and isinstance(offsets, list)
            and len(offsets) == 2
            and all(is_int(o, high=end) for o in offsets)
        ):
            raise ModelFileError(f"{weights_file}: tensor {name!r} has a malformed entry.")
        tensors[name] = (tuple(shape), entry.get("dtype"))
    return tensors


def check_shapes(header, wanted, weights_file):
    """The file's tensors are exactly the ``wanted`` ones (``{name: (shape, dtype)}``:
    the described networks' weights, their noise, a composite's arrays)."""
    missing, unexpected = sorted(set(wanted) - set(header)), sorted(set(header) - set(wanted))
    if missing or unexpected:
        raise ModelFileError(
            f"{weights_file} does not fit the described network: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}."
        )
    for name, (shape, dtype) in wanted.items():
        if header[name] != (tuple(shape), dtype):
            raise ModelFileError(
                f"{weights_file} does not fit the described network: {name} is "
                f"{header[name][1]} {list(header[name][0])}, the network has {dtype} {list(shape)}."
            )
