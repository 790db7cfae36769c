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

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._files import (
    check_replaceable,
    cpu_tensors,
    folder_replaced_atomically,
    history_records,
    is_ours,
)
from ._fitted import MACHINE_PARAMS, FittedModel, encode_params, fitted_params
from ._model_file import (
    FORMAT_VERSION,
    KEYS,
    MODEL_FILE,
    NOISE_PREFIX,
    WEIGHTS_FILE,
    ModelFileError,
    check_shapes,
    checked_estimator,
    checked_fitted,
    checksum,
    decoded,
    expected_noise,
    is_int,
    safetensors_header,
)
from ._noise import COLUMN_MAP, make_corruption
from ._runtime import resolve_device
from ._table import TableLayout
from ._training import make_net
from ._version import __version__


def is_model_folder(path):
    """Whether ``path`` is a folder ``save`` wrote, holding nothing else."""
    return is_ours(
        Path(path),
        {MODEL_FILE, WEIGHTS_FILE},
        MODEL_FILE,
        lambda document: document.get("format") == "skdae-model",
    )


# The estimators ``load`` rebuilds, by class name: each registers itself when its
# class is defined (``BaseAutoencoder.__init_subclass__``), so that this module
# never imports them.
ESTIMATORS = {}


def register(cls):
    """Make ``load`` rebuild files of ``cls`` (the first class of a name keeps it)."""
    ESTIMATORS.setdefault(cls.__name__, cls)
    return cls


def save(estimator, path):
    """Write a fitted estimator to the folder ``path``: new, empty, or an earlier model.

    The current parameters and the fitted record are written apart, so that the
    loaded estimator is the saved one: it transforms as the fitted model did and
    ``get_params()`` gives what it gave (but for ``MACHINE_PARAMS``). The folder
    is written next to its final place and renamed into it, so that an
    interrupted save never leaves half a model where a model was; a folder
    holding anything else is refused before anything is written.
    """
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
    if record.table is not None:  # a mixed table's columns and their encoding (plain JSON)
        fitted["table"] = record.table

    tensors = cpu_tensors(estimator.net_.module_.state_dict())
    corruption = estimator.net_.corruption
    if corruption is not None:
        # A table's column map is rebuilt from its layout, not stored.
        noise = {k: v for k, v in corruption.tensors.items() if k not in COLUMN_MAP}
        tensors.update(cpu_tensors(noise, prefix=NOISE_PREFIX))
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
    document["checksum"] = checksum(document)

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
    unknown = set(document) - KEYS
    missing = KEYS - set(document)
    if unknown or missing:
        raise ModelFileError(
            f"{model_file} has unknown keys {sorted(unknown)} or lacks {sorted(missing)}."
        )
    if not is_int(document["format_version"], low=1, high=FORMAT_VERSION):
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
    cls = ESTIMATORS.get(document["class"]) if isinstance(document["class"], str) else None
    if cls is None:
        raise ModelFileError(f"{model_file} describes an unknown estimator {document['class']!r}.")
    fitted = checked_fitted(document, model_file)
    n_features = fitted["n_features_in_"]
    table = fitted.get("table")
    layout = None if table is None else TableLayout.from_plain(table)
    # The network's inputs: a table's encoded width, else the features.
    n_inputs = n_features if layout is None else layout.width
    version = document["format_version"]
    estimator = checked_estimator(
        cls, document["params"], version, model_file, n_inputs, builds=version < 3
    )
    # What the model was trained with: apart from the current parameters since format 3.
    trained = estimator
    if version >= 3:
        trained = checked_estimator(cls, fitted["params"], version, model_file, n_inputs)

    # The network's shapes, on the meta device (no memory), against the weights file's
    # header: a description that does not fit its weights is refused before a byte of
    # them becomes a tensor, and every tensor then built is one the file holds.
    loss = fitted["loss_"]
    try:
        module = trained._build_module(n_inputs, device="meta")
    except (RuntimeError, ValueError, OverflowError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{model_file} describes no network skdae can build: {exc}") from None
    if version >= 3 and decoded(fitted["spec"], model_file) != module.spec:
        raise ModelFileError(
            f"{model_file}: the network's spec {fitted['spec']} is not what the parameters it "
            f"was trained with build ({module.spec})."
        )
    expected = {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}
    noise_shapes = expected_noise(trained, loss, n_inputs)
    header = safetensors_header(weights, weights_file)
    check_shapes(header, expected, noise_shapes, weights_file)
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
        key[len(NOISE_PREFIX) :]: tensors.pop(key).to(device)
        for key in list(tensors)
        if key.startswith(NOISE_PREFIX)
    }
    module.to_empty(device=device)
    module.load_state_dict({k: v.to(device) for k, v in tensors.items()}, strict=True)
    try:
        corruption = make_corruption(
            trained.noise_type,
            trained.noise_factor,
            bounded=loss == "bce",
            tensors=noise_tensors,
            columns=None if layout is None else layout.column_of,
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{model_file}: its noise cannot be rebuilt: {exc}") from None
    net = make_net(
        estimator,
        module,
        loss,
        device,
        corruption=corruption,
        split_seed=fitted.get("validation_split_seed"),
        table=layout,
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
        table=table,
        history=net.history,
    )
    estimator._set_fitted(net, record)
    return estimator
