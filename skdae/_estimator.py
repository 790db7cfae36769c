"""DenoisingAutoencoder: the fully connected denoising autoencoder of the seed."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder, positive_ints
from ._modules import ACTIVATIONS, MLPAutoencoder


class DenoisingAutoencoder(BaseAutoencoder):
    """Denoising autoencoder with a fully connected encoder and decoder.

    ``fit`` trains a PyTorch autoencoder (through skorch) to reconstruct the
    clean rows of X from copies corrupted with fresh Gaussian noise at every
    batch; ``transform`` returns the latent code, the last of
    ``hidden_units`` wide. Runs on the GPU when there is one, else on the CPU.

    Training computes in float32 whatever X's dtype: what torch users expect,
    and about twice as fast as float64. The outputs of ``transform``,
    ``inverse_transform``, ``reconstruct`` and ``score_samples`` come in X's
    float dtype.

    Parameters
    ----------
    hidden_units : int or sequence of int, default=(512, 256, 32)
        Encoder widths; the last is the code size (the width of the
        features), e.g. ``(512, 256, 100)`` for 100 features. An int is a
        single layer. The decoder mirrors them back to the input width. The
        seed's network is ``(128, 64, 32)`` with ReLU; the default, wider one
        gives better features (see the README's quality tables).
    activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh", \
"sigmoid"}, default="gelu"
        Activation after every hidden layer (the code layer's is
        ``code_activation``). The decoder's last layer is linear. ReLU-like
        activations get He init, the saturating ones Glorot init. GELU, unlike
        ReLU, leaves no unit always 0.
    dropout : float in [0, 1), default=0.0
        Probability of dropping a unit after each hidden layer, in training.
    code_activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", \
"tanh", "sigmoid", "linear"} or None, default=None
        Activation of the code layer, the features ``transform`` returns.
        None: ``activation``, as in the seed. ``"linear"``: none (and no
        dropout after it), so that no code unit can be always 0.
    batch_norm : bool, default=False
        Batch normalisation between each hidden layer and its activation
        (those layers then have no bias). Training batches of one row cannot
        be normalised: a last batch of one row joins the one before it.
    noise_factor : float >= 0, default=0.5
        Strength of the corruption; 0 trains a plain autoencoder. For
        ``noise_type="gaussian"`` the standard deviation of the noise: with
        ``loss_ == "bce"`` the noisy input is ``clip(x + noise_factor * N(0, 1),
        0, 1)``; with ``"mse"`` the noise is scaled by each feature's standard
        deviation and not clipped. For ``"masking"``, ``"salt_and_pepper"``
        and ``"swap"`` the probability, below 1, that each value is corrupted.
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap"}, \
default="gaussian"
        The corruption: additive Gaussian noise (the seed's); masking sets
        values to 0; salt and pepper sets them to their low or high bound (0 or
        1 for data in [0, 1], else each feature's training minimum or maximum),
        each half of the time; swap replaces a value by the same feature's
        value in another random row of the batch (for tabular data: a
        corrupted value is always a plausible value of its feature).
    loss : {"auto", "bce", "mse"}, default="auto"
        ``"bce"``: sigmoid cross-entropy on the logits (X must be in [0, 1]);
        ``"mse"``: squared error on a linear output; ``"auto"``: bce when X
        is in [0, 1], else mse.
    weight_decay : float >= 0, default=1e-5
        L2 penalty on the weights (not the biases).
    learning_rate : float > 0, default=1e-3
        Adam's initial learning rate.
    lr_decay_steps : int >= 1, default=1000
        The learning rate is multiplied by ``lr_decay_rate`` every
        ``lr_decay_steps`` batches (the seed's staircase decay).
    lr_decay_rate : float in (0, 1], default=0.96
        1 keeps the learning rate constant.
    batch_size : int >= 1 or "auto", default="auto"
        Rows per training batch. "auto": the number of training rows (less
        the validation rows with ``early_stopping``) // 50, between 32 and
        256, so that every epoch has enough steps for the convergence test
        (256 from 12,800 rows on; 32 below 1,600).
    max_epochs : int >= 1, default=200
        The most passes over the training data. ``fit`` stops earlier, once
        it has converged (see ``tol``); reaching ``max_epochs`` first raises a
        ``ConvergenceWarning``.
    device : str or torch.device, default="auto"
        ``"auto"`` trains on ``"cuda"`` when torch sees a GPU, else on
        ``"cpu"``; asking for ``"cuda"`` without one raises at ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds everything of one fit (initial weights, batch order, noise,
        dropout) through a ``torch.Generator`` of its own; torch's and numpy's
        global random states are left as they were. The same int gives the same
        model, bit for bit, on the CPU. None draws fresh entropy.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar and prints a line per epoch.
    compile : bool, default=False
        Train through ``torch.compile`` (the training step only; evaluation
        runs the plain module). Costs a compilation at the start of each fit;
        see the README's speed table before switching it on.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the
        weights of the best epoch. Off: every row trains, and the fit stops
        when the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs (``MLPRegressor``'s rules).
    validation_fraction : float in (0, 1), default=0.1
        Rows held out when ``early_stopping``; ``valid_loss`` and
        ``valid_rmse`` are then recorded per epoch.
    n_iter_no_change : int >= 1, default=10
        Epochs in a row without improvement after which the fit has
        converged and stops. Only the epochs of the current call count; a
        ``partial_fit`` call (one epoch) never stops by it.
    tol : float >= 0, default=1e-4
        Improvement of the loss (the training loss, or the validation loss
        with ``early_stopping``) below the best so far that counts as one. 0
        stops only when the loss no longer falls at all.
    monitor : bool, default=True
        Record per epoch the learning rate, the gradient norm, and per hidden
        layer the fraction of zero activations (``dead_units``: the largest
        fraction of always-zero units), as the seed's summaries did.
    tensorboard_dir : str or path-like, default=None
        Also write the history, weight and activation histograms there for
        TensorBoard (needs the ``tensorboard`` package).
    callbacks : list of skorch callbacks or (name, callback), default=None
        Extra side effects of the fit, e.g.
        ``skdae.callbacks.ReconstructionImages``.
    warm_start : bool, default=False
        ``fit`` on a fitted estimator continues from its weights, Adam's state
        and the learning-rate schedule for up to ``max_epochs`` more epochs,
        stopping at convergence (X must have the same features); False starts
        afresh. ``partial_fit`` always continues.
    checkpoint_dir : str or path-like, default=None
        After every epoch, write the weights, Adam's state, the random stream
        and the history to ``checkpoint_dir/last`` (and the best epoch's to
        ``best`` with early stopping). A fit with the same parameters and
        number of features resumes from ``last``: a crash costs at most one
        epoch.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when X has string column
        names.
    net_ : skdae._net.DenoisingNet
        The fitted skorch net; ``net_.module_`` is the ``nn.Module``.
    history_ : skorch.History
        Per-epoch records of the fit (``train_loss``, ``dur``, ...).
    loss_ : {"bce", "mse"}
        The loss used, ``loss`` with "auto" resolved.
    device_ : str
        The device the model was trained on and evaluates on.
    n_iter_ : int
        Epochs trained, all calls together (``warm_start`` and
        ``partial_fit`` add to it); fewer than ``max_epochs`` after a fit that
        converged.

    See Also
    --------
    sklearn.decomposition.PCA : Linear autoencoding by projection.
    sklearn.neural_network.BernoulliRBM : Another unsupervised feature learner.

    Notes
    -----
    Network as in the seed (Vincent et al. 2008 style denoising autoencoder),
    which ``hidden_units=(128, 64, 32), activation="relu", batch_size=256``
    reproduces:
    ``Linear -> activation [-> dropout]`` through ``hidden_units``, then the
    mirrored decoder ending in a linear layer; Adam with staircase learning
    rate decay; L2 weight decay. Evaluation methods run the module in eval mode
    (no dropout, no noise), in batches, without autograd.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> X = load_digits().data / 16.0
    >>> dae = DenoisingAutoencoder(hidden_units=(32, 8), max_epochs=3, random_state=0)
    >>> codes = dae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> dae.loss_
    'bce'
    >>> dae.inverse_transform(codes).shape
    (1797, 64)
    >>> bool(dae.score(X) < 0)
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "hidden_units": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "code_activation": [StrOptions({*ACTIVATIONS, "linear"}), None],
        "batch_norm": ["boolean"],
    }

    def __init__(
        self,
        hidden_units=(512, 256, 32),
        *,
        activation="gelu",
        dropout=0.0,
        code_activation=None,
        batch_norm=False,
        noise_factor=0.5,
        noise_type="gaussian",
        loss="auto",
        weight_decay=1e-5,
        learning_rate=1e-3,
        lr_decay_steps=1000,
        lr_decay_rate=0.96,
        batch_size="auto",
        max_epochs=200,
        device="auto",
        random_state=None,
        verbose=0,
        compile=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        monitor=True,
        tensorboard_dir=None,
        callbacks=None,
        warm_start=False,
        checkpoint_dir=None,
    ):
        super().__init__(
            noise_factor=noise_factor,
            noise_type=noise_type,
            loss=loss,
            weight_decay=weight_decay,
            learning_rate=learning_rate,
            lr_decay_steps=lr_decay_steps,
            lr_decay_rate=lr_decay_rate,
            batch_size=batch_size,
            max_epochs=max_epochs,
            device=device,
            random_state=random_state,
            verbose=verbose,
            compile=compile,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            monitor=monitor,
            tensorboard_dir=tensorboard_dir,
            callbacks=callbacks,
            warm_start=warm_start,
            checkpoint_dir=checkpoint_dir,
        )
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.code_activation = code_activation
        self.batch_norm = batch_norm

    def _hidden_units(self):
        return positive_ints(self.hidden_units, "hidden_units", "the encoder widths")

    def _check_params(self, X):
        super()._check_params(X)
        self._hidden_units()

    def _build_module(self, n_features, device):
        return MLPAutoencoder(
            n_features,
            self._hidden_units(),
            activation=self.activation,
            dropout=self.dropout,
            code_activation=self.code_activation,
            batch_norm=self.batch_norm,
            device=device,
        )
