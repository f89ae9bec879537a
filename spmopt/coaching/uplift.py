"""Coaching uplift: how much coaching hours raise a rep's sales, with diminishing returns and decay.

Response. Coaching builds a stock that decays without reinforcement, and the uplift saturates in the stock:

    S_t = (1 - d) S_{t-1} + h_{t-1}              (hours of month t-1 act from month t on)
    z_t = S_t / (S_t + K)                        saturation, 0 to 1
    1 + u_t = (1 + u_max) ** z_t                 relative sales uplift u_t in month t

so log sales move by log(1 + u_max) z_t, and with h hours every month the steady state is S* = h / d and
z* = h / (h + d K); u* is concave in h for any u_max below e^2 - 1.

Estimation (`fit`): two-way fixed-effects panel regression of log monthly sales on the saturating stock,

    log y_{r,t} = a_r + g_t + b z_{r,t} + e_{r,t},        b = log(1 + u_max),

with (d, K) chosen on a grid by least squares and b's confidence interval from standard errors clustered by
rep (Student-t with reps - 1 degrees of freedom). Why this method: managers choose whom to coach, often
weaker or newer reps, so coached and uncoached reps differ in level; rep fixed effects absorb every stable
difference in ability and territory, period fixed effects absorb seasonality and market shocks common to
all reps, and the effect is identified from changes in each rep's own coaching over time. Because the stock
uses only earlier months' hours, this month's slump cannot cause this month's coaching. Reps whose coaching
rises *because* they are about to slump (anticipation) would still bias it; the history should say so.

Without history the documented prior of `models/coaching_uplift/` is used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from spmopt.errors import ConfigError, DataError


@dataclass(frozen=True, slots=True)
class UpliftModel:
    """Parameters of the coaching response, with the interval of its size."""

    max_uplift: float
    """u_max: relative sales uplift at saturation (0.19 is +19%)."""
    max_uplift_low: float
    max_uplift_high: float
    """95% interval of u_max (from the fit, or the prior's documented range)."""
    half_stock: float
    """K: coaching stock (hours) giving half the maximum uplift."""
    decay: float
    """d: share of the coaching stock lost each month without reinforcement."""
    method: str
    """`prior` or `two-way fixed effects`."""
    observations: int = 0
    reps: int = 0
    source: str = ""

    def steady_uplift(self, hours_per_month: np.ndarray | float, which: str = "mean") -> np.ndarray:
        """Relative uplift with `hours_per_month` every month, once the stock has built up."""
        h = np.asarray(hours_per_month, dtype=float)
        u = {"mean": self.max_uplift, "low": self.max_uplift_low, "high": self.max_uplift_high}[which]
        return np.power(1 + u, h / (h + self.decay * self.half_stock)) - 1

    def path(self, hours: np.ndarray) -> np.ndarray:
        """Relative uplift month by month for a series of monthly hours (stock starts at 0)."""
        stock = stock_series(np.asarray(hours, dtype=float), self.decay)
        return np.power(1 + self.max_uplift, stock / (stock + self.half_stock)) - 1

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def load(path: Path) -> UpliftModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return UpliftModel(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"{path}: not an uplift model file: {exc}") from None


def stock_series(hours: np.ndarray, decay: float) -> np.ndarray:
    """S_t = (1 - d) S_{t-1} + h_{t-1} along the last axis, S_0 = 0."""
    out = np.zeros_like(hours, dtype=float)
    for t in range(1, hours.shape[-1]):
        out[..., t] = (1 - decay) * out[..., t - 1] + hours[..., t - 1]
    return out


DECAY_GRID = tuple(round(0.1 * k, 2) for k in range(1, 10))
HALF_STOCK_GRID = (1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)


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


def fit(history: pd.DataFrame, source: str = "") -> UpliftModel:
    """Two-way fixed-effects estimate of u_max (grid over decay and half-stock), CI clustered by rep."""
    wide_sales = history.pivot(index="rep_id", columns="period", values="sales")
    wide_hours = history.pivot(index="rep_id", columns="period", values="coaching_hours")
    if wide_sales.isna().any().any():
        raise DataError(f"{source or 'coaching history'}: every rep needs a row for every month (a balanced panel)")
    reps, months = wide_sales.shape
    if reps < 3 or months < 6:
        raise DataError(f"{source or 'coaching history'}: need at least 3 reps and 6 months, got {reps} and {months}")
    y = np.log(wide_sales.to_numpy(dtype=float)).ravel()
    hours = wide_hours.to_numpy(dtype=float)
    rep = np.repeat(np.arange(reps), months)
    month = np.tile(np.arange(months), reps)
    dummies = np.column_stack(
        [np.eye(reps)[rep], np.eye(months)[month][:, 1:]]
    )  # rep effects + period effects (first month as base)
    best = None
    for decay in DECAY_GRID:
        stock = stock_series(hours, decay).ravel()
        for half in HALF_STOCK_GRID:
            x = np.column_stack([stock / (stock + half), dummies])
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            sse = float(np.sum((y - x @ coef) ** 2))
            if best is None or sse < best[0]:
                best = (sse, decay, half, x)
    assert best is not None
    _, decay, half, x = best
    result = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": rep})
    b, se = float(result.params[0]), float(result.bse[0])
    t = float(stats.t.ppf(0.975, reps - 1))
    # b = log(1 + u_max): u_max = exp(b) - 1 is monotone, so the interval maps through it.
    return UpliftModel(
        max_uplift=float(np.expm1(b)),
        max_uplift_low=float(np.expm1(b - t * se)),
        max_uplift_high=float(np.expm1(b + t * se)),
        half_stock=half,
        decay=decay,
        method="two-way fixed effects",
        observations=int(len(y)),
        reps=int(reps),
        source=source,
    )


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
