"""`ppl audit duplicates` lists near-duplicate pairs with the reviewer's decisions (both
backends): listed, never failed; the exit code still says only whether a product was filed
twice. The pass behind it (``audit.offline.duplicates.audit_products``) refuses a malformed
screening field with ``InvalidReplayError`` naming the event, never a crash."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from audit.offline.duplicates import audit_products
from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from tests.audit.test_replay import A, B, Forge, approve_deciding
from tests.audit.test_replay_screening import REASON, Screened
from tests.domain.factories import REVIEWER, approved_filer, before_screening, uscc

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``ppl`` commands run in-process on the test's store."""
    monkeypatch.setenv("PPL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PPL_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(*arguments: str) -> Any:
    return runner.invoke(app, list(arguments), catch_exceptions=False)


def _bundle(tmp_path: Any) -> str:
    assert _run("log", "sequence").exit_code == 0
    bundle = tmp_path / "screening.bundle"
    assert _run("audit", "export", "--out", str(bundle)).exit_code == 0
    return str(bundle)


def test_duplicates_lists_each_pair_with_its_reasons_and_decision_and_exits_0(
    ledger, cli_env, tmp_path
):
    s = Screened(ledger)
    ledger.approve_product(REVIEWER, s.same_model, distinct={str(s.first): REASON})
    ledger.reject_product(REVIEWER, s.shared_patent, "同一产品重复备案", duplicate_of=s.first)

    result = _run("audit", "duplicates", _bundle(tmp_path), "--workers", "1")

    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "no product was filed twice"
    listing = "\n".join(lines[:-1])
    heading = f"near-duplicate candidates of filing {s.same_model} (leaf "
    assert heading in listing
    assert f"filing {s.first} by {s.a} [same_model]: distinct: {REASON}" in listing
    assert f"filing {s.first} by {s.a} [shared_patent]: rejected as duplicate" in listing
    assert f"filing {s.first} by {s.a} [same_model, variant_words]: open" in listing
    assert f"filing {s.same_model} by {s.b} [same_model]: open" in listing
    assert f"filing {s.first} by {s.a} [similar_name]: open" in listing
    assert (
        "5 near-duplicate pair(s): 3 open, 1 distinct, 1 rejected as duplicate, 0 before screening"
    ) in result.stderr


def test_duplicates_marks_pairs_filed_before_screening(ledger, cli_env, tmp_path):
    with before_screening():
        s = Screened(ledger)
    approve_deciding(ledger, s.same_model)  # decided once screening is in force

    result = _run("audit", "duplicates", _bundle(tmp_path), "--workers", "1")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"filing {s.first} by {s.a} [shared_patent]: before screening" in result.stdout
    assert f"filing {s.first} by {s.a} [same_model]: distinct: 型号与用途不同" in result.stdout
    assert "5 near-duplicate pair(s): 0 open, 1 distinct, 0 rejected as duplicate, 4 before" in (
        result.stderr
    )


def test_duplicates_without_pairs_prints_only_the_verdict(ledger, cli_env, tmp_path):
    approved_filer(ledger, uscc(520))
    result = _run("audit", "duplicates", _bundle(tmp_path), "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "no product was filed twice\n"
    assert "0 near-duplicate pair(s)" in result.stderr


# --- the pass over the log refuses malformed screening fields, never crashes ----------------------


def _approved_with(**fields: Any) -> Callable[[Forge, LoggedEvent], LoggedEvent]:
    def forge_it(forge: Forge, later: LoggedEvent) -> LoggedEvent:
        return forge.product(later.originator_id, "FilingApproved", screening_rule=1, **fields)

    return forge_it


def _rejected_as_duplicate_of(value: object) -> Callable[[Forge, LoggedEvent], LoggedEvent]:
    def forge_it(forge: Forge, later: LoggedEvent) -> LoggedEvent:
        return forge.product(
            later.originator_id, "FilingRejected", reason="重复", duplicate_of=value
        )

    return forge_it


def _filed_with_patents(value: object) -> Callable[[Forge, LoggedEvent], LoggedEvent]:
    def forge_it(forge: Forge, later: LoggedEvent) -> LoggedEvent:
        filed = forge.file(A, model="TV-300")
        filed.state["patents"] = value  # type: ignore[index]
        return filed

    return forge_it


MALFORMED = [
    ("distinct as text", _approved_with(distinct="all"), "want a list"),
    ("a decision as a number", _approved_with(distinct=[3]), "want a product_id and reason"),
    ("a decision without a reason", _approved_with(distinct=[{"product_id": "x"}]),
     "want a product_id and reason"),
    ("duplicate_of as a number", _rejected_as_duplicate_of(5), "want null or a filing's UUID"),
    ("patents as text", _filed_with_patents("ZL1"), "want a list of patents with numbers"),
    ("a patent without a number", _filed_with_patents([{"type": "invention"}]),
     "want a list of patents with numbers"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("forge_it", "want_error"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_screening_field_is_a_replay_error_of_the_duplicates_pass(forge_it, want_error):
    forge = Forge()
    forge.approved(A)
    forge.approved(B)
    forge.filed(A, model="TV-100")
    later = forge.file(B, model="TV-200")
    forge.reserve(later)
    named = forge_it(forge, later)

    with pytest.raises(InvalidReplayError, match=want_error) as refused:
        audit_products(forge.events)
    assert refused.value.leaf_index == named.leaf_index
