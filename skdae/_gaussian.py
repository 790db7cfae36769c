"""The Gaussian of an incomplete table: its mean and covariance by EM, and the
conditional mean of a row's hidden values given its visible ones.

``noise_type="conditional"`` fills the values it hides (and the holes of the
data) with that conditional mean, so that the network starts from the best
linear guess and learns what is left (``skdae._noise.ConditionalNoise``).
"""

import torch

# EM's stopping rule: the largest change of a standardised mean or covariance
# entry between two iterations, and a cap on the iterations.
EM_TOLERANCE = 1e-4
EM_MAX_ITER = 50
# Added to the covariance's diagonal, as a share of each variance: keeps every
# conditional system well posed (collinear columns, a column seen only once).
RIDGE = 1e-3
# EM runs on at most this many rows (evenly spaced): a mean and a covariance
# of up to a few hundred features are estimated as well from them as from all;
# fewer for wide tables, whose rows cost d**3 each: about EM_BUDGET / d**3, at
# least EM_MIN_ROWS (a second or so an iteration on a 2-core CPU).
EM_MAX_ROWS = 10_000
EM_MIN_ROWS = 1_000
EM_BUDGET = 2 * 10**10
# A chunk of rows solves systems of at most this many values in all (memory).
SOLVE_VALUES = 1 << 24


def conditional_mean(x, visible, mean, covariance, low=None, high=None):
    """``x`` with its hidden values set to their conditional mean given the visible.

    Parameters
    ----------
    x : torch.Tensor of shape (n_rows, n_features)
        Anything (NaN too) where hidden.
    visible : torch.Tensor of bool, same shape
    mean : torch.Tensor of shape (n_features,)
    covariance : torch.Tensor of shape (n_features, n_features)
    low, high : torch.Tensor of shape (n_features,), default=None
        Bounds of the guesses (each column's observed range): a linear model
        extrapolates, and a visible value far outside what it was fitted on (a
        rare category's indicator) would send the guesses beyond any value seen.

    Returns
    -------
    filled : torch.Tensor, the shape of x
        The visible values as they are; a hidden value is
        ``mean_h + cov_ho cov_oo^-1 (x_o - mean_o)``, the mean where a row has
        nothing visible.

    Examples
    --------
    >>> import torch
    >>> from skdae._gaussian import conditional_mean
    >>> covariance = torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    >>> x = torch.tensor([[2.0, float("nan")]])
    >>> conditional_mean(x, ~torch.isnan(x), torch.zeros(2), covariance)
    tensor([[2., 1.]])
    """
    if len(x) == 0:
        return x.clone()
    chunk = _rows_per_chunk(x.shape[1])
    if len(x) > chunk:
        return torch.cat(
            [
                conditional_mean(
                    x[i : i + chunk], visible[i : i + chunk], mean, covariance, low, high
                )
                for i in range(0, len(x), chunk)
            ]
        )
    centred = torch.where(visible, x.to(covariance.dtype) - mean, 0.0)
    system = _padded_system(visible, covariance)
    # solve_ex: no check of the result, so no wait for a GPU (the ridge keeps
    # every system positive definite).
    solution = torch.linalg.solve_ex(system, centred.unsqueeze(-1)).result.squeeze(-1)
    filled = mean + solution @ covariance
    if low is not None:
        filled = torch.minimum(torch.maximum(filled, low), high)
    return torch.where(visible, x, filled.to(x.dtype))


def _rows_per_chunk(n_features):
    """Rows whose systems hold at most ``SOLVE_VALUES`` values in all."""
    return max(1, SOLVE_VALUES // n_features**2)


def _padded_system(visible, covariance):
    """Each row's covariance of its visible values, its hidden rows and columns
    replaced by the identity: solved, it gives 0 there, so ``solution @
    covariance`` is the conditional mean's offset everywhere (and the visible
    values' own offset where visible)."""
    seen = visible.to(covariance.dtype)
    return seen[:, :, None] * covariance * seen[:, None, :] + torch.diag_embed(1.0 - seen)


def fit_gaussian(X):
    """The mean and covariance of the rows of X, whose NaN are missing values, by EM.

    Dempster, Laird and Rubin (1977): each iteration fills the holes with their
    conditional mean (E) and adds their conditional covariance to the
    covariance of the filled rows (M). Computed in float64 on at most
    ``EM_MAX_ROWS`` rows (fewer for wide tables); a small ridge (``RIDGE`` of
    each variance) keeps the covariance positive definite. A column with no
    observed value gets mean 0 and variance 1, uncorrelated with the rest.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        NaN where a value is missing.

    Returns
    -------
    mean, covariance : torch.Tensor
        Of shapes (n_features,) and (n_features, n_features), in X's dtype and
        on its device.

    Examples
    --------
    >>> import torch
    >>> from skdae._gaussian import fit_gaussian
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(2000, 2, generator=g) @ torch.tensor([[1.0, 0.8], [0.0, 0.6]])
    >>> X[::3, 1] = float("nan")  # a third of the second column missing
    >>> mean, covariance = fit_gaussian(X)
    >>> bool(torch.allclose(covariance, torch.tensor([[1.0, 0.8], [0.8, 1.0]]), atol=0.1))
    True
    """
    n_features = X.shape[1]
    step = max(1, -(-len(X) // min(EM_MAX_ROWS, max(EM_MIN_ROWS, EM_BUDGET // n_features**3))))
    rows = X[::step].to(torch.float64)
    observed = ~torch.isnan(rows)
    count = observed.sum(dim=0)
    start = torch.where(observed, rows, 0.0).sum(dim=0) / count.clamp_min(1)
    variance = torch.where(observed, rows - start, 0.0).square().sum(dim=0) / count.clamp_min(1)
    # Each column in units of its observed spread, so that the ridge and the
    # tolerance mean the same for every column (a constant or empty one: unit 1).
    unit = torch.where(variance > 0, variance.sqrt(), 1.0)
    # A column with no observed value stays out of EM: mean 0, variance 1, on its own.
    seen = (count > 0).nonzero().squeeze(1)
    mean = torch.zeros_like(start)
    covariance = torch.eye(n_features, dtype=rows.dtype, device=rows.device)
    if len(seen):
        fitted = _em(((rows - start) / unit)[:, seen], observed[:, seen])
        mean[seen] = fitted[0]
        covariance[seen[:, None], seen[None, :]] = fitted[1]
    mean = start + mean * unit
    covariance = covariance * unit[:, None] * unit[None, :]
    return mean.to(X.dtype), covariance.to(X.dtype)


def _em(rows, observed):
    """EM on standardised rows whose every column has an observed value."""
    # Complete rows need no E-step: only the rows with holes are solved for.
    incomplete = (~observed).any(dim=1)
    complete = rows[~incomplete]
    rows, observed = rows[incomplete], observed[incomplete]
    n_rows = len(complete) + len(rows)
    mean = torch.zeros(rows.shape[1], dtype=rows.dtype, device=rows.device)
    estimate = torch.eye(rows.shape[1], dtype=rows.dtype, device=rows.device)
    covariance = estimate
    for _ in range(EM_MAX_ITER):
        filled, spread = _expectation(rows, observed, mean, covariance)
        filled = torch.cat([complete, filled])
        new_mean = filled.mean(dim=0)
        centred = filled - new_mean
        new_estimate = (centred.T @ centred + spread) / n_rows
        # Converged when the estimate stops moving (the ridge is for the solves only).
        change = max(
            float((new_mean - mean).abs().max()), float((new_estimate - estimate).abs().max())
        )
        mean, estimate = new_mean, new_estimate
        # In units of each column's observed spread: a share of each variance, and
        # a floor for a column whose observed values are all alike.
        covariance = estimate + RIDGE * torch.eye(len(mean), dtype=rows.dtype, device=rows.device)
        if change < EM_TOLERANCE:
            break
    return mean, covariance


def _expectation(rows, observed, mean, covariance):
    """EM's E-step: the rows with their holes filled by the conditional mean, and
    the sum over rows of the holes' conditional covariance,
    ``cov_hh - cov_ho cov_oo^-1 cov_oh`` (zero outside each row's holes)."""
    filled, spread = [], torch.zeros_like(covariance)
    chunk = _rows_per_chunk(len(mean))
    for i in range(0, len(rows), chunk):
        x, visible = rows[i : i + chunk], observed[i : i + chunk]
        seen = visible.to(rows.dtype)
        factors = torch.linalg.lu_factor(_padded_system(visible, covariance))
        centred = torch.where(visible, x - mean, 0.0).unsqueeze(-1)
        solution = torch.linalg.lu_solve(*factors, centred).squeeze(-1)
        filled.append(torch.where(visible, x, mean + solution @ covariance))
        visible_rows = seen[:, :, None] * covariance  # cov_o. in place, 0 elsewhere
        explained = visible_rows.transpose(1, 2) @ torch.linalg.lu_solve(*factors, visible_rows)
        hidden = 1.0 - seen
        spread += (hidden[:, :, None] * (covariance - explained) * hidden[:, None, :]).sum(dim=0)
    return torch.cat(filled) if filled else rows, spread
