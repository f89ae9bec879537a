"""Seeded generator of a CRM-shaped planning data set over the real ZIP codes of Connecticut: an account export
under Salesforce headers, the rep roster, 24 months of closed-won history and the plan year's deals.

Locations are the STANDARD Connecticut ZIPs with a location in the `zipcodes` package (offline). A ZIP is urban
when its city has several such ZIPs or is one of `BIG_CITIES`. Accounts (stream 0):

* accounts per ZIP ~ Poisson(lambda * G), lambda = 24 urban, 8 otherwise, G ~ Gamma(4, 1/4): a gamma mixture, so
  some towns are busier than others;
* annual potential (USD) ~ LogNormal(ln 20 000, 1.0), rounded to $100: median $20k, heavy tail;
* visits per year = min(24, 2 + round(potential / 15 000));
* ids are 18-character Salesforce ids (prefix `0015g00000`, 5 unique random base-62 characters, then the
  3-character case checksum); names are word-list company names that may repeat; industry from a fixed list.

Owners (stream 1). Eight reps live in eight CT cities (`REPS`); Jordan Pierce in Norwich is a replacement hire
who starts in month 4 of the plan year and owns nothing today. Dana Whitfield, who covered eastern CT from Norwich,
has left and is not on the roster. Today's owner of an account is the nearest of the seven reps on board, except:

* with probability 0.35 * d1 / d2 (distances to the nearest and second-nearest rep) the second-nearest rep, so
  ZIPs near a boundary have several owners (about 15% of accounts);
* 3% `Inside Sales Queue`; 12% of the accounts in Dana Whitfield's former territory (nearer to Norwich than to
  any other home, about 2% of accounts) still show her; 5 accounts have a blank owner;
* the 12 accounts with the largest potential are `Strategic Account = true` and keep their rep.

Postal codes are dirty as exports are (stream 2): 20% ZIP+4 (`06103-1234`), 8% with the leading zero dropped
(`6103`), 1% blank and 0.5% invalid (`N/A` or `00000`); the rest are clean 5-digit ZIPs. Cities are clean.

History (stream 3): the 24 months 2024-11..2026-10. An account closes deals in a month with probability 0.35;
then sales = 0.4 * potential * season(m) / 0.35 * a * e * f_ay, with a ~ LogNormal(-0.25^2/2, 0.25) per account
and e ~ LogNormal(-0.3^2/2, 0.3) per month (both of mean 1) and f_ay the territory effects below (of
potential-weighted mean 1 each year), so a year totals about 0.4 * potential. Season: 7/7/10, 7/8/10, 7/7/10,
8/8/11 % of the year from January. About 1% of the rows belong to accounts deleted from the CRM (ids not in
accounts.csv), drawn the same way. Whole dollars, at most one row per account and month.

Plan-year deals (stream 4): calendar 2027, the same process (with the year effects of 2027) with growth ~
LogNormal(ln 1.05, 0.08) per account. An account-month's sales are cut into 1 + floor(sales / 30 000) deals (shares
~ Dirichlet(2, ..., 2)), each on a uniform day of the month, to the cent; 70% `license` (margin 80%), 30% `services`
(margin 35%); 12% new logos. 1% of deals are cancelled 20-150 days later (a negative row, reason `cancellation`,
original_id, the deal's rep_id), if that falls in 2027. `rep_id` is blank (credit follows the account's territory)
except on half the January-February deals of Dana Whitfield's former territory, about 1% of deals: she closed them
before leaving, so nobody on the roster is credited.

Territory effects (stream 5, drawn after the accounts, so accounts.csv does not depend on them). Account noise
alone averages out over a territory's hundreds of accounts; territory sales also move with who sells them and
where. As in the Georgia demo (`spmopt.synthetic`, whose parameters these are), the sales of account a of ZIP z
held today by owner r (a rep, the queue, Dana Whitfield or the blank owner) in year y are multiplied by

* f_ay = rep_r * year_ry * zip_z / c_y, with rep_r ~ LogNormal(0, 0.12) per owner, year_ry ~ LogNormal(0, 0.10)
  per owner and year (its good or bad year: history years November-October, 2025 and 2026, and the plan year
  2027 its own draw), zip_z ~ LogNormal(0, 0.25) per ZIP, the same in every year;
* c_y = sum_a potential_a * rep_r * year_ry * zip_z / sum_a potential_a over the accounts in the export: the
  potential-weighted mean of the effects in year y, so each year's expected total is what it was without them
  (history about $40M a year, plan year about $42M). Deleted accounts' history keeps a factor of 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import zipcodes

from spmopt.data.tables import cents_text

CRM_SEED = 20261204
STATE = "CT"
BIG_CITIES = frozenset(
    ("Hartford", "New Haven", "Stamford", "Bridgeport", "Waterbury", "Norwalk", "Danbury", "New Britain", "Greenwich")
    + ("Middletown",)
)
REPS = (
    ("Maria Alvarez", "Hartford"), ("James O'Connor", "New Haven"), ("Priya Raman", "Stamford"),
    ("Marcus Bell", "Bridgeport"), ("Elena Russo", "Waterbury"), ("Jordan Pierce", "Norwich"),
    ("Tom Kowalski", "Danbury"), ("Grace Liu", "Torrington"),
)  # fmt: skip
"""(full name, home city) of the reps on the roster."""
NEW_HIRES = {"Jordan Pierce": 4}
"""Reps who start during the plan year: rep_id -> first plan-year month."""
DEPARTED = "Dana Whitfield"
DEPARTED_HOME = "Norwich"
QUEUE = "Inside Sales Queue"
MEDIAN_POTENTIAL = 20_000
SEASON = (0.07, 0.07, 0.10, 0.07, 0.08, 0.10, 0.07, 0.07, 0.10, 0.08, 0.08, 0.11)
"""Share of annual sales by calendar month, January first."""
HISTORY_MONTHS = pd.period_range("2024-11", "2026-10", freq="M")
PLAN_YEAR = pd.period_range("2027-01", "2027-12", freq="M")
ACTIVE = 0.35
"""Chance that an account closes deals in a given month."""
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "Healthcare": ("Dental Group", "Medical Associates", "Family Practice", "Physical Therapy", "Eye Care"),
    "Manufacturing": ("Precision", "Machine Works", "Tool & Die", "Fabrication", "Plastics"),
    "Insurance": ("Insurance Agency", "Insurance Group", "Benefits"), "Consulting": ("Advisors", "Partners"),
    "Construction": ("Builders", "Contracting", "Construction", "Roofing"), "Hospitality": ("Inn", "Hotel Group"),
    "Retail": ("Hardware", "Supply Co.", "Outfitters", "Home Center"), "Education": ("Academy", "Learning Center"),
    "Food & Beverage": ("Bakery", "Provisions", "Brewing Co.", "Catering"),
}  # fmt: skip
PREFIXES = (
    "Harbor", "Summit", "Valley", "Oak", "Coastal", "Riverside", "Granite", "Pioneer", "Maple", "Liberty",
    "Charter Oak", "Shoreline", "Nutmeg", "Constitution", "Colonial", "Yankee", "Beacon", "Heritage", "Northfield",
    "Bayview", "Ridge", "Meadow", "Cornerstone", "Keystone", "Lighthouse", "Sound", "Housatonic", "Quinnipiac",
    "Thames", "Litchfield", "Elm", "Birch", "Stonewall", "Mill River", "Laurel", "Hilltop",
)  # fmt: skip


def _stream(seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))


def ct_zips() -> pd.DataFrame:
    """STANDARD Connecticut ZIPs with a location: zip, city, lat, lon, urban; sorted by zip."""
    rows = [
        (z["zip_code"], z["city"], float(z["lat"]), float(z["long"]))
        for z in zipcodes.list_all()
        if z["state"] == STATE and z["zip_code_type"] == "STANDARD" and z["lat"] and z["long"]
    ]
    frame = pd.DataFrame(rows, columns=["zip", "city", "lat", "lon"]).sort_values("zip", ignore_index=True)
    per_city = frame["city"].map(frame["city"].value_counts())
    frame["urban"] = (per_city > 1) | frame["city"].isin(BIG_CITIES)
    return frame


def salesforce_ids(rng: np.random.Generator, n: int) -> list[str]:
    """n unique 18-character account ids: a 15-character id plus its case checksum, as Salesforce exports them."""
    codes = rng.choice(62**5, size=n, replace=False)
    ids = []
    for code in codes:
        tail = "".join(BASE62[(int(code) // 62**k) % 62] for k in range(5))
        short = "0015g00000" + tail
        # each 5-character chunk's uppercase letters, as bits, pick the chunk's checksum character
        bits = [sum(1 << i for i, ch in enumerate(short[j : j + 5]) if ch.isupper()) for j in (0, 5, 10)]
        check = "".join(CHECKSUM[b] for b in bits)
        ids.append(short + check)
    return ids


def _km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    # an equirectangular projection is accurate to well under 1% across a state this small
    dy = (lat1 - lat2) * 111.2
    dx = (lon1 - lon2) * 111.2 * np.cos(np.radians(41.6))
    return np.hypot(dx, dy)


def rep_roster(zips: pd.DataFrame) -> pd.DataFrame:
    """reps.csv: rep_id, lat, lon (the first ZIP of the home city), start_month (blank when on board)."""
    first = zips.drop_duplicates("city").set_index("city")
    return pd.DataFrame(
        {
            "rep_id": [r for r, _ in REPS],
            "lat": [first.loc[c, "lat"] for _, c in REPS],
            "lon": [first.loc[c, "lon"] for _, c in REPS],
            "start_month": [NEW_HIRES.get(r, "") for r, _ in REPS],
        }
    )


def synthesize_accounts(zips: pd.DataFrame, reps: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Clean accounts (ids, names, ZIP, potential, visits, today's owner, former territory) as the docstring says."""
    rng = _stream(seed, 0)
    lam = np.where(zips["urban"], 24.0, 8.0) * rng.gamma(4.0, 0.25, size=len(zips))
    per_zip = rng.poisson(lam)
    at = np.repeat(np.arange(len(zips)), per_zip)
    n = len(at)
    potential = np.round(rng.lognormal(np.log(MEDIAN_POTENTIAL), 1.0, size=n) / 100).astype(np.int64) * 100
    industries = list(INDUSTRIES)
    industry = rng.integers(len(industries), size=n)
    names = []
    for k in range(n):
        nouns = INDUSTRIES[industries[industry[k]]]
        # a third of small businesses carry their town's name
        prefix = zips["city"].iat[at[k]] if rng.random() < 0.33 else PREFIXES[rng.integers(len(PREFIXES))]
        names.append(f"{prefix} {nouns[rng.integers(len(nouns))]}")
    accounts = pd.DataFrame(
        {
            "account_id": salesforce_ids(rng, n),
            "name": names,
            "zip": zips["zip"].to_numpy()[at],
            "city": zips["city"].to_numpy()[at],
            "industry": [industries[i] for i in industry],
            "potential": potential,
            "visits": np.minimum(24, 2 + np.round(potential / 15_000)).astype(np.int64),
        }
    )
    rng = _stream(seed, 1)
    dist = _km(
        zips["lat"].to_numpy()[at, None],
        zips["lon"].to_numpy()[at, None],
        reps["lat"].to_numpy(),
        reps["lon"].to_numpy(),
    )
    roster = reps["rep_id"].to_numpy()
    board = np.flatnonzero(reps["start_month"].to_numpy() == "")
    order = board[np.argsort(dist[:, board], axis=1, kind="stable")]
    d1, d2 = dist[np.arange(n), order[:, 0]], dist[np.arange(n), order[:, 1]]
    second = rng.random(n) < 0.35 * d1 / np.maximum(d2, 1e-9)
    owner = np.where(second, roster[order[:, 1]], roster[order[:, 0]]).astype(object)
    former = np.argmin(dist, axis=1) == [c for _, c in REPS].index(DEPARTED_HOME)
    strategic = np.zeros(n, dtype=bool)
    strategic[np.argsort(-potential, kind="stable")[:12]] = True
    draw = rng.random(n)
    owner[(draw < 0.03) & ~strategic] = QUEUE
    owner[former & (draw >= 0.03) & (draw < 0.15) & ~strategic] = DEPARTED
    blank = rng.choice(np.flatnonzero(~strategic), size=5, replace=False)
    owner[blank] = ""
    accounts["owner"], accounts["strategic"], accounts["former"] = owner, strategic, former
    return accounts.sort_values("account_id", ignore_index=True)


def dirty_postal_codes(zips: pd.Series, seed: int) -> list[str]:
    """BillingPostalCode as exported: ZIP+4, dropped leading zeros, blanks and invalid codes (shares above)."""
    rng = _stream(seed, 2)
    u = rng.random(len(zips))
    plus4 = rng.integers(1, 10_000, size=len(zips))
    invalid = np.where(rng.random(len(zips)) < 0.5, "N/A", "00000")
    cuts = np.searchsorted([0.20, 0.28, 0.29, 0.295], u, side="right")
    forms = [[f"{z}-{p:04d}", z.lstrip("0"), "", bad, z] for z, p, bad in zip(zips, plus4, invalid, strict=True)]
    return [f[c] for f, c in zip(forms, cuts, strict=True)]


EFFECT_YEARS = (2025, 2026, 2027)
"""Years of the per-owner-year effect: the history's two November-October years, then the plan year."""
REP_SD, YEAR_SD, ZIP_SD = 0.12, 0.10, 0.25
"""Log-sds of the per-owner, per-owner-year and per-ZIP effects, the Georgia demo's (`spmopt.synthetic`)."""


def _effect_year(month: pd.Period) -> int:
    # November and December open the next history year; the plan year (calendar 2027) is one year of its own
    return 2027 if month >= PLAN_YEAR[0] else month.year + (month.month >= 11)


def territory_effects(accounts: pd.DataFrame, zips: pd.Series, seed: int) -> pd.DataFrame:
    """Per account (rows as accounts) and EFFECT_YEARS year: rep_r * year_ry * zip_z / c_y, as the docstring says."""
    rng = _stream(seed, 5)
    owners = sorted({*(r for r, _ in REPS), DEPARTED, QUEUE, ""})
    rep = dict(zip(owners, rng.lognormal(0.0, REP_SD, size=len(owners)), strict=True))
    year = dict(zip(owners, rng.lognormal(0.0, YEAR_SD, size=(len(owners), len(EFFECT_YEARS))), strict=True))
    zip_effect = dict(zip(zips, rng.lognormal(0.0, ZIP_SD, size=len(zips)), strict=True))
    owner = accounts["owner"].to_numpy()
    raw = (
        np.array([rep[o] for o in owner])[:, None]
        * np.array([year[o] for o in owner])
        * accounts["zip"].map(zip_effect).to_numpy(float)[:, None]
    )
    weight = accounts["potential"].to_numpy(float)
    level = weight @ raw / weight.sum()
    return pd.DataFrame(raw / level, index=accounts.index, columns=list(EFFECT_YEARS))


def _monthly(
    potential: np.ndarray, months: pd.PeriodIndex, rng: np.random.Generator, effects: pd.DataFrame | None = None
) -> np.ndarray:
    """Sales per account and month (0 when no deal), whole dollars, as the docstring's history says; effects
    (accounts x EFFECT_YEARS, the first rows of potential; the rest get 1) scale each account's year."""
    season = np.array([SEASON[p.month - 1] for p in months])
    account = rng.lognormal(-(0.25**2) / 2, 0.25, size=len(potential))
    noise = rng.lognormal(-(0.3**2) / 2, 0.3, size=(len(potential), len(months)))
    active = rng.random((len(potential), len(months))) < ACTIVE
    scale = np.ones((len(potential), len(months)))
    if effects is not None:
        scale[: len(effects)] = effects[[_effect_year(p) for p in months]].to_numpy()
    rate = 0.4 * potential * account / ACTIVE
    return np.where(active, np.round(rate[:, None] * season[None, :] * scale * noise), 0).astype(np.int64)


def synthesize_history(accounts: pd.DataFrame, seed: int, effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """history.csv: account_id, period, sales; accounts deleted from the CRM included; effects as territory_effects
    gives them (none: a factor of 1)."""
    rng = _stream(seed, 3)
    n_deleted = max(1, round(0.01 * len(accounts)))
    deleted = [i for i in salesforce_ids(rng, n_deleted + 50) if i not in set(accounts["account_id"])][:n_deleted]
    potential = np.concatenate(
        [accounts["potential"].to_numpy(float), np.round(rng.lognormal(np.log(MEDIAN_POTENTIAL), 1.0, n_deleted), -2)]
    )
    sales = _monthly(potential, HISTORY_MONTHS, rng, effects)
    ids = np.array([*accounts["account_id"], *deleted])
    a, m = np.nonzero(sales)
    frame = pd.DataFrame({"account_id": ids[a], "period": HISTORY_MONTHS.astype(str)[m], "sales": sales[a, m]})
    return frame.sort_values(["account_id", "period"], ignore_index=True)


def synthesize_transactions(accounts: pd.DataFrame, seed: int, effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """transactions.csv: the plan year's deals and cancellations, as the docstring says; effects as in
    synthesize_history."""
    rng = _stream(seed, 4)
    growth = rng.lognormal(np.log(1.05), 0.08, size=len(accounts))
    sales = _monthly(accounts["potential"].to_numpy(float) * growth, PLAN_YEAR, rng, effects)
    rows = []
    ids = accounts["account_id"].to_numpy()
    for a, m in zip(*np.nonzero(sales), strict=True):
        month = PLAN_YEAR[m]
        count = 1 + int(sales[a, m] // 30_000)
        cents = np.floor(rng.dirichlet(np.full(count, 2.0)) * sales[a, m] * 100).astype(np.int64)
        days = rng.integers(1, month.days_in_month + 1, size=count)
        services = rng.random(count) < 0.3
        new_logo = rng.random(count) < 0.12
        departed = accounts["former"].iat[a] and month.month <= 2 and rng.random() < 0.5
        who = DEPARTED if departed else ""
        for k in range(count):
            margin = cents[k] * (35 if services[k] else 80) // 100
            product = "services" if services[k] else "license"
            rows.append((f"{month}-{days[k]:02d}", ids[a], who, product, cents[k], margin, int(new_logo[k])))
    columns = ["date", "account_id", "rep_id", "product", "cents", "margin_cents", "new_logo"]
    deals = pd.DataFrame(rows, columns=columns).sort_values(["date", "account_id", "cents"], ignore_index=True)
    deals.insert(0, "transaction_id", [f"T{k + 1:06d}" for k in range(len(deals))])
    deals["reason"], deals["original_id"] = "", ""
    cancel = deals.iloc[np.sort(rng.choice(len(deals), size=round(0.01 * len(deals)), replace=False))].copy()
    later = pd.to_datetime(cancel["date"]) + pd.to_timedelta(rng.integers(20, 151, size=len(cancel)), unit="D")
    keep = (later <= pd.Timestamp("2027-12-31")).to_numpy()
    cancel, later = cancel[keep], later[keep]
    cancel["original_id"] = cancel["transaction_id"]
    cancel["transaction_id"] = [f"C{k + 1:05d}" for k in range(len(cancel))]
    cancel["date"] = later.dt.strftime("%Y-%m-%d")
    cancel["cents"], cancel["margin_cents"] = -cancel["cents"], -cancel["margin_cents"]
    cancel["new_logo"], cancel["reason"] = 0, "cancellation"
    out = pd.concat([deals, cancel], ignore_index=True)
    out["amount"] = [cents_text(c) for c in out["cents"]]
    out["margin"] = [cents_text(c) for c in out["margin_cents"]]
    order = ["transaction_id", "date", "account_id", "rep_id", "product", "amount", "margin", "new_logo"]
    return out[[*order, "reason", "original_id"]]


def crm_export(accounts: pd.DataFrame, seed: int) -> pd.DataFrame:
    """accounts.csv under the CRM's headers, with the export's dirty postal codes."""
    return pd.DataFrame(
        {
            "Account ID": accounts["account_id"],
            "Account Name": accounts["name"],
            "BillingPostalCode": dirty_postal_codes(accounts["zip"], seed),
            "BillingCity": accounts["city"],
            "Account Owner": accounts["owner"],
            "Strategic Account": np.where(accounts["strategic"], "true", ""),
            "Industry": accounts["industry"],
            "Annual Potential": accounts["potential"],
            "Visits per Year": accounts["visits"],
        }
    )


def write_crm_demo(out_dir: Path, seed: int) -> list[Path]:
    """Write accounts.csv, reps.csv, history.csv and transactions.csv into out_dir; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    zips = ct_zips()
    reps = rep_roster(zips)
    accounts = synthesize_accounts(zips, reps, seed)
    effects = territory_effects(accounts, zips["zip"], seed)
    frames = {
        "accounts.csv": crm_export(accounts, seed),
        "reps.csv": reps,
        "history.csv": synthesize_history(accounts, seed, effects),
        "transactions.csv": synthesize_transactions(accounts, seed, effects),
    }
    paths = []
    for name, frame in frames.items():
        paths.append(out_dir / name)
        frame.to_csv(paths[-1], index=False, lineterminator="\n")
    return paths


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "scenarios" / "crm_demo"
    for written in write_crm_demo(target, CRM_SEED):
        print(written)
