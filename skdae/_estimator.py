"""DenoisingAutoencoder: the fully connected denoising autoencoder of the seed."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder
from ._modules import MLPAutoencoder, positive_ints


class DenoisingAutoencoder(BaseAutoencoder):
    """Denoising autoencoder with a fully connected encoder and decoder.

    ``fit`` trains a PyTorch autoencoder (through skorch) to reconstruct the
    clean rows of X from copies corrupted with fresh noise (``noise_type``)
    at every batch; ``transform`` returns the latent code, the last of
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
        gives better features (see the documentation's benchmark tables).
    activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh", \
"sigmoid"}, default="gelu"
        Activation after every hidden layer (the code layer's is
        ``code_activation``). The decoder's last layer is linear. ReLU-like
        activations get He init, the saturating ones Glorot init. GELU, unlike
        ReLU, leaves no unit always 0.
    code_activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", \
"tanh", "sigmoid", "linear"} or None, default=None
        Activation of the code layer, the features ``transform`` returns.
        None: ``activation``, as in the seed. ``"linear"``: none (and no
        dropout after it), so that no code unit can be always 0.
    categorical_features : "from_dtype", array-like of int, str or bool, or None, \
default=None
        Which columns of X are categorical, with HistGradientBoostingClassifier's
        meaning: ``"from_dtype"`` (the pandas ``category`` columns, or polars
        ``Categorical`` and ``Enum`` ones), column indices, names, or a boolean
        mask. None: X is a numeric matrix, as it is. Set (even to
        ``"from_dtype"`` on a table without category columns), X is a mixed
        table taken column by column: numeric columns are standardised
        inside, each categorical column is one-hot over the categories seen in
        ``fit`` (an unknown one all zeros, as ``OneHotEncoder(handle_unknown=
        "ignore")``; a missing one a hole, as NaN is for a number) and
        reconstructed by a softmax head of its own with the cross-entropy.
        Each column's loss is measured in units of what predicting its
        training average (numbers) or frequencies (categories) costs, so that
        neither kind drowns the other (``loss_function_`` is ``"table"``).
        Noise acts on whole columns: ``noise_type`` must be ``"swap"`` or
        ``"masking"``. ``reconstruct`` and ``inverse_transform`` return the
        table's kinds (categories, numbers in their units). ``save`` writes
        the columns' encoding beside the weights; the ONNX export refuses such
        a model. See the user guide's "Mixed-type tables".
    feature_layers : {"code", "all"}, default="code"
        What ``transform`` returns: the code, or every hidden layer's
        activations side by side (the encoder's, the code, the decoder's: the
        feature set of the denoising autoencoder that won Porto Seguro's
        competition), ``2 * sum(hidden_units) - hidden_units[-1]`` wide.
    residual : bool, default=False
        Reconstruct a row as the network's input plus the decoder's output
        (whose last layer starts at zero), so the network learns a
        correction of what it is given. Made for ``noise_type="conditional"``,
        whose guesses of the hidden values it then refines
        (``AutoencoderImputer``'s default). Needs ``loss="mse"`` on a numeric
        matrix; ``inverse_transform`` is then undefined (a code alone does not
        say what to add it to) and raises.
    {shared_parameters}

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.
    {shared_attributes}

    See Also
    --------
    ConvDenoisingAutoencoder : The convolutional variant, for images.
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
    >>> dae.loss_function_
    'bce'
    >>> dae.inverse_transform(codes).shape
    (1797, 64)
    >>> bool(dae.score(X) < 0)
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "hidden_units": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "feature_layers": [StrOptions({"code", "all"})],
        "residual": ["boolean"],
    }
    _module_class = MLPAutoencoder

    def __init__(
        self,
        hidden_units=(512, 256, 32),
        *,
        activation="gelu",
        code_activation=None,
        categorical_features=None,
        feature_layers="code",
        residual=False,
        dropout=0.0,
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
        precision="float32",
        distributed="auto",
        data_placement="auto",
    ):
        super().__init__(
            activation=activation,
            dropout=dropout,
            code_activation=code_activation,
            batch_norm=batch_norm,
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
            precision=precision,
            distributed=distributed,
            data_placement=data_placement,
        )
        self.hidden_units = hidden_units
        self.categorical_features = categorical_features
        self.feature_layers = feature_layers
        self.residual = residual

    def _module_spec(self, n_features):
        if self.residual and (self.loss != "mse" or self.categorical_features is not None):
            raise ValueError(
                "residual=True adds the network's output to its input, which makes sense "
                "for loss='mse' on a numeric matrix only; got loss="
                f"{self.loss!r}, categorical_features={self.categorical_features!r}."
            )
        return dict(
            n_features=int(n_features),
            hidden_units=positive_ints(self.hidden_units, "hidden_units", "the encoder widths"),
            activation=self.activation,
            dropout=float(self.dropout),
            code_activation=self.code_activation,
            batch_norm=bool(self.batch_norm),
            # Only when set: the spec of a model saved before ``residual`` existed.
            **({"residual": True} if self.residual else {}),
        )
