"""Coaching uplift: how much coaching hours raise a rep's sales, with diminishing returns and decay.

Response. Coaching builds a stock that decays without reinforcement, and the uplift saturates in the stock:

    S_t = (1 - d) S_{t-1} + h_{t-1}              (hours of month t-1 act from month t on)
    z_t = S_t / (S_t + K)                        saturation, 0 to 1
    1 + u_t = (1 + u_max) ** z_t                 relative sales uplift u_t in month t

so log sales move by log(1 + u_max) z_t, and with h hours every month the steady state is S* = h / d and
z* = h / (h + d K); u* is concave in h for any u_max below e^2 - 1.

Estimation (`fit`): two-way fixed-effects panel regression of log monthly sales on the saturating stock,

    log y_{r,t} = a_r + g_t + b z_{r,t} + e_{r,t},        b = log(1 + u_max),

with (d, K) chosen on a grid by least squares (profile least squares). Its uncertainty comes from a bootstrap over
reps: whole reps are resampled with replacement and the grid search is redone in every resample, so the draws
carry the uncertainty of choosing d and K as well as b's, and keep each rep's months together (serial correlation
within a rep). Why this method: managers choose whom to coach, often weaker or newer reps, so coached and
uncoached reps differ in level; rep fixed effects absorb every stable difference in ability and territory,
period fixed effects absorb seasonality and market shocks common to all reps, and the effect is identified from
changes in each rep's own coaching over time. Because the stock uses only earlier months' hours, this month's
slump cannot cause this month's coaching. Reps whose coaching rises *because* they are about to slump
(anticipation) would still bias it; the history should say so.

Shrinkage towards the prior and draws from the prior are in `shrink.py`; without history the documented prior of
`models/coaching_uplift/` is used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.errors import ConfigError, DataError

Triple = tuple[float, float, float]
"""(u_max, K, d): one set of response parameters."""


@dataclass(frozen=True, slots=True)
class UpliftModel:
    """Parameters of the coaching response, their intervals and (for the simulator) their draws."""

    max_uplift: float
    """u_max: relative sales uplift at saturation (0.19 is +19%)."""
    max_uplift_low: float
    max_uplift_high: float
    """95% interval of u_max (bootstrap percentiles after shrinkage, or the prior's documented range)."""
    half_stock: float
    """K: coaching stock (hours) giving half the maximum uplift."""
    decay: float
    """d: share of the coaching stock lost each month without reinforcement."""
    method: str
    """`prior` or `two-way fixed effects` (the estimator; how its uncertainty is drawn is `uncertainty`)."""
    observations: int = 0
    reps: int = 0
    source: str = ""
    half_stock_low: float | None = None
    half_stock_high: float | None = None
    decay_low: float | None = None
    decay_high: float | None = None
    """95% intervals of K and d (for a prior: its documented range); None when not known."""
    draws: tuple[Triple, ...] = ()
    """(u_max, K, d) draws of the parameters: the bootstrap (shrunk towards the prior) or draws from the prior.
    Replication r of the simulation plays draw r mod len(draws), so the return's spread includes them."""
    fitted: Triple | None = None
    """The history's own point fit (u_max, K, d), before shrinkage; None for a prior."""
    fitted_low: Triple | None = None
    fitted_high: Triple | None = None
    """2.5% and 97.5% bootstrap percentiles of the fit, before shrinkage."""
    weights: Triple | None = None
    """Evidence weight of the fit for log(1 + u_max), log K and logit d: 1 keeps the fit, 0 the prior."""
    uncertainty: str = ""
    """Where `draws` come from: a bootstrap over reps (shrunk towards the prior), or the prior's ranges."""
    covered_hours: float | None = None
    """Highest constant monthly hours whose steady stock h / d the history has seen (its rep-months' 95th
    percentile stock at this decay); more would extrapolate the response. None without history."""

    def steady_uplift(self, hours_per_month: np.ndarray | float, which: str = "mean") -> np.ndarray:
        """Relative uplift with `hours_per_month` every month, once the stock has built up."""
        h = np.asarray(hours_per_month, dtype=float)
        u = {"mean": self.max_uplift, "low": self.max_uplift_low, "high": self.max_uplift_high}[which]
        return np.power(1 + u, h / (h + self.decay * self.half_stock)) - 1

    def path(self, hours: np.ndarray) -> np.ndarray:
        """Relative uplift month by month for a series of monthly hours (stock starts at 0)."""
        stock = stock_series(np.asarray(hours, dtype=float), self.decay)
        return np.power(1 + self.max_uplift, stock / (stock + self.half_stock)) - 1

    def central(self) -> Triple:
        return (self.max_uplift, self.half_stock, self.decay)

    def at(self, parameters: Triple) -> UpliftModel:
        """The same model with other (u_max, K, d), e.g. one draw or one end of the prior's range."""
        u, k, d = (float(v) for v in parameters)
        return replace(self, max_uplift=u, max_uplift_low=u, max_uplift_high=u, half_stock=k, decay=d, draws=())

    def parameter_draws(self) -> np.ndarray:
        """(n, 3) draws of (u_max, K, d); the central values alone when the model has no draws."""
        return np.array(self.draws if self.draws else [self.central()], dtype=float)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def load(path: Path) -> UpliftModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return UpliftModel(**{k: _tuples(v) for k, v in data.items()})
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not an uplift model file: {exc}") from None


def _tuples(value: object) -> object:
    """JSON lists back into the tuples the frozen model holds (so a loaded model equals the saved one)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def stock_series(hours: np.ndarray, decay: float) -> np.ndarray:
    """S_t = (1 - d) S_{t-1} + h_{t-1} along the last axis, S_0 = 0."""
    out = np.zeros_like(hours, dtype=float)
    for t in range(1, hours.shape[-1]):
        out[..., t] = (1 - decay) * out[..., t - 1] + hours[..., t - 1]
    return out


DECAY_GRID = tuple(round(0.1 * k, 2) for k in range(1, 10))
HALF_STOCK_GRID = (1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
GRID = tuple((d, k) for d in DECAY_GRID for k in HALF_STOCK_GRID)
"""Every (d, K) pair the profile least squares tries (72)."""
DRAWS = 200
"""Bootstrap resamples of the fit (and draws from a prior): enough for stable 2.5% / 97.5% percentiles."""


def read_history(path: Path, known_reps: set[str] | None) -> pd.DataFrame:
    """Coaching history: rep_id, period (YYYY-MM), coaching_hours, sales; one row per rep and month."""
    from spmopt.data.tables import read_table, require_columns, row_number

    raw = read_table(path, "coaching history")
    require_columns(raw, ["rep_id", "period", "coaching_hours", "sales"], path, "coaching history")
    frame = pd.DataFrame({"rep_id": raw["rep_id"].astype(str).str.strip()})
    periods = pd.to_datetime(raw["period"].astype(str), format="%Y-%m", errors="coerce")
    for column in ("coaching_hours", "sales"):
        frame[column] = pd.to_numeric(raw[column], errors="coerce")
    for pos in range(len(raw)):
        line = row_number(raw, pos)
        if pd.isna(periods.iloc[pos]):
            raise DataError(f"{path}: row {line}: period '{raw['period'].iloc[pos]}' is not YYYY-MM")
        hours, sales = frame["coaching_hours"].iloc[pos], frame["sales"].iloc[pos]
        if not np.isfinite(hours) or hours < 0:
            raise DataError(f"{path}: row {line}: coaching_hours = {raw['coaching_hours'].iloc[pos]}: must be >= 0")
        if not np.isfinite(sales) or sales <= 0:
            raise DataError(f"{path}: row {line}: sales = {raw['sales'].iloc[pos]}: must be > 0 (log sales)")
        if known_reps is not None and frame["rep_id"].iloc[pos] not in known_reps:
            raise DataError(f"{path}: row {line}: rep {frame['rep_id'].iloc[pos]} is not a rep of the scenario")
    frame["period"] = periods.dt.to_period("M")
    dupes = frame.duplicated(["rep_id", "period"])
    if dupes.any():
        pos = int(np.argmax(dupes.to_numpy()))
        raise DataError(f"{path}: row {row_number(raw, pos)}: a second row for {frame['rep_id'].iloc[pos]}")
    return frame


def fit(history: pd.DataFrame, source: str = "", draws: int = DRAWS, seed: int = 0) -> UpliftModel:
    """Two-way fixed-effects estimate of u_max on the (d, K) grid, with 95% percentile intervals of all three
    parameters from `draws` bootstrap resamples of whole reps (seeded: the same history gives the same draws)."""
    wide_sales = history.pivot(index="rep_id", columns="period", values="sales")
    wide_hours = history.pivot(index="rep_id", columns="period", values="coaching_hours")
    if wide_sales.isna().any().any():
        raise DataError(f"{source or 'coaching history'}: every rep needs a row for every month (a balanced panel)")
    reps, months = wide_sales.shape
    if reps < 3 or months < 6:
        raise DataError(f"{source or 'coaching history'}: need at least 3 reps and 6 months, got {reps} and {months}")
    y = np.log(wide_sales.to_numpy(dtype=float))
    z = grid_regressors(wide_hours.to_numpy(dtype=float))
    point = profile_fit(y, z)
    if point is None:
        raise DataError(f"{source or 'coaching history'}: no rep's coaching hours ever change; nothing to fit")
    boot = bootstrap(y, z, draws, np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xC0AC,))))
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    return UpliftModel(
        max_uplift=point[0],
        max_uplift_low=float(low[0]),
        max_uplift_high=float(high[0]),
        half_stock=point[1],
        decay=point[2],
        method="two-way fixed effects",
        observations=int(reps * months),
        reps=int(reps),
        source=source,
        half_stock_low=float(low[1]),
        half_stock_high=float(high[1]),
        decay_low=float(low[2]),
        decay_high=float(high[2]),
        draws=tuple(_triple(row) for row in boot),
        fitted=point,
        fitted_low=_triple(low),
        fitted_high=_triple(high),
        uncertainty=f"bootstrap over reps, {len(boot)} resamples",
    )


def _triple(row: np.ndarray) -> Triple:
    return (float(row[0]), float(row[1]), float(row[2]))


def grid_regressors(hours: np.ndarray) -> np.ndarray:
    """(grid pairs, reps, months) saturation z = S / (S + K) of every (d, K) pair of `GRID`."""
    stocks = {d: stock_series(hours, d) for d in DECAY_GRID}
    return np.stack([stocks[d] / (stocks[d] + k) for d, k in GRID])


def demean(a: np.ndarray) -> np.ndarray:
    """Two-way within transform over the last two axes (reps, months). On a balanced panel, regressing the
    demeaned outcome on the demeaned regressor gives exactly the fixed-effects coefficient (Frisch-Waugh-Lovell)."""
    return a - a.mean(axis=-1, keepdims=True) - a.mean(axis=-2, keepdims=True) + a.mean(axis=(-2, -1), keepdims=True)


def profile_fit(y: np.ndarray, z: np.ndarray) -> Triple | None:
    """(u_max, K, d) at the grid pair with the least residual sum of squares; None when no pair varies."""
    yd, zd = demean(y), demean(z)
    szy = np.einsum("grt,rt->g", zd, yd)
    szz = np.einsum("grt,grt->g", zd, zd)
    usable = szz > 1e-12
    if not usable.any():
        return None
    b = np.divide(szy, szz, out=np.zeros_like(szy), where=usable)
    sse = np.where(usable, float(np.sum(yd * yd)) - b * szy, np.inf)
    g = int(np.argmin(sse))
    decay, half = GRID[g]
    return (float(np.expm1(b[g])), float(half), float(decay))


def bootstrap(y: np.ndarray, z: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, 3) refits on resamples of whole reps. A resample holding a single distinct rep has no variation
    left after the rep effects and is drawn again."""
    reps = y.shape[0]
    out: list[Triple] = []
    for _ in range(50 * draws):
        if len(out) == draws:
            break
        pick = rng.integers(0, reps, reps)
        if len(np.unique(pick)) < 2:
            continue
        point = profile_fit(y[pick], z[:, pick])
        if point is not None:
            out.append(point)
    if len(out) < draws:
        raise DataError("coaching history: too few usable bootstrap resamples (coaching hours barely vary)")
    return np.array(out)


def synthetic_history(
    reps: list[str],
    months: int,
    model: UpliftModel,
    rng: np.random.Generator,
    base_sales: float = 800_000.0,
    noise: float = 0.08,
) -> pd.DataFrame:
    """A panel with a known uplift: rep levels, seasonality, coaching targeted at weaker reps, lognormal noise."""
    n = len(reps)
    level = rng.normal(0, 0.25, n)
    season = 0.1 * np.sin(2 * np.pi * np.arange(months) / 12)
    # Weaker reps are coached more (selection on level) and coaching comes in spells.
    intensity = np.clip(2.0 - 4 * level, 0, None)
    spells = rng.random((n, months)) < 0.45
    hours = np.round(spells * rng.gamma(2.0, 1.0, (n, months)) * intensity[:, None], 1)
    uplift = model.path(hours)
    sales = base_sales * np.exp(level[:, None] + season[None, :] + noise * rng.standard_normal((n, months)))
    sales = np.round(sales * (1 + uplift), 2)
    period = pd.period_range("2025-01", periods=months, freq="M")
    return pd.DataFrame(
        {
            "rep_id": np.repeat(reps, months),
            "period": np.tile(period.astype(str), n),
            "coaching_hours": hours.ravel(),
            "sales": sales.ravel(),
        }
    )
