"""One training session: from the rows a fit is given to the net and record it leaves.

``train(estimator, X, ...)`` runs the steps of a fit, each a function here:
``validate_training_data`` → ``prepare_cold`` or ``prepare_warm`` (a new module,
corruption and net, or the fitted ones with the current parameters) →
``run_epochs`` (skorch's loop, with denormals flushed and, in a data-parallel
fit, over the process group) → ``record_of`` (the ``FittedModel`` it leaves)
and ``fit_notes`` (the warnings to give once the fit is kept). The estimator's
parameters (``get_params()``: what this fit uses) are read here; nothing here
reads a fitted model but through its record.
"""

import copy
import warnings

import numpy as np
import torch
import torch.distributed as dist
from sklearn import get_config
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import validate_data
from skorch.callbacks import Callback
from torch import nn

from ._checkpoint import Checkpoint, ResumeFromCheckpoint, check_checkpoint_dir
from ._data import (
    as_tensor,
    check_bce_range,
    check_text_columns,
    choose_placement,
    format_number,
    in_unit_interval,
    observed_range,
    validation_size,
)
from ._distributed import (
    agree_on_errors,
    broadcast_seed,
    broadcast_state,
    check_same_data,
    from_collective,
    lost_peer_error,
    process_group,
    rank_device,
)
from ._fitted import encode_params, fingerprint, record_of
from ._net import ConvergenceCheck, DenoisingNet
from ._noise import make_corruption
from ._runtime import check_precision, denormals_flushed, resolve_device, torch_seed
from ._table import TableLoss, table_net_params
from .callbacks import ProgressBar, StaircaseDecay, TensorBoard, TrainingMonitor

# batch_size="auto": rows // this, between 32 and 256 (see batch_size_for).
AUTO_BATCHES_PER_EPOCH = 50

LOSSES = {"bce": nn.BCEWithLogitsLoss, "mse": nn.MSELoss, "table": TableLoss}
# The module outputs logits; this maps them to a reconstruction (None: as they are).
OUTPUT_ACTIVATIONS = {"bce": torch.sigmoid, "mse": None}


def loss_name(net):
    """``"bce"`` or ``"mse"``: the loss ``net`` trains with."""
    return {criterion: name for name, criterion in LOSSES.items()}[net.criterion]


def train(estimator, X, warm, epochs, stop_at_convergence, table=None):
    """Train ``estimator`` on X: ``(net, record, notes)``, the estimator's fitted
    attributes untouched but for scikit-learn's ``n_features_in_`` (the caller
    keeps the result, or puts the estimator back as it was).

    ``warm``: go on from the fitted net; ``epochs``: the most this call trains;
    ``stop_at_convergence``: False for ``partial_fit``; ``table``: X is a mixed
    table encoded by this ``TableLayout`` (its loss and noise act per column).
    ``notes`` are the warnings to give once the fit is kept.
    """
    group = process_group(estimator.distributed)
    try:
        device = resolve_device(estimator.device)
        if group is not None:
            device = rank_device(device)
        X, value_range_ = validate_training_data(estimator, X, warm, table)
        check_precision(estimator.precision, device)
        if estimator.checkpoint_dir is not None:  # a folder of the user's in the way
            check_checkpoint_dir(estimator.checkpoint_dir)
        error = None
    except (ValueError, TypeError, OSError) as exc:
        if group is None:
            raise
        error = exc
    if group is not None:
        # Before any other collective: a rank whose input was refused would
        # otherwise leave the others waiting for it.
        agree_on_errors(error, group, estimator.device)
    rows = fingerprint(X)
    if group is not None:
        check_distributed(estimator, X, group, device, rows)
    n_before = estimator.n_iter_ if warm else 0
    # A warm start draws a stream of its own, not the first fit's again.
    seed = (torch_seed(estimator.random_state) + n_before) % 2**63
    if group is not None:  # one stream for every rank: the same batches and noise
        seed = broadcast_seed(seed, group, device)
    # Every random number of the fit (weights, batch order, noise, dropout) comes
    # from this generator; the validation split from a seed of its own.
    generator = torch.Generator(device=device).manual_seed(seed)
    if warm:
        net, X_train = prepare_warm(estimator, X, value_range_, device, group, rows, table)
    else:
        net, X_train = prepare_cold(
            estimator, X, value_range_, device, generator, seed, group, rows, table
        )
    run_epochs(estimator, net, X_train, generator, epochs, n_before, stop_at_convergence)
    record = record_of(
        estimator, net, loss=loss_name(net), device=str(torch.device(net.device)), rows=rows
    )
    return net, record, fit_notes(estimator, net, epochs, n_before, stop_at_convergence)


def validate_training_data(estimator, X, warm, table=None):
    """Step 1: X checked and converted, the parameters checked against it
    (and, for a warm start, against the fitted network).

    Returns X and ``(min, max, has_nan)``: its observed values' range, and
    whether any value is missing (NaN).
    """
    check_text_columns(X)
    X = validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=[np.float64, np.float32],
        ensure_all_finite=False,
        # A table's encoding was checked against the fitted one (it sets the features).
        reset=not warm or table is not None,
    )
    lo, hi, has_nan = observed_range(
        X, check_finite=not get_config()["assume_finite"], allow_nan=True
    )
    float32_max = float(np.finfo(np.float32).max)
    if max(-lo, hi) > float32_max:
        raise ValueError(
            f"X spans [{lo:.4g}, {hi:.4g}], beyond float32's range (±{float32_max:.3g}) "
            "that training computes in; scale X first (e.g. StandardScaler)."
        )
    estimator._check_params(*X.shape)
    if warm:
        check_warm_params(estimator, X.shape[1], lo, hi)
    return X, (lo, hi, has_nan)


def check_distributed(estimator, X, group, device, rows):
    """A data-parallel fit needs the same X on every rank, and batches that
    give every rank at least one row."""
    # First, so that a rank given other data or parameters fails with the others
    # rather than leaving them waiting in a collective.
    # The parameters that shape the fit; verbose, callbacks and the TensorBoard
    # folder may differ (rank 0 alone prints and writes).
    identity = params_json(estimator, {"verbose", "callbacks", "tensorboard_dir", "device"})
    check_same_data(X, group, device, identity, rows)
    world = dist.get_world_size(group)
    n_train = n_train_rows(estimator, X.shape[0])
    # Every rank needs a share of every batch (two rows each with batch norm).
    per_rank = 2 if estimator.batch_norm else 1
    smallest = min(batch_size_for(estimator, n_train), n_train)
    if smallest < per_rank * world:
        raise ValueError(
            f"batches of {smallest} rows cannot give each of the {world} processes of the "
            f"data-parallel fit {per_rank} row(s); raise batch_size (or pass more rows), or "
            "pass distributed='off'."
        )
    if estimator.early_stopping and X.shape[0] - n_train < world:
        raise ValueError(
            f"early_stopping holds out {X.shape[0] - n_train} rows, fewer than the {world} "
            "processes of the data-parallel fit; raise validation_fraction."
        )


def n_train_rows(estimator, n_samples):
    """Rows that train (the others validate, with early stopping)."""
    fraction = estimator.validation_fraction if estimator.early_stopping else 0.0
    return n_samples - validation_size(n_samples, fraction)


def batch_size_for(estimator, n_train):
    """``batch_size``, with "auto" resolved for ``n_train`` training rows.

    "auto" gives an epoch at least ``AUTO_BATCHES_PER_EPOCH`` batches (of 32
    rows at the least, 256 at the most): convergence is judged per epoch,
    and on a small data set an epoch of a few large batches is too few
    steps to judge by.
    """
    if estimator.batch_size != "auto":
        return estimator.batch_size
    return int(min(256, max(32, n_train // AUTO_BATCHES_PER_EPOCH)))


def resolve_loss(estimator, lo, hi, table=None):
    if table is not None:
        return "table"
    if estimator.loss == "auto":
        if in_unit_interval(lo, hi):
            return "bce"
        if lo >= 0:
            warnings.warn(
                f"X spans [{format_number(lo)}, {format_number(hi)}], not [0, 1], so "
                "loss='auto' trains with the squared error (mse) on X as it is. If X is "
                "bounded, like pixels in 0..255, scale it into [0, 1] (X / 255, or "
                "MinMaxScaler) to train with the cross-entropy (bce) the defaults were chosen "
                "for; pass loss='mse' to keep mse without this warning.",
                UserWarning,
                stacklevel=5,
            )
        return "mse"
    if estimator.loss == "bce":
        check_bce_range(
            lo,
            hi,
            "loss='bce' needs X in [0, 1] (it is a Bernoulli likelihood of each feature)",
            fix="scale X into [0, 1] (e.g. MinMaxScaler) or use loss='mse'",
        )
    return estimator.loss


def prepare_cold(
    estimator, X, value_range_, device, generator, seed, group=None, rows=None, table=None
):
    """Step 2, a fresh start: a new module, corruption and net.

    The module is built on the meta device, so that no number is drawn
    from torch's global generator; its weights come from the fit's own.
    """
    lo, hi, has_nan = value_range_
    loss = resolve_loss(estimator, lo, hi, table)
    module = estimator._build_module(X.shape[1], device="meta").to_empty(device=device)
    module.reset_parameters(generator)
    X_train = as_tensor(X, device, placement=choose_placement(estimator.data_placement, X, device))
    corruption = corruption_for(estimator, X_train, loss == "bce", table)
    net = make_net(
        estimator,
        module,
        loss,
        device,
        corruption=corruption,
        split_seed=(seed + 1) % 2**63,
        batch_size=batch_size_for(estimator, n_train_rows(estimator, X.shape[0])),
        resume=estimator.checkpoint_dir is not None,
        process_group=group,
        rows=rows,
        missing=has_nan,
        table=table,
    )
    return net, X_train


def corruption_for(estimator, X_train, bounded, table):
    """The fit's corruption: the noise parameters', per table column with a ``table``."""
    columns = None if table is None else table.column_of
    kind, factor = estimator.noise_type, estimator.noise_factor
    return make_corruption(kind, factor, bounded=bounded, X=X_train, columns=columns)


def prepare_warm(estimator, X, value_range_, device, group=None, rows=None, table=None):
    """Step 2, a warm start: the fitted module, Adam's state and history in a
    net rebuilt from the current parameters.

    Honoured: everything but the network's shape and the loss, which are
    refused when they change (``check_warm_params``). The noise's learned
    statistics are kept unless the noise itself changed (a stream of
    ``partial_fit`` chunks keeps one scale).
    """
    old, fitted = estimator.net_, estimator.fitted_model_
    module = old.module_
    if module.spec["dropout"] != float(estimator.dropout):  # both > 0 (check_warm_params)
        module.set_dropout(float(estimator.dropout))
    module.to(device)
    X_train = as_tensor(X, device, placement=choose_placement(estimator.data_placement, X, device))
    corruption = old.corruption
    if not fitted.same_noise(estimator.noise_type, estimator.noise_factor):
        corruption = corruption_for(estimator, X_train, fitted.loss == "bce", table)
    elif corruption is not None:
        corruption.to(device)
    net = make_net(
        estimator,
        module,
        fitted.loss,
        device,
        corruption=corruption,
        split_seed=old.split_seed,  # validate on the rows held out before
        batch_size=batch_size_for(estimator, n_train_rows(estimator, X.shape[0])),
        process_group=group,
        rows=rows,
        missing=value_range_[2],
        table=table,
    )
    net.initialize()
    # Adam's moments carry over; its learning rate and weight decay are the
    # current parameters' (the learning-rate schedule goes on from the history).
    state = net.optimizer_.state_dict()
    state["state"] = old.optimizer_.state_dict()["state"]
    net.optimizer_.load_state_dict(state)
    # A copy: the fitted record keeps its history until this fit is kept.
    net.history = copy.deepcopy(old.history)
    net.grad_scaler_state_ = fitted.grad_scaler
    return net, X_train


def check_warm_params(estimator, n_features, lo, hi):
    """Refuse a warm start whose parameters changed what cannot change.

    The network's shape, activations and batch norm cannot; dropout's
    probability can, unless the fitted network has no dropout layers (it was
    trained with 0) or would lose them (0 now).
    """
    fitted_spec = estimator.fitted_model_.spec
    spec = estimator._module_spec(n_features)
    if min(spec["dropout"], fitted_spec["dropout"]) > 0:
        spec["dropout"] = fitted_spec["dropout"]  # set on the fitted layers
    keys = spec.keys() | fitted_spec.keys()  # residual: only in a spec where it is True
    changed = sorted(k for k in keys if spec.get(k, False) != fitted_spec.get(k, False))
    if changed:
        was = ", ".join(f"{k}={fitted_spec.get(k, False)!r}" for k in changed)
        now = ", ".join(f"{k}={spec.get(k, False)!r}" for k in changed)
        raise ValueError(
            f"warm start: the fitted network has {was}, but the parameters now ask "
            f"for {now}. A warm start trains the fitted network on; set "
            "warm_start=False (or call fit on a clone) to train a new one."
        )
    if estimator.loss not in ("auto", "mse", estimator.loss_function_) or (
        estimator.loss == "mse" and estimator.loss_function_ == "bce"
    ):
        raise ValueError(
            f"warm start: the model was trained with loss={estimator.loss_function_!r}, and loss="
            f"{estimator.loss!r} cannot take over its weights; set warm_start=False to retrain."
        )
    check_range(estimator, lo, hi)


def check_range(estimator, lo, hi):
    if estimator.loss_function_ == "bce":
        check_bce_range(
            lo,
            hi,
            "this model was trained with loss='bce' on data in [0, 1]",
            fix="scale X as the training data was",
        )


def make_net(
    estimator,
    module,
    loss,
    device,
    corruption=None,
    split_seed=None,
    batch_size=256,
    resume=False,
    process_group=None,
    rows=None,
    missing=False,
    table=None,
):
    """The skorch net that trains (and holds) ``module``; ``missing``: X holds
    NaN (missing values, which the net fills and leaves out of the loss);
    ``table``: a ``TableLayout`` (or its plain form) for ``loss="table"``."""
    criterion_params, output_activation = {}, OUTPUT_ACTIVATIONS.get(loss)
    if loss == "table":
        criterion_params, output_activation = table_net_params(table, device)
    world, rank_zero = 1, True
    if process_group is not None:
        world, rank_zero = dist.get_world_size(process_group), dist.get_rank() == 0
    return DenoisingNet(
        module=module,
        criterion=LOSSES[loss],
        corruption=corruption,
        missing=missing,
        split_seed=split_seed,
        validation_fraction=estimator.validation_fraction if estimator.early_stopping else 0.0,
        output_activation=output_activation,
        precision=estimator.precision,
        optimizer=torch.optim.Adam,
        # One fused kernel for the whole update: ~10% of a CPU epoch saved.
        optimizer__fused=True,
        lr=estimator.learning_rate,
        optimizer__weight_decay=estimator.weight_decay,
        # L2 on the weights only, as the seed's weights_regularizer.
        optimizer__param_groups=[("*.bias", {"weight_decay": 0.0})],
        max_epochs=estimator.max_epochs,
        batch_size=batch_size,
        callbacks=fit_callbacks(estimator, module.n_features, resume, rank_zero, rows),
        # Batch norm cannot train on a batch of one row (on any rank).
        iterator_train__min_batch_size=(2 if estimator.batch_norm else 1) * world,
        iterator_valid__min_batch_size=world,
        device=device,
        # Rank 0 speaks for a data-parallel fit.
        verbose=estimator.verbose if rank_zero else 0,
        compile=estimator.compile,
        process_group=process_group,
        **criterion_params,
    )


def fit_callbacks(estimator, n_features, resume=False, rank_zero=True, rows=None):
    """The built-in callbacks of a fit, switched by parameters, and the user's.

    In a data-parallel fit, the ones that write (TensorBoard, checkpoints,
    the progress bar) run on rank 0 only; every rank resumes.
    """
    callbacks = []
    if estimator.checkpoint_dir is not None:
        identity = checkpoint_identity(estimator, n_features, rows)
        if resume:  # before ours: they start from the restored history
            callbacks.append(("resume", ResumeFromCheckpoint(estimator.checkpoint_dir, identity)))
    callbacks.append(
        ("lr_schedule", StaircaseDecay(estimator.lr_decay_steps, estimator.lr_decay_rate))
    )
    if estimator.monitor:
        callbacks.append(("monitor", TrainingMonitor()))
    if estimator.tensorboard_dir is not None and rank_zero:
        callbacks.append(("tensorboard", TensorBoard(estimator.tensorboard_dir)))
    if estimator.checkpoint_dir is not None and rank_zero:
        callbacks.append(("checkpoint", Checkpoint(estimator.checkpoint_dir, identity)))
    if estimator.verbose and rank_zero:
        callbacks.append(("progress_bar", ProgressBar()))
    for i, callback in enumerate(estimator.callbacks or []):
        named = isinstance(callback, tuple)
        instance = callback[1] if named else callback
        if not isinstance(instance, Callback):
            raise TypeError(
                "callbacks must hold skorch callbacks or (name, callback) pairs; "
                f"item {i} is {callback!r}."
            )
        callbacks.append(callback if named else (f"user_{i}_{type(instance).__name__}", instance))
    # Set up by each fit call (what it watches, which epochs count).
    callbacks.append(("convergence", ConvergenceCheck()))
    return callbacks


def checkpoint_identity(estimator, n_features, rows):
    """What a checkpoint must match to be resumed: the parameters that shape the
    fit, and the rows it trains on (their ``fingerprint``)."""
    params = params_json(
        estimator,
        {
            "max_epochs",
            "verbose",
            "callbacks",
            "checkpoint_dir",
            "tensorboard_dir",
            "distributed",
            "data_placement",
        },
    )
    return {
        "class": type(estimator).__name__,
        "n_features": int(n_features),
        "rows": rows,
        "params": params,
    }


def params_json(estimator, ignored):
    """``get_params()`` without the ``ignored`` names, as JSON values (a
    ``RandomState``, whose state each fit advances, as None)."""
    params = {k: v for k, v in estimator.get_params().items() if k not in ignored}
    if isinstance(params.get("random_state"), np.random.RandomState):
        params["random_state"] = None
    try:
        return encode_params(params)
    except TypeError:  # a value of the user's without a JSON form: its text
        return encode_params({k: str(v) for k, v in params.items()})


def run_epochs(estimator, net, X_train, generator, epochs, n_before, stop_at_convergence):
    """Step 3: train ``net`` for up to ``epochs`` epochs (fewer at convergence)."""
    net.generator = generator
    dropout_generator = generator
    if net.process_group is not None:
        # Dropout masks differ from rank to rank (each masks its own rows),
        # and drawing them apart keeps the shared stream (batches, noise) in step.
        rank = dist.get_rank(net.process_group)
        dropout_generator = torch.Generator(device=generator.device).manual_seed(
            (generator.initial_seed() + 1 + rank) % 2**63
        )
    net.module.set_generator(dropout_generator)
    # Only this call's epochs count towards convergence (partial_fit's single
    # epoch never stops by it); a resumed fit counts its restored epochs.
    dict(net.callbacks)["convergence"].set_params(
        monitor="valid_loss" if estimator.early_stopping else "train_loss",
        load_best=estimator.early_stopping,
        first_epoch=n_before,
        max_epochs=epochs,
        stop_at_convergence=stop_at_convergence,
        n_iter_no_change=estimator.n_iter_no_change,
        tol=estimator.tol,
    )
    try:
        with denormals_flushed(torch.device(net.device)):
            net.partial_fit(X_train, epochs=epochs)
        if net.process_group is not None:
            # Rank 0's state on every rank: batch norm's running statistics
            # (each rank updates them from its share) and an early-stopping
            # best epoch restored from rank 0's checkpoint.
            broadcast_state(net.module_, net.process_group, net.device)
    except RuntimeError as error:  # a collective inside DDP's backward
        if net.process_group is None or not from_collective(error):
            raise
        raise lost_peer_error(error) from error
    finally:
        # The group and its DDP wrapper are this call's: never in a pickle.
        net.process_group, net.ddp_ = None, None
    # Drop the references to the fit's generator: the fitted model needs
    # none, and a CUDA generator would tie the pickle to a GPU machine.
    net.generator = None
    # float16's loss scale: its state (plain numbers) for the next call, not the scaler.
    if net.grad_scaler_ is not None:
        net.grad_scaler_state_ = net.grad_scaler_.state_dict()
    net.grad_scaler_ = None
    net.module.set_generator(None)
    if net.corruption is not None:
        net.corruption.to("cpu")  # a CUDA tensor would tie the pickle to a GPU


def fit_notes(estimator, net, epochs, n_before, stop_at_convergence):
    """The warnings of a finished fit: ``[(message, category)]``."""
    convergence = dict(net.callbacks)["convergence"]
    if net.interrupted_ is not None:
        ran = net.interrupted_ - n_before
        kept = f"epoch {net.interrupted_}"
        if estimator.early_stopping:
            kept = f"the best epoch so far ({convergence.progress(net.history)[0] + 1})"
        message = (
            f"fit interrupted: {ran} of {epochs} epochs ran; the model keeps the weights of {kept}."
        )
        return [(message, UserWarning)]
    notes = []
    dead = [epoch.get("dead_units", 0.0) for epoch in net.history[n_before:]]
    # Only ReLUs die (0 for every input); other activations are 0 at 0 alone.
    relu = "relu" in (estimator.activation, estimator.code_activation)
    if relu and dead and dead[-1] > 0.5:
        notes.append(
            (
                f"{dead[-1]:.0%} of the units of a hidden layer output 0 for every probe "
                "row (dead ReLUs): those features carry nothing. Try "
                "activation='gelu' (the default), a lower learning_rate, or batch_norm=True.",
                UserWarning,
            )
        )
    stopped_early = getattr(net, "stopped_early_", False)  # by skorch's EarlyStopping
    if stop_at_convergence and not stopped_early and not convergence.converged(net.history):
        watched = "validation loss" if estimator.early_stopping else "training loss"
        message = (
            f"{type(estimator).__name__} ran max_epochs={epochs} epochs without converging: "
            f"the {watched} still improved by more than tol={estimator.tol} within the last "
            f"n_iter_no_change={estimator.n_iter_no_change} epochs. Raise max_epochs (or "
            "tol) if the features matter; warm_start=True continues this fit."
        )
        notes.append((message, ConvergenceWarning))
    return notes
