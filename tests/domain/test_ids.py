"""Ids: a client never chooses an id the ledger derives, and a squatted id is a typed 409.

The ledger derives the ids of filers, key reservations, conversion records, rounds, opt-ins,
decisions and the benchmark table (uuid5, one namespace per aggregate type); filings and
objections take a random id or one the client chooses (``domain.values.ClientId``). A squat
from before that guard (or a forged write) is built here by saving a ``Product`` straight
into the store under a derived id: every command that needs the id must answer
``id_conflict``, never crash (500) nor skip.
"""

from __future__ import annotations

import ast
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_DNS, UUID, uuid1, uuid3, uuid4, uuid5

import pytest

from audit.offline import replay_base as replay_module
from domain.actor import Actor, Role
from domain.benchmarks import BENCHMARK_TABLE_ID
from domain.certification import certification_id_for
from domain.certification_opt_in import opt_in_id_for
from domain.certification_round import round_id_for
from domain.conversion import conversion_record_id
from domain.declarations import PatentDeclaration
from domain.errors import IdConflictError, IdNotAllowedError
from domain.filer import filer_id_for
from domain.product import new_product
from domain.sample.identities import sample_id
from domain.values import (
    ClientId,
    PatentNumber,
    canonical_product_key,
    chosen_id_misfit,
    product_key_id,
)
from tests.domain.certification_factories import (
    AFTER_REVIEW,
    BENCHMARKS,
    CERTIFIER,
    at,
    opened_round,
    product,
)
from tests.domain.factories import (
    approved_filer,
    figures,
    file,
    filer_actor,
    patent,
    register,
    uscc,
)

# --- the namespaces of derived ids --------------------------------------------------------------

# Every uuid5 namespace, and the ids derived in it: a new one must be listed here (the discovery
# test below fails otherwise) and must differ from all the others.
NAMESPACES = {
    "FILER_NAMESPACE": "Filer: uuid5 of the USCC",
    "PRODUCT_KEY_NAMESPACE": "ProductKeyReservation: uuid5 of the canonical product key",
    "CONVERSION_NAMESPACE": "PatentConversion: uuid5 of (institution USCC, patent number)",
    "BENCHMARK_NAMESPACE": "BenchmarkTable: one fixed uuid5",
    "ROUND_NAMESPACE": "CertificationRound: uuid5 of the year",
    "OPT_IN_NAMESPACE": "CertificationOptIn: uuid5 of (year, filing id)",
    "CERTIFICATION_NAMESPACE": "ProductCertification: uuid5 of (year, filing id)",
    "PUBLICATION_NAMESPACE": "StatisticsPublication: uuid5 of the period (YYYY-MM)",
    "FILING_NUMBER_NAMESPACE": "FilingNumberSeries: uuid5 of YYYY-RRRRRR (year, region)",
    "SAMPLE_NAMESPACE": "sample filings and disputes: hashed into version 8 ids, not uuid5",
}
ROOT = Path(__file__).resolve().parents[2]


def _namespaces() -> dict[str, set[UUID]]:
    """Every ``*_NAMESPACE`` assigned at the top of a module of domain/ or audit/ (the replay
    keeps copies): name -> the values found under it."""
    found: dict[str, set[UUID]] = {}
    for package in ("domain", "audit"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [
                target.id
                for node in tree.body
                for target in (
                    [node.target] if isinstance(node, ast.AnnAssign)
                    else node.targets if isinstance(node, ast.Assign) else []
                )
                if isinstance(target, ast.Name) and target.id.endswith("_NAMESPACE")
            ]  # fmt: skip
            if not names:
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = importlib.import_module(dotted)
            for name in names:
                value = getattr(module, name)
                assert isinstance(value, UUID), f"{dotted}.{name}"
                found.setdefault(name, set()).add(value)
    return found


def test_every_namespace_is_listed():
    assert set(_namespaces()) == set(NAMESPACES)


def test_each_aggregate_type_derives_its_ids_in_a_namespace_of_its_own():
    namespaces = _namespaces()
    for name, values in namespaces.items():
        assert len(values) == 1, f"the copies of {name} differ: {values}"
    distinct = {next(iter(values)) for values in namespaces.values()}
    assert len(distinct) == len(namespaces), namespaces


# --- client-chosen ids --------------------------------------------------------------------------

A_USCC = uscc(801)
A_PRODUCT = UUID("5b0c9d2e-7a43-4c1e-9a55-2d8f61f3c0a1")

# Ids a client must never choose: every kind the ledger derives, and the placeholders.
REFUSED = [
    ("nil UUID", UUID(int=0), "the nil UUID"),
    ("max UUID", UUID(int=(1 << 128) - 1), "the max UUID"),
    ("name-based MD5 (version 3)", uuid3(NAMESPACE_DNS, "example.cn"), "version 3"),
    ("name-based SHA-1 (version 5)", uuid5(NAMESPACE_DNS, "example.cn"), "version 5"),
    ("a filer's id", filer_id_for(A_USCC), "version 5"),
    ("a key reservation's id", product_key_id(canonical_product_key("阀", "V1")), "version 5"),
    ("a conversion record's id", conversion_record_id(uscc(1, "12"), patent(1)), "version 5"),
    ("the benchmark table's id", BENCHMARK_TABLE_ID, "version 5"),
    ("a future round's id", round_id_for(2031), "version 5"),
    ("an opt-in's id", opt_in_id_for(2024, A_PRODUCT), "version 5"),
    ("a decision's id", certification_id_for(2023, A_PRODUCT), "version 5"),
]


def _uuid7() -> UUID:
    """A version 7 UUID (RFC 9562 §5.7; the standard library has none before Python 3.14)."""
    bits = random.getrandbits(128)
    return UUID(int=(bits & ~(0xF << 76) & ~(0b11 << 62)) | (7 << 76) | (0b10 << 62))


ACCEPTED = [
    ("random (version 4)", uuid4()),
    ("time-based (version 1)", uuid1()),
    ("time-ordered random (version 7)", _uuid7()),
    ("sample id (version 8)", sample_id("filing:7:0")),
]


@pytest.mark.parametrize(("desc", "value", "why"), REFUSED, ids=[c[0] for c in REFUSED])
def test_an_id_of_a_derived_kind_is_refused_as_a_client_id(desc, value, why):
    with pytest.raises(IdNotAllowedError) as caught:
        ClientId(value, "filing_id")
    assert caught.value.code == "id_not_allowed"
    assert why in caught.value.message
    assert caught.value.details == {"field": "filing_id", "id": str(value)}


@pytest.mark.parametrize(("desc", "value"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_random_and_time_based_ids_are_accepted(desc, value):
    assert ClientId(value).value == value
    assert ClientId.or_new(value, field="filing_id") == value


def test_no_id_chosen_gets_a_fresh_random_one():
    fresh = ClientId.or_new(None, field="filing_id")
    assert fresh.version == 4
    assert fresh != ClientId.or_new(None, field="filing_id")


def _every_version_and_variant() -> list[UUID]:
    rng = random.Random(13)  # noqa: S311 (test vectors)
    values = [UUID(int=0), UUID(int=(1 << 128) - 1), UUID(int=1), UUID(int=(1 << 128) - 2)]
    for version in range(16):
        for variant in range(4):
            bits = rng.getrandbits(128) & ~(0xF << 76) & ~(0b11 << 62)
            values.append(UUID(int=bits | (version << 76) | (variant << 62)))
    return values


def test_the_replay_applies_the_domain_s_rule_to_every_version_and_variant():
    """The rule is written twice (the verifier imports nothing from domain/): tie the copies."""
    for value in _every_version_and_variant():
        assert replay_module.id_misfit(value) == chosen_id_misfit(value), value


def test_filing_under_a_derived_id_is_refused_and_stores_nothing(ledger):
    filer_id = approved_filer(ledger, A_USCC)
    before = ledger.recorder.max_notification_id()
    with pytest.raises(IdNotAllowedError):
        file(ledger, A_USCC, filer_id, product_id=round_id_for(2031))
    assert ledger.recorder.max_notification_id() == before
    chosen = uuid4()
    assert file(ledger, A_USCC, filer_id, product_id=chosen) == chosen


def test_an_objection_under_a_derived_id_is_refused_before_anything_is_read(ledger):
    with pytest.raises(IdNotAllowedError) as caught:
        ledger.certification.file_objection(
            CERTIFIER_OBJECTOR, 2023, uuid4(), "x", objection_id=round_id_for(2031)
        )
    assert caught.value.details["field"] == "objection_id"


CERTIFIER_OBJECTOR = Actor(id="reviewer-2", role=Role.REVIEWER)


# --- squatted derived ids -----------------------------------------------------------------------

SQUATTER = uscc(890)


def squat(ledger: Any, aggregate_id: UUID, squatter_id: UUID) -> None:
    """A filing saved straight into the store under ``aggregate_id``, bypassing ``ClientId``:
    what a client could do before the guard existed (or a forged write)."""
    model = f"SQ-{aggregate_id.hex[:8]}"
    ledger.save(
        new_product(
            aggregate_id,
            filer_id=str(squatter_id),
            filer_uscc=SQUATTER,
            name="占位产品",
            model=model,
            variants=[],
            category="03",
            finer_code=None,
            patents=[PatentDeclaration.parse(patent(890), "owner").as_record()],
            data_year=2022,
            figures=figures().as_record(),
            proof_digests=[],
            canonical_key=canonical_product_key("占位产品", model),
            actor=filer_actor(SQUATTER).as_record(),
        )
    )


INSTITUTION = uscc(803, prefix="12", region="310110")


def _institution() -> Actor:
    return Actor(id=f"tto-{INSTITUTION}", role=Role.INSTITUTION, scope=INSTITUTION)


@dataclass(frozen=True)
class Squat:
    """One command whose derived id is squatted: ``setup`` returns what ``held`` (the id) and
    ``command`` need; ``platform``: the actor is a platform role, told the holder's kind."""

    desc: str
    setup: Callable[[Any], Any]
    held: Callable[[Any], UUID]
    command: Callable[[Any, Any], object]
    platform: bool
    stores_nothing: bool = True


def _nothing(ledger: Any) -> None:
    return None


def _round_2024_product(ledger: Any) -> tuple[str, UUID]:
    opened_round(ledger, 2024)
    return product(ledger, 804, data_year=2023, filed_on=(2024, 3, 1))


def _round_2023_product(ledger: Any) -> tuple[str, UUID]:
    opened_round(ledger)
    return product(ledger, 805)


def _opt_in(ledger: Any, made: tuple[str, UUID]) -> object:
    code, product_id = made
    with at(2024, 3, 2):
        return ledger.certification.opt_in_to_certification(filer_actor(code), 2024, product_id)


def _open_round(ledger: Any, _: object) -> object:
    with at(2025, 1, 2):
        return ledger.certification.open_certification_round(CERTIFIER, 2025)


def _evaluate(ledger: Any, _: object) -> object:
    with at(*AFTER_REVIEW):
        return ledger.certification.run_certification(CERTIFIER, 2023)


def _report(ledger: Any, _: object) -> object:
    return ledger.report_conversion(
        _institution(),
        institution_uscc=INSTITUTION,
        patent_number=patent(7),
        category="ordinary_licence",
        counterparty="上海某某制造有限公司",
        occurred_on="2023-05-04",
        amount_fen=5_000_000,
    )


def _filer(ledger: Any) -> UUID:
    return approved_filer(ledger, uscc(806))


def _file_squatted_key(ledger: Any, filer_id: UUID) -> object:
    return file(ledger, uscc(806), filer_id, model="KEY-1")


SQUATS = [
    Squat("opening a round", _nothing, lambda _: round_id_for(2025), _open_round, True),
    Squat(
        "reading a round", _nothing, lambda _: round_id_for(2025),
        lambda ledger, _: ledger.certification.get_round(2025), False,
    ),
    Squat(
        "registering a filer", _nothing, lambda _: filer_id_for(uscc(802)),
        lambda ledger, _: register(ledger, uscc(802)), False,
    ),
    Squat(
        "reporting a conversion", _nothing,
        lambda _: conversion_record_id(INSTITUTION, PatentNumber.parse(patent(7)).value),
        _report, False,
    ),
    Squat(
        "setting the benchmarks", _nothing, lambda _: BENCHMARK_TABLE_ID,
        lambda ledger, _: ledger.certification.set_benchmarks(CERTIFIER, BENCHMARKS), True,
    ),
    Squat(
        "opting in", _round_2024_product, lambda made: opt_in_id_for(2024, made[1]), _opt_in,
        False,
    ),
    Squat(
        "evaluating", _round_2023_product,
        lambda made: certification_id_for(2023, made[1]), _evaluate, True, stores_nothing=False,
    ),
    Squat(
        "filing a product whose key reservation id is held", _filer,
        lambda _: product_key_id(canonical_product_key("智能温控阀", "KEY-1")),
        _file_squatted_key, False,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", SQUATS, ids=[c.desc for c in SQUATS])
def test_a_squatted_derived_id_is_a_typed_conflict_never_a_crash(ledger, case):
    squatter_id = approved_filer(ledger, SQUATTER)
    made = case.setup(ledger)
    held = case.held(made)
    squat(ledger, held, squatter_id)
    before = ledger.recorder.max_notification_id()

    with pytest.raises(IdConflictError) as caught:
        case.command(ledger, made)

    error = caught.value
    assert error.code == "id_conflict"
    assert error.details["id"] == str(held)
    if case.platform:
        assert error.details["held_by"] == "product"
        assert "product" in error.message
    else:  # a filer or institution learns no more than that the id is taken
        assert "held_by" not in error.details
        assert error.message.endswith("is held by another record")
    if case.stores_nothing:
        assert ledger.recorder.max_notification_id() == before


def test_an_evaluation_never_counts_a_squatted_decision_as_already_decided(ledger):
    """Run again, the evaluation still fails loudly: the squat is never 'already decided'."""
    squatter_id = approved_filer(ledger, SQUATTER)
    _, product_id = _round_2023_product(ledger)
    squat(ledger, certification_id_for(2023, product_id), squatter_id)
    for _ in range(2):
        with pytest.raises(IdConflictError):
            _evaluate(ledger, None)
