"""Docstring text the estimators share (inserted by ``BaseAutoencoder``).

Each estimator's docstring holds ``{shared_parameters}`` and
``{shared_attributes}`` lines where these blocks go, so that the parameters
every skdae autoencoder has are documented once.
"""

SHARED_PARAMETERS = """\
    dropout : float in [0, 1), default=0.0
        Probability of dropping a unit after each hidden layer, in training.
    batch_norm : bool, default=False
        Batch normalisation between each hidden layer and its activation
        (those layers then have no bias). Training batches of one row cannot
        be normalised: a last batch of one row joins the one before it.
    noise_factor : float >= 0, default=0.5
        Strength of the corruption; 0 trains a plain autoencoder. For
        ``noise_type="gaussian"`` the standard deviation of the noise: with
        ``loss_function_ == "bce"`` the noisy input is ``clip(x + noise_factor * N(0, 1),
        0, 1)``; with ``"mse"`` the noise is scaled by each feature's standard
        deviation and not clipped. For the other kinds the probability,
        below 1, that each value is corrupted.
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap", \
"conditional"}, default="gaussian"
        The corruption: additive Gaussian noise (the seed's); masking sets
        values to 0; salt and pepper sets them to their low or high bound (0 or
        1 for data in [0, 1], else each feature's training minimum or maximum),
        each half of the time; swap replaces a value by the same feature's
        value in another random row of the batch (for tabular data: a
        corrupted value is always a plausible value of its feature);
        conditional hides values as masking does but sets each hidden value,
        and each missing one, to its conditional mean given the row's visible
        values under a Gaussian fitted to X by EM (for imputation, with
        ``residual=True``; up to 256 features; its validation rows are
        corrupted too, the same way every epoch). Without noise
        (``noise_factor=0``) holes are seen as 0.
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
        see the benchmark tables' speed rows before switching it on.
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
        afresh. ``partial_fit`` always continues. A warm fit takes every
        parameter as it is now (learning rate, weight decay and schedule,
        noise, batch size, early stopping, convergence test, callbacks,
        device, ...), except those the fitted network is made of (its
        widths, activations, dropout, batch norm and, for the convolutional
        network, its image shape, channels, code size, kernel and
        downsampling) and ``loss``: changing those raises ``ValueError``.
        The noise's learned statistics (a scale, bounds) are kept unless
        the noise changed.
    checkpoint_dir : str or path-like, default=None
        After every epoch, write the weights, Adam's state, the random stream
        and the history to ``checkpoint_dir/last`` (and the best epoch's to
        ``best`` with early stopping). A fit with the same parameters and
        the same rows (a SHA-256 of X's content) resumes from ``last``: a
        crash costs at most one epoch. Any other fit starts afresh and
        replaces it; ``last`` and ``best`` are replaced only when they are
        checkpoints skdae wrote (else ``FileExistsError`` before training).
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        The precision of training's matrix products. ``"bfloat16"``
        computes the forward pass under ``torch.autocast`` in bfloat16
        (weights, Adam's state and the loss stay float32): faster on CPUs
        with AVX512-BF16 or AMX and on GPUs from Ampere on, refused where the
        device lacks it. ``"float16"``: the same in float16 with loss
        scaling, on GPUs only. Evaluation (``transform`` and the rest)
        always runs in X's float dtype, so a model trained in bfloat16
        evaluates in float32 (float64 for float64 input).
    distributed : {"auto", "off"}, default="auto"
        ``"auto"``: when the calling process belongs to an initialised
        ``torch.distributed`` process group of several processes (a script
        launched by ``torchrun`` that called
        ``torch.distributed.init_process_group()``), ``fit`` and
        ``partial_fit`` train data-parallel over it: every rank must pass
        the same X; each computes its share of every batch of
        ``batch_size`` rows, and the ranks train the model one process would
        (same batches and noise, gradients averaged, convergence decided
        together; at the end every rank holds rank 0's weights). Only rank 0
        writes checkpoints, TensorBoard logs and progress. ``"off"``: always
        train alone in this process.
    data_placement : {"auto", "device", "stream"}, default="auto"
        Where ``fit`` keeps dense X. ``"device"``: copied to the training
        device once, batches are slices of it (the fastest). ``"stream"``:
        X stays in host memory (a ``numpy.memmap`` stays on disk) and each
        batch is gathered there and copied to the device (on a GPU through
        pinned memory, without blocking the host, which gathers the next
        batch meanwhile). ``"auto"``: ``"stream"`` on a GPU when X's float32
        copy would take more than half of its free memory, else
        ``"device"``. Both paths draw the same batches (on the CPU they give
        the same model, bit for bit). Sparse X is never copied whole: its
        rows are densified a batch at a time on the device.
"""

SHARED_ATTRIBUTES = """\
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when X has string column
        names.
    net_ : skdae._net.DenoisingNet
        The fitted skorch net; ``net_.module_`` is the ``nn.Module``.
    fitted_model_ : skdae._fitted.FittedModel
        The record of what was fitted, apart from what the next fit will use
        (``get_params()``): the parameters it was trained with, the spec of
        its network, the loss, the features, a fingerprint of the rows, the
        history. The fitted attributes below, ``save``, pickles, checkpoints
        and warm starts read it.
    history_ : skorch.History
        Per-epoch records of the fit (``train_loss``, ``dur``, ...).
    loss_function_ : {"bce", "mse"}
        The loss trained on: ``loss`` with "auto" resolved.
    loss_ : float
        The training loss of the last epoch (``MLPRegressor``'s ``loss_``).
    loss_curve_ : list of float
        The training loss of every epoch, all calls together.
    best_loss_ : float or None
        The lowest training loss; None with ``early_stopping`` (which watches
        the validation score instead), as in ``MLPRegressor``.
    validation_scores_ : list of float or None
        With ``early_stopping``, the score of the held-out rows after each
        epoch (minus their reconstruction RMSE, what ``score`` computes);
        None without.
    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without ``early_stopping``.
    device_ : str
        The device the model was trained on and evaluates on.
    n_iter_ : int
        Epochs trained, all calls together (``warm_start`` and
        ``partial_fit`` add to it); fewer than ``max_epochs`` after a fit that
        converged.
"""
