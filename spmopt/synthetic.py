"""Seeded generators of planning data: the Georgia demo and random instances for tests and benchmarks.

The Georgia demo starts from real geography (the 159 Georgia counties with 1990 census population
that libpysal ships, from Fotheringham, Brunsdon & Charlton, *Geographically Weighted Regression*,
2002) and synthesises accounts on it. Per county c with population P_c, share of adults with a
bachelor's degree B_c (%) and area A_c (km^2):

* accounts N_c ~ Poisson(3 + P_c / 2000)
* each account's annual potential (USD) ~ LogNormal(ln(25 000 * (0.8 + B_c / 50)), 1.1), rounded to $100
* potential_c = sum of its accounts' potential
* workload_c (hours a year) = 10 h per account + 2 h * sqrt(A_c): visits plus travel within the county

Nine reps live in Georgia's largest cities, four of them in metro Atlanta; the "current" alignment gives each
county to the nearest rep, which is compact but badly unbalanced, as inherited alignments often are. The
Columbus rep is a replacement hire who starts in month 4 of the plan year.

Sales history covers the 24 months to October 2026 (from a separate random stream, so the measures above
do not depend on it). Per county c, month m:

* sales_cm = 0.42 * potential_c * season(m) * 1.05^(months since Nov 2024 / 12) * rep_r * year_ry * county_c * e_cm
* rep_r ~ LogNormal(0, 0.12) for the county's current rep and year_ry ~ LogNormal(0, 0.10) its good or bad
  year (November to October); county_c ~ LogNormal(0, 0.25); e_cm ~ LogNormal(0, 0.15)
* season: 7/7/10, 7/8/10, 7/7/10, 8/8/11 % of the year from January, the quarter-end push of most B2B sales
* rounded to whole dollars

Plan-year transactions (calendar 2027, a third random stream) continue the same process one year on, with
per-county growth ~ LogNormal(ln 1.04, 0.08):

* each county-month's sales are cut into deals of about $18,000 (count = max(1, round(sales / 18,000)),
  shares ~ Dirichlet(2, ..., 2)), each on a day drawn uniformly in the month, to the cent;
* product: 70% `license` (margin 80% of amount), 30% `services` (margin 35%); 15% of deals are new logos;
* 1% of deals are cancelled 20-150 days later (a negative row with reason `cancellation` and original_id),
  and two credit notes (reason `credit_note`) correct invoicing errors;
* the 12 largest deals are split 60/40 between the rep of the county and the next rep by id (splits.csv).

Org data for crediting: reps report to M-NORTH (R01-R04) or M-SOUTH (R05-R09), both to D-GEORGIA
(hierarchy.csv); S-SERVICES is a services overlay credited on every services deal (overlays.csv) with a
$27,000,000 annual quota (overlay_quotas.csv).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spmopt.data.tables import cents_text

SEASON = (0.07, 0.07, 0.10, 0.07, 0.08, 0.10, 0.07, 0.07, 0.10, 0.08, 0.08, 0.11)
"""Share of annual sales by calendar month, January first."""
HISTORY_MONTHS = pd.period_range("2024-11", "2026-10", freq="M")
NEW_HIRES = {"R08-COLUMBUS": 4}
"""Reps who start during the plan year: rep_id -> first plan-year month."""

# (rep_id, county FIPS of the home base)
GEORGIA_REPS: tuple[tuple[str, str], ...] = (
    ("R01-ATLANTA", "13121"),
    ("R02-MARIETTA", "13067"),
    ("R03-LAWRENCEVILLE", "13135"),
    ("R04-DECATUR", "13089"),
    ("R05-SAVANNAH", "13051"),
    ("R06-AUGUSTA", "13245"),
    ("R07-MACON", "13021"),
    ("R08-COLUMBUS", "13215"),
    ("R09-ALBANY", "13095"),
)
GEORGIA_CRS = "EPSG:26916"  # NAD83 / UTM zone 16N: where libpysal's G_utm.shp coordinates lie (its .prj says 17N)


def georgia_counties() -> gpd.GeoDataFrame:
    """The 159 Georgia counties bundled with libpysal (offline), keyed by FIPS `unit_id`."""
    from libpysal import examples  # dev-only dependency: only the generator needs it

    path = Path(examples.get_path("G_utm.shp"))
    frame = gpd.read_file(path)
    frame = frame.set_crs(GEORGIA_CRS, allow_override=True)
    frame["unit_id"] = frame["AreaKey"].astype(int).astype(str)
    return frame.sort_values("unit_id").reset_index(drop=True)


def synthesize_georgia(counties: gpd.GeoDataFrame, seed: int) -> pd.DataFrame:
    """County measures (accounts, potential, workload) drawn as the module docstring says."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    pop = counties["TotPop90"].to_numpy(dtype=float)
    bach = counties["PctBach"].to_numpy(dtype=float)
    area_km2 = counties.geometry.area.to_numpy() / 1e6
    n_accounts = rng.poisson(3 + pop / 2000)
    potential = np.empty(len(counties))
    for c, n in enumerate(n_accounts):
        median = 25_000 * (0.8 + bach[c] / 50)
        draws = rng.lognormal(np.log(median), 1.1, size=n)
        potential[c] = float(np.round(draws / 100).sum() * 100)
    workload = 10.0 * n_accounts + 2.0 * np.sqrt(area_km2)
    centre = counties.geometry.representative_point()
    return pd.DataFrame(
        {
            "unit_id": counties["unit_id"],
            "x": np.round(centre.x.to_numpy(), 0),
            "y": np.round(centre.y.to_numpy(), 0),
            "population": counties["TotPop90"].astype(int),
            "accounts": n_accounts,
            "potential": potential.astype(np.int64),
            "workload": np.round(workload, 1),
        }
    )


def synthesize_history(units: pd.DataFrame, current: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Monthly sales per county as the module docstring says: columns unit_id, period, sales."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    reps = sorted(current["territory_id"].unique())
    rep_effect = dict(zip(reps, rng.lognormal(0.0, 0.12, size=len(reps)), strict=True))
    county = rng.lognormal(0.0, 0.25, size=len(units))
    rate = 0.42 * units["potential"].to_numpy(dtype=float) * county
    rate *= current["territory_id"].map(rep_effect).to_numpy()
    season = np.array([SEASON[p.month - 1] for p in HISTORY_MONTHS])
    trend = 1.05 ** (np.arange(len(HISTORY_MONTHS)) / 12)
    noise = rng.lognormal(0.0, 0.15, size=(len(units), len(HISTORY_MONTHS)))
    rep_year = rng.lognormal(0.0, 0.10, size=(len(reps), len(HISTORY_MONTHS) // 12))
    row = current["territory_id"].map({r: k for k, r in enumerate(reps)}).to_numpy()
    year = np.repeat(rep_year[row], 12, axis=1)
    sales = np.round(rate[:, None] * season[None, :] * trend[None, :] * year * noise).astype(np.int64)
    return pd.DataFrame(
        {
            "unit_id": np.repeat(units["unit_id"].to_numpy(), len(HISTORY_MONTHS)),
            "period": np.tile([str(p) for p in HISTORY_MONTHS], len(units)),
            "sales": sales.ravel(),
        }
    )


PLAN_YEAR = pd.period_range("2027-01", "2027-12", freq="M")
DEAL_SIZE = 18_000.0


def synthesize_transactions(units: pd.DataFrame, current: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Plan-year deals, cancellations and credit notes per county, as the module docstring says."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    base = 0.42 * units["potential"].to_numpy(dtype=float) * 1.05**2
    growth = rng.lognormal(np.log(1.04), 0.08, size=len(units))
    rows = []
    for c, unit in enumerate(units["unit_id"]):
        for month in PLAN_YEAR:
            sales = base[c] * growth[c] * SEASON[month.month - 1] * rng.lognormal(0.0, 0.15)
            count = max(1, round(sales / DEAL_SIZE))
            cents = np.floor(rng.dirichlet(np.full(count, 2.0)) * sales * 100).astype(np.int64)
            days = rng.integers(1, month.days_in_month + 1, size=count)
            services = rng.random(count) < 0.3
            new_logo = rng.random(count) < 0.15
            for k in range(count):
                margin = cents[k] * (35 if services[k] else 80) // 100
                rows.append(
                    (
                        unit,
                        str(month.start_time.date().replace(day=int(days[k]))),
                        cents[k],
                        margin,
                        "services" if services[k] else "license",
                        int(new_logo[k]),
                    )
                )
    deals = pd.DataFrame(rows, columns=["unit_id", "date", "cents", "margin_cents", "product", "new_logo"])
    deals = deals.sort_values(["date", "unit_id", "cents"], kind="stable").reset_index(drop=True)
    deals.insert(0, "transaction_id", [f"T{k + 1:06d}" for k in range(len(deals))])
    deals["reason"], deals["original_id"] = "", ""
    cancel = deals.sample(frac=0.01, random_state=np.random.RandomState(int(rng.integers(2**31))))
    later = pd.to_datetime(cancel["date"]) + pd.to_timedelta(rng.integers(20, 151, size=len(cancel)), unit="D")
    cancel = cancel[later <= pd.Timestamp("2027-12-31")]
    later = later[later <= pd.Timestamp("2027-12-31")]
    negatives = pd.DataFrame(
        {
            "transaction_id": [f"C{k + 1:05d}" for k in range(len(cancel))],
            "unit_id": cancel["unit_id"].to_numpy(),
            "date": later.dt.strftime("%Y-%m-%d").to_numpy(),
            "cents": -cancel["cents"].to_numpy(),
            "margin_cents": -cancel["margin_cents"].to_numpy(),
            "product": cancel["product"].to_numpy(),
            "new_logo": 0,
            "reason": "cancellation",
            "original_id": cancel["transaction_id"].to_numpy(),
        }
    )
    notes = deals.sample(n=2, random_state=np.random.RandomState(int(rng.integers(2**31))))
    credit_notes = pd.DataFrame(
        {
            "transaction_id": ["N00001", "N00002"],
            "unit_id": notes["unit_id"].to_numpy(),
            "date": notes["date"].to_numpy(),
            "cents": -(notes["cents"].to_numpy() // 10),
            "margin_cents": -(notes["margin_cents"].to_numpy() // 10),
            "product": notes["product"].to_numpy(),
            "new_logo": 0,
            "reason": "credit_note",
            "original_id": "",
        }
    )
    out = pd.concat([deals, negatives, credit_notes], ignore_index=True)
    return pd.DataFrame(
        {
            "transaction_id": out["transaction_id"],
            "date": out["date"],
            "unit_id": out["unit_id"],
            "product": out["product"],
            "amount": [cents_text(c) for c in out["cents"]],
            "margin": [cents_text(c) for c in out["margin_cents"]],
            "new_logo": out["new_logo"],
            "reason": out["reason"],
            "original_id": out["original_id"],
        }
    )


def demo_org(transactions: pd.DataFrame, current: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """hierarchy.csv, overlays.csv, overlay_quotas.csv and splits.csv for the demo (see the module docstring)."""
    reps = [r for r, _ in GEORGIA_REPS]
    hierarchy = pd.DataFrame(
        {
            "payee_id": [*reps, "M-NORTH", "M-SOUTH", "S-SERVICES"],
            "manager_id": ["M-NORTH"] * 4 + ["M-SOUTH"] * 5 + ["D-GEORGIA", "D-GEORGIA", ""],
            "role": ["rep"] * 9 + ["manager", "manager", "overlay"],
        }
    )
    overlays = pd.DataFrame({"payee_id": ["S-SERVICES"], "territory_id": [""], "product": ["services"]})
    overlay_quotas = pd.DataFrame({"payee_id": ["S-SERVICES"], "annual_quota": ["27000000.00"]})
    deals = transactions[transactions["reason"] == ""].copy()
    deals["cents"] = [int(round(float(a) * 100)) for a in deals["amount"]]
    top = deals.nlargest(12, "cents")
    owner = current.set_index("unit_id")["territory_id"]
    rows = []
    for _, t in top.iterrows():
        first = owner[t["unit_id"]]
        second = reps[(reps.index(first) + 1) % len(reps)]
        rows += [
            (t["transaction_id"], first, "60", "joint pursuit"),
            (t["transaction_id"], second, "40", "joint pursuit"),
        ]
    splits = pd.DataFrame(rows, columns=["transaction_id", "payee_id", "percent", "reason"])
    return {
        "hierarchy.csv": hierarchy,
        "overlays.csv": overlays,
        "overlay_quotas.csv": overlay_quotas,
        "splits.csv": splits,
    }


COACHING_TRUTH = {"max_uplift": 0.12, "half_stock": 6.0, "decay": 0.45}
"""The coaching effect built into the demo's coaching history (what the estimator should recover)."""


def synthesize_coaching(reps: list[str], seed: int) -> pd.DataFrame:
    """24 months (2025-01..2026-12) of coaching hours and sales for the reps on board, with a known uplift and
    coaching targeted at weaker reps (stream 3)."""
    from spmopt.coaching.uplift import UpliftModel, synthetic_history

    u = COACHING_TRUTH["max_uplift"]
    truth = UpliftModel(u, u, u, COACHING_TRUTH["half_stock"], COACHING_TRUTH["decay"], "truth")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    return synthetic_history(reps, 24, truth, rng)


def write_georgia_demo(out_dir: Path, seed: int) -> list[Path]:
    """Write the demo's units, geometry, reps, current alignment, history, transactions, org files and coaching
    history."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counties = georgia_counties()
    units = synthesize_georgia(counties, seed)
    geometry = gpd.GeoDataFrame(
        {"unit_id": counties["unit_id"]},
        geometry=shapely.set_precision(counties.geometry.values, 1.0),
        crs=GEORGIA_CRS,
    )
    by_id = units.set_index("unit_id")
    reps = pd.DataFrame(
        {
            "rep_id": [r for r, _ in GEORGIA_REPS],
            "x": [by_id.loc[c, "x"] for _, c in GEORGIA_REPS],
            "y": [by_id.loc[c, "y"] for _, c in GEORGIA_REPS],
            "start_month": [NEW_HIRES.get(r, "") for r, _ in GEORGIA_REPS],
        }
    )
    dx = units["x"].to_numpy()[:, None] - reps["x"].to_numpy()[None, :]
    dy = units["y"].to_numpy()[:, None] - reps["y"].to_numpy()[None, :]
    nearest = np.argmin(np.hypot(dx, dy), axis=1)
    current = pd.DataFrame({"unit_id": units["unit_id"], "territory_id": reps["rep_id"].to_numpy()[nearest]})
    names = ("units.csv", "counties.geojson", "reps.csv", "current_alignment.csv", "history.csv")
    paths = [out_dir / n for n in names]
    units.to_csv(paths[0], index=False)
    paths[1].unlink(missing_ok=True)
    geometry.to_file(paths[1], driver="GeoJSON", COORDINATE_PRECISION=0)
    reps.to_csv(paths[2], index=False)
    current.to_csv(paths[3], index=False)
    synthesize_history(units, current, seed).to_csv(paths[4], index=False)
    transactions = synthesize_transactions(units, current, seed)
    paths.append(out_dir / "transactions.csv")
    transactions.to_csv(paths[-1], index=False)
    for name, frame in demo_org(transactions, current).items():
        paths.append(out_dir / name)
        frame.to_csv(paths[-1], index=False)
    paths.append(out_dir / "coaching_history.csv")
    on_board = [r for r, _ in GEORGIA_REPS if r not in NEW_HIRES]
    synthesize_coaching(on_board, seed).to_csv(paths[-1], index=False)
    return paths


DEMO_SEED = 20261124


if __name__ == "__main__":
    # Regenerate the demo inputs next to scenarios/demo.yaml (needs the dev extras for libpysal).
    target = Path(__file__).resolve().parents[1] / "scenarios" / "demo"
    for written in write_georgia_demo(target, DEMO_SEED):
        print(written)
