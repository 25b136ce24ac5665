"""Single filings under two variants of the ledger's rules, interleaved round by round.

Why one module: a rule change (key rule v2, screening) is measured as "today's command against
the same command under the rules of before", each variant with its own approved filer and its
own patent, on one store, interleaved so the machine's noise falls on both alike
(bench.common.interleaved_rates).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from api.bootstrap import SignedPatentLedger
from bench.common import interleaved_rates
from domain.declarations import PatentDeclaration
from tests.domain.factories import approved_filer, file, own_patent, uscc

Rules = Callable[[], AbstractContextManager[None]]


def filing_rates(
    ledger: SignedPatentLedger,
    variants: Mapping[str, tuple[int, Rules]],
    rounds: int,
    filings_per_round: int,
    *,
    prefix: str,
) -> dict[str, list[float]]:
    """Filings per second of each variant (name -> (filer serial, rules to file under)).

    Each filer declares a patent of its own: a patent shared by two filers makes every filing
    of one a near-duplicate candidate of the other's (by design), not the cost measured.
    Models are ``{prefix}-{variant index}-{round}-{n}``: never one product twice.
    """
    filers = {}
    for name, (serial, _) in variants.items():
        code = uscc(serial)
        filer_id = approved_filer(ledger, code)
        patents = [PatentDeclaration.parse(own_patent(filer_id), "owner")]
        filers[name] = (code, filer_id, patents)
    tags = {name: str(index) for index, name in enumerate(variants)}

    def run(name: str, label: str, amount: int) -> float:
        code, filer_id, patents = filers[name]
        rules = variants[name][1]
        started = time.perf_counter()
        for number in range(amount):
            model = f"{prefix}-{tags[name]}-{label}-{number:05d}"
            with rules():
                file(ledger, code, filer_id, name="基准测试产品", model=model, patents=patents)
        return amount / (time.perf_counter() - started)

    for name in variants:  # warm up: connections, statements, caches, the first catch-up
        run(name, "warm", 20)

    def variant(name: str) -> tuple[str, Callable[[int], float]]:
        return name, lambda number: run(name, f"r{number}", filings_per_round)

    return interleaved_rates(rounds, [variant(name) for name in variants])
