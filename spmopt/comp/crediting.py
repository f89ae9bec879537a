"""Crediting: which payees get how much credit for each transaction.

Order of rules for one transaction:
1. a split listed for it (percentages summing to exactly 100) — the explicit exceptions;
2. a cancellation follows its original deal, in the same proportions (if inside the plan's clawback window);
3. `rep_id`, else the rep of `territory_id`, else the rep of the territory `unit_id` is aligned to, else the rep of
   the territory of the unit `account_id` is placed in (`CreditingRules.account_unit`, from the accounts file).
A `rep_id` who is not a payee of the plan (left, or never on the roster) and an account the accounts file does not
place leave the transaction uncredited, listed with why and counted in a warning, not refused: CRM exports carry
both, and refusing them would block every run on data the planner cannot fix.
Then overlays get 100% of the credited transactions of their territories/products, once per transaction however
many of their rows match (a deal in a vacant territory credits nobody, overlays included), and reps' credit rolls
up at 100% to each manager above them (once per transaction, however it was split below). Money is shared by largest
remainder, so split parts add up to the transaction to the cent; counts are credited in hundredths of a deal
for the same reason.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.comp.engine import exact_sum
from spmopt.comp.plan import COUNT_SCALE
from spmopt.comp.transactions import Transactions
from spmopt.data.tables import cents_text, check_known, read_table, require_columns, row_number
from spmopt.errors import DataError

LINE_COLUMNS = (
    "transaction_id",
    "payee_id",
    "how",
    "percent",
    "period",
    "date",
    "deal_date",
    "product",
    "territory_id",
    "amount",
    "margin",
    "deals",
    "new_logos",
)

DIRECT_CREDIT = ("direct", "split", "clawback")
"""A payee's share of the transactions credited to them: the lines that roll up to their managers."""
OWN_CREDIT = (*DIRECT_CREDIT, "overlay")
"""Credit a payee earned themselves (everything but managers' roll-up): what SPIFs count."""
SHOWN = 5
"""Rep ids or accounts named in a crediting warning; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Overlay:
    """An overlay payee credited 100% on a territory's (or every territory's) transactions of a product (or all)."""

    payee_id: str
    territory_id: str | None
    product: str | None


@dataclass(frozen=True, slots=True)
class CreditingRules:
    """Everything crediting needs besides the transactions."""

    rep_of_territory: dict[str, str | None]
    """territory -> its rep (None for a vacant territory)."""
    alignment: pd.Series | None = None
    """unit_id -> territory_id."""
    manager_of: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    """payee -> role name (for the plan's `roles`); reps default to `rep`, managers `manager`, overlays `overlay`."""
    overlays: tuple[Overlay, ...] = ()
    splits: pd.DataFrame | None = None
    """Columns transaction_id, payee_id, percent (Decimal), reason, row; validated by `read_splits`."""
    account_unit: pd.Series | None = None
    """account_id -> unit_id of the placed accounts of the scenario's accounts file (None: no accounts file)."""
    account_rep: pd.Series | None = None
    """account_id -> the rep who keeps an account the accounts file cannot place (no usable ZIP): its owner."""

    @property
    def payees(self) -> tuple[str, ...]:
        """Every payee the rules know, reps first, in a stable order."""
        names = [r for r in self.rep_of_territory.values() if r is not None]
        names += list(self.manager_of) + list(self.manager_of.values()) + [o.payee_id for o in self.overlays]
        return tuple(dict.fromkeys(names))

    def role(self, payee: str) -> str:
        if payee in self.roles:
            return self.roles[payee]
        if payee in set(self.manager_of.values()):
            return "manager"
        if payee in {o.payee_id for o in self.overlays}:
            return "overlay"
        return "rep"

    def managers_above(self, payee: str) -> list[str]:
        chain, seen = [], {payee}
        while payee in self.manager_of:
            payee = self.manager_of[payee]
            if payee in seen:
                break
            chain.append(payee)
            seen.add(payee)
        return chain


@dataclass(frozen=True, slots=True)
class CreditLedger:
    """Credit lines (one per transaction x payee x how) and what was left uncredited, with why."""

    lines: pd.DataFrame
    uncredited: pd.DataFrame
    """transaction_id, amount, why: vacant territory, a rep not on the plan, an account the accounts file does not
    place, or a cancellation outside the clawback window (or of a deal that credited nobody)."""
    warnings: tuple[str, ...] = ()
    """Transactions of reps not on the plan and of unplaced accounts, counted with their amount."""

    def direct_total(self) -> int:
        """Cents credited by direct, split and clawback lines (equals the credited transactions' sum)."""
        return exact_sum(self.lines.loc[self.lines["how"].isin(DIRECT_CREDIT), "amount"])

    def own_lines(self) -> pd.DataFrame:
        """The lines of `OWN_CREDIT`: each payee's own credit, without managers' roll-up."""
        return self.lines[self.lines["how"].isin(OWN_CREDIT)]


def read_hierarchy(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """payee_id -> manager_id and payee -> role, refusing cycles and self-management."""
    raw = read_table(path, "hierarchy")
    require_columns(raw, ["payee_id", "manager_id"], path, "hierarchy")
    manager_of: dict[str, str] = {}
    roles: dict[str, str] = {}
    for pos, row in raw.iterrows():
        line = row_number(raw, int(pos))
        payee = str(row["payee_id"]).strip()
        manager = row["manager_id"]
        if pd.notna(manager) and str(manager).strip():
            if str(manager).strip() == payee:
                raise DataError(f"{path}: row {line}: {payee} is their own manager")
            if payee in manager_of:
                raise DataError(f"{path}: row {line}: {payee} already has manager {manager_of[payee]}")
            manager_of[payee] = str(manager).strip()
        if "role" in raw.columns and pd.notna(row["role"]) and str(row["role"]).strip():
            roles[payee] = str(row["role"]).strip()
    for payee in manager_of:
        seen = [payee]
        while seen[-1] in manager_of:
            nxt = manager_of[seen[-1]]
            if nxt in seen:
                raise DataError(f"{path}: the hierarchy has a cycle: {' -> '.join([*seen, nxt])}")
            seen.append(nxt)
    return manager_of, roles


def read_overlays(path: Path) -> tuple[Overlay, ...]:
    """Overlay assignments: payee_id, optional territory_id and product (blank = all); a payee listed twice for
    the same territory and product is refused (each row would credit the same deals at 100%)."""
    raw = read_table(path, "overlays")
    require_columns(raw, ["payee_id"], path, "overlays")

    def text(row: pd.Series, col: str) -> str | None:
        value = row.get(col)
        return str(value).strip() if value is not None and pd.notna(value) and str(value).strip() else None

    overlays: list[Overlay] = []
    first_row: dict[Overlay, int] = {}
    for pos, (_, r) in enumerate(raw.iterrows()):
        overlay = Overlay(str(r["payee_id"]).strip(), text(r, "territory_id"), text(r, "product"))
        line = row_number(raw, pos)
        if overlay in first_row:
            scope = f"territory {overlay.territory_id or '(all)'}, product {overlay.product or '(all)'}"
            raise DataError(
                f"{path}: rows {first_row[overlay]} and {line} both make {overlay.payee_id} an overlay on {scope}; "
                "remove one (an overlay is credited 100% of a deal once)"
            )
        first_row[overlay] = line
        overlays.append(overlay)
    return tuple(overlays)


def read_splits(path: Path, tx: Transactions, known_payees: tuple[str, ...]) -> pd.DataFrame:
    """Split credit: rows transaction_id, payee_id, percent (> 0, at most two decimals); each listed transaction's
    percentages add up to exactly 100."""
    raw = read_table(path, "splits")
    require_columns(raw, ["transaction_id", "payee_id", "percent"], path, "splits")
    check_known(raw, "transaction_id", tx.frame.index, path, "splits", f"transaction in {tx.path.name}")
    check_known(raw, "payee_id", pd.Index(known_payees), path, "splits", "known payee (rep, manager or overlay)")
    percent = []
    for pos, value in enumerate(raw["percent"].tolist()):
        try:
            p = Decimal(str(value).strip())
        except ArithmeticError:
            p = Decimal("NaN")
        if not p.is_finite() or p <= 0 or p > 100 or p != p.quantize(Decimal("0.01")):
            raise DataError(
                f"{path}: row {row_number(raw, pos)}: percent {value!r} must be a number above 0 and at most 100 "
                "with at most two decimals"
            )
        percent.append(p)
    frame = pd.DataFrame(
        {
            "transaction_id": raw["transaction_id"].str.strip(),
            "payee_id": raw["payee_id"].str.strip(),
            "percent": percent,
            "reason": raw["reason"] if "reason" in raw.columns else None,
            "row": [row_number(raw, k) for k in range(len(raw))],
        }
    )
    dup = frame.duplicated(["transaction_id", "payee_id"])
    if dup.any():
        r = frame[dup].iloc[0]
        raise DataError(
            f"{path}: row {r['row']}: {r['payee_id']} is listed twice for transaction {r['transaction_id']}"
        )
    for tid, group in frame.groupby("transaction_id", sort=False):
        total = sum(group["percent"], Decimal(0))
        if total != 100:
            raise DataError(
                f"{path}: row {group['row'].iloc[0]}: the splits of transaction {tid} add up to {total}%, not 100% "
                f"(rows {', '.join(map(str, group['row']))})"
            )
    return frame


def credit(tx: Transactions, rules: CreditingRules, clawback_days: int | None) -> CreditLedger:
    """Credit every transaction by the rules above; raises naming the row for unknown territories and units."""
    frame = tx.frame
    known = set(rules.payees)
    splits = {} if rules.splits is None else {t: g for t, g in rules.splits.groupby("transaction_id", sort=False)}
    parts_of: dict[str, list[tuple[str, Decimal]]] = {}
    territory_of: dict[str, str | None] = {}
    # Deals uncredited for a rep not on the plan or an unplaced account, by why: their cancellations repeat it, and
    # the warnings count them (with their cancellations) by rep and by account.
    lost: dict[str, str] = {}
    strays: dict[str, str] = {}
    unplaced: dict[str, str] = {}
    rows: list[dict[str, object]] = []
    uncredited: list[dict[str, object]] = []
    # Originals first, so a cancellation finds its deal's credit wherever it sits in the file.
    order = frame.assign(_cancel=frame["original_id"].notna()).sort_values("_cancel", kind="stable")
    for tid, t in order.drop(columns="_cancel").iterrows():
        territory, unplaced_why = _territory(t, rules, tx.path)
        if territory is None and t["original_id"] is not None:
            # A cancellation naming no territory undoes its deal's: the deal's overlays are clawed back too.
            territory = territory_of.get(t["original_id"])
        how = "direct"
        if tid in splits:
            parts = list(zip(splits[tid]["payee_id"], splits[tid]["percent"], strict=True))
            how = "split"
        elif t["original_id"] is not None:
            age = (t["date"] - t["deal_date"]).days
            if clawback_days is not None and age > clawback_days:
                uncredited.append(_skip(tid, t, f"cancellation {age} days after the deal, outside {clawback_days}"))
                continue
            parts = parts_of.get(t["original_id"], [])
            if not parts:
                why = f"cancels {t['original_id']}, which credited nobody"
                if t["original_id"] in lost:
                    why += f": {lost[t['original_id']]}"
                uncredited.append(_skip(tid, t, why))
                continue
            how = "clawback"
            full = -t["amount"] == frame.loc[t["original_id"], "amount"]
            # Only a whole cancellation takes the deal (and its new logo) back; a partial one is money only.
            t = t.copy()
            t["deals_sign"] = -1 if full else 0
            t["new_logo"] = int(frame.loc[t["original_id"], "new_logo"]) if full else 0
        else:
            rep = t["rep_id"]
            if rep is None and territory is None:
                if unplaced_why is not None:
                    lost[str(tid)], unplaced[str(tid)] = unplaced_why, str(t["account_id"])
                    uncredited.append(_skip(tid, t, unplaced_why))
                    continue
                if t["account_id"] is not None:
                    raise DataError(
                        f"{tx.path}: row {t['row']}: transaction {tid} is credited by account_id "
                        f"'{t['account_id']}', but no accounts file places accounts in units; the scenario needs "
                        "data.accounts to credit by account (or give the row a rep_id, territory_id or unit_id)"
                    )
                raise DataError(
                    f"{tx.path}: row {t['row']}: transaction {tid} names no rep_id, territory_id, unit_id or "
                    "account_id to credit, and no split lists it"
                )
            if rep is None:
                rep = rules.rep_of_territory.get(territory)
                if rep is None:
                    uncredited.append(_skip(tid, t, f"territory {territory} has no rep"))
                    continue
            elif rep not in known:
                why = f"rep_id '{rep}' is not a payee of the plan (left, or never on the roster)"
                lost[str(tid)], strays[str(tid)] = why, str(rep)
                uncredited.append(_skip(tid, t, why))
                continue
            parts = [(rep, Decimal(100))]
        parts_of[str(tid)] = parts
        territory_of[str(tid)] = territory
        rows += _share(tid, t, parts, how, territory)
    lines = pd.DataFrame(rows, columns=list(LINE_COLUMNS))
    lines = pd.concat([lines, _overlay_lines(frame, lines, rules), _rollup_lines(lines, rules)], ignore_index=True)
    for col in ("amount", "margin", "deals", "new_logos", "period"):
        lines[col] = lines[col].astype(np.int64)
    warnings = _stray_warnings(frame, strays, tx.path, rules.payees) + _unplaced_warnings(frame, unplaced, tx.path)
    return CreditLedger(
        lines=lines,
        uncredited=pd.DataFrame(uncredited, columns=["transaction_id", "amount", "why"]),
        warnings=tuple(warnings),
    )


def _with_cancellations(frame: pd.DataFrame, deals: dict[str, str]) -> dict[str, list[int]]:
    """key -> amounts (cents) of its deals and of their cancellations, whatever the clawback window: every one of
    them is uncredited, so the warning's amount is what the reconciliation lists as uncredited for them."""
    out: dict[str, list[int]] = {}
    for tid, t in frame.iterrows():
        deal = str(t["original_id"]) if t["original_id"] is not None else str(tid)
        if deal in deals:
            out.setdefault(deals[deal], []).append(int(t["amount"]))
    return out


def _counted(by_key: dict[str, list[int]], name: dict[str, str]) -> tuple[int, int, str]:
    """Transactions, their total cents and the first `SHOWN` keys with their own count and amount."""
    shown = [f"{name[k]}: {len(a)} for {cents_text(sum(a))}" for k, a in list(by_key.items())[:SHOWN]]
    if len(by_key) > SHOWN:
        shown.append(f"and {len(by_key) - SHOWN} more")
    return sum(map(len, by_key.values())), sum(map(sum, by_key.values())), "; ".join(shown)


def _stray_warnings(frame: pd.DataFrame, strays: dict[str, str], path: Path, payees: tuple[str, ...]) -> list[str]:
    if not strays:
        return []
    by_rep = _with_cancellations(frame, strays)
    # A typo'd id of a current payee would otherwise pass as someone who left: name the closest payee.
    name = {}
    for rep in by_rep:
        close = difflib.get_close_matches(rep, payees, n=1)
        name[rep] = f"{rep} (did you mean {close[0]}?)" if close else rep
    n, cents, shown = _counted(by_rep, name)
    return [
        f"{path}: {n} transaction(s) totalling {cents_text(cents)} are by {len(by_rep)} rep_id(s) not on the plan "
        f"(left, or never on the roster) and are listed as uncredited, not paid: {shown}"
    ]


def _unplaced_warnings(frame: pd.DataFrame, unplaced: dict[str, str], path: Path) -> list[str]:
    if not unplaced:
        return []
    by_account = _with_cancellations(frame, unplaced)
    n, cents, shown = _counted(by_account, {a: f"account {a}" for a in by_account})
    return [
        f"{path}: {n} transaction(s) totalling {cents_text(cents)} are of {len(by_account)} account(s) the accounts "
        f"file does not place in a territory (deleted in the CRM, or unplaced) and are listed as uncredited: {shown}"
    ]


def _territory(t: pd.Series, rules: CreditingRules, path: Path) -> tuple[str | None, str | None]:
    """The transaction's territory, and why its account gave none (None when it has no account or it was used)."""
    if t["territory_id"] is not None:
        if t["territory_id"] not in rules.rep_of_territory:
            raise DataError(f"{path}: row {t['row']}: territory_id '{t['territory_id']}' is not a known territory")
        return t["territory_id"], None
    if t["unit_id"] is not None:
        return _aligned(t["unit_id"], rules, path, t["row"], "credited by unit_id"), None
    why = None
    if t["account_id"] is not None and rules.account_unit is not None:
        account = t["account_id"]
        unit = rules.account_unit.get(account)
        keeper = rules.account_rep.get(account) if rules.account_rep is not None else None
        if (unit is None or pd.isna(unit)) and keeper is not None:
            territory = next((k for k, v in rules.rep_of_territory.items() if v == keeper), None)
            if territory is not None:
                return territory, None
        if unit is None or pd.isna(unit):
            why = f"account '{account}' is not in the accounts file (or is not placed in a unit)"
        elif rules.alignment is not None and str(unit) not in rules.alignment.index:
            why = f"account '{account}' is in unit '{unit}', which no territory of the alignment covers"
        else:
            return _aligned(str(unit), rules, path, t["row"], f"account '{account}' is in unit '{unit}'"), None
    if t["rep_id"] is not None:
        # A rep credits the deal whatever its account: the account only matters when it is all the row names.
        return next((k for k, v in rules.rep_of_territory.items() if v == t["rep_id"]), None), None
    return None, why


def _aligned(unit: str, rules: CreditingRules, path: Path, row: int, what: str) -> str:
    if rules.alignment is None:
        raise DataError(f"{path}: row {row}: {what} but no alignment (unit -> territory) is given")
    if unit not in rules.alignment.index:
        raise DataError(f"{path}: row {row}: unit_id '{unit}' is not in the alignment")
    return str(rules.alignment[unit])


def _skip(tid: object, t: pd.Series, why: str) -> dict[str, object]:
    return {"transaction_id": tid, "amount": int(t["amount"]), "why": why}


def _largest_remainder(total: int, percents: list[Decimal]) -> list[int]:
    """Integer parts of `total` in proportion to percents (adding up to 100) that sum exactly to `total`."""
    exact = [Decimal(total) * p / 100 for p in percents]
    floors = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
    short = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda k: (-(exact[k] - floors[k]), k))
    for k in order[:short]:
        floors[k] += 1
    return floors


def _share(
    tid: object, t: pd.Series, parts: list[tuple[str, Decimal]], how: str, territory: str | None
) -> list[dict[str, object]]:
    percents = [p for _, p in parts]
    # A deal counts +1; a whole cancellation -1 (set by the caller); a credit note or return 0.
    sign = t.get("deals_sign", 0 if t["amount"] < 0 else 1)
    split = {
        "amount": _largest_remainder(int(t["amount"]), percents),
        "margin": _largest_remainder(int(t["margin"]), percents),
        "deals": _largest_remainder(sign * COUNT_SCALE, percents),
        "new_logos": _largest_remainder(sign * COUNT_SCALE * int(t["new_logo"]), percents),
    }
    return [
        {
            "transaction_id": tid,
            "payee_id": payee,
            "how": how,
            "percent": str(percent),
            "period": int(t["period"]),
            "date": t["date"],
            "deal_date": t["deal_date"],
            "product": t["product"],
            "territory_id": territory,
            **{k: v[j] for k, v in split.items()},
        }
        for j, (payee, percent) in enumerate(parts)
    ]


def _transaction_totals(lines: pd.DataFrame) -> pd.DataFrame:
    keep = ["transaction_id", "period", "date", "deal_date", "product", "territory_id"]
    sums = lines.groupby("transaction_id", sort=False)[["amount", "margin", "deals", "new_logos"]].sum()
    return lines.drop_duplicates("transaction_id")[keep].set_index("transaction_id").join(sums).reset_index()


def _overlay_lines(frame: pd.DataFrame, direct: pd.DataFrame, rules: CreditingRules) -> pd.DataFrame:
    if not rules.overlays or direct.empty:
        return pd.DataFrame(columns=list(LINE_COLUMNS))
    totals = _transaction_totals(direct)
    out = []
    for overlay in rules.overlays:
        hit = np.ones(len(totals), dtype=bool)
        if overlay.territory_id is not None:
            hit &= (totals["territory_id"] == overlay.territory_id).to_numpy()
        if overlay.product is not None:
            hit &= (totals["product"] == overlay.product).to_numpy()
        part = totals[hit].copy()
        part["payee_id"], part["how"], part["percent"] = overlay.payee_id, "overlay", "100"
        out.append(part)
    lines = pd.concat(out, ignore_index=True)[list(LINE_COLUMNS)]
    # Rows of one overlay payee may overlap (a territory and a product): the union is credited, each deal once.
    return lines.drop_duplicates(["payee_id", "transaction_id"]).reset_index(drop=True)


def _rollup_lines(lines: pd.DataFrame, rules: CreditingRules) -> pd.DataFrame:
    """Each manager gets 100% of every transaction credited below them (once per transaction)."""
    if not rules.manager_of or lines.empty:
        return pd.DataFrame(columns=list(LINE_COLUMNS))
    out = []
    # Only reps' own credit rolls up; overlay credit would count a deal twice in the same team.
    own = lines[lines["how"].isin(DIRECT_CREDIT)]
    below = own.assign(manager=own["payee_id"].map(lambda p: rules.managers_above(str(p)))).explode("manager")
    below = below[below["manager"].notna()]
    for manager, group in below.groupby("manager", sort=False):
        # A manager over two reps who split a deal is credited the deal once: sum the parts per transaction.
        part = _transaction_totals(group)
        part["payee_id"], part["how"], part["percent"] = manager, "rollup", "100"
        out.append(part)
    if not out:
        return pd.DataFrame(columns=list(LINE_COLUMNS))
    return pd.concat(out, ignore_index=True)[list(LINE_COLUMNS)]
