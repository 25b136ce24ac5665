"""Replay rule E7: a filing or objection is never created under an id of a derived kind.

Filings and objections take an id a client may choose; every other aggregate's id is derived
(uuid5). A filing or objection under a name-based (version 3 or 5), nil or max UUID squats a
record the ledger may create later, so the offline auditor refuses it with ``MisfitIdError``,
naming the event and its leaf index, under its own exit code (17). Forged logs are built with
the replay tests' ``Forge``; a squat that reached a real store (saved around the domain's
guard, as a client could before it existed) goes through export, ``verify_bundle`` and
``ppl audit verify``.
"""

from __future__ import annotations

import json
from uuid import NAMESPACE_URL, UUID, uuid1, uuid3, uuid4

import pytest
from typer.testing import CliRunner

from api.bootstrap import export_audit_bundle, open_transparency_log
from api.cli import app
from audit.offline.errors import InvalidReplayError, MisfitIdError
from audit.offline.logged_event import LoggedEvent
from audit.offline.verifier import exit_code, verify_bundle
from domain.certification_round import round_id_for
from domain.conversion import conversion_record_id
from domain.filer import filer_id_for
from domain.sample.identities import sample_id
from tests.audit.test_replay import A, Forge, forged_replay
from tests.audit.test_replay_certification import CertForge, published_round
from tests.domain.factories import approved_filer, file, patent, uscc
from tests.domain.test_ids import SQUATTER, squat

MISFIT_EXIT = 17

MISFITS = [
    ("a future round's id", round_id_for(2031), "version 5"),
    ("another filer's id", filer_id_for(uscc(299)), "version 5"),
    ("a conversion record's id", conversion_record_id(uscc(1, "12"), patent(1)), "version 5"),
    ("a name-based MD5 id (version 3)", uuid3(NAMESPACE_URL, "https://example.cn"), "version 3"),
    ("the nil UUID", UUID(int=0), "the nil UUID"),
    ("the max UUID", UUID(int=(1 << 128) - 1), "the max UUID"),
]


def _misfit(events: list[LoggedEvent]) -> MisfitIdError:
    """Replay both ways (``apply`` and ``prepare`` + ``apply_prepared``): one verdict."""
    with pytest.raises(MisfitIdError) as caught:
        forged_replay(events)
    return caught.value


@pytest.mark.parametrize(("desc", "squatted", "why"), MISFITS, ids=[c[0] for c in MISFITS])
def test_a_filing_under_an_id_of_a_derived_kind_fails_naming_its_leaf(desc, squatted, why):
    forge = Forge()
    forge.approved(A)
    forge.filed(A, product_id=squatted)
    (filed,) = [e for e in forge.events if e.originator_id == squatted]

    error = _misfit(forge.events)

    assert (error.originator_id, error.version, error.leaf_index) == (squatted, 1, 3)
    assert filed.leaf_index == 3
    assert why in error.reason
    assert "ProductFiled" in error.reason
    assert f"at leaf {filed.leaf_index}" in str(error)
    assert isinstance(error, InvalidReplayError)
    assert exit_code(error) == MISFIT_EXIT


@pytest.mark.parametrize(("desc", "squatted", "why"), MISFITS, ids=[c[0] for c in MISFITS])
def test_an_objection_under_an_id_of_a_derived_kind_fails_naming_its_leaf(desc, squatted, why):
    forge = CertForge()
    certified, _ = published_round(forge)
    objected = forge.object(certified, objection_id=squatted)

    error = _misfit(forge.events)

    assert (error.originator_id, error.leaf_index) == (squatted, objected.leaf_index)
    assert why in error.reason
    assert "ObjectionFiled" in error.reason


@pytest.mark.parametrize(
    "chosen",
    [uuid4(), uuid1(), sample_id("filing:7:0")],
    ids=["random (version 4)", "time-based (version 1)", "sample (version 8)"],
)
def test_a_filing_under_a_random_time_based_or_sample_id_replays(chosen):
    forge = Forge()
    forge.approved(A)
    forge.filed(A, product_id=chosen)
    forged_replay(forge.events)


def test_a_squat_in_the_store_is_reported_by_leaf_with_its_own_exit_code(
    ledger, settings, tmp_path
):
    code = uscc(450)
    file(ledger, code, approved_filer(ledger, code))  # an honest filing first
    squatted = round_id_for(2031)
    squat(ledger, squatted, approved_filer(ledger, SQUATTER))  # around ClientId, as before it
    log = open_transparency_log(ledger, settings)
    bundle = tmp_path / "squat.bundle"
    try:
        log.sequence()
        export_audit_bundle(ledger, log, settings, bundle)
    finally:
        log.store.close()
    rows = [json.loads(line) for line in bundle.read_text(encoding="utf-8").splitlines()[1:]]
    (leaf,) = [row["leaf_index"] for row in rows if row["originator_id"] == str(squatted)]

    with pytest.raises(MisfitIdError) as caught:
        verify_bundle(bundle, workers=1)
    assert (caught.value.originator_id, caught.value.leaf_index) == (squatted, leaf)

    result = CliRunner().invoke(app, ["audit", "verify", str(bundle), "--workers", "1"])
    assert result.exit_code == MISFIT_EXIT, result.stderr
    assert f"{squatted} v1 at leaf {leaf}" in result.stderr
    assert "version 5" in result.stderr
