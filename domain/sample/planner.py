"""The whole plan of one seed: its parts drawn in a fixed order, merged into one timeline."""

from __future__ import annotations

from domain.sample.conversions import ConversionPlanner
from domain.sample.duplicates import DuplicatePlanner
from domain.sample.filers import FilerPlanner


class Planner(FilerPlanner, DuplicatePlanner, ConversionPlanner):
    """Draws the whole sample of one seed, then its timeline of commands."""


def plan(seed: int) -> Planner:
    """Draw the sample of ``seed``; the order of the draws is part of what the seed means."""
    planner = Planner(seed)
    planner.plan_filers()
    planner.schedule_filers()
    planner.plan_products()
    planner.schedule_products()
    planner.schedule_duplicates()
    planner.schedule_near_duplicates()
    planner.schedule_conversions()
    planner.steps.sort(key=lambda step: (step.at, step.seq))
    return planner
