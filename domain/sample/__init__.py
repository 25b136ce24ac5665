"""A deterministic sample data set: Shanghai's 2023 filing season, loaded through the commands.

Why it exists: projections, regional statistics, the audit trail and the API all need a store
that looks like the real one: exactly the published per-district numbers of filers and
successfully filed products (shanghai_2023_by_district.csv, as of 24 Jul 2023), plus everything
that must *not* show up in those numbers (filers still in review or rejected, rejected or pending
filings, filings revised to a newer data year and back in review, withdrawals, ownership
disputes, refused duplicates) and the institutions' conversion feedback.

How it is built:

1. A *plan* is drawn from ``random.Random(seed)``: filers, products, conversions and, for each,
   a story (a chain of commands with times). Every identifier (USCCs, filing ids, dispute ids)
   and every timestamp is a pure function of the seed, so two stores loaded with one seed hold
   the same events byte for byte; with the same signing key the signatures match too, as
   Ed25519 signatures are deterministic.
2. The stories are merged into one timeline over the working hours of 3 Jan - 24 Jul 2023
   (09:00-18:00 Beijing time, weekends and the 2023 public holidays off, make-up working days
   on) and run in order through ``PatentLedger`` under a simulated clock
   (:func:`domain.clock.using_clock`). Nothing is written around the commands, so the sample
   passes every rule a real filing passes and its events are signed like any other.
3. Each step knows the aggregate version it brings about and is skipped when the store already
   shows that version, so a second load of a seed adds no event and an interrupted load resumes
   where it stopped. When the last step of the timeline is already there the load returns at
   once.

Distinct seeds never share a USCC or a product key as long as they differ modulo
:data:`SEED_SPAN`: those codes come from bijections of (seed, index), not from chance, so
several seeds can coexist in one store.

The modules, one job each:

- ``districts``: the published table and totals the sample reproduces;
- ``identities``: USCCs, organisation codes, model designations, ids and document digests;
- ``working_time``: the working calendar of the window, and the simulated clock;
- ``catalogue``: the words the sample is written in, and the officials who act;
- ``fates``: what becomes of each filer and filing, and how many of each;
- ``figures``: exact splits of the published sales and exports;
- ``plan``: planned filers, filings and steps, and the draws every part shares;
- ``filers``, ``products``, ``duplicates``, ``conversions``: the parts of the plan;
- ``planner``: the parts drawn in their fixed order (the order is part of what a seed means);
- ``loader``: :func:`load_sample`, idempotent, and its :class:`SampleSummary`.
"""

from __future__ import annotations

from domain.sample.districts import (
    SHANGHAI_2023_BY_DISTRICT,
    TARGET_EXPORTS_FEN,
    TARGET_SALES_FEN,
    district_targets,
)
from domain.sample.identities import SAMPLE_NAMESPACE, SEED_SPAN
from domain.sample.loader import SampleSummary, load_sample

__all__ = [
    "SAMPLE_NAMESPACE",
    "SEED_SPAN",
    "SHANGHAI_2023_BY_DISTRICT",
    "TARGET_EXPORTS_FEN",
    "TARGET_SALES_FEN",
    "SampleSummary",
    "district_targets",
    "load_sample",
]
