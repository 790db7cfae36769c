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
# of up to a few hundred features are estimated as well from them as from all.
EM_MAX_ROWS = 10_000
# A chunk of rows solves systems of at most this many values in all (memory).
SOLVE_VALUES = 1 << 24


def conditional_mean(x, visible, mean, covariance):
    """``x`` with its hidden values set to their conditional mean given the visible.

    Parameters
    ----------
    x : torch.Tensor of shape (n_rows, n_features)
        Anything (NaN too) where hidden.
    visible : torch.Tensor of bool, same shape
    mean : torch.Tensor of shape (n_features,)
    covariance : torch.Tensor of shape (n_features, n_features)

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
    chunk = max(1, SOLVE_VALUES // (x.shape[1] ** 2))
    if len(x) > chunk:
        return torch.cat(
            [
                conditional_mean(x[i : i + chunk], visible[i : i + chunk], mean, covariance)
                for i in range(0, len(x), chunk)
            ]
        )
    seen = visible.to(covariance.dtype)
    centred = torch.where(visible, x.to(covariance.dtype) - mean, 0.0)
    # The hidden rows and columns of each row's system replaced by the identity:
    # the solution is 0 there, so ``v @ covariance`` is the conditional mean's
    # offset everywhere (and the visible values themselves where visible).
    system = seen[:, :, None] * covariance * seen[:, None, :] + torch.diag_embed(1.0 - seen)
    solution = torch.linalg.solve(system, centred.unsqueeze(-1)).squeeze(-1)
    filled = mean + solution @ covariance
    return torch.where(visible, x, filled.to(x.dtype))


def fit_gaussian(X):
    """The mean and covariance of the rows of X, whose NaN are missing values, by EM.

    Dempster, Laird and Rubin (1977): each iteration fills the holes with their
    conditional mean (E) and adds their conditional covariance to the
    covariance of the filled rows (M). Computed in float64 on at most
    ``EM_MAX_ROWS`` rows; a small ridge (``RIDGE`` of each variance) keeps the
    covariance positive definite.

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
    step = max(1, -(-len(X) // EM_MAX_ROWS))
    rows = X[::step].to(torch.float64)
    observed = ~torch.isnan(rows)
    count = observed.sum(dim=0).clamp_min(1)
    start = torch.where(observed, rows, 0.0).sum(dim=0) / count
    variance = torch.where(observed, rows - start, 0.0).square().sum(dim=0) / count
    # Each column in units of its observed spread, so that the ridge and the
    # tolerance mean the same for every column (a constant or empty one: unit 1).
    unit = torch.where(variance > 0, variance.sqrt(), 1.0)
    rows = (rows - start) / unit
    # Complete rows need no E-step: only the rows with holes are solved for.
    incomplete = (~observed).any(dim=1)
    complete = rows[~incomplete]
    rows, observed = rows[incomplete], observed[incomplete]
    n_rows = len(complete) + len(rows)
    mean = torch.zeros_like(start)
    covariance = torch.eye(len(start), dtype=rows.dtype, device=rows.device)
    for _ in range(EM_MAX_ITER):
        filled, spread = _expectation(rows, observed, mean, covariance)
        filled = torch.cat([complete, filled])
        new_mean = filled.mean(dim=0)
        centred = filled - new_mean
        new_covariance = (centred.T @ centred + spread) / n_rows
        new_covariance += RIDGE * torch.diag(new_covariance.diagonal().clamp_min(1e-12))
        change = max(
            float((new_mean - mean).abs().max()), float((new_covariance - covariance).abs().max())
        )
        mean, covariance = new_mean, new_covariance
        if change < EM_TOLERANCE:
            break
    mean = start + mean * unit
    covariance = covariance * unit[:, None] * unit[None, :]
    return mean.to(X.dtype), covariance.to(X.dtype)


def _expectation(rows, observed, mean, covariance):
    """EM's E-step: the rows with their holes filled by the conditional mean, and
    the sum over rows of the holes' conditional covariance,
    ``cov_hh - cov_ho cov_oo^-1 cov_oh`` (zero outside each row's holes)."""
    filled, spread = [], torch.zeros_like(covariance)
    chunk = max(1, SOLVE_VALUES // (len(mean) ** 2))
    for i in range(0, len(rows), chunk):
        x, visible = rows[i : i + chunk], observed[i : i + chunk]
        seen = visible.to(rows.dtype)
        system = seen[:, :, None] * covariance * seen[:, None, :] + torch.diag_embed(1.0 - seen)
        factors = torch.linalg.lu_factor(system)
        centred = torch.where(visible, x - mean, 0.0).unsqueeze(-1)
        solution = torch.linalg.lu_solve(*factors, centred).squeeze(-1)
        filled.append(torch.where(visible, x, mean + solution @ covariance))
        visible_rows = seen[:, :, None] * covariance  # cov_o. in place, 0 elsewhere
        explained = visible_rows.transpose(1, 2) @ torch.linalg.lu_solve(*factors, visible_rows)
        hidden = 1.0 - seen
        spread += (hidden[:, :, None] * (covariance - explained) * hidden[:, None, :]).sum(dim=0)
    return torch.cat(filled) if filled else rows, spread
