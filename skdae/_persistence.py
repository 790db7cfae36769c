"""Safe model files: JSON for the description, safetensors for the weights.

``estimator.save(path)`` writes a folder with ``model.json`` (class, the current
parameters, the fitted record -- the parameters it was trained with, the
network's spec, fitted attributes --, history, versions, format version, SHA-256
of the weights) and ``weights.safetensors``. It replaces an earlier model
folder atomically, and refuses any other non-empty folder: nothing it did not
write is ever deleted. ``skdae.load(path)`` rebuilds the estimator from
them without unpickling anything: neither format can carry code, so a model
file from someone else cannot run anything on load. Files that are truncated,
tampered with, from a newer format, or that carry unknown keys are refused.
"""

import hashlib
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ._fitted import MACHINE_PARAMS, FittedModel, decode_params, encode_params, fitted_params

# 2: code_activation replaced linear_code; validation_split_seed among the fitted keys.
# 3: the fitted record (the parameters trained with, the spec, the rows' fingerprint,
#    float16's loss scale) apart from the current parameters, which keep their types.
FORMAT_VERSION = 3
MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.safetensors"
_KEYS = {
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
_FITTED_KEYS = {
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
}
# float16's loss scaler state (torch.amp.GradScaler.state_dict).
_GRAD_SCALER_KEYS = {
    "scale",
    "growth_factor",
    "backoff_factor",
    "growth_interval",
    "_growth_tracker",
}
# The longest text an epoch's record may hold.
_MAX_TEXT = 1000
# The corruption's data-derived tensors are stored beside the weights under this
# prefix; format 1 files knew only the Gaussian scale, under the same name.
_NOISE_PREFIX = "__skdae__.noise_"


def is_model_folder(path):
    """Whether ``path`` is a folder ``save`` wrote, holding nothing else."""
    return is_ours(
        Path(path),
        {MODEL_FILE, WEIGHTS_FILE},
        MODEL_FILE,
        lambda document: document.get("format") == "skdae-model",
    )


def is_ours(folder, names, marker, says_ours):
    """Whether ``folder`` holds only regular files among ``names``, one of them
    ``marker``, a JSON object that ``says_ours``."""
    try:
        entries = list(folder.iterdir())
        if not (
            {entry.name for entry in entries} <= names
            and all(entry.is_file() and not entry.is_symlink() for entry in entries)
        ):
            return False  # checked first: a FIFO named like the marker is never read
        document = json.loads((folder / marker).read_text())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and bool(says_ours(document))


def check_replaceable(path, is_ours, what):
    """Refuse, before anything is written, to replace ``path`` unless it is absent, an
    empty folder, or a folder ``is_ours`` recognises (``what`` names such a folder)."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise FileExistsError(
            f"{path} exists and is not a folder; skdae writes {what} as a folder there and "
            "deletes nothing it did not write. Pass another path."
        )
    if not path.exists() or not any(path.iterdir()) or is_ours(path):
        return
    held = sorted(entry.name for entry in path.iterdir())
    listed = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
    raise FileExistsError(
        f"{path} is a folder that holds files skdae did not write ({listed}); skdae replaces "
        f"only {what} there and deletes nothing it did not write. Pass a new path (or move "
        "those files away)."
    )


@contextmanager
def folder_replaced_atomically(path, is_ours, what):
    """Yield a staging folder beside ``path`` that replaces ``path`` on success.

    ``path`` must be absent, an empty folder, or one ``is_ours`` recognises
    (else ``FileExistsError``, before anything is written). An interrupted
    write never leaves half a folder where a whole one was: the old folder is
    swapped out by a rename only once the new one is complete, under a name of
    its own (no other folder beside it is touched).
    """
    path = Path(path)
    check_replaceable(path, is_ours, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.new.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary one
    old, swapped = None, False
    try:
        yield staging
        check_replaceable(path, is_ours, what)  # what another process may have put there
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old)  # onto the empty folder just made: atomic
        os.replace(staging, path)
        swapped = True
    finally:
        if not swapped:
            shutil.rmtree(staging, ignore_errors=True)
            if old is not None and not path.exists():
                os.replace(old, path)  # the earlier folder back where it was
        elif old is not None:
            shutil.rmtree(old, ignore_errors=True)  # the earlier one: ours, checked above


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


# The estimators ``load`` rebuilds, by class name: each registers itself when its
# class is defined (``BaseAutoencoder.__init_subclass__``), so that this module
# never imports them.
ESTIMATORS = {}


def register(cls):
    """Make ``load`` rebuild files of ``cls`` (the first class of a name keeps it)."""
    ESTIMATORS.setdefault(cls.__name__, cls)
    return cls


def _checksum(document):
    body = {k: v for k, v in document.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def history_records(history):
    """The history as plain JSON-able records, one per epoch (skorch's per-batch
    lists dropped: skdae records none)."""
    return [{k: v for k, v in epoch.items() if k != "batches"} for epoch in history]


def cpu_tensors(state_dict, prefix=""):
    """``{prefix + name: contiguous CPU tensor}``, as safetensors writes them."""
    return {prefix + k: v.detach().cpu().contiguous() for k, v in state_dict.items()}


def save(estimator, path):
    """Write a fitted estimator to the folder ``path``: new, empty, or an earlier model.

    The current parameters and the fitted record are written apart, so that the
    loaded estimator is the saved one: it transforms as the fitted model did and
    ``get_params()`` gives what it gave (but for ``MACHINE_PARAMS``). The folder
    is written next to its final place and renamed into it, so that an
    interrupted save never leaves half a model where a model was; a folder
    holding anything else is refused before anything is written.
    """
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(estimator)
    name = type(estimator).__name__
    if ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(f"save writes skdae's estimators, not {name}.")
    params = estimator.get_params(deep=False)
    if params.get("callbacks"):
        raise ValueError(
            "save cannot write callbacks (they are code); set_params(callbacks=None) first."
        )
    # load validates the current parameters as fit does: what save writes, load reads.
    estimator._validate_params()
    check_replaceable(path, is_model_folder, "a skdae model folder")
    record = estimator.fitted_model_
    fitted = {
        "n_features_in_": record.n_features_in,
        "loss_": record.loss,  # the key keeps its format-2 name
        "device_": record.device,
        "n_iter_": len(record.history),
        "n_features_out": int(estimator._n_features_out),  # for readers of format 2
        "params": encode_params(_without_machine_params(record.params)),
        "spec": encode_params(record.spec),
        "rows": record.rows,
        "grad_scaler": record.grad_scaler,
    }
    if record.feature_names_in is not None:
        fitted["feature_names_in_"] = list(record.feature_names_in)
    if record.split_seed is not None:  # a warm start validates on the same rows
        fitted["validation_split_seed"] = int(record.split_seed)

    from safetensors.torch import save as save_tensors

    tensors = cpu_tensors(estimator.net_.module_.state_dict())
    corruption = estimator.net_.corruption
    if corruption is not None:
        tensors.update(cpu_tensors(corruption.tensors, prefix=_NOISE_PREFIX))
    weights = save_tensors(tensors)
    document = {
        "format": "skdae-model",
        "format_version": FORMAT_VERSION,
        "skdae_version": __version__,
        "torch_version": torch.__version__,
        "class": name,
        "params": encode_params(_without_machine_params(params)),
        "fitted": fitted,
        "history": history_records(record.history),
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    document["checksum"] = _checksum(document)

    with folder_replaced_atomically(path, is_model_folder, "a skdae model folder") as staging:
        (staging / WEIGHTS_FILE).write_bytes(weights)
        (staging / MODEL_FILE).write_text(json.dumps(document, indent=1, allow_nan=True) + "\n")
    return Path(path)


def _without_machine_params(params):
    return {k: v for k, v in params.items() if k not in MACHINE_PARAMS}


def load(path, device=None):
    """Rebuild an estimator written by ``save``; nothing is unpickled.

    Parameters
    ----------
    path : path-like
        The folder ``save`` wrote.
    device : str, default=None
        Where to put the model; None: where it was trained if that device is
        here, else the CPU.

    Returns
    -------
    estimator : fitted skdae estimator
        A ``DenoisingAutoencoder`` or ``ConvDenoisingAutoencoder``, fitted:
        its ``transform`` gives the same output as the saved model's, bit for
        bit.

    Raises
    ------
    ModelFileError
        When the folder is not a model folder, or its files are damaged,
        tampered with, or of a newer format.

    See Also
    --------
    DenoisingAutoencoder.save : Writes the folder this function reads.
    ModelFileError : What a refused folder raises.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> import skdae
    >>> X = load_digits().data / 16.0
    >>> dae = skdae.DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0).fit(X)
    >>> folder = dae.save(tempfile.mkdtemp() + "/dae")
    >>> sorted(path.name for path in folder.iterdir())
    ['model.json', 'weights.safetensors']
    >>> loaded = skdae.load(folder)
    >>> bool(np.array_equal(loaded.transform(X), dae.transform(X)))
    True
    """
    from . import __version__
    from ._noise import make_corruption
    from ._runtime import resolve_device

    path = Path(path)
    model_file, weights_file = path / MODEL_FILE, path / WEIGHTS_FILE
    for needed in (model_file, weights_file):
        if not needed.is_file():
            raise ModelFileError(f"{path} is not a skdae model folder: {needed.name} is missing.")
    try:
        document = json.loads(model_file.read_text())
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, huge or deep numbers
        raise ModelFileError(f"{model_file} is damaged or truncated: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != "skdae-model":
        raise ModelFileError(f"{model_file} is not a skdae model description.")
    unknown = set(document) - _KEYS
    missing = _KEYS - set(document)
    if unknown or missing:
        raise ModelFileError(
            f"{model_file} has unknown keys {sorted(unknown)} or lacks {sorted(missing)}."
        )
    if not _is_int(document["format_version"], low=1, high=FORMAT_VERSION):
        raise ModelFileError(
            f"{model_file} is of format version {document['format_version']}, newer than this "
            f"skdae ({__version__}) reads ({FORMAT_VERSION}); upgrade skdae."
        )
    if document["checksum"] != _checksum(document):
        raise ModelFileError(f"{model_file} was modified after it was written (checksum mismatch).")
    weights = weights_file.read_bytes()
    if hashlib.sha256(weights).hexdigest() != document["weights_sha256"]:
        raise ModelFileError(
            f"{weights_file} does not match its description (SHA-256 mismatch): truncated or "
            "tampered with."
        )
    cls = ESTIMATORS.get(document["class"]) if isinstance(document["class"], str) else None
    if cls is None:
        raise ModelFileError(f"{model_file} describes an unknown estimator {document['class']!r}.")
    fitted = _checked_fitted(document, model_file)
    n_features = fitted["n_features_in_"]
    version = document["format_version"]
    estimator = _checked_estimator(
        cls, document["params"], version, model_file, n_features, builds=version < 3
    )
    # What the model was trained with: apart from the current parameters since format 3.
    trained = estimator
    if version >= 3:
        trained = _checked_estimator(cls, fitted["params"], version, model_file, n_features)

    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors
    from skorch.history import History

    # The network's shapes, on the meta device (no memory), against the weights file's
    # header: a description that does not fit its weights is refused before a byte of
    # them becomes a tensor, and every tensor then built is one the file holds.
    loss = fitted["loss_"]
    try:
        module = trained._build_module(n_features, device="meta")
    except (RuntimeError, ValueError, OverflowError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{model_file} describes no network skdae can build: {exc}") from None
    if version >= 3 and _decoded(fitted["spec"], model_file) != module.spec:
        raise ModelFileError(
            f"{model_file}: the network's spec {fitted['spec']} is not what the parameters it "
            f"was trained with build ({module.spec})."
        )
    expected = {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}
    noise_names = _expected_noise(trained, loss)
    header = _safetensors_header(weights, weights_file)
    _check_shapes(header, expected, noise_names, n_features, weights_file)
    if fitted["n_features_out"] != module.code_size:
        raise ModelFileError(
            f"{model_file}: n_features_out is {fitted['n_features_out']}, but the described "
            f"network's code has {module.code_size} values."
        )

    try:
        tensors = load_tensors(weights)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{weights_file} is not a safetensors file: {exc}") from None
    if device is None:
        # Where it was trained, if that device is here (and is one); else the CPU.
        try:
            device = resolve_device(fitted["device_"])
        except ValueError:
            device = torch.device("cpu")
    else:
        device = resolve_device(device)
    noise_tensors = {
        key[len(_NOISE_PREFIX) :]: tensors.pop(key).to(device)
        for key in list(tensors)
        if key.startswith(_NOISE_PREFIX)
    }
    module.to_empty(device=device)
    module.load_state_dict({k: v.to(device) for k, v in tensors.items()}, strict=True)
    try:
        corruption = make_corruption(
            trained.noise_type,
            trained.noise_factor,
            bounded=loss == "bce",
            tensors=noise_tensors,
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{model_file}: its noise cannot be rebuilt: {exc}") from None
    net = estimator._make_net(
        module,
        loss,
        device,
        corruption=corruption,
        split_seed=fitted.get("validation_split_seed"),
    )
    net.initialize()
    net.history = History(document["history"])
    names = fitted.get("feature_names_in_")
    record = FittedModel(
        estimator=cls.__name__,
        params=fitted_params(trained),
        spec=module.spec,
        loss=loss,
        n_features_in=n_features,
        feature_names_in=None if names is None else tuple(names),
        rows=fitted.get("rows", ""),  # format 2 knew no fingerprint: resumes nothing
        device=str(device),
        split_seed=fitted.get("validation_split_seed"),
        grad_scaler=fitted.get("grad_scaler"),
        history=net.history,
    )
    estimator._set_fitted(net, record)
    return estimator


def _is_int(value, low=0, high=None):
    """An int (not a bool) in [low, high]."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def _checked_fitted(document, model_file):
    """The fitted attributes and history, typed and in range, or ModelFileError."""
    fitted, history = document["fitted"], document["history"]
    if not isinstance(fitted, dict):
        raise ModelFileError(f"{model_file}: 'fitted' must be an object, got {fitted!r}.")
    required = {"n_features_in_", "loss_", "n_features_out"}
    if document["format_version"] >= 3:
        required |= {"params", "spec", "rows"}
    if set(fitted) - _FITTED_KEYS or not required <= set(fitted):
        raise ModelFileError(f"{model_file} has unexpected fitted attributes {sorted(fitted)}.")
    fitted = {"device_": "cpu", **fitted}
    problems = []
    if not _is_int(fitted["n_features_in_"], low=1):
        problems.append(f"n_features_in_ must be a positive int, got {fitted['n_features_in_']!r}")
    if not _is_int(fitted["n_features_out"], low=1):
        problems.append(f"n_features_out must be a positive int, got {fitted['n_features_out']!r}")
    if fitted["loss_"] not in ("bce", "mse"):
        problems.append(f"loss_ must be 'bce' or 'mse', got {fitted['loss_']!r}")
    if not isinstance(fitted["device_"], str):
        problems.append(f"device_ must be a string, got {fitted['device_']!r}")
    seed = fitted.get("validation_split_seed")
    if seed is not None and not _is_int(seed, high=2**63 - 1):
        problems.append(f"validation_split_seed must be an int in [0, 2**63), got {seed!r}")
    rows = fitted.get("rows", "")
    if not (isinstance(rows, str) and len(rows) in (0, 64)):
        problems.append(f"rows must be a SHA-256 in hex, got {rows!r}")
    scaler = fitted.get("grad_scaler")
    if scaler is not None and not (
        isinstance(scaler, dict)
        and set(scaler) in (set(), _GRAD_SCALER_KEYS)
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
        and all(_good_epoch(epoch, number) for number, epoch in enumerate(history, start=1))
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


def _record_value(value):
    """A value of an epoch's record: a number, a flag (skorch's ``event_cp``,
    ``train_loss_best``), a short text, or None."""
    return (
        _number(value)
        or value is None
        or isinstance(value, bool)
        or (isinstance(value, str) and len(value) <= _MAX_TEXT)
    )


def _good_epoch(epoch, number):
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
            if not all(_record_value(v) for v in value.values()):
                return False
        elif not _record_value(value):
            return False
    return True


def _decoded(params, model_file):
    try:
        return decode_params(params)
    except (TypeError, ValueError, OverflowError, RuntimeError, IndexError, RecursionError) as exc:
        raise ModelFileError(f"{model_file} holds invalid parameters: {exc}") from None


def _checked_estimator(cls, params, format_version, model_file, n_features, builds=True):
    """A ``cls`` with a file's parameters, set through its own validation, or ModelFileError.

    ``builds``: the parameters the network was built from, checked against its
    ``n_features`` as a fit would; the current parameters (format 3) need only be
    valid ones, for whatever X the next fit brings. ``MACHINE_PARAMS`` are never
    taken from a file: None.
    """
    if not isinstance(params, dict):
        raise ModelFileError(f"{model_file}: 'params' must be an object, got {params!r}.")
    params = dict(params)
    if format_version < 2 and "linear_code" in params:
        # Format 1 knew linear_code; code_activation=None is the activation it then had.
        params["code_activation"] = "linear" if params.pop("linear_code") else None
    if format_version >= 3:
        params = _decoded(params, model_file)
    params.update(dict.fromkeys(MACHINE_PARAMS))
    estimator = cls()
    known = estimator.get_params(deep=False)
    strange = sorted(str(k) for k in params if k not in known)
    if strange:
        raise ModelFileError(f"{model_file} holds unknown parameters {strange}.")
    huge = sorted(
        k
        for k, v in params.items()
        if isinstance(v, (int, float, np.number))
        and not isinstance(v, (bool, np.bool_))
        and not abs(v) < 2.0**63
    )
    if huge:
        raise ModelFileError(f"{model_file}: parameters {huge} are not finite numbers in range.")
    try:
        estimator.set_params(**params)
        estimator._validate_params()
        if format_version < 3:
            # JSON has no tuples: shapes and widths come back as the tuples they were.
            estimator.set_params(
                **{k: tuple(v) for k, v in estimator.get_params().items() if isinstance(v, list)}
            )
        if builds:
            estimator._check_params(None, n_features)  # the checks fit makes, without data
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{model_file} holds invalid parameters: {exc}") from None
    return estimator


def _expected_noise(estimator, loss):
    """The noise statistics a model file holds for these parameters (names)."""
    from ._noise import NOISE_TYPES

    if estimator.noise_factor == 0 or loss == "bce":
        return set()
    return set(NOISE_TYPES[estimator.noise_type].statistics_names)


# safetensors' dtype names of the tensors skdae writes.
_SAFETENSORS_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def _safetensors_header(weights, weights_file):
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
            and all(_is_int(d) for d in shape)
            and isinstance(offsets, list)
            and len(offsets) == 2
            and all(_is_int(o, high=end) for o in offsets)
        ):
            raise ModelFileError(f"{weights_file}: tensor {name!r} has a malformed entry.")
        tensors[name] = (tuple(shape), entry.get("dtype"))
    return tensors


def _check_shapes(header, expected, noise_names, n_features, weights_file):
    """The file's tensors are exactly the network's (and the noise's), shape for shape."""
    wanted = {k: (shape, _SAFETENSORS_DTYPES.get(dtype)) for k, (shape, dtype) in expected.items()}
    wanted.update({_NOISE_PREFIX + k: ((n_features,), "F32") for k in noise_names})
    missing, unexpected = sorted(set(wanted) - set(header)), sorted(set(header) - set(wanted))
    if missing or unexpected:
        raise ModelFileError(
            f"{weights_file} does not fit the described network: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}."
        )
    for name, (shape, dtype) in wanted.items():
        if header[name] != (shape, dtype):
            raise ModelFileError(
                f"{weights_file} does not fit the described network: {name} is "
                f"{header[name][1]} {list(header[name][0])}, the network has {dtype} {list(shape)}."
            )
