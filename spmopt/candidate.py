"""A candidate of the decision: an alignment (the designed one or one the scenario gives), a comp plan, and
coaching or not. The one place that turns a candidate into the keys and folders its files use."""

from __future__ import annotations

from dataclasses import dataclass

DESIGNED = "designed"
"""The alignment the territory stage designed (candidate alignments carry the scenario's names for them)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One row of the decision table."""

    plan: str
    coaching: bool = False
    alignment: str = DESIGNED

    @property
    def variant(self) -> str:
        """Its key inside one alignment's simulation files (the `plan` column of simulation/*.csv)."""
        return f"{self.plan}+coaching" if self.coaching else self.plan

    @property
    def label(self) -> str:
        """Its name across alignments (decision.csv's `candidate`)."""
        return self.variant if self.alignment == DESIGNED else f"{self.alignment}/{self.variant}"


def alignment_folder(alignment: str) -> str:
    """Where an alignment's files sit inside a run folder ('' for the designed one), with a trailing slash."""
    return "" if alignment == DESIGNED else f"alignments/{alignment}/"


def candidates_of(plans: list[str], alignment: str, coaching: bool) -> tuple[Candidate, ...]:
    """Every plan on `alignment`, then, with coaching, every plan again coached (the simulation's order)."""
    plain = tuple(Candidate(p, False, alignment) for p in plans)
    return plain + (tuple(Candidate(p, True, alignment) for p in plans) if coaching else ())
