"""What becomes of each planned filer and filing, and how many of each.

Approved filers and the filings whose fate is in :data:`COUNTED_FATES` make up the published
table; the volumes of everything else (the "noise") leave the published counts unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from domain.values import FilerKind


class FilerFate(StrEnum):
    APPROVED = "approved"
    APPROVED_AFTER_REJECTION = "approved_after_rejection"
    PENDING_UNVERIFIED = "pending_unverified"
    PENDING_VERIFIED = "pending_verified"
    REJECTED = "rejected"
    RESUBMITTED_PENDING = "resubmitted_pending"


APPROVED_FILER_FATES: Final = frozenset({FilerFate.APPROVED, FilerFate.APPROVED_AFTER_REJECTION})

NOISE_FILERS: Final[dict[FilerFate, int]] = {
    FilerFate.PENDING_UNVERIFIED: 9,
    FilerFate.PENDING_VERIFIED: 15,
    FilerFate.REJECTED: 14,
    FilerFate.RESUBMITTED_PENDING: 4,
}
FILERS_APPROVED_AFTER_REJECTION: Final = 12


class Fate(StrEnum):
    """The story of one filing; the first five end approved and count as filed."""

    APPROVED = "approved"
    REVISED_REAPPROVED = "revised_reapproved"
    DISPUTE_SETTLED = "dispute_settled"
    DISPUTE_OPEN_APPROVED = "dispute_open_approved"
    REFILED = "refiled"  # the filer withdrew a faulty filing and filed the product again
    PENDING = "pending"
    REJECTED = "rejected"
    REVISED_PENDING = "revised_pending"
    DISPUTE_UPHELD = "dispute_upheld"
    DISPUTE_OPEN_PENDING = "dispute_open_pending"
    WITHDRAWN = "withdrawn"
    WITHDRAWN_FOR_REFILING = "withdrawn_for_refiling"
    # Another filer's model under another name (near-duplicate screening's "same model")
    NEAR_DUPLICATE_REJECTED = "near_duplicate_rejected"  # rejected as a duplicate of it
    NEAR_DUPLICATE_PENDING = "near_duplicate_pending"  # its candidate still open in review


COUNTED_FATES: Final = frozenset(
    {
        Fate.APPROVED,
        Fate.REVISED_REAPPROVED,
        Fate.DISPUTE_SETTLED,
        Fate.DISPUTE_OPEN_APPROVED,
        Fate.REFILED,
    }
)
SPECIAL_COUNTED: Final[dict[Fate, int]] = {
    Fate.REVISED_REAPPROVED: 60,
    Fate.DISPUTE_SETTLED: 25,
    Fate.DISPUTE_OPEN_APPROVED: 8,
    Fate.REFILED: 4,
}
NOISE_PRODUCTS: Final[dict[Fate, int]] = {
    Fate.PENDING: 45,
    Fate.REJECTED: 70,
    Fate.REVISED_PENDING: 40,
    Fate.DISPUTE_UPHELD: 6,
    Fate.DISPUTE_OPEN_PENDING: 4,
    Fate.WITHDRAWN: 30,
}
STORIES: Final[dict[Fate, tuple[tuple[str, int, int], ...]]] = {
    # What follows the filing: (command, fewest, most hundredths of a working day after the
    # previous step). Integers: nothing near signed data is a float.
    Fate.APPROVED: (("approve", 100, 1200),),
    Fate.REVISED_REAPPROVED: (
        ("approve", 100, 1200),
        ("revise", 500, 6000),
        ("approve", 100, 1200),
    ),
    Fate.DISPUTE_SETTLED: (("dispute", 100, 800), ("settle", 500, 4000), ("approve", 100, 600)),
    # approve_product refuses while a dispute is open, so an open one is raised afterwards.
    Fate.DISPUTE_OPEN_APPROVED: (("approve", 100, 1200), ("dispute", 500, 6000)),
    Fate.REFILED: (("approve", 100, 1200),),
    Fate.PENDING: (),
    Fate.REJECTED: (("reject", 100, 1200),),
    Fate.REVISED_PENDING: (("approve", 100, 1200), ("revise", 500, 6000)),
    Fate.DISPUTE_UPHELD: (("dispute", 100, 800), ("uphold", 500, 4000), ("reject", 100, 600)),
    Fate.DISPUTE_OPEN_PENDING: (("dispute", 10, 500),),
    Fate.WITHDRAWN: (("approve", 100, 1200), ("withdraw", 1000, 9000)),
    Fate.WITHDRAWN_FOR_REFILING: (("approve", 100, 1200), ("withdraw", 200, 3000)),
}
DUPLICATE_ATTEMPTS: Final = 12
NEAR_DUPLICATES: Final = 6  # half rejected as duplicates, half pending with an open candidate
EXTRA_INSTITUTIONS: Final = 6  # report conversions without filing products (hospitals...)
INSTITUTION_KINDS: Final[dict[FilerKind, int]] = {
    FilerKind.university_or_institute: 16,
    FilerKind.new_rnd_institution: 8,
    FilerKind.social_organization: 3,
}
