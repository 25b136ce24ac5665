"""The Idempotency-Key record is written with the command's events, in their transaction.

What this buys, each shown here on SQLite and PostgreSQL: the request answers a retry even if
it failed right after its save (no key left "in progress"); a key another request holds stops
the whole save, so nothing is written twice; requests racing on one key write once and all get
the same answer. Commands not answered by one record's version (not api.writes.OnRecord) claim
the key with their first save and complete the record when they return.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest

from api.command_bodies import FileProduct
from api.idempotency import INSERT_RECORD, record_row, request_hash
from api.receipts import recorder_topic
from domain.actor import Role
from tests.api.test_certification_routes import BENCHMARKS
from tests.api.test_command_rejections import assert_problem, stored
from tests.api.test_commands import approved_filer, filer_body, product_body
from tests.domain.factories import approved_filer as ledger_approved_filer
from tests.domain.factories import uscc

PRODUCTS = "/v1/products"


class _DiedAfterSaveError(RuntimeError):
    """Stands for the process failing between a command's save and its response."""


def _fail_after(monkeypatch: pytest.MonkeyPatch, ledger: Any, command: str) -> None:
    """``ledger.<command>`` saves as usual, then fails before the route gets its result."""
    original = getattr(ledger, command)

    def saved_then_failed(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise _DiedAfterSaveError(command)

    monkeypatch.setattr(ledger, command, saved_then_failed)


def _key_row(api: Any, role: Role, scope: str | None, key: str) -> tuple[Any, ...] | None:
    token_id = api.token(role, scope).split("_")[1]
    db = api.state.idempotency.db
    with db.autocommit() as cursor:
        cursor.execute(
            db.q(
                "SELECT request_hash, status, body FROM ppl_api_idempotency "
                "WHERE principal = ? AND idem_key = ?"
            ),
            (token_id, key),
        )
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def _hold_key(api: Any, role: Role, scope: str | None, key: str, digest: str) -> None:
    """Another request's claim on ``key`` (no response yet), as its first save leaves it."""
    token_id = api.token(role, scope).split("_")[1]
    db = api.state.idempotency.db
    with db.autocommit() as cursor:
        cursor.execute(db.q(INSERT_RECORD), record_row(token_id, key, digest, None, "2026-11-21"))


def test_a_filing_that_fails_after_its_save_is_answered_from_its_record(api, monkeypatch):
    code = uscc(41)
    filer_id = approved_filer(api, code)
    body = product_body(filer_id, name="保存后失败的产品")
    before = stored(api)
    _fail_after(monkeypatch, api.state.ledger, "file_product")
    with pytest.raises(_DiedAfterSaveError):  # the TestClient re-raises what the app did not answer
        api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="died-after-save-41")
    saved = stored(api)
    assert saved > before  # the filing is in the store ...
    monkeypatch.undo()

    retry = api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="died-after-save-41")
    # ... and so is its response: the retry gets it, not "in progress", and writes nothing.
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    product_id = UUID(retry.json()["product_id"])
    assert api.state.ledger.get_product(product_id).name == "保存后失败的产品"
    assert retry.headers["location"] == f"/v1/products/{product_id}"
    assert stored(api) == saved


def test_a_key_another_request_holds_stops_the_whole_save(api):
    code = uscc(42)
    filer_id = approved_filer(api, code)
    body = product_body(filer_id, name="被占用键的产品")
    digest = request_hash("POST", PRODUCTS, _validated(body))
    _hold_key(api, Role.FILER, code, "held-by-another-42", digest)
    before = stored(api)

    running = api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="held-by-another-42")
    assert_problem(running, 409, "idempotency_key_in_progress")
    assert running.headers["retry-after"] == "1"
    assert stored(api) == before  # the command ran, and its save failed whole on the key

    _hold_key(api, Role.FILER, code, "held-for-other-42", "another request's hash")
    reused = api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="held-for-other-42")
    assert_problem(reused, 422, "idempotency_key_reused")
    assert stored(api) == before


def _validated(body: dict[str, Any]) -> Any:
    """``body`` as the route hashes it: parsed by its model, dumped back to JSON."""
    return FileProduct.model_validate(body).model_dump(mode="json")


def test_requests_racing_on_one_key_write_once_and_get_one_answer(api):
    code = uscc(43)
    filer_id = approved_filer(api, code)
    body = product_body(filer_id, name="并发同键产品")
    before = stored(api)

    def post(_: int) -> Any:
        return api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="raced-key-43")

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(post, range(6)))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert len({r.json()["product_id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert stored(api) == before + 3  # one filing and its key reservations (v1, v2), once


def test_a_command_that_saves_nothing_records_its_response_after(api):
    table = BENCHMARKS
    certifier = Role.CERTIFIER
    first = api.post("/v1/certification/benchmarks", table, certifier)
    assert first.status_code == 200, first.text
    before = stored(api)
    again = api.post("/v1/certification/benchmarks", table, certifier, idempotency_key="same-41x")
    assert (again.status_code, again.json()) == (200, first.json())  # nothing to change
    assert stored(api) == before
    row = _key_row(api, certifier, None, "same-41x")
    assert row is not None
    assert row[1] == 200
    replayed = api.post(
        "/v1/certification/benchmarks", table, certifier, idempotency_key="same-41x"
    )
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == first.json()


def test_a_claim_is_completed_or_released_for_commands_answered_after_their_save(api, monkeypatch):
    # Registering a filer is answered after its save (the id is the ledger's to derive).
    code = uscc(44)
    registered = api.post(
        "/v1/filers", filer_body(code), Role.REVIEWER, idempotency_key="register-44"
    )
    assert registered.status_code == 201
    row = _key_row(api, Role.REVIEWER, None, "register-44")
    assert row is not None
    assert row[1] == 201  # the save's claim, completed with the response

    # A failure after the save, not the client's: the claim is released, the retry runs.
    other = uscc(45)
    _fail_after(monkeypatch, api.state.ledger, "register_filer")
    with pytest.raises(_DiedAfterSaveError):
        api.post("/v1/filers", filer_body(other), Role.REVIEWER, idempotency_key="register-45")
    assert _key_row(api, Role.REVIEWER, None, "register-45") is None
    monkeypatch.undo()
    retry = api.post("/v1/filers", filer_body(other), Role.REVIEWER, idempotency_key="register-45")
    assert_problem(retry, 409, "filer_already_registered")  # the first run's save stands


def test_the_ledger_records_keys_through_the_receipt_recorders(api):
    recorder = type(api.state.ledger.recorder).__name__
    assert recorder in ("SqliteReceiptRecorder", "PostgresReceiptRecorder")
    assert recorder_topic("eventsourcing.popo") is None  # other stores keep their recorder


def test_a_save_outside_a_request_writes_no_key(api):
    code = uscc(46)
    approved_filer(api, code)  # saves through the API, each with its own key
    db = api.state.idempotency.db
    with db.autocommit() as cursor:
        cursor.execute("SELECT COUNT(*) FROM ppl_api_idempotency")
        keys = cursor.fetchone()[0]
    before = stored(api)
    ledger_approved_filer(api.state.ledger, uscc(47))  # in-process, as a `ppl` command saves
    assert stored(api) > before
    with db.autocommit() as cursor:
        cursor.execute("SELECT COUNT(*) FROM ppl_api_idempotency")
        assert cursor.fetchone()[0] == keys


def test_a_command_on_one_record_stores_its_answer_and_renders_the_response_after(api):
    code = uscc(44)
    filer_id = approved_filer(api, code)
    body = product_body(filer_id, name="按版本应答的产品")
    first = api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="answered-by-44")
    assert first.status_code == 201, first.text
    product_id = first.json()["product_id"]
    token_id = api.token(Role.FILER, code).split("_")[1]
    db = api.state.idempotency.db
    with db.autocommit() as cursor:
        cursor.execute(
            db.q(
                "SELECT status, body, answer_id, answer_version FROM ppl_api_idempotency "
                "WHERE principal = ? AND idem_key = ?"
            ),
            (token_id, "answered-by-44"),
        )
        row = cursor.fetchone()
    # Nothing rendered in the events' transaction: the record and its version only.
    assert tuple(row) == (None, None, product_id, 1)

    retry = api.post(PRODUCTS, body, Role.FILER, code, idempotency_key="answered-by-44")
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["etag"] == first.headers["etag"] == '"1"'


def test_a_key_table_of_an_earlier_release_gains_the_answer_columns(api):
    from api.idempotency import IdempotencyStore, Recorded

    db = api.state.idempotency.db
    with db.schema_transaction() as cursor:
        cursor.execute("ALTER TABLE ppl_api_idempotency DROP COLUMN answer_id")
        cursor.execute("ALTER TABLE ppl_api_idempotency DROP COLUMN answer_version")
        cursor.execute(
            db.q(
                "INSERT INTO ppl_api_idempotency (principal, idem_key, request_hash, status, "
                "body, headers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ),
            ("old-token", "old-release-key", "digest", 201, '{"a": 1}', '{"ETag": "\\"1\\""}',
             "2026-11-01"),
        )  # fmt: skip
    store = IdempotencyStore(db)  # as the new release opens it
    assert store.first("old-token", "old-release-key", "digest") == Recorded(
        201, {"a": 1}, {"ETag": '"1"'}
    )
    IdempotencyStore(db)  # and again: the columns are there once
    with db.autocommit() as cursor:
        cursor.execute(db.q("SELECT answer_id, answer_version FROM ppl_api_idempotency"))
        assert all(tuple(row) == (None, None) for row in cursor.fetchall())
