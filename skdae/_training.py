"""One training session: from the rows a fit is given to the net and record it leaves.

``train(estimator, X, ...)`` runs the steps of a fit, each a function here:
``validate_training_data`` → ``prepare_cold`` or ``prepare_warm`` (a new module,
corruption and net, or the fitted ones with the current parameters) →
``run_epochs`` (skorch's loop, with denormals flushed and, in a data-parallel
fit, over the process group) → ``record_of`` (the ``FittedModel`` it leaves)
and ``fit_notes`` (the warnings to give once the fit is kept). The estimator is
read once, by ``train``: its parameters become a ``FitPlan`` (``skdae._plan``)
that every later step reads; nothing here reads a fitted model but through its
record and its net.
"""

import warnings

import numpy as np
import torch
import torch.distributed as dist
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback
from torch import nn

from ._checkpoint import Checkpoint, ResumeFromCheckpoint, check_checkpoint_dir
from ._data import (
    as_tensor,
    check_bce_range,
    choose_placement,
    format_number,
    in_unit_interval,
    validated_rows,
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
from ._fitted import FittedModel, encode_params, fingerprint, fitted_params
from ._net import ConvergenceCheck, DenoisingNet, restore
from ._noise import make_corruption
from ._plan import FitPlan, batch_size_for, n_train_rows
from ._runtime import check_precision, denormals_flushed, resolve_device, torch_seed
from ._table import TableLoss, table_net_params
from .callbacks import ProgressBar, StaircaseDecay, TensorBoard, TrainingMonitor

LOSSES = {"bce": nn.BCEWithLogitsLoss, "mse": nn.MSELoss, "table": TableLoss}
# The module outputs logits; this maps them to a reconstruction (None: as they are).
OUTPUT_ACTIVATIONS = {"bce": torch.sigmoid, "mse": None}


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
    fitted = (estimator.net_, estimator.fitted_model_) if warm else None
    n_before = len(fitted[1].history) if warm else 0
    # A warm start draws a stream of its own, not the first fit's again.
    seed = (torch_seed(estimator.random_state) + n_before) % 2**63
    if group is not None:  # one stream for every rank: the same batches and noise
        seed = broadcast_seed(seed, group, device)
    plan = plan_fit(estimator, X, value_range_, device, seed, rows, table, fitted)
    # Every random number of the fit (weights, batch order, noise, dropout) comes
    # from this generator; the validation split from a seed of its own.
    generator = torch.Generator(device=device).manual_seed(seed)
    if warm:
        net, X_train = prepare_warm(plan, X, fitted, group)
    else:
        net, X_train = prepare_cold(plan, X, generator, group)
    run_epochs(plan, net, X_train, generator, epochs, n_before, stop_at_convergence)
    return net, record_of(plan, net), fit_notes(plan, net, epochs, n_before, stop_at_convergence)


def plan_fit(estimator, X, value_range_, device, seed, rows, table=None, fitted=None):
    """The ``FitPlan`` of this fit: the estimator's parameters resolved for X
    (for a warm start, the ``fitted`` net and record's spec, loss and split)."""
    params = estimator.get_params(deep=False)
    lo, hi, has_nan = value_range_
    if fitted is None:
        spec, split_seed = estimator._module_spec(X.shape[1]), (seed + 1) % 2**63
        loss = resolve_loss(params, lo, hi, table)
    else:
        net, record = fitted
        spec, loss, split_seed = dict(net.module_.spec), record.loss, net.split_seed
    names = getattr(estimator, "feature_names_in_", None)
    if table is not None:
        n_features, names = len(table.names), tuple(table.names) if table.frame else None
    else:
        n_features = X.shape[1]
        names = None if names is None else tuple(str(n) for n in names)
    return FitPlan(
        estimator=type(estimator).__name__,
        params=params,
        module_class=estimator._module_class,
        spec=spec,
        loss=loss,
        device=torch.device(device),
        batch_size=batch_size_for(params, n_train_rows(params, X.shape[0])),
        n_features_in=n_features,
        feature_names_in=names,
        table=table,
        seed=seed,
        split_seed=split_seed,
        rows=rows,
        missing=has_nan,
    )


def record_of(plan, net):
    """The ``FittedModel`` that a fit by ``plan`` left in ``net``."""
    params = fitted_params(plan.params)
    return FittedModel(
        estimator=plan.estimator,
        params=params,
        spec=dict(net.module_.spec),
        loss=plan.loss,
        n_features_in=plan.n_features_in,
        feature_names_in=plan.feature_names_in,
        rows=plan.rows,
        device=str(torch.device(net.device)),
        split_seed=net.split_seed,
        grad_scaler=getattr(net, "grad_scaler_state_", None),
        table=None if plan.table is None else plan.table.to_plain(),
        history=net.history,
    )


def validate_training_data(estimator, X, warm, table=None):
    """Step 1: X checked and converted, the parameters checked against it
    (and, for a warm start, against the fitted network).

    Returns X and ``(min, max, has_nan)``: its observed values' range, and
    whether any value is missing (NaN).
    """
    # A table's encoding was checked against the fitted one (it sets the features).
    X, (lo, hi, has_nan) = validated_rows(estimator, X, reset=not warm or table is not None)
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
    params = estimator.get_params(deep=False)
    identity = params_json(params, {"verbose", "callbacks", "tensorboard_dir", "device"})
    check_same_data(X, group, device, identity, rows)
    world = dist.get_world_size(group)
    n_train = n_train_rows(params, X.shape[0])
    # Every rank needs a share of every batch (two rows each with batch norm).
    per_rank = 2 if estimator.batch_norm else 1
    smallest = min(batch_size_for(params, n_train), n_train)
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


def resolve_loss(params, lo, hi, table=None):
    """``loss`` with "auto" resolved for X's range; refuses bce outside [0, 1]."""
    if table is not None:
        return "table"
    if params["loss"] == "auto":
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
    if params["loss"] == "bce":
        check_bce_range(
            lo,
            hi,
            "loss='bce' needs X in [0, 1] (it is a Bernoulli likelihood of each feature)",
            fix="scale X into [0, 1] (e.g. MinMaxScaler) or use loss='mse'",
        )
    return params["loss"]


def prepare_cold(plan, X, generator, group=None):
    """Step 2, a fresh start: a new module, corruption and net.

    The module is built on the meta device, so that no number is drawn
    from torch's global generator; its weights come from the fit's own.
    """
    module = build_module(plan, "meta").to_empty(device=plan.device)
    module.reset_parameters(generator)
    X_train = as_tensor(
        X, plan.device, placement=choose_placement(plan.params["data_placement"], X, plan.device)
    )
    corruption = corruption_for(plan, X_train)
    net = make_net(plan, module, corruption, resume=True, process_group=group)
    return net, X_train


def build_module(plan, device):
    """The plan's module on ``device`` ("meta": shapes only, no memory)."""
    module = plan.module_class(**plan.spec, device=device)
    module.spec = dict(plan.spec)  # what a warm start compares the parameters with
    return module


def corruption_for(plan, X_train=None, tensors=None):
    """The plan's corruption: its statistics learned from ``X_train`` or given as
    ``tensors`` (a fitted model's), per table column with a table."""
    kind, factor = plan.noise
    return make_corruption(
        kind,
        factor,
        bounded=plan.loss == "bce",
        X=X_train,
        tensors=tensors,
        columns=None if plan.table is None else plan.table.column_of,
    )


def prepare_warm(plan, X, fitted, group=None):
    """Step 2, a warm start: the ``fitted`` module (and ``(net, record)``), Adam's
    state and history in a net made by the current plan.

    Honoured: everything but the network's shape and the loss, which are
    refused when they change (``check_warm_params``). The noise's learned
    statistics are kept unless the noise itself changed (a stream of
    ``partial_fit`` chunks keeps one scale).
    """
    old, record = fitted
    module = old.module_
    dropout = float(plan.params["dropout"])
    if module.spec["dropout"] != dropout:  # both > 0 (check_warm_params)
        module.set_dropout(dropout)
    module.to(plan.device)
    placement = choose_placement(plan.params["data_placement"], X, plan.device)
    X_train = as_tensor(X, plan.device, placement=placement)
    corruption = old.corruption
    if not record.same_noise(*plan.noise):
        corruption = corruption_for(plan, X_train)
    elif corruption is not None:
        corruption.to(plan.device)
    net = make_net(plan, module, corruption, process_group=group)
    net.initialize()
    # Adam's moments carry over; its learning rate and weight decay are the
    # current parameters' (the learning-rate schedule goes on from the history).
    # A copy of the history: the fitted record keeps its own until this fit is kept.
    restore(net, optimizer=old.optimizer_.state_dict()["state"], history=old.history)
    net.grad_scaler_state_ = record.grad_scaler
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


def make_net(plan, module, corruption, resume=False, process_group=None):
    """The skorch net that trains (and holds) ``module`` as ``plan`` says;
    ``resume``: from ``checkpoint_dir`` when it holds this fit's checkpoint."""
    params = plan.params
    criterion_params, output_activation = {}, OUTPUT_ACTIVATIONS.get(plan.loss)
    if plan.loss == "table":
        criterion_params, output_activation = table_net_params(plan.table, plan.device)
    world, rank_zero = 1, True
    if process_group is not None:
        world, rank_zero = dist.get_world_size(process_group), dist.get_rank() == 0
    return DenoisingNet(
        module=module,
        criterion=LOSSES[plan.loss],
        corruption=corruption,
        missing=plan.missing,
        split_seed=plan.split_seed,
        validation_fraction=params["validation_fraction"] if params["early_stopping"] else 0.0,
        output_activation=output_activation,
        precision=params["precision"],
        optimizer=torch.optim.Adam,
        # One fused kernel for the whole update: ~10% of a CPU epoch saved.
        optimizer__fused=True,
        lr=params["learning_rate"],
        optimizer__weight_decay=params["weight_decay"],
        # L2 on the weights only, as the seed's weights_regularizer.
        optimizer__param_groups=[("*.bias", {"weight_decay": 0.0})],
        max_epochs=params["max_epochs"],
        batch_size=plan.batch_size,
        callbacks=fit_callbacks(plan, resume, rank_zero),
        # Batch norm cannot train on a batch of one row (on any rank).
        iterator_train__min_batch_size=(2 if params["batch_norm"] else 1) * world,
        iterator_valid__min_batch_size=world,
        device=plan.device,
        # Rank 0 speaks for a data-parallel fit.
        verbose=params["verbose"] if rank_zero else 0,
        compile=params["compile"],
        process_group=process_group,
        **criterion_params,
    )


def fit_callbacks(plan, resume=False, rank_zero=True):
    """The built-in callbacks of a fit, switched by parameters, and the user's.

    In a data-parallel fit, the ones that write (TensorBoard, checkpoints,
    the progress bar) run on rank 0 only; every rank resumes.
    """
    params = plan.params
    checkpoint_dir = params["checkpoint_dir"]
    callbacks = []
    if checkpoint_dir is not None:
        identity = checkpoint_identity(plan)
        if resume:  # before ours: they start from the restored history
            callbacks.append(("resume", ResumeFromCheckpoint(checkpoint_dir, identity)))
    callbacks.append(
        ("lr_schedule", StaircaseDecay(params["lr_decay_steps"], params["lr_decay_rate"]))
    )
    if params["monitor"]:
        callbacks.append(("monitor", TrainingMonitor()))
    if params["tensorboard_dir"] is not None and rank_zero:
        callbacks.append(("tensorboard", TensorBoard(params["tensorboard_dir"])))
    if checkpoint_dir is not None and rank_zero:
        callbacks.append(("checkpoint", Checkpoint(checkpoint_dir, identity)))
    if params["verbose"] and rank_zero:
        callbacks.append(("progress_bar", ProgressBar()))
    for i, callback in enumerate(params["callbacks"] or []):
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


def checkpoint_identity(plan):
    """What a checkpoint must match to be resumed: the parameters that shape the
    fit, and the rows it trains on (their ``fingerprint``)."""
    params = params_json(
        plan.params,
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
        "class": plan.estimator,
        "n_features": int(plan.n_inputs),
        "rows": plan.rows,
        "params": params,
    }


def params_json(params, ignored):
    """The parameters without the ``ignored`` names, as JSON values (a
    ``RandomState``, whose state each fit advances, as None)."""
    params = {k: v for k, v in params.items() if k not in ignored}
    if isinstance(params.get("random_state"), np.random.RandomState):
        params["random_state"] = None
    try:
        return encode_params(params)
    except TypeError:  # a value of the user's without a JSON form: its text
        return encode_params({k: str(v) for k, v in params.items()})


def run_epochs(plan, net, X_train, generator, epochs, n_before, stop_at_convergence):
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
    early_stopping = plan.params["early_stopping"]
    dict(net.callbacks)["convergence"].set_params(
        monitor="valid_loss" if early_stopping else "train_loss",
        load_best=early_stopping,
        first_epoch=n_before,
        max_epochs=epochs,
        stop_at_convergence=stop_at_convergence,
        n_iter_no_change=plan.params["n_iter_no_change"],
        tol=plan.params["tol"],
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


def fit_notes(plan, net, epochs, n_before, stop_at_convergence):
    """The warnings of a finished fit: ``[(message, category)]``."""
    params = plan.params
    convergence = dict(net.callbacks)["convergence"]
    if net.interrupted_ is not None:
        ran = net.interrupted_ - n_before
        kept = f"epoch {net.interrupted_}"
        if params["early_stopping"]:
            kept = f"the best epoch so far ({convergence.progress(net.history)[0] + 1})"
        message = (
            f"fit interrupted: {ran} of {epochs} epochs ran; the model keeps the weights of {kept}."
        )
        return [(message, UserWarning)]
    notes = []
    dead = [epoch.get("dead_units", 0.0) for epoch in net.history[n_before:]]
    # Only ReLUs die (0 for every input); other activations are 0 at 0 alone.
    relu = "relu" in (params["activation"], params["code_activation"])
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
        watched = "validation loss" if params["early_stopping"] else "training loss"
        message = (
            f"{plan.estimator} ran max_epochs={epochs} epochs without converging: "
            f"the {watched} still improved by more than tol={params['tol']} within the last "
            f"n_iter_no_change={params['n_iter_no_change']} epochs. Raise max_epochs (or "
            "tol) if the features matter; warm_start=True continues this fit."
        )
        notes.append((message, ConvergenceWarning))
    return notes
