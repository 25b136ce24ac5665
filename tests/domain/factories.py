"""Builders of valid commands, so each test states only what it is about."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from uuid import UUID

import domain.values
from domain.actor import Actor, Role
from domain.application import PatentLedger
from domain.declarations import Contact, EconomicFigures, PatentDeclaration
from domain.values import (
    AnnexRule,
    DisputeRule,
    FilingNumberRule,
    KeyRule,
    ScreeningRule,
    patent_check_char,
    uscc_check_char,
)

REVIEWER = Actor(id="reviewer-1", role=Role.REVIEWER)
VERIFIER = Actor(id="realname-service", role=Role.SYSTEM)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def uscc(serial: int, prefix: str = "91", region: str = "310115") -> str:
    body = f"{prefix}{region}{serial:09d}"
    return body + uscc_check_char(body)


def patent(serial: int, year: int = 2021, kind: str = "1") -> str:
    digits = f"{year}{kind}{serial:07d}"
    return f"ZL{digits}.{patent_check_char(digits)}"


def own_patent(filer_id: UUID) -> str:
    """A patent number of the filer's own: two filers' default filings share no patent, so
    they are no near-duplicate candidates of each other (audit.offline.screening)."""
    return patent(filer_id.int % 9_000_000 + 1)


def filer_actor(code: str) -> Actor:
    return Actor(id=f"user-{code}", role=Role.FILER, scope=code)


def figures(sales: int = 10_000_000, exports: int = 1_000_000) -> EconomicFigures:
    return EconomicFigures.of_fen(sales=sales, exports=exports, profit=500_000, ip_spending=80_000)


def register(ledger: PatentLedger, code: str, *, region: str = "310115") -> UUID:
    return ledger.register_filer(
        filer_actor(code),
        uscc=code,
        name=f"上海测试科技有限公司{code[-4:]}",
        kind="enterprise",
        region_code=region,
        contact=Contact.parse("张三", "+86 21 5555 0000", "zhang@example.cn"),
        proof_digests=[digest("licence")],
        pledge_digest=digest("pledge"),
    )


def approved_filer(ledger: PatentLedger, code: str, *, region: str = "310115") -> UUID:
    """Register, verify and approve; a ``region`` that is not the USCC's (annex rule v1) is
    a move the reviewer confirms first, as tests of other rules want a filer of that region."""
    filer_id = register(ledger, code, region=region)
    ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-0001")
    in_force = domain.values.annex_rule_in_force() is not AnnexRule.NONE
    if in_force and ledger.get_filer(filer_id).region_misfit() is not None:
        ledger.confirm_filer_move(REVIEWER, filer_id, "住所迁移 (test data)")
    ledger.approve_filer(REVIEWER, filer_id)
    return filer_id


def product_arguments(filer_id: UUID, **override: object) -> dict[str, object]:
    """Keyword arguments of a valid ``file_product`` call, with ``override`` applied."""
    arguments: dict[str, object] = {
        "filer_id": filer_id,
        "name": "智能温控阀",
        "model": "TV-100",
        "variants": ["白色", "黑色"],
        "category": "03",
        "finer_code": None,
        "patents": [PatentDeclaration.parse(patent(1), "owner")],
        "data_year": 2022,
        "figures": figures(),
        "proof_digests": [digest("invoice")],
    }
    arguments.update(override)
    return arguments


def file(ledger: PatentLedger, code: str, filer_id: UUID, **override: object) -> UUID:
    """File a valid product as filer ``code``; keyword arguments override single fields."""
    return ledger.file_product(filer_actor(code), **product_arguments(filer_id, **override))  # type: ignore[arg-type]


def approve_as_distinct(ledger: PatentLedger, product_id: UUID) -> int:
    """Approve, recording every open near-duplicate candidate as a distinct product.

    For tests whose filings resemble each other by accident (a shared test patent, one test
    name), not for tests of screening itself.
    """
    decisions = {
        str(candidate.product_id): "distinct product (test data)"
        for candidate in ledger.screening_of(product_id).open
    }
    return ledger.approve_product(REVIEWER, product_id, distinct=decisions)


@contextlib.contextmanager
def before_screening() -> Iterator[None]:
    """File and approve as the ledger did before near-duplicate screening (rule 0): no
    candidates recorded, no decisions needed. For tests of logs made before screening."""
    saved = domain.values.CURRENT_SCREENING_RULE
    domain.values.CURRENT_SCREENING_RULE = ScreeningRule.NONE
    try:
        yield
    finally:
        domain.values.CURRENT_SCREENING_RULE = saved


@contextlib.contextmanager
def v1_only() -> Iterator[None]:
    """File as the ledger did before key rule v2: a filing reserves its v1 key only.

    For tests of what came before v2 (the migration, old logs): patches the rules in force.
    Screening came after v2, so this is also ``before_screening``.
    """
    saved = domain.values.CURRENT_KEY_RULES
    domain.values.CURRENT_KEY_RULES = (KeyRule.V1,)
    try:
        with before_screening():
            yield
    finally:
        domain.values.CURRENT_KEY_RULES = saved


@contextlib.contextmanager
def before_annex_rule() -> Iterator[None]:
    """Register, file, revise and resolve as the ledger did before annex rule v1 (rule 0):
    no kind, region, sales or data-year checks, a category 01-07, no patent removed."""
    saved = domain.values.CURRENT_ANNEX_RULE
    domain.values.CURRENT_ANNEX_RULE = AnnexRule.NONE
    try:
        yield
    finally:
        domain.values.CURRENT_ANNEX_RULE = saved


EVIDENCE = [digest("evidence of ownership")]
"""The evidence digests of a test's ownership dispute (dispute rule v1 needs one)."""


@contextlib.contextmanager
def before_dispute_rule() -> Iterator[None]:
    """Raise disputes as the ledger did before dispute rule v1: no evidence, blocking at once."""
    saved = domain.values.CURRENT_DISPUTE_RULE
    domain.values.CURRENT_DISPUTE_RULE = DisputeRule.NONE
    try:
        yield
    finally:
        domain.values.CURRENT_DISPUTE_RULE = saved


@contextlib.contextmanager
def before_filing_numbers() -> Iterator[None]:
    """Approve as the ledger did before filing number rule v1: no filing number."""
    saved = domain.values.CURRENT_FILING_NUMBER_RULE
    domain.values.CURRENT_FILING_NUMBER_RULE = FilingNumberRule.NONE
    try:
        yield
    finally:
        domain.values.CURRENT_FILING_NUMBER_RULE = saved
