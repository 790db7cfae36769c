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
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.utils.validation import check_is_fitted

from ._files import (
    check_replaceable,
    cpu_tensors,
    folder_replaced_atomically,
    history_records,
    is_ours,
)
from ._fitted import (
    ESTIMATORS,
    MACHINE_PARAMS,
    FittedModel,
    encode_params,
    fitted_params,
    register,  # noqa: F401  (the estimators register through here)
)
from ._model_file import (
    COMPOSITE_PREFIX,
    FORMAT_VERSION,
    KEYS,
    MEMBER_KEYS,
    MODEL_FILE,
    NOISE_PREFIX,
    OLDEST_FORMAT,
    SAFETENSORS_DTYPES,
    WEIGHTS_FILE,
    ModelFileError,
    check_shapes,
    checked_estimator,
    checked_fitted,
    checksum,
    is_int,
    safetensors_header,
)
from ._plan import features_out
from ._rebuild import expected_noise, noise_tensors, rebuild
from ._runtime import resolve_device
from ._table import TableLayout
from ._version import __version__


def is_model_folder(path):
    """Whether ``path`` is a folder ``save`` wrote, holding nothing else."""
    return is_ours(
        Path(path),
        {MODEL_FILE, WEIGHTS_FILE},
        MODEL_FILE,
        lambda document: document.get("format") == "skdae-model",
    )


def save(estimator, path):
    """Write a fitted estimator to the folder ``path``: new, empty, or an earlier model.

    The current parameters and the fitted record are written apart, so that the
    loaded estimator is the saved one: it transforms as the fitted model did and
    ``get_params()`` gives what it gave (but for ``MACHINE_PARAMS``). An imputer
    or outlier detector writes its inner autoencoders (``members``) and its fitted
    arrays in the same folder. The folder is written next to its final place and
    renamed into it, so that an interrupted save never leaves half a model where a
    model was; a folder holding anything else is refused before anything is written.
    """
    check_is_fitted(estimator)
    name = type(estimator).__name__
    if ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(f"save writes skdae's estimators, not {name}.")
    params = _saved_params(estimator)
    # load validates the current parameters as fit does: what save writes, load reads.
    estimator._validate_params()
    check_replaceable(path, is_model_folder, "a skdae model folder")
    if getattr(estimator, "_module_class", None) is not None:
        fitted, history, tensors = _autoencoder_parts(estimator, "")
    else:
        members, tensors = [], {}
        for i, member in enumerate(estimator._saved_members()):
            if ESTIMATORS.get(type(member).__name__) is not type(member) or not hasattr(
                member, "net_"
            ):
                raise TypeError(
                    f"save writes {name} with skdae's autoencoders inside, not "
                    f"{type(member).__name__}; pickle it instead (skops.io for files from "
                    "elsewhere)."
                )
            member_fitted, member_history, member_tensors = _autoencoder_parts(
                member, f"member.{i}."
            )
            members.append(
                {
                    "class": type(member).__name__,
                    "params": _saved_params(member),
                    "fitted": member_fitted,
                    "history": member_history,
                }
            )
            tensors.update(member_tensors)
        arrays, values = estimator._saved_state()
        for key, array in arrays.items():
            tensors[COMPOSITE_PREFIX + key] = torch.as_tensor(np.asarray(array, dtype=np.float64))
        fitted, history = {"members": members, "values": values}, []
    weights = save_tensors(tensors)
    document = {
        "format": "skdae-model",
        "format_version": FORMAT_VERSION,
        "skdae_version": __version__,
        "torch_version": torch.__version__,
        "class": name,
        "params": params,
        "fitted": fitted,
        "history": history,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    document["checksum"] = checksum(document)

    with folder_replaced_atomically(path, is_model_folder, "a skdae model folder") as staging:
        (staging / WEIGHTS_FILE).write_bytes(weights)
        (staging / MODEL_FILE).write_text(json.dumps(document, indent=1, allow_nan=True) + "\n")
    return Path(path)


def _saved_params(estimator):
    """The estimator's current parameters as a file holds them (no machine's)."""
    params = estimator.get_params(deep=False)
    if params.get("callbacks"):
        raise ValueError(
            "save cannot write callbacks (they are code); set_params(callbacks=None) first."
        )
    return encode_params({k: v for k, v in params.items() if k not in MACHINE_PARAMS})


def _autoencoder_parts(estimator, prefix):
    """A fitted autoencoder's ``fitted`` object, history and tensors (under ``prefix``)."""
    record = estimator.fitted_model_
    fitted = {
        "n_features_in_": record.n_features_in,
        "loss_": record.loss,  # the key keeps its format-2 name
        "device_": record.device,
        "n_iter_": len(record.history),
        "n_features_out": int(estimator._n_features_out),
        "params": encode_params(
            {k: v for k, v in record.params.items() if k not in MACHINE_PARAMS}
        ),
        "spec": encode_params(record.spec),
        "rows": record.rows,
        "grad_scaler": record.grad_scaler,
    }
    if record.feature_names_in is not None:
        fitted["feature_names_in_"] = list(record.feature_names_in)
    if record.split_seed is not None:  # a warm start validates on the same rows
        fitted["validation_split_seed"] = int(record.split_seed)
    if record.table is not None:  # a mixed table's columns and their encoding (plain JSON)
        fitted["table"] = record.table
    tensors = cpu_tensors(estimator.net_.module_.state_dict(), prefix=prefix)
    tensors.update(
        cpu_tensors(noise_tensors(estimator.net_.corruption), prefix=prefix + NOISE_PREFIX)
    )
    return fitted, history_records(record.history), tensors


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
        A ``DenoisingAutoencoder``, ``ConvDenoisingAutoencoder``,
        ``AutoencoderImputer`` or ``AutoencoderOutlierDetector``, fitted: it
        answers as the saved model did, bit for bit.

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
    path = Path(path)
    model_file, weights_file = path / MODEL_FILE, path / WEIGHTS_FILE
    document, weights = _read_folder(path, model_file, weights_file)
    cls = ESTIMATORS.get(document["class"]) if isinstance(document["class"], str) else None
    if cls is None:
        raise ModelFileError(f"{model_file} describes an unknown estimator {document['class']!r}.")
    header = safetensors_header(weights, weights_file)
    if getattr(cls, "_module_class", None) is not None:
        parts = [_checked_autoencoder(cls, document, model_file, "")]
        composite = None
    else:
        composite, parts = _checked_composite(cls, document, model_file)
    expected = {}
    for part in parts:
        expected.update(part.tensors)
    if composite is not None:
        expected.update(composite.tensors)
    check_shapes(header, expected, weights_file)
    for part in parts:
        if part.problem:
            raise ModelFileError(part.problem)

    # Every field and tensor shape checked: now the tensors are read.
    try:
        tensors = load_tensors(weights)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{weights_file} is not a safetensors file: {exc}") from None
    device = _where(device, parts)
    members = []
    for part in parts:
        weights_ = {k[len(part.prefix) :]: tensors[k] for k in part.weights}
        noise = {k[len(part.prefix + NOISE_PREFIX) :]: tensors[k] for k in part.noise}
        try:
            members.append(
                rebuild(part.estimator, part.record, weights_, noise=noise, device=device)
            )
        except (TypeError, ValueError, OverflowError, RuntimeError) as exc:
            raise ModelFileError(f"{model_file}: its model cannot be rebuilt: {exc}") from None
    if composite is None:
        return members[0]
    arrays = {k[len(COMPOSITE_PREFIX) :]: tensors[k].numpy() for k in composite.tensors}
    try:
        return cls._from_saved(composite.estimator, members, arrays, composite.values)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(
            f"{model_file}: its fitted state is not one skdae writes: {exc}"
        ) from None


def _read_folder(path, model_file, weights_file):
    """The folder's description (its keys, format and checksum checked) and weights bytes."""
    for needed in (model_file, weights_file):
        if not needed.is_file():
            raise ModelFileError(f"{path} is not a skdae model folder: {needed.name} is missing.")
    try:
        document = json.loads(model_file.read_text())
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, huge or deep numbers
        raise ModelFileError(f"{model_file} is damaged or truncated: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != "skdae-model":
        raise ModelFileError(f"{model_file} is not a skdae model description.")
    unknown = set(document) - KEYS
    missing = KEYS - set(document)
    if unknown or missing:
        raise ModelFileError(
            f"{model_file} has unknown keys {sorted(unknown)} or lacks {sorted(missing)}."
        )
    version = document["format_version"]
    if is_int(version, low=1) and version < OLDEST_FORMAT:
        raise ModelFileError(
            f"{model_file} is of format version {version}, which no released skdae wrote; this "
            f"skdae ({__version__}) reads versions {OLDEST_FORMAT} to {FORMAT_VERSION}."
        )
    if not is_int(version, low=OLDEST_FORMAT, high=FORMAT_VERSION):
        raise ModelFileError(
            f"{model_file} is of format version {document['format_version']}, newer than this "
            f"skdae ({__version__}) reads ({FORMAT_VERSION}); upgrade skdae."
        )
    if document["checksum"] != checksum(document):
        raise ModelFileError(f"{model_file} was modified after it was written (checksum mismatch).")
    weights = weights_file.read_bytes()
    if hashlib.sha256(weights).hexdigest() != document["weights_sha256"]:
        raise ModelFileError(
            f"{weights_file} does not match its description (SHA-256 mismatch): truncated or "
            "tampered with."
        )
    return document, weights


class _Part:
    """One checked piece of a file: an autoencoder (its estimator with the current
    parameters, its record) or a composite (its estimator, its fitted ``values``),
    the tensors it takes (``{name: (shape, dtype)}``) under ``prefix``, and a
    ``problem`` to report once the tensors' shapes are checked (or None)."""

    def __init__(self, estimator, record, weights, noise, prefix, values=None, problem=None):
        self.estimator, self.record, self.prefix = estimator, record, prefix
        self.weights, self.noise = weights, noise
        self.tensors = {**weights, **noise}
        self.values, self.problem = values, problem


def _checked_autoencoder(cls, document, model_file, prefix):
    """An autoencoder's description (``class``, ``params``, ``fitted``, ``history``)
    checked, its network's tensors computed on the meta device: a ``_Part``."""
    fitted = checked_fitted(document, model_file)
    table = fitted.get("table")
    n_features = fitted["n_features_in_"]
    # The network's inputs: a table's encoded width, else the features.
    n_inputs = n_features if table is None else TableLayout.from_plain(table).width
    estimator = checked_estimator(cls, document["params"], model_file, n_inputs, builds=False)
    # What the model was trained with, apart from the current parameters.
    trained = checked_estimator(cls, fitted["params"], model_file, n_inputs)
    try:
        module = trained._build_module(n_inputs, device="meta")
    except (RuntimeError, ValueError, OverflowError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{model_file} describes no network skdae can build: {exc}") from None
    if not isinstance(fitted["spec"], dict) or fitted["spec"] != encode_params(module.spec):
        raise ModelFileError(
            f"{model_file}: the network's spec {fitted['spec']} is not what the parameters it "
            f"was trained with build ({module.spec})."
        )
    names = fitted.get("feature_names_in_")
    record = FittedModel(
        estimator=cls.__name__,
        params=fitted_params(trained.get_params(deep=False)),
        spec=module.spec,
        loss=fitted["loss_"],
        n_features_in=n_features,
        feature_names_in=None if names is None else tuple(names),
        rows=fitted["rows"],
        device=fitted["device_"],
        split_seed=fitted.get("validation_split_seed"),
        grad_scaler=fitted.get("grad_scaler"),
        table=table,
        history=document["history"],
    )
    part_problem = None
    if fitted["n_features_out"] != features_out(module, record.params):
        part_problem = (
            f"{model_file}: n_features_out is {fitted['n_features_out']}, but the described "
            f"network gives {features_out(module, record.params)} features."
        )
    weights = {
        prefix + k: (tuple(v.shape), SAFETENSORS_DTYPES.get(v.dtype))
        for k, v in module.state_dict().items()
    }
    noise = {
        prefix + NOISE_PREFIX + k: (shape, "F32") for k, shape in expected_noise(record).items()
    }
    return _Part(estimator, record, weights, noise, prefix, problem=part_problem)


def _checked_composite(cls, document, model_file):
    """A composite estimator's description (an imputer's, a detector's) checked: its
    estimator with the file's parameters, and one ``_Part`` per inner autoencoder."""
    estimator = checked_estimator(cls, document["params"], model_file, None, builds=False)
    fitted = document["fitted"]
    members = fitted.get("members") if isinstance(fitted, dict) else None
    if not (
        set(fitted) == {"members", "values"}
        and isinstance(members, list)
        and members
        and isinstance(fitted["values"], dict)
    ):
        raise ModelFileError(
            f"{model_file}: 'fitted' must hold the inner autoencoders ('members') and the "
            "fitted values ('values')."
        )
    parts = []
    for i, member in enumerate(members):
        if not (isinstance(member, dict) and set(member) == MEMBER_KEYS):
            raise ModelFileError(
                f"{model_file}: member {i} must have the keys {sorted(MEMBER_KEYS)}."
            )
        inner = ESTIMATORS.get(member["class"]) if isinstance(member["class"], str) else None
        if getattr(inner, "_module_class", None) is None:
            raise ModelFileError(f"{model_file}: member {i} is no skdae autoencoder.")
        member = {**member, "format_version": document["format_version"]}
        parts.append(_checked_autoencoder(inner, member, model_file, f"member.{i}."))
    try:
        shapes = cls._saved_shapes(len(parts), fitted["values"])
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(
            f"{model_file}: its fitted values are not ones skdae writes: {exc}"
        ) from None
    tensors = {COMPOSITE_PREFIX + k: (shape, "F64") for k, shape in shapes.items()}
    if document["history"] != []:
        raise ModelFileError(f"{model_file}: a {cls.__name__}'s history is its members'.")
    return _Part(estimator, None, tensors, {}, COMPOSITE_PREFIX, values=fitted["values"]), parts


def _where(device, parts):
    """The device to load on: ``device``, else where it was trained if that device is
    here (and is one), else the CPU."""
    if device is not None:
        return resolve_device(device)
    try:
        return resolve_device(parts[0].record.device)
    except (ValueError, TypeError):
        return torch.device("cpu")
