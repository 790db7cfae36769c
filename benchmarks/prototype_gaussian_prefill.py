"""The prototype of AutoencoderImputer's default: a network that refines a Gaussian fill.

What it measures: on bench_imputation's tables and patterns, the RMSE over the
removed values of

* IterativeImputer (the reference of issue 26);
* "Gaussian (EM)": each hole filled with its conditional mean given the row's
  observed values, under a Gaussian whose mean and covariance are fitted to the
  incomplete standardised table by EM (Dempster, Laird and Rubin, 1977);
* "Gaussian + DAE residual": a small network trained with masking noise whose
  input is that conditional fill of the hidden values (holes and masked cells,
  given the visible ones) beside the mask, and whose output is added to the fill
  (its last layer starts at zero, so training starts from the Gaussian answer and
  early stopping on held-out masked cells keeps it from drifting far);
* "DAE on the Gaussian fill": the same network without the residual and the mask.

It is plain PyTorch on purpose, the measurement that decided the design; skdae
now has it as ``noise_type="conditional"`` with ``residual=True`` (without the
mask as extra inputs), and bench_imputation measures that, with the Gaussian
fill alone beside it.

    python benchmarks/prototype_gaussian_prefill.py    # 6 tables, 3 patterns, 3 seeds
    python benchmarks/prototype_gaussian_prefill.py --patterns MCAR --seeds 1
"""

import argparse
import time
import warnings

import numpy as np
import torch
from bench_imputation import remove, rmse, tables
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer


def conditional_fill(x, visible, mean, cov):
    """Each row with its hidden values set to their conditional mean given the visible.

    ``x`` (rows, d) with anything in the hidden places, ``visible`` a 0/1 mask of
    the same shape. One batched solve: the hidden rows and columns of the
    covariance are replaced by the identity, so the solution is 0 there and
    ``cov @ v`` is the conditional mean everywhere (the visible values exactly).
    """
    centred = (x - mean) * visible
    system = visible[:, :, None] * cov * visible[:, None, :] + torch.diag_embed(1 - visible)
    v = torch.linalg.solve(system, centred.unsqueeze(-1)).squeeze(-1)
    return mean + v @ cov.T


def fit_gaussian(Z, observed, n_iter=20, ridge=1e-3):
    """Mean and covariance of the rows of Z (NaN-free where ``observed``) by EM."""
    n, d = Z.shape
    X = torch.tensor(np.where(observed, Z, 0.0))
    M = torch.tensor(observed, dtype=torch.float64)
    mean, cov = torch.zeros(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64)
    for _ in range(n_iter):
        filled = torch.where(M.bool(), X, conditional_fill(X, M, mean, cov))
        # E-step's second moment: the conditional covariance of the hidden values.
        system = M[:, :, None] * cov * M[:, None, :] + torch.diag_embed(1 - M)
        inverse_oo = M[:, :, None] * torch.linalg.inv(system) * M[:, None, :]
        hidden = 1 - M
        residual = cov - cov @ inverse_oo @ cov
        residual = hidden[:, :, None] * residual * hidden[:, None, :]
        mean = filled.mean(0)
        centred = filled - mean
        cov = (centred.T @ centred + residual.sum(0)) / n + ridge * torch.eye(d)
    return mean.float(), cov.float()


def impute(H, seed, network=True, residual=True, mask_share=0.25, max_epochs=200):
    """``H`` with its NaN filled: the Gaussian fill, refined by a network if asked."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n, d = H.shape
    observed = ~np.isnan(H)
    centre, scale = np.nanmean(H, 0), np.nanstd(H, 0)
    scale[scale == 0] = 1.0
    mean, cov = fit_gaussian((H - centre) / scale, observed)
    X = torch.tensor(np.where(observed, (H - centre) / scale, 0.0), dtype=torch.float32)
    M = torch.tensor(observed, dtype=torch.float32)
    if not network:
        out = conditional_fill(X, M, mean, cov).numpy()
        return np.where(observed, H, out * scale + centre)
    width = 2 * d if residual else d
    net = torch.nn.Sequential(
        torch.nn.Linear(width, max(16, 2 * d)),
        torch.nn.GELU(),
        torch.nn.Linear(max(16, 2 * d), max(8, d)),
        torch.nn.GELU(),
        torch.nn.Linear(max(8, d), d),
    )
    if residual:
        torch.nn.init.zeros_(net[-1].weight)
        torch.nn.init.zeros_(net[-1].bias)

    def forward(x, visible):
        fill = conditional_fill(x * visible, visible, mean, cov)
        if not residual:
            return net(fill)
        return fill + net(torch.cat([fill, visible], 1))

    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-3)
    order = np.random.default_rng(seed).permutation(n)
    valid, train = order[: max(1, n // 10)], order[max(1, n // 10) :]
    valid_keep = (torch.rand((len(valid), d), generator=generator) >= mask_share).float()
    batch_size = int(min(256, max(32, n // 10)))
    best, waited = np.inf, 0
    state = {k: v.clone() for k, v in net.state_dict().items()}  # residual: the Gaussian fill
    for _ in range(max_epochs):
        epoch = train[torch.randperm(len(train), generator=generator).numpy()]
        for start in range(0, len(train), batch_size):
            rows = epoch[start : start + batch_size]
            x, m = X[rows], M[rows]
            keep = (torch.rand(x.shape, generator=generator) >= mask_share).float()
            loss = (((forward(x, m * keep) - x) ** 2) * m).sum() / m.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            hidden = M[valid] * (1 - valid_keep)
            error = (forward(X[valid], M[valid] * valid_keep) - X[valid]) ** 2
            score = float((error * hidden).sum() / hidden.sum())
        if score < best - 1e-5:
            best, waited, state = score, 0, {k: v.clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= 10:
                break
    net.load_state_dict(state)
    with torch.no_grad():
        out = forward(X, M).numpy()
    return np.where(observed, H, out * scale + centre)


METHODS = {
    "IterativeImputer()": lambda H, s: IterativeImputer(random_state=s, max_iter=25).fit_transform(
        H
    ),
    "Gaussian (EM)": lambda H, s: impute(H, s, network=False),
    "Gaussian + DAE residual": lambda H, s: impute(H, s),
    "DAE on the Gaussian fill": lambda H, s: impute(H, s, residual=False),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patterns", default="MCAR,MAR,MNAR")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    results = {}
    for table, X in tables().items():
        for pattern in args.patterns.split(","):
            for seed in range(args.seeds):
                mask = remove(X, pattern, seed)
                holed = np.where(mask, np.nan, X)
                for name, method in METHODS.items():
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        filled = method(holed, seed)
                    row = results.setdefault((table, pattern), {}).setdefault(name, [])
                    row.append((rmse(X, filled, mask), time.perf_counter() - start))
            print(f"# {table}, {pattern}", flush=True)
    print(
        f"# RMSE over the removed values, mean of {args.seeds} seeds, {time.strftime('%Y-%m-%d')}"
    )
    print("| table | pattern | " + " | ".join(METHODS) + " |")
    print("| --- | --- |" + " --- |" * len(METHODS))
    ratios = {name: [] for name in METHODS}
    for (table, pattern), row in results.items():
        means = {name: np.mean([r for r, _ in row[name]]) for name in METHODS}
        for name in METHODS:
            ratios[name].append(means[name] / means["IterativeImputer()"])
        best = min(means.values())
        cells = [f"**{v:.4f}**" if v == best else f"{v:.4f}" for v in means.values()]
        print(f"| {table} | {pattern} | " + " | ".join(cells) + " |")
    print(
        "| mean RMSE / IterativeImputer's (pairs below 1) | |"
        + "".join(f" {np.mean(r):.3f} ({sum(x < 1 for x in r)}) |" for r in ratios.values())
    )


if __name__ == "__main__":
    main()
