"""skorch callbacks that skdae uses; each one is a side effect of the fit loop."""

import sys

from skorch.callbacks import Callback


class ProgressBar(Callback):
    """A tqdm bar over the batches of each epoch.

    Unlike skorch's ``ProgressBar`` it shows no running loss: reading the loss
    after each batch would force a host-device sync per batch on a GPU.

    Parameters
    ----------
    file : writable, default=sys.stderr
    """

    def __init__(self, file=None):
        self.file = file

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        from tqdm.auto import tqdm

        total = -(-len(dataset_train) // net.batch_size) if dataset_train is not None else None
        epoch = len(net.history)
        self.pbar_ = tqdm(
            total=total,
            desc=f"epoch {epoch}",
            leave=False,
            file=self.file or sys.stderr,
            disable=not net.verbose,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.pbar_.update(1)

    def on_epoch_end(self, net, **kwargs):
        self.pbar_.close()
