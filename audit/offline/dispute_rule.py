"""Ownership claims (权属纠纷) under dispute rule v1: evidence, one open claim per claimant and
filing, and no block before a reviewer accepts the claim for examination.

Why: any filer could raise any number of ownership disputes on a competitor's approved filing,
each of which made it not eligible for certification at once (issue #15). Under dispute rule
v1 a dispute carries the digests of its evidence (at least one), a filer holds at most one
open claim on a filing, and a claim blocks approval and certification only once a reviewer
accepts it (a dispute a reviewer raises is accepted as it is raised). Disputes recorded
before (rule 0) blocked at once and still do: they are judged by the rule they were recorded
under. Standard library only: the ledger and the offline replay share it.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Final


class DisputeRule(IntEnum):
    NONE = 0
    V1 = 1


CURRENT_DISPUTE_RULE: Final = DisputeRule.V1
SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


def accepted_on_raising(rule: int, role: str) -> bool:
    """Whether a dispute blocks from the moment it is raised: every dispute before rule v1,
    and under v1 one a reviewer raises (the reviewer is who accepts claims)."""
    return rule == DisputeRule.NONE or role == "reviewer"
