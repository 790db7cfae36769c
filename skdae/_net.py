"""The skorch side: a ``NeuralNet`` whose training step corrupts each batch.

skorch's loop (``fit_loop``, ``notify``, the callbacks) is kept; what changes:

* data: X is one tensor already on the device (or ``SparseRows``,
  ``HostRows``), and batches are slices of a per-epoch permutation
  (``skdae._data.TensorBatches``); the validation rows are drawn by a seed of
  their own (``get_split_datasets``);
* the steps: ``train_step_single`` corrupts the batch with fresh noise and
  compares the reconstruction with the clean batch; ``validation_step`` also
  sums the squared error for the RMSE;
* the epoch: ``run_single_epoch`` sums the loss on the device and reads it
  once per epoch, where skorch calls ``loss.item()`` (a host sync on a GPU)
  after every batch, and stops a diverging fit with ``TrainingDivergedError``;
* the end: a callback may end the fit after an epoch (``stop_requested_``,
  ``StopTraining``), e.g. ``ConvergenceCheck``, and ``KeepLastEpoch`` makes a
  Ctrl-C keep the last finished epoch.
"""

import contextlib
import copy
import math
import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer, PrintLog
from skorch.exceptions import DeviceWarning
from skorch.history import History
from torch.nn.parallel import DistributedDataParallel

from ._data import HostRows, SparseRows, TensorBatches, validation_size
from ._distributed import collective_device, guarded, share
from ._noise import fill_missing, validation_view

# precision -> the dtype autocast computes in (float32: no autocast).
MIXED_PRECISION = {"bfloat16": torch.bfloat16, "float16": torch.float16}


class TrainingDivergedError(ValueError):
    """The training loss became NaN or infinite.

    ``fit`` and ``partial_fit`` raise it with the epoch and batch where it
    happened, and leave the estimator as it was before the call. Usual
    cures: a lower ``learning_rate``, or scaled data. A ``ValueError``.

    See Also
    --------
    DenoisingAutoencoder.fit : Raises it when the loss diverges.

    Examples
    --------
    >>> from skdae import TrainingDivergedError
    >>> issubclass(TrainingDivergedError, ValueError)
    True
    """


class StopTraining(Exception):
    """Raised by a callback to end the fit early (skorch uses KeyboardInterrupt,
    which would be indistinguishable from the user's Ctrl-C)."""


class ConvergenceCheck(Callback):
    """End the fit once ``monitor`` has stopped improving (MLPRegressor's test),
    or after ``max_epochs`` epochs.

    An epoch whose ``monitor`` value is not below the best so far minus
    ``tol`` counts as one without improvement; after ``n_iter_no_change`` such
    epochs in a row the fit has converged. (``MLPRegressor`` waits for one
    more.) Only the epochs of the current call count (from ``first_epoch`` of
    the history on), and the test reads the history alone, so a fit resumed
    from a checkpoint stops where the uninterrupted one would have.

    The fit ends after every callback has seen the epoch (the net's
    ``stop_requested_``), so the last epoch is logged and checkpointed too.

    Parameters
    ----------
    monitor : str, default="train_loss"
        The history key to watch ("valid_loss" with early stopping).
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    load_best : bool, default=False
        At the end of the fit, restore the weights of the epoch with the
        lowest ``monitor`` (early stopping's best epoch); the first of equals.
    first_epoch : int, default=0
        History index of the first epoch of this call (a warm start's earlier
        epochs are not compared with).
    max_epochs : int or None, default=None
        The most epochs of this call (from ``first_epoch`` on), counted in the
        history: a fit resumed from a checkpoint runs only what is left.
    stop_at_convergence : bool, default=True
        False: only ``max_epochs`` ends the fit (``partial_fit``).
    """

    def __init__(
        self,
        monitor="train_loss",
        n_iter_no_change=10,
        tol=1e-4,
        load_best=False,
        first_epoch=0,
        max_epochs=None,
        stop_at_convergence=True,
    ):
        self.monitor = monitor
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.load_best = load_best
        self.first_epoch = first_epoch
        self.max_epochs = max_epochs
        self.stop_at_convergence = stop_at_convergence

    def on_train_begin(self, net, **kwargs):
        self.best_epoch_, self.best_weights_ = None, None
        if self.finished(net.history):
            net.stop_requested_ = True  # a resumed fit that had already ended

    def finished(self, history):
        """Whether the fit is over: converged, or ``max_epochs`` epochs ran."""
        ran = len(history) - self.first_epoch
        if self.max_epochs is not None and ran >= self.max_epochs:
            return True
        return self.stop_at_convergence and self.converged(history)

    def progress(self, history):
        """``(best epoch index, epochs without improvement)`` over ``history``'s scores."""
        best, best_epoch, no_change = math.inf, None, 0
        for index, epoch in enumerate(history[self.first_epoch :], start=self.first_epoch):
            score = epoch[self.monitor]
            no_change = no_change + 1 if score > best - self.tol else 0
            if score < best:
                best, best_epoch = score, index
        return best_epoch, no_change

    def converged(self, history):
        return self.progress(history)[1] >= self.n_iter_no_change

    def on_epoch_end(self, net, **kwargs):
        best_epoch, no_change = self.progress(net.history)
        if self.load_best and best_epoch == len(net.history) - 1:
            self.best_epoch_ = best_epoch
            self.best_weights_ = {
                k: v.detach().clone() for k, v in net.module_.state_dict().items()
            }
        if self.stop_at_convergence and no_change >= self.n_iter_no_change:
            if net.verbose:
                print(
                    f"Converged: {self.monitor} has not improved by tol={self.tol} "
                    f"for {self.n_iter_no_change} epochs."
                )
            net.stop_requested_ = True
        elif self.finished(net.history):
            net.stop_requested_ = True

    def on_train_end(self, net, **kwargs):
        self.restore_best(net)

    def restore_best(self, net):
        """With ``load_best``, put the best epoch's weights into the module."""
        best_epoch = self.progress(net.history)[0] if self.load_best else None
        if best_epoch is not None and best_epoch != len(net.history) - 1:
            if self.best_epoch_ == best_epoch:
                net.module_.load_state_dict(self.best_weights_)
            elif "checkpoint" in dict(net.callbacks_):
                # The best epoch ran before a resume: its weights are in the checkpoint.
                dict(net.callbacks_)["checkpoint"].load_best(net)
            else:
                best_epoch = None
            if best_epoch is not None and net.verbose:
                print(f"Restored the weights of epoch {best_epoch + 1}, the best {self.monitor}.")
        # A copy of the weights has no place in a pickle (nor a CUDA one on a CPU machine).
        self.best_epoch_, self.best_weights_ = None, None


class KeepLastEpoch(Callback):
    """On Ctrl-C, keep the weights of the last finished epoch and say so.

    skorch ends the fit on ``KeyboardInterrupt`` with the weights of the
    interrupted batch; this callback (the first of the net's own) keeps a copy
    of the weights at the end of every epoch (~1 ms for the seed's model). On
    a Ctrl-C anywhere in the loop (``DenoisingNet.ctrl_c_``) it puts that copy
    back, cuts the history back to that epoch and sets the net's
    ``interrupted_`` to the number of finished epochs. Interrupted before any
    epoch finished, the ``KeyboardInterrupt`` goes on to the caller.
    """

    def on_train_begin(self, net, **kwargs):
        self.snapshot_, self.snapshot_epochs_ = None, len(net.history)

    def on_epoch_end(self, net, **kwargs):
        self.snapshot_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        self.snapshot_epochs_ = len(net.history)

    def on_train_end(self, net, **kwargs):
        snapshot, epochs = self.snapshot_, self.snapshot_epochs_
        self.snapshot_ = None  # no copy of the weights in a pickle
        if not net.ctrl_c_:
            return
        if snapshot is None:
            raise KeyboardInterrupt  # not one epoch finished: nothing worth keeping
        net.module_.load_state_dict(snapshot)
        while len(net.history) > epochs:
            net.history.pop()  # the unfinished epoch
        net.interrupted_ = len(net.history)


class BestLoss(Callback):
    """Record ``train_loss_best`` and ``valid_loss_best`` after each epoch, as
    skorch's own nets do (its ``PassthroughScoring``): True when the epoch's loss
    is below every earlier one of the history. skorch's callbacks read them
    (``Checkpoint(monitor="train_loss_best")``, the default ``valid_loss_best``),
    and ``PrintLog`` highlights the best epochs.
    """

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        for key in ("train_loss", "valid_loss"):
            if key not in history[-1]:
                continue
            earlier = [epoch[key] for epoch in history[:-1] if key in epoch]
            history.record(f"{key}_best", bool(history[-1][key] < min(earlier, default=math.inf)))


def _raised_by_early_stopping(exception):
    """Whether ``exception`` was raised by a ``skorch.callbacks.EarlyStopping``."""
    traceback = exception.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return isinstance(traceback.tb_frame.f_locals.get("self"), EarlyStopping)


class DenoisingNet(NeuralNet):
    """skorch net for autoencoders trained on corrupted inputs.

    Parameters (beyond ``NeuralNet``'s)
    -----------------------------------
    corruption : callable or None
        ``corruption(batch, generator) -> noisy batch``; None trains a plain
        autoencoder.
    missing : bool, default=False
        The data holds missing values (NaN): the module sees them as the noise
        fills them (0 as masking noise hides a value; ``skdae._noise.fill_holes``)
        and the loss counts the observed values only. False skips both (the
        data was checked to hold none).
    generator : torch.Generator or None
        On the training device; draws the batch order, the noise and the
        validation split.
    validation_fraction : float, default=0.0
        Fraction of the rows held out (drawn by ``generator``) to compute
        ``valid_loss`` and ``valid_rmse`` after each epoch; 0 holds out none.
    output_activation : callable or None
        Maps the module's output (logits) to a reconstruction, for the RMSE.
    split_seed : int or None
        Seeds the draw of the validation rows, the same for every call of a
        fit (a resumed or warm-started fit validates on the rows it held out
        before); None draws them from ``generator``.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        The forward pass's precision in training and validation (see
        ``MIXED_PRECISION``); weights, Adam's state and the loss stay float32,
        and float16 scales the loss (``torch.amp.GradScaler``).
    process_group : torch.distributed.ProcessGroup or None
        Train data-parallel over this group (``skdae._distributed``): every rank
        draws the same global batches and corrupts them with the same noise,
        then computes its share of each through ``DistributedDataParallel``;
        the epoch's sums are added over the ranks. None trains alone.
    """

    missing = False  # nets pickled before missing values were allowed

    def __init__(
        self,
        module,
        *args,
        corruption=None,
        missing=False,
        generator=None,
        validation_fraction=0.0,
        output_activation=None,
        split_seed=None,
        precision="float32",
        process_group=None,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train", TensorBatches)
        kwargs.setdefault("iterator_valid", TensorBatches)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("train_split", None)
        super().__init__(module, *args, **kwargs)
        self.corruption = corruption
        self.missing = missing
        self.generator = generator
        self.validation_fraction = validation_fraction
        self.output_activation = output_activation
        self.split_seed = split_seed
        self.precision = precision
        self.process_group = process_group

    def get_default_callbacks(self):
        # skorch's defaults average per-batch losses that we no longer record.
        return [
            ("keep_last_epoch", KeepLastEpoch()),
            ("epoch_timer", EpochTimer()),
            ("best_loss", BestLoss()),
            ("print_log", PrintLog(keys_ignored=["zero_fraction"])),
        ]

    def get_dataset(self, X, y=None):
        if isinstance(X, (torch.Tensor, SparseRows, HostRows)):
            return X
        return super().get_dataset(X, y)

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.grad_scaler_ = None
        if self.precision == "float16":
            self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type)
            # The loss scale a previous call settled on (warm start, partial_fit chunk):
            # starting again at 2**16 would skip batches until it has come down.
            state = getattr(self, "grad_scaler_state_", None)
            if state:
                self.grad_scaler_.load_state_dict(state)
        self.ddp_ = None
        if self.process_group is not None:
            # Broadcasts rank 0's weights; averages the gradients in backward.
            cuda = torch.device(self.device).type == "cuda"
            device_ids = [torch.device(self.device)] if cuda else None
            ddp = guarded(
                DistributedDataParallel,
                self.module_,
                device_ids=device_ids,
                process_group=self.process_group,
            )
            # Not one of skorch's components (those it saves, moves and re-creates):
            # a wrapper of module_ for this call only.
            object.__setattr__(self, "ddp_", ddp)
        self.stop_requested_ = False  # set by a callback to end the fit
        self.stopped_early_ = False  # skorch's EarlyStopping ended it
        self.ctrl_c_ = False  # the loop ended by KeyboardInterrupt
        self.interrupted_ = None  # set by KeepLastEpoch on Ctrl-C

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop, which a callback may end after any epoch (``StopTraining``)."""
        if self.stop_requested_:
            return self  # a callback found the fit over before it began (a resumed one)
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except StopTraining:
            return self
        except KeyboardInterrupt:
            self.ctrl_c_ = True  # skorch's partial_fit swallows it; KeepLastEpoch acts on it
            raise

    def __setstate__(self, state):
        # skorch warns twice when a GPU-trained net is unpickled without a GPU;
        # the estimator says it once, in words about the model.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)

    def notify(self, method_name, **cb_kwargs):
        try:
            super().notify(method_name, **cb_kwargs)
        except KeyboardInterrupt as interrupt:
            # skorch's EarlyStopping ends a fit by raising KeyboardInterrupt: a stop
            # the user asked for, not a Ctrl-C.
            if method_name == "on_epoch_end" and _raised_by_early_stopping(interrupt):
                self.stopped_early_ = True
                raise StopTraining from None
            raise
        # A callback asks for the end of the fit (convergence); it ends once every
        # callback, the log line and the checkpoint included, has seen the epoch.
        if method_name == "on_epoch_end" and self.stop_requested_:
            raise StopTraining

    def get_split_datasets(self, X, y=None, **fit_params):
        data = self.get_dataset(X)
        if not self.validation_fraction:
            return data, None
        n_valid = validation_size(len(data), self.validation_fraction)
        if n_valid >= len(data):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {len(data)} rows "
                "leaves no rows to train on."
            )
        generator = self.generator
        if self.split_seed is not None:
            generator = torch.Generator(device=data.device).manual_seed(self.split_seed)
        order = torch.randperm(len(data), generator=generator, device=data.device)
        take = data.subset if isinstance(data, (SparseRows, HostRows)) else data.__getitem__
        return take(order[n_valid:]), take(order[:n_valid])

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training and isinstance(iterator, TensorBatches):
            iterator.generator = self.generator
        return iterator

    def reconstruction(self, logits):
        """The reconstruction the module's output (logits) stands for."""
        return logits if self.output_activation is None else self.output_activation(logits)

    def corrupt(self, batch):
        """The batch the module sees in training: ``corruption(batch)``, its
        missing values (and any the noise carried from other rows) filled."""
        noisy = batch if self.corruption is None else self.corruption(batch, self.generator)
        return fill_missing(noisy) if self.missing else noisy

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if not self.missing or getattr(self.criterion_, "counts_observed", False):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        # The mean over the observed values only: a hole is no target.
        observed = ~torch.isnan(y_true)
        target = torch.where(observed, y_true, 0.0)
        if isinstance(self.criterion_, torch.nn.BCEWithLogitsLoss):
            each = F.binary_cross_entropy_with_logits(y_pred, target, reduction="none")
        else:
            each = F.mse_loss(y_pred, target, reduction="none")
        return (each * observed).sum() / observed.sum().clamp_min(1)

    def _autocast(self):
        """The forward pass's mixed precision: bfloat16/float16 matrix products under
        ``torch.autocast``, everything else (weights, Adam, the loss) in float32."""
        dtype = MIXED_PRECISION.get(self.precision)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=dtype)

    def train_step_single(self, batch, **fit_params):
        if not self.module_.training:  # walking the module tree every batch costs ~3%
            self._set_training(True)
        noisy = self.corrupt(batch)
        if self.ddp_ is None:
            with self._autocast():
                logits = self.infer(noisy, **fit_params)
            loss = step_loss = self.get_loss(logits.float(), batch, X=batch, training=True)
        else:
            # The whole global batch was corrupted (the noise stream of a single
            # process, and swap noise draws from every row); this rank computes
            # its share. DDP averages the ranks' gradients, so each rank's mean
            # is weighted by its share of the batch: the average is then the
            # gradient of the global batch's mean loss.
            start, stop = share(len(batch), self.process_group)
            with self._autocast():
                logits = self.ddp_(noisy[start:stop])
            local = self.get_loss(logits.float(), batch[start:stop], X=batch, training=True)
            weight = (stop - start) / len(batch)
            step_loss = local * weight  # this rank's part of the batch's mean
            loss = step_loss * dist.get_world_size(self.process_group)
        if self.grad_scaler_ is None:
            loss.backward()
        else:
            # float16: the loss scaled up so that small gradients do not flush to 0, then
            # the gradients scaled back before anyone (the monitor, Adam) reads them.
            self.grad_scaler_.scale(loss).backward()
            self.grad_scaler_.unscale_(self.optimizer_)
        return {"loss": step_loss, "y_pred": logits}

    def _step_optimizer(self, step_fn):
        if self.grad_scaler_ is None:
            return super()._step_optimizer(step_fn)
        step_fn()  # forward, backward, on_grad_computed
        self.grad_scaler_.step(self.optimizer_)  # skipped when a gradient overflowed
        self.grad_scaler_.update()
        return None

    def validation_step(self, batch, **fit_params):
        if self.module_.training:
            self._set_training(False)
        with torch.no_grad():
            rows, weight = batch, 1.0
            if self.process_group is not None:  # this rank's share; summed over ranks
                start, stop = share(len(batch), self.process_group)
                rows, weight = batch[start:stop], (stop - start) / len(batch)
            seen = validation_view(self.corruption, rows, self.missing)  # float32 guesses
            with self._autocast():
                logits = self.infer(seen, **fit_params)
            logits = logits.float()
            loss = self.get_loss(logits, rows, X=rows, training=False) * weight
            squared_error = (self.reconstruction(logits) - rows).square_()
        total = squared_error.nansum() if self.missing else squared_error.sum()
        step = {"loss": loss, "y_pred": logits, "squared_error": total}
        if self.missing:  # the whole batch's observed values (numel without holes): ranks add up
            step["n_values"] = (~torch.isnan(batch)).sum()
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        loss_sum = torch.zeros((), device=self.device)
        squared_error = None
        n_samples = n_values = n_batches = 0
        # On the CPU reading each loss costs nothing, so a diverging fit stops
        # at the batch; on a GPU it would be a sync per batch: the losses stay
        # on the device and are looked at once, at the end of the epoch.
        # Data-parallel: the ranks decide together, at the end of the epoch.
        check_each_batch = (
            training and torch.device(self.device).type == "cpu" and self.process_group is None
        )
        losses = []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            if check_each_batch and not torch.isfinite(loss):
                self._diverged(n_batches)
            elif training:
                losses.append(loss)
            loss_sum += loss * len(batch)
            if "squared_error" in step:
                squared_error = step["squared_error"] + (
                    0 if squared_error is None else squared_error
                )
            n_samples += len(batch)
            n_values += step.get("n_values", batch.numel())  # observed values, with holes
            n_batches += 1
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if self.process_group is not None:
            loss_sum, squared_error = self._sum_over_ranks(loss_sum, squared_error)
        # The host syncs of the epoch: one per recorded number.
        mean_loss = (loss_sum / max(n_samples, 1)).item()
        if training and not math.isfinite(mean_loss):
            # The first non-finite batch loss; if each was finite, their sum overflowed.
            finite = torch.isfinite(torch.stack(losses)) if losses else torch.ones(0, dtype=bool)
            first = int((~finite).nonzero()[0]) if not finite.all() else n_batches - 1
            if self.process_group is not None:  # the same batch named on every rank
                first = self._min_over_ranks(first)
            self._diverged(first)
        self.history.record(prefix + "_loss", mean_loss)
        if squared_error is not None:
            self.history.record(prefix + "_rmse", (squared_error / n_values).sqrt().item())
        self.history.record(prefix + "_batch_count", n_batches)

    def _sum_over_ranks(self, loss_sum, squared_error):
        """The epoch's sums over every rank of the group (one collective)."""
        sums = torch.stack([loss_sum, squared_error if squared_error is not None else loss_sum])
        device = collective_device(self.process_group, self.device)
        sums = sums.to(device)
        guarded(dist.all_reduce, sums, group=self.process_group)
        sums = sums.to(loss_sum.device)
        return sums[0], (sums[1] if squared_error is not None else None)

    def _min_over_ranks(self, value):
        device = collective_device(self.process_group, self.device)
        tensor = torch.tensor([value], dtype=torch.int64, device=device)
        guarded(dist.all_reduce, tensor, op=dist.ReduceOp.MIN, group=self.process_group)
        return int(tensor.item())

    def _diverged(self, batch_index):
        raise TrainingDivergedError(
            f"the training loss became NaN or infinite in epoch {len(self.history)}, batch "
            f"{batch_index + 1}: the fit diverged. Try a lower learning rate (it is {self.lr}), "
            "or scale the data."
        )


def restore(net, weights=None, optimizer=None, param_groups=None, history=None):
    """Put a fitted state into an initialized ``net``: the module's ``weights``, Adam's
    per-parameter ``optimizer`` state (with its ``param_groups``, else the net's
    own: the current learning rate), the ``history`` (copied). The one way a
    rebuilt model, a warm start and a resumed checkpoint take their state."""
    if weights is not None:
        net.module_.load_state_dict(weights, strict=True)
    if optimizer is not None:
        state = net.optimizer_.state_dict()
        state["state"] = optimizer
        if param_groups is not None:
            state["param_groups"] = param_groups
        net.optimizer_.load_state_dict(state)
    if history is not None:
        net.history = History(copy.deepcopy(list(history)))
