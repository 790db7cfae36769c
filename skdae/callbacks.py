"""skorch callbacks that skdae uses; each one is a side effect of the fit loop.

They read the net's history and module, and read values from the device only
at the end of an epoch (a few numbers, one per monitored layer), never per
batch, so that monitoring stays cheap on a GPU.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from ._distributed import writes
from ._modules import ACTIVATIONS, evaluating, layer_table
from ._noise import fill_holes
from .plotting import plot_reconstructions


class ProgressBar(Callback):
    """The table of layers at the start, then a tqdm bar over each epoch's batches.

    Unlike skorch's ``ProgressBar`` it shows no running loss: reading the loss
    after each batch would force a host-device sync per batch on a GPU.

    Parameters
    ----------
    file : writable, default=None
        Where the bar is drawn; None: ``sys.stderr`` at the time of the fit.

    See Also
    --------
    skorch.callbacks.ProgressBar : The bar of skorch, which shows the running loss.

    Examples
    --------
    ``verbose=1`` adds one to every fit:

    >>> from skdae import DenoisingAutoencoder
    >>> dae = DenoisingAutoencoder(verbose=1)
    """

    def __init__(self, file=None):
        self.file = file

    def on_train_begin(self, net, X=None, **kwargs):
        # Once per fit, the seed's table of layers and parameter counts.
        if net.verbose and hasattr(X, "shape"):
            print(layer_table(net.module_, X.shape[1]))

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):

        # The batches the net will really draw (batch norm merges a last batch of one row).
        total = (
            len(net.get_iterator(dataset_train, training=True))
            if dataset_train is not None
            else None
        )
        epoch = len(net.history)
        file = self.file or sys.stderr
        self.pbar_ = tqdm(
            total=total,
            desc=f"epoch {epoch}",
            leave=False,
            file=file,
            # On a pipe or a file, a bar's redraws would glue fragments into the log.
            disable=not net.verbose or not (hasattr(file, "isatty") and file.isatty()),
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.pbar_.update(1)

    def on_epoch_end(self, net, **kwargs):
        self.pbar_.close()


class StaircaseDecay(Callback):
    """The seed's learning-rate schedule: ``lr * rate ** floor(step / steps)``.

    ``step`` counts the batches trained so far, taken from the history at the
    start of each fit, so the schedule carries across ``warm_start`` fits,
    ``partial_fit`` calls, pickling and ``skdae.load`` (skorch's LRScheduler
    rebuilds a per-batch schedule from the number of *epochs* on a warm start).

    Parameters
    ----------
    steps : int
        Batches between two decays.
    rate : float
        Factor applied at each decay.

    See Also
    --------
    skdae.DenoisingAutoencoder : Its ``lr_decay_steps`` and ``lr_decay_rate`` set this schedule.

    Examples
    --------
    Every fit has one, set by the estimator's parameters:

    >>> from skdae import DenoisingAutoencoder
    >>> dae = DenoisingAutoencoder(learning_rate=1e-3, lr_decay_steps=500, lr_decay_rate=0.9)
    """

    def __init__(self, steps, rate):
        self.steps = steps
        self.rate = rate

    def on_train_begin(self, net, **kwargs):
        self.step_ = sum(epoch.get("train_batch_count", 0) for epoch in net.history)
        self._apply(net)

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.step_ += 1
            # rate 1: no schedule, and nothing to overwrite a skorch LRScheduler's rate
            if self.step_ % self.steps == 0 and self.rate != 1:
                self._apply(net)

    def _apply(self, net):
        lr = net.lr * self.rate ** (self.step_ // self.steps)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr


def activation_layers(module):
    """List the ``(name, layer)`` of every hidden activation of ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        E.g. a fitted estimator's ``net_.module_``.

    Returns
    -------
    layers : list of (str, torch.nn.Module)
        The activation layers (ReLU, GELU, ...) and their names in ``module``.

    See Also
    --------
    probe_activations : Their outputs on some rows.

    Examples
    --------
    >>> from torch import nn
    >>> from skdae.callbacks import activation_layers
    >>> module = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 4))
    >>> activation_layers(module)
    [('1', ReLU())]
    """
    kinds = tuple(ACTIVATIONS.values())
    return [(name, layer) for name, layer in module.named_modules() if isinstance(layer, kinds)]


def probe_activations(module, probe):
    """Compute the output of every hidden activation of ``module`` on ``probe``.

    The module runs in evaluation mode (no dropout), without gradients.

    Parameters
    ----------
    module : torch.nn.Module
        E.g. a fitted estimator's ``net_.module_``.
    probe : torch.Tensor of shape (n_rows, n_features)
        The rows to run, on the module's device.

    Returns
    -------
    outputs : dict of str to torch.Tensor
        Each activation layer's name and its output on ``probe``.

    See Also
    --------
    activation_layers : The layers it reads.
    TrainingMonitor : Counts the zeros in these outputs after every epoch.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skdae.callbacks import probe_activations
    >>> module = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 4))
    >>> outputs = probe_activations(module, torch.zeros(2, 4))
    >>> sorted(outputs), tuple(outputs["1"].shape)
    (['1'], (2, 3))
    """
    outputs = {}
    hooks = [
        layer.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
        for name, layer in activation_layers(module)
    ]
    try:
        with evaluating(module), torch.no_grad():
            module(probe)
    finally:
        for hook in hooks:
            hook.remove()
    return outputs


def _probe_rows(net, X, size):
    """The first ``size`` training rows, holes filled as the network sees them;
    None when X cannot be sliced."""
    if not hasattr(X, "shape"):
        return None
    rows = X[:size]
    return (
        fill_holes(net.corruption, torch.as_tensor(rows))
        if getattr(net, "missing", False)
        else rows
    )


class TrainingMonitor(Callback):
    """What the seed logged, in the history of each epoch.

    * ``lr``: the learning rate at the end of the epoch;
    * ``grad_norm``: the global gradient norm, averaged over the epoch's
      batches (accumulated on the device, read once per epoch);
    * ``zero_fraction``: per hidden activation layer, the fraction of zero
      outputs on a fixed probe of training rows -- near 1 for a layer whose
      ReLUs died;
    * ``dead_units``: the largest fraction of units, over the layers, that
      are zero for every probe row.

    Parameters
    ----------
    probe_size : int, default=512
        Training rows used for the activation statistics.

    See Also
    --------
    skdae.plotting.plot_learning_curve : Draws the training loss of the history.
    probe_activations : Computes the activations it counts.

    Examples
    --------
    ``monitor=True`` (the default) adds one with a probe of 512 rows; for
    another probe size, switch that off and pass your own:

    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.callbacks import TrainingMonitor
    >>> dae = DenoisingAutoencoder(monitor=False, callbacks=[TrainingMonitor(probe_size=2048)])
    """

    def __init__(self, probe_size=512):
        self.probe_size = probe_size

    def on_train_begin(self, net, X=None, **kwargs):
        self.probe_ = _probe_rows(net, X, self.probe_size)

    def on_epoch_begin(self, net, **kwargs):
        self.grad_norm_sum_ = torch.zeros((), device=net.device)
        self.n_steps_ = 0

    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        if not training:
            return
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        if grads:
            norms = torch._foreach_norm(grads)
            self.grad_norm_sum_ += torch.linalg.vector_norm(torch.stack(norms))
            self.n_steps_ += 1

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        history.record("lr", net.optimizer_.param_groups[0]["lr"])
        if self.n_steps_:
            history.record("grad_norm", (self.grad_norm_sum_ / self.n_steps_).item())
        if self.probe_ is not None and len(self.probe_):
            outputs = probe_activations(net.module_, self.probe_)
            zero = {name: (out == 0).float().mean().item() for name, out in outputs.items()}
            dead = [(out == 0).all(dim=0).float().mean().item() for out in outputs.values()]
            history.record("zero_fraction", zero)
            history.record("dead_units", max(dead) if dead else 0.0)

    def on_train_end(self, net, **kwargs):
        self.probe_ = None  # no training data in the fitted model


class TensorBoard(Callback):
    """Write the history and histograms of a fit for TensorBoard.

    Per epoch: every numeric history entry as a scalar (``zero_fraction`` per
    layer too) and, with ``histograms``, a histogram of each layer's weights
    and of each hidden activation on the first 512 training rows -- the
    seed's summaries. Needs the ``tensorboard`` package.

    Parameters
    ----------
    log_dir : path-like
        The folder TensorBoard reads (``tensorboard --logdir``).
    histograms : bool, default=True
        False writes the scalars only (histograms cost a host copy of every
        weight per epoch).

    See Also
    --------
    TrainingMonitor : Records the statistics this writes.
    torch.utils.tensorboard.writer.SummaryWriter : What writes the files.

    Examples
    --------
    ``tensorboard_dir="runs/x"`` adds one with histograms; for scalars only,
    pass your own:

    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.callbacks import TensorBoard
    >>> dae = DenoisingAutoencoder(callbacks=[TensorBoard("runs/scalars", histograms=False)])
    """

    def __init__(self, log_dir, histograms=True):
        self.log_dir = log_dir
        self.histograms = histograms

    def on_train_begin(self, net, X=None, **kwargs):
        from torch.utils.tensorboard import SummaryWriter

        # In a data-parallel fit, rank 0 alone writes the logs.
        self.writer_ = SummaryWriter(log_dir=str(self.log_dir)) if writes(net) else None
        self.probe_ = _probe_rows(net, X, 512)

    def on_epoch_end(self, net, **kwargs):
        if self.writer_ is None:
            return
        epoch = net.history[-1, "epoch"]
        for key, value in net.history[-1].items():
            if key in ("epoch", "batches") or key.endswith("_batch_count"):
                continue
            if isinstance(value, dict):
                for name, item in value.items():
                    self.writer_.add_scalar(f"{key}/{name}", item, epoch)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer_.add_scalar(key, value, epoch)
        if self.histograms:
            for name, param in net.module_.named_parameters():
                self.writer_.add_histogram(f"weights/{name}", param.detach().cpu(), epoch)
            if self.probe_ is not None:
                for name, out in probe_activations(net.module_, self.probe_).items():
                    self.writer_.add_histogram(f"activations/{name}", out.cpu(), epoch)
        self.writer_.flush()

    def on_train_end(self, net, **kwargs):
        if self.writer_ is not None:
            self.writer_.close()
        del self.writer_
        self.probe_ = None


class ReconstructionImages(Callback):
    """Draw clean / noisy / reconstructed images after each epoch, and a GIF.

    After each epoch, a PNG grid of the clean images, their noisy copies (the
    same copies every epoch) and the model's reconstruction of the noisy
    ones; at the end of the fit, an animated GIF of all epochs (the seed's
    video). Needs matplotlib and pillow.

    Parameters
    ----------
    images : array-like of shape (n_images, n_features)
        The rows to show, in [0, 1] (e.g. ten test digits).
    image_shape : tuple of int
        Shape of one image, e.g. ``(28, 28)``.
    directory : path-like
        Where ``epoch_001.png``, ... and ``reconstructions.gif`` go.
    gif_seconds_per_frame : float, default=0.5
        How long the GIF shows each epoch.

    See Also
    --------
    skdae.plotting.plot_reconstructions : Draws each picture.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.callbacks import ReconstructionImages
    >>> X = load_digits().data / 16.0
    >>> pictures = ReconstructionImages(X[:10], image_shape=(8, 8), directory="pictures")
    >>> dae = DenoisingAutoencoder(callbacks=[pictures])  # dae.fit(X) writes pictures/
    """

    def __init__(self, images, image_shape, directory, gif_seconds_per_frame=0.5):
        self.images = images
        self.image_shape = image_shape
        self.directory = directory
        self.gif_seconds_per_frame = gif_seconds_per_frame

    def on_train_begin(self, net, **kwargs):
        self.writes_ = writes(net)  # in a data-parallel fit, rank 0 alone draws
        self.frames_ = []
        if not self.writes_:
            return
        self.directory_ = Path(self.directory)
        self.directory_.mkdir(parents=True, exist_ok=True)
        clean = torch.as_tensor(np.asarray(self.images), dtype=torch.float32, device=net.device)
        # The same noisy copies every epoch, drawn once from a generator of
        # their own: the pictures must not disturb the fit's random stream.
        noise_generator = torch.Generator(device=clean.device).manual_seed(0)
        noisy = net.corruption(clean, noise_generator) if net.corruption else clean
        self.clean_, self.noisy_ = clean, noisy

    def on_epoch_end(self, net, **kwargs):
        if not self.writes_:
            return
        with evaluating(net.module_) as module, torch.no_grad():
            out = net.reconstruction(module(self.noisy_))
        epoch = net.history[-1, "epoch"]
        path = self.directory_ / f"epoch_{epoch:03d}.png"
        plot_reconstructions(
            [self.clean_.cpu().numpy(), self.noisy_.cpu().numpy(), out.cpu().numpy()],
            self.image_shape,
            path=path,
            titles=["clean", "noisy", f"epoch {epoch}"],
        )
        self.frames_.append(path)

    def on_train_end(self, net, **kwargs):
        from PIL import Image

        if self.frames_:
            frames = [Image.open(path).convert("P") for path in self.frames_]
            frames[0].save(
                self.directory_ / "reconstructions.gif",
                save_all=True,
                append_images=frames[1:],
                duration=int(self.gif_seconds_per_frame * 1000),
                loop=0,
            )
        self.clean_ = self.noisy_ = None


def write_projector(log_dir, codes, images, labels, image_shape):
    """Write ``codes`` for TensorBoard's embedding projector, with labels and a sprite
    of ``images`` (rows viewed as ``image_shape``)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(log_dir))
    writer.add_embedding(
        torch.as_tensor(codes),
        metadata=None if labels is None else [int(v) for v in labels[: len(codes)]],
        label_img=torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(
            -1, 1, *image_shape
        ),
        tag="test_codes",
    )
    writer.close()


def tensorboard_installed():
    """Whether the optional ``tensorboard`` package is there to write logs."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True
