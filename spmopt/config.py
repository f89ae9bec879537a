"""Scenario schema: the pydantic models a scenario YAML is validated against, and the only home of defaults.

Every model forbids unknown keys and is frozen, so a typo in a scenario is an error, not a silently
ignored setting, and nothing downstream can change the configuration it was given. One module, though long:
the sections validate against each other (`ScenarioConfig`'s cross-section rules), and the schema reference and
the path resolution walk it as one tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spmopt.candidate import DESIGNED


class StrictModel(BaseModel):
    """Base for every config section: unknown keys rejected, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


ACCOUNT_FIELDS = ("account_id", "owner", "postal_code", "unit", "name", "named", "assigned_to")
"""Keys of `data.accounts.columns` that name a field; every other key names a measure."""
ACCOUNT_COLUMNS_ADDED = ("unit_id", "accounts", "majority_owner", "crm_owner", "code", "reason")
"""Column names spmopt adds to the tables it builds from accounts (so no measure may take them, but `accounts`,
the count of accounts in each unit, is a measure every scenario with accounts can balance)."""


class AccountColumns(BaseModel):
    """Which header of the accounts file holds each field (a CRM export keeps its own headers). Every key that is
    not one of the fields below is a measure: `potential: Potential` reads the `Potential` column as the measure
    `potential`, summed per unit."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)
    __pydantic_extra__: dict[str, str]

    account_id: str
    """Unique account id, e.g. `Account ID`."""
    owner: str
    """Account owner today, e.g. `Account Owner`: a rep_id of `data.reps` (anyone else, a queue or someone who
    left, leaves the account open)."""
    postal_code: str | None = None
    """Postal code, e.g. `BillingPostalCode`: ZIP+4 and ZIPs that lost their leading zeros are read as ZIPs."""
    unit: str | None = None
    """A unit id the export carries (e.g. a county FIPS code), for `units_by: unit`."""
    name: str | None = None
    """Account name, shown next to the id in listings and `account_assignments.csv`."""
    named: str | None = None
    """Yes/no column marking named accounts (blank is no): each is assigned on its own, not with its ZIP."""
    assigned_to: str | None = None
    """Rep a named account is assigned to (blank: it stays with its owner)."""

    @model_validator(mode="after")
    def _measures_named(self) -> AccountColumns:
        if not self.measures:
            raise ValueError("map at least one measure column, e.g. potential: Potential")
        clash = sorted(set(ACCOUNT_COLUMNS_ADDED).intersection(self.measures))
        if clash:
            raise ValueError(f"measure name '{clash[0]}' is taken by a column spmopt adds; choose another name")
        return self

    @property
    def measures(self) -> dict[str, str]:
        """Measure name -> header, in the order given."""
        return dict(self.__pydantic_extra__ or {})


class AccountsConfig(StrictModel):
    """A CRM account export: units are built from its accounts, today's alignment from their owners."""

    file: Path
    """CSV or Parquet, one row per account."""
    columns: AccountColumns
    """Header of each field and measure, e.g. `{account_id: Account ID, owner: Account Owner, postal_code:
    BillingPostalCode, potential: Potential}`."""
    units_by: Literal["zip", "county", "unit"] | None = None
    """How accounts form units: `zip` (the postal code's 5-digit ZIP, located from the offline ZIP data), `county`
    (the ZIP's county, e.g. `Kent County, RI`, located at the mean of its ZIPs), or `unit` (the `unit` column, a
    unit of `data.units`). Default: `unit` when the unit column is mapped, else `zip`."""

    @model_validator(mode="after")
    def _placeable(self) -> AccountsConfig:
        if self.grouping == "unit" and self.columns.unit is None:
            raise ValueError("units_by: unit needs columns.unit (the header of the unit id column)")
        if self.grouping != "unit" and self.columns.postal_code is None:
            raise ValueError(f"units_by: {self.grouping} needs columns.postal_code (the header of the ZIP column)")
        return self

    @property
    def grouping(self) -> Literal["zip", "county", "unit"]:
        """`units_by`, or its default."""
        if self.units_by is not None:
            return self.units_by
        return "unit" if self.columns.unit is not None else "zip"


class DataConfig(StrictModel):
    """Input files. Relative paths are resolved against the folder of the YAML file that names them."""

    units: Path | None = None
    """CSV or Parquet: `unit_id`, coordinates (`x`,`y` projected or `lat`,`lon`) and numeric measure columns.
    Optional with `accounts` (units are then built from them)."""
    accounts: AccountsConfig | None = None
    """A CRM account export. Units are its ZIPs, counties or unit column, each measure summed from its accounts
    (with `units` also given: the accounts' measures replace or add to the units file's), plus the measure
    `accounts` (how many); today's alignment comes from the owners and the moved share is measured on accounts;
    named accounts are assigned and locked one by one."""
    geometry: Path | None = None
    """GeoPackage, GeoJSON or Shapefile of polygons with a `unit_id` column; adjacency is derived from it."""
    adjacency: Path | None = None
    """CSV of edges `unit_a,unit_b` (e.g. bridges, ferries); added to the geometry's adjacency when both are
    given, the whole adjacency graph without a geometry."""
    adjacency_rule: Literal["queen", "rook"] = "queen"
    """Queen: polygons touching at a point are neighbours; rook: they must share a boundary segment."""
    current_alignment: Path | None = None
    """CSV `unit_id,territory_id` of today's alignment (for disruption limits and labels)."""
    reps: Path | None = None
    """CSV `rep_id`, home base (`x`,`y` or `lat`,`lon`), optional `territory_id` and `target_share`."""
    xy_unit: Literal["m", "km"] = "m"
    """Length unit of projected `x`,`y` columns; distances are reported in km."""
    locations_from: Literal["columns", "zip"] = "columns"
    """Where units get their coordinates: `columns` (`x`,`y` or `lat`,`lon`, else the polygon centres of
    `data.geometry`); `zip`: a unit whose `unit_id` is a US ZIP and whose `lat`,`lon` are blank or absent takes
    its ZIP's location from the ZIP data spmopt ships (offline; ZIP+4 read as its ZIP, leading zeros a
    spreadsheet dropped put back). Ids that locate no ZIP are an error naming them."""
    adjacency_from: Literal["polygons", "points"] = "polygons"
    """`polygons`: neighbours from `data.geometry` (none without it). `points`, for units without polygons: an
    approximation from their locations: a Delaunay triangulation, with edges much longer than the spacing of
    the locations around both ends dropped, units sharing a location spread a few metres apart, and Voronoi
    cells drawn as the units' areas on the map (docs/point-geography.md). Polygons win when `data.geometry` is
    given; pieces left apart by open water are islands for `territory.islands`."""

    @model_validator(mode="after")
    def _units_given(self) -> DataConfig:
        if self.units is None and self.accounts is None:
            raise ValueError("give data.units (a units table) or data.accounts (a CRM account export)")
        if self.accounts is not None and self.current_alignment is not None:
            raise ValueError(
                "data.current_alignment and data.accounts both give today's alignment; drop current_alignment "
                "(the accounts' owners give it, account by account)"
            )
        if self.accounts is not None and self.accounts.grouping == "unit" and self.units is None:
            raise ValueError(
                "data.accounts.units_by: unit needs data.units (the units the unit column names, with locations)"
            )
        return self

    @property
    def units_source(self) -> Path:
        """The file the units come from (for messages): the units table, else the accounts file."""
        if self.units is not None:
            return self.units
        assert self.accounts is not None  # the validator guarantees one of the two
        return self.accounts.file

    @property
    def gives_adjacency(self) -> bool:
        """Whether the data section yields an adjacency graph (polygons, an edge list or points)."""
        return self.geometry is not None or self.adjacency is not None or self.adjacency_from == "points"


class BalanceConfig(StrictModel):
    """One balance requirement: the measure's territory total within +-tolerance of its target."""

    measure: str
    """Column of the units table, e.g. `potential` or `workload`."""
    tolerance: float = Field(gt=0, lt=1)
    """Allowed relative deviation from the territory's share-weighted target, e.g. 0.05 for +-5%."""


class SolverSettings(StrictModel):
    """Limits handed to HiGHS."""

    time_limit: float = Field(default=300.0, gt=0)
    """Seconds; on expiry the best alignment found is returned with its optimality gap."""
    mip_gap: float = Field(default=1e-4, ge=0, lt=1)
    """Relative optimality gap at which the search stops."""
    threads: int | None = Field(default=None, ge=1)
    """Solver threads; HiGHS chooses when omitted (the rep-based territory method uses 1, for reproducibility)."""
    node_limit: int | None = Field(default=20_000, ge=1)
    """Branch-and-bound nodes the rep-based territory method may explore in all; a stop that gives the same
    alignment under any machine load, unlike `time_limit`, which remains the safety net. None: no limit."""


class TerritoryConfig(StrictModel):
    """Territory design: how many territories, what must balance, and what makes a good alignment."""

    territories: int | None = Field(default=None, ge=1)
    """Number of territories; defaults to one per rep when `data.reps` is given."""
    balance: tuple[BalanceConfig, ...] = ()
    """Measures that must balance, each with its own tolerance."""
    compactness: Literal["distance", "cut_edges"] = "distance"
    """Objective: total distance from units to their territory centre, or number of cut adjacency edges."""
    distance_weight: str | None = None
    """Measure that weights each unit's distance (e.g. `workload`); every unit counts once when omitted."""
    contiguity: bool = False
    """Every territory must be connected on the adjacency graph."""
    islands: Literal["error", "bridge"] = "error"
    """Units or groups of units with no path to the rest of the adjacency graph: `error` refuses a contiguous
    design and names them; `bridge` links each to its nearest unit outside it (closest centres, shortest total
    length) and lists the added edges in `bridged_edges.csv`."""
    max_disruption: float | None = Field(default=None, ge=0, le=1)
    """Cap on the share of `disruption_measure` moved away from the current alignment."""
    disruption_measure: str | None = None
    """Measure whose moved share is capped and penalised; the first balance measure when omitted."""
    disruption_weight: float = Field(default=0.0, ge=0)
    """Objective penalty per percentage point of `disruption_measure` moved."""
    locks: Path | None = None
    """CSV `unit_id,territory_id` of units that must stay in the named territory."""
    candidate_sites: int | None = Field(default=None, ge=1)
    """Each unit may join only its N nearest candidate centres (prunes the model; all when omitted)."""
    solver: SolverSettings = SolverSettings()
    """Limits handed to HiGHS."""

    @field_validator("balance")
    @classmethod
    def _measures_unique(cls, balance: tuple[BalanceConfig, ...]) -> tuple[BalanceConfig, ...]:
        seen = [b.measure for b in balance]
        dupes = sorted({m for m in seen if seen.count(m) > 1})
        if dupes:
            raise ValueError(f"measure listed more than once: {', '.join(dupes)}")
        return balance


class GrowthBounds(StrictModel):
    """Allowed change of a territory's quota against its last-year sales (fractions: 0.1 is +10%)."""

    min: float | None = Field(default=None, ge=-1)
    """Lowest change allowed, e.g. -0.05 for -5% (none: no lower limit)."""
    max: float | None = Field(default=None, ge=-1)
    """Highest change allowed, e.g. 0.2 for +20% (none: no upper limit)."""

    @model_validator(mode="after")
    def _ordered(self) -> GrowthBounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class SeasonalityConfig(StrictModel):
    """How annual quotas are split into periods."""

    periods: Literal["month", "quarter"] = "month"
    """Length of the periods the annual quota is split into."""
    profile: Literal["flat", "history"] | tuple[float, ...] = "flat"
    """`flat`, `history` (estimated from quota.history) or 12 monthly / 4 quarterly weights in plan-year order."""

    @field_validator("profile")
    @classmethod
    def _profile_shape(cls, profile: object) -> object:
        if isinstance(profile, tuple):
            if len(profile) not in (4, 12):
                raise ValueError(f"give 12 monthly or 4 quarterly weights, not {len(profile)}")
            if any(w < 0 for w in profile) or sum(profile) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        return profile


class AttainmentConfig(StrictModel):
    """Forecast of each territory's plan-year sales, and the share of reps meant to reach quota."""

    target_share: float | None = Field(default=None, gt=0, lt=1)
    """Calibrate the quota total so this expected share of reps reaches 100%; report only when omitted."""
    forecast_total: int | None = Field(default=None, gt=0)
    """Expected company sales for the plan year (the forecast's mean); quota.target when omitted."""
    dispersion: float | Literal["history"] | None = None
    """Sigma of log territory sales; `history` backtests the quota basis on last year's sales (and the year
    before, when the basis weights history). Required unless quota.history is given (then `history` is the
    default)."""
    draws: int = Field(default=20_000, ge=100)
    """Monte-Carlo draws that check the analytic attainment share."""

    @field_validator("dispersion")
    @classmethod
    def _positive(cls, value: object) -> object:
        if isinstance(value, float) and not 0 < value < 3:
            raise ValueError("dispersion (sigma of log sales) must be in (0, 3)")
        return value


class QuotaConfig(StrictModel):
    """Quota setting: allocate the company target to territories, fairly and attainably."""

    target: int = Field(gt=0)
    """Company target for the plan year, in whole currency units."""
    potential: str = "potential"
    """Measure of the units table that holds each unit's sales potential."""
    basis: dict[Literal["potential", "history"], float] = Field(default_factory=lambda: {"potential": 1.0})
    """Weights of potential share and last-year-sales share in each territory's fair share."""
    method: Literal["share", "optimise"] = "optimise"
    """`share`: total x fair share, largest-remainder rounding, no bounds. `optimise`: equal difficulty within
    the bounds (growth, floor, cap), rounded by a MILP that keeps the sum exact."""
    growth: GrowthBounds | None = None
    """Quota change against last-year sales, for territories with history."""
    floor: int | None = Field(default=None, ge=0)
    """Smallest full-year quota, whole currency units."""
    cap: int | None = Field(default=None, gt=0)
    """Largest full-year quota, whole currency units."""
    bounds: Path | None = None
    """CSV `territory_id` + any of `min_growth`, `max_growth`, `floor`, `cap`: per-territory overrides."""
    granularity: int = Field(default=1000, ge=1)
    """Quotas are whole multiples of this; the target must be one too. A granularity that would round a
    territory's quota to 0 is refused; one that moves any quota by more than 5% is warned about."""
    ramp: tuple[float, ...] = (0.25, 0.5, 0.75)
    """Productivity of a new rep in their 1st, 2nd, ... month, counted from their `start_month` (reps file);
    full productivity afterwards."""
    fiscal_start_month: int = Field(default=1, ge=1, le=12)
    """Calendar month in which the plan year begins."""
    history: Path | None = None
    """CSV `unit_id` (or `account_id`), `period` (YYYY-MM), `sales`: monthly sales history."""
    seasonality: SeasonalityConfig = SeasonalityConfig()
    """How each annual quota is split into periods."""
    attainment: AttainmentConfig = AttainmentConfig()
    """Calibration of the quota total to a share of reps at quota."""
    max_target_to_potential: float = Field(default=1.0, gt=0)
    """Warn when the quota total exceeds total potential times this factor."""
    solver: SolverSettings = SolverSettings(time_limit=60.0, mip_gap=0.0)
    """Limits of the rounding MILP."""

    @field_validator("basis")
    @classmethod
    def _weights(cls, basis: dict[str, float]) -> dict[str, float]:
        if not basis or any(w < 0 for w in basis.values()) or sum(basis.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum, e.g. {potential: 0.7, history: 0.3}")
        return basis

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, ramp: tuple[float, ...]) -> tuple[float, ...]:
        if len(ramp) > 12 or any(not 0 <= f <= 1 for f in ramp):
            raise ValueError("at most 12 monthly factors, each in [0, 1]")
        return ramp

    @model_validator(mode="after")
    def _consistent(self) -> QuotaConfig:
        if self.target % self.granularity:
            raise ValueError(
                f"target {self.target:,} is not a multiple of granularity {self.granularity:,}, so rounded "
                "quotas could not add up to it exactly; choose a granularity that divides the target"
            )
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError(f"floor {self.floor:,} is above cap {self.cap:,}")
        needs_history = [
            what
            for what, used in (
                ("basis.history", self.basis.get("history", 0) > 0),
                ("growth", self.growth is not None),
                ("seasonality.profile: history", self.seasonality.profile == "history"),
                ("attainment.dispersion: history", self.attainment.dispersion == "history"),
            )
            if used
        ]
        if needs_history and self.history is None:
            raise ValueError(f"{', '.join(needs_history)} need(s) quota.history (monthly sales history)")
        if self.history is None and self.attainment.dispersion is None:
            raise ValueError("attainment.dispersion is required when quota.history is not given")
        bounded = self.growth is not None or self.floor is not None or self.cap is not None or self.bounds
        if self.method == "share" and bounded:
            raise ValueError("growth, floor, cap and bounds need method 'optimise' (method 'share' ignores bounds)")
        return self

    @property
    def dispersion_rule(self) -> float | Literal["history"]:
        """The dispersion to use: the given sigma, or `history` by default when history is given."""
        return self.attainment.dispersion if self.attainment.dispersion is not None else "history"


class OutputConfig(StrictModel):
    """Where a run writes its results."""

    dir: Path | None = None
    """Output folder; `out/<scenario name>` under the working directory when omitted."""


class CreditingConfig(StrictModel):
    """Org files for crediting (the alignment and territory reps come from the territory stage)."""

    hierarchy: Path | None = None
    """payee_id, manager_id[, role]: managers get their reps' credit rolled up."""
    overlays: Path | None = None
    """payee_id[, territory_id][, product]: overlay payees credited 100%."""
    splits: Path | None = None
    """transaction_id, payee_id, percent[, reason]: explicit split credit (adding up to 100%)."""


class CompConfig(StrictModel):
    """Evaluate candidate comp plans on the scenario's territories, quotas and transactions."""

    plans: tuple[Path, ...] = Field(min_length=1)
    """Plan YAML files (see models/comp); each is evaluated on the same credit."""
    transactions: Path
    """CSV `transaction_id`, `date`, `amount` and one of `unit_id`, `territory_id`, `rep_id` (optional `product`,
    `margin`, `new_logo`, `reason`, `original_id`): the deals, cancellations and credit notes paid on."""
    crediting: CreditingConfig = CreditingConfig()
    """Who is credited besides the territory owner: manager roll-up, overlays, splits."""
    quotas: Path | None = None
    """Quotas for payees the quota stage does not set (overlays, count measures): payee rows, see README. Optional
    columns `target_incentive`, `base_salary`, `start_month`, `end_month` give payees their own pay terms."""
    plan_year: str | None = None
    """First day of the plan year (YYYY-MM-01, e.g. 2028-04-01) for every plan, replacing each plan's `year_start`,
    so one plan file serves any year (omitted: each plan's own `year_start`)."""

    @field_validator("plan_year", mode="before")
    @classmethod
    def _first_of_month(cls, value: object) -> object:
        import datetime as dt

        if value is None:
            return None
        try:
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"plan_year {value!r} is not a date YYYY-MM-DD, e.g. 2028-01-01") from None
        if day.day != 1:
            raise ValueError(f"plan_year {day} is not the first day of a month (plan years start on a month)")
        return dt.date(day.year, day.month, day.day).isoformat()


class SimulationConfig(StrictModel):
    """Monte-Carlo simulation of the reps' year under each candidate comp plan (SimPy, replications on Dask)."""

    behaviour: Path
    """Behaviour parameter file (see models/behaviour/), e.g. ../models/behaviour/defaults.yaml."""
    replications: int = Field(default=200, ge=1)
    """Monte-Carlo replications per plan; every plan sees the same random numbers (paired comparison)."""
    mode: Literal["behaviour", "fixed_effort"] = "behaviour"
    """`behaviour`: effort, deal timing and turnover answer the plan. `fixed_effort`: reps sell at normal effort
    whatever the plan pays (the comparison case)."""
    calibrate: Literal["forecast", "potential"] = "forecast"
    """Opportunity rates so normal-effort sales match the quota stage's expected sales per territory
    (`forecast`), or the behaviour file's `capture` share of each unit's potential (`potential`)."""
    potential: str = "potential"
    """Measure of the units table holding sales potential (where opportunities come from)."""
    workload: str | None = None
    """Measure of the units table holding the workload of covering each unit; sets rep capacity (none: no limit)."""
    accounts: str | None = None
    """Measure holding each unit's number of accounts (deal sizes scale with potential per account)."""
    workers: int | None = Field(default=None, ge=1)
    """Dask workers of the local cluster (one per core when omitted); 1 runs the replications in this process."""
    scheduler: str | None = None
    """Address of an existing Dask scheduler (tcp://host:8786); a local cluster is started when omitted."""
    criterion: Literal["max_margin_after_pay", "max_revenue", "min_cost_of_sales", "max_share_at_quota"] = (
        "max_margin_after_pay"
    )
    """How the decision table picks the best candidate (plan, with or without coaching), on simulated means."""


class CoachingConfig(StrictModel):
    """Coaching: estimate the uplift, allocate managers' hours, and simulate the year with the coaching plan."""

    prior: Path
    """Uplift model file used when no history is given (models/coaching_uplift/prior-v1.json)."""
    history: Path | None = None
    """CSV rep_id, period (YYYY-MM), coaching_hours, sales: estimate the uplift from it (two-way fixed effects)."""
    capacity: float | dict[str, float] = Field(default=8.0)
    """Coaching hours a month each manager can give (one number for all, or manager -> hours)."""
    min_hours: float = Field(default=0.0, ge=0)
    """Hours a month every rep gets at least."""
    max_hours: float = Field(default=8.0, gt=0)
    """Hours a month no rep gets more than."""
    step: float = Field(default=0.5, gt=0)
    """Coaching comes in slots of this many hours."""
    hour_cost: float = Field(default=0.0, ge=0)
    """A manager's wage an hour (currency); with opportunity_cost, the cost charged against the uplift and the ROI."""
    opportunity_cost: float | None = Field(default=None, ge=0)
    """What a manager's coaching hour displaces (selling, deal support, managing), currency an hour, charged on
    top of hour_cost. None: the margin an average working hour of the scenario's reps brings (mean expected
    annual sales x margin ratio / 1,800 h; models/coaching_uplift/README.md)."""

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: float | dict[str, float]) -> float | dict[str, float]:
        values = value.values() if isinstance(value, dict) else [value]
        if any(v < 0 for v in values):
            raise ValueError("coaching hours a month must be >= 0")
        return value

    @model_validator(mode="after")
    def _band(self) -> CoachingConfig:
        if self.min_hours > self.max_hours:
            raise ValueError(f"min_hours {self.min_hours:g} is above max_hours {self.max_hours:g}")
        return self


DISTRICT_TOLERANCE = 0.15
"""Default band of a district (or region) measure: +-15% of its target. Districts are sums of whole territories,
so their totals move in steps of one territory: with three territories a district, one territory is a third of the
district's target, and a tighter band than the territories' own (often 5-10%) could leave no grouping at all;
15% keeps districts visibly comparable while leaving room for that granularity."""


class HierarchyConfig(StrictModel):
    """Territories rolled up into districts (a first-line manager each) and districts into regions: read from a
    file, or designed by the territory engine with each territory as a unit. Give `file` or `districts`."""

    file: Path | None = None
    """CSV `territory_id,district_id[,region_id]`, one row per territory (a rep_id may name its territory, as in
    alignment files); a district belongs to one region."""
    districts: int | None = Field(default=None, ge=1)
    """Design this many districts from the territories (balanced, contiguous when asked); fewer than the
    territories."""
    regions: int | None = Field(default=None, ge=1)
    """Also design this many regions from the districts (fewer than `districts`); none when omitted."""
    balance: tuple[BalanceConfig, ...] | None = None
    """Measures each district (and region) must balance, each within +-tolerance of an equal share of the total.
    Default: the territory section's balance measures, each at +-15% (districts are whole territories, so their
    totals move in steps of one territory). A measure must be one the scenario already reads (a territory
    balance measure, `territory.distance_weight`, `quota.potential` or a simulation measure)."""
    contiguity: bool | None = None
    """Every district (and region) connected on the units' adjacency graph (two territories touch when any of
    their units do). Default: true when the scenario has an adjacency graph (data.geometry, data.adjacency or
    data.adjacency_from: points)."""
    solver: SolverSettings | None = None
    """Limits of each level's solve; the territory section's `solver` when omitted."""

    @field_validator("balance")
    @classmethod
    def _measures_unique(cls, balance: tuple[BalanceConfig, ...] | None) -> tuple[BalanceConfig, ...] | None:
        seen = [b.measure for b in balance or ()]
        dupes = sorted({m for m in seen if seen.count(m) > 1})
        if dupes:
            raise ValueError(f"balance lists measure more than once: {', '.join(dupes)}")
        return balance

    @model_validator(mode="after")
    def _one_source(self) -> HierarchyConfig:
        if (self.file is None) == (self.districts is None):
            both = "; not both" if self.file is not None else ""
            raise ValueError(
                f"give file (territory_id,district_id[,region_id]) or districts (how many to design){both}"
            )
        if self.file is not None:
            designed = [k for k in ("regions", "balance", "contiguity", "solver") if getattr(self, k) is not None]
            if designed:
                raise ValueError(
                    f"{', '.join(designed)} only apply to designed districts (districts: N); a hierarchy file gives "
                    "its own districts and regions"
                )
        if self.districts is not None and self.regions is not None and self.regions >= self.districts:
            raise ValueError(
                f"regions ({self.regions}) must be fewer than districts ({self.districts}): each region groups "
                "several districts"
            )
        return self

    def balance_for(self, territory: TerritoryConfig) -> tuple[BalanceConfig, ...]:
        """The bands districts and regions are held to: `balance`, or the territory measures at +-15%."""
        if self.balance is not None:
            return self.balance
        return tuple(BalanceConfig(measure=b.measure, tolerance=DISTRICT_TOLERANCE) for b in territory.balance)

    def contiguous(self, data: DataConfig) -> bool:
        """`contiguity`, or its default: true when the data section yields an adjacency graph."""
        return data.gives_adjacency if self.contiguity is None else self.contiguity


class ScenarioConfig(StrictModel):
    """A whole planning scenario."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Short identifier used in output names (letters, digits, `_`, `-`, `.`)."""
    description: str | None = None
    """Free text saying what the scenario is for (kept in config.resolved.yaml; no effect on results)."""
    seed: int = Field(default=0, ge=0)
    """Root of every random stream the scenario uses."""
    data: DataConfig
    """Input files."""
    territory: TerritoryConfig
    """Territory design: balance, compactness, contiguity, disruption, locks, solver limits."""
    hierarchy: HierarchyConfig | None = None
    """Territories grouped into districts and districts into regions (from a file or designed), with balance and
    quota roll-ups; skipped when omitted."""
    quota: QuotaConfig | None = None
    """Quota setting on the designed alignment; skipped when omitted."""
    comp: CompConfig | None = None
    """Comp-plan evaluation on the designed territories and quotas; skipped when omitted."""
    simulation: SimulationConfig | None = None
    """Simulated rep behaviour under every comp plan; needs the comp section."""
    coaching: CoachingConfig | None = None
    """Coaching plan and its simulated return; needs the simulation section and comp.crediting.hierarchy."""
    alignments: dict[str, Path] = Field(default_factory=dict)
    """More candidate alignments besides the designed one, by name (e.g. `current: demo/current_alignment.csv`):
    CSV unit_id,territory_id with territories named by rep (or the reps file's territory_id). Each gets quotas
    and is simulated under every plan; all candidates share the decision table."""
    output: OutputConfig = OutputConfig()
    """Where the run writes its folder."""

    @model_validator(mode="after")
    def _cross_section_rules(self) -> ScenarioConfig:
        t = self.territory
        if t.territories is None and self.data.reps is None:
            raise ValueError(
                "territory.territories is required when data.reps is not given "
                "(the number of territories is otherwise one per rep)"
            )
        today = self.data.current_alignment is not None or self.data.accounts is not None
        if (t.max_disruption is not None or t.disruption_weight > 0) and not today:
            raise ValueError(
                "territory.max_disruption / disruption_weight need data.current_alignment "
                "or data.accounts (disruption is measured against today's alignment)"
            )
        if self.comp is not None and self.quota is None:
            raise ValueError("comp needs a quota section (plans pay on attainment against the quotas it sets)")
        bad = [n for n in self.alignments if n == DESIGNED or not n.replace("_", "").replace("-", "").isalnum()]
        if bad:
            raise ValueError(f"alignments: '{bad[0]}' is not a usable name (letters, digits, _ or -; not '{DESIGNED}')")
        if self.simulation is not None and self.comp is None:
            raise ValueError("simulation needs a comp section (it simulates the year under the candidate plans)")
        if self.coaching is not None and (
            self.simulation is None or self.comp is None or self.comp.crediting.hierarchy is None
        ):
            raise ValueError("coaching needs the simulation section and comp.crediting.hierarchy (who manages whom)")
        if t.compactness == "cut_edges" and not self.data.gives_adjacency:
            raise ValueError(
                "territory.compactness 'cut_edges' needs data.geometry or data.adjacency or data.adjacency_from: points"
            )
        if t.contiguity and not self.data.gives_adjacency:
            raise ValueError(
                "territory.contiguity needs data.geometry or data.adjacency or data.adjacency_from: points"
            )
        h = self.hierarchy
        if h is not None and h.contiguity and not self.data.gives_adjacency:
            raise ValueError(
                "hierarchy.contiguity needs data.geometry or data.adjacency or data.adjacency_from: points"
            )
        if t.islands == "bridge" and not self.data.gives_adjacency:
            raise ValueError(
                "territory.islands 'bridge' needs data.geometry or data.adjacency or data.adjacency_from: points"
            )
        return self

    def input_paths(self) -> list[Path]:
        """Every file the scenario names (output folder aside), in field order: read from the schema, so a new
        file setting is hashed, cached and protected from overwriting without being listed anywhere."""
        return [p for name, value in self if name != "output" for p in _paths(value)]

    def output_dir(self) -> Path:
        """The folder a run writes to."""
        return self.output.dir if self.output.dir is not None else Path("out") / self.name

    @property
    def disruption_measure(self) -> str | None:
        """The measure disruption is counted in (None: units are counted)."""
        t = self.territory
        if t.disruption_measure is not None:
            return t.disruption_measure
        return t.balance[0].measure if t.balance else None


def _paths(value: object) -> list[Path]:
    if isinstance(value, Path):
        return [value]
    if isinstance(value, BaseModel):
        return [p for _, item in value for p in _paths(item)]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _paths(item)]
    if isinstance(value, list | tuple):
        return [p for item in value for p in _paths(item)]
    return []


def path_keys(model: type[BaseModel] | None = None, prefix: tuple[str, ...] = ()) -> tuple[tuple[str, ...], ...]:
    """Key paths of every file setting in the schema (`("comp", "crediting", "hierarchy")`, ...): the ones a
    scenario's relative paths resolve against its own folder."""
    model = model or ScenarioConfig
    keys: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        held = kinds(info.annotation)
        if Path in held:
            keys.append((*prefix, name))
        for kind in held:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                keys += path_keys(kind, (*prefix, name))
    return tuple(keys)


def kinds(annotation: object) -> set[object]:
    """The types an annotation can hold, through unions, tuples, lists and dict values."""
    args = get_args(annotation)
    if not args:
        return {annotation}
    if get_origin(annotation) is dict:
        args = args[1:]
    return {kind for arg in args if arg is not Ellipsis for kind in kinds(arg)}
