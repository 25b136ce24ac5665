"""The tiled log over HTTP (``/tlog``, api.routes.tiles): every answer and every refusal.

Content types, cache headers, gzip, who may read entry bundles (auditors only, as the audit
bundle), the problems of malformed paths and absent tiles — JSON even for a browser — and what
a tile that cannot be served becomes. Both backends (the ``api`` fixture). The tiles' content is
checked against hashes computed here from the stored events, never against what the server says.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest

from api.routes import tiles as tile_routes
from api.routes.tiles import accepts_gzip
from audit.offline.log_leaf import log_leaf_data
from audit.offline.rfc6962 import leaf_hash, tree_root
from domain.actor import Role
from tests.domain.factories import approved_filer, file, patent, uscc
from tests.domain.test_tamper import _rewrite_state

PROBLEM = "application/problem+json"
OCTETS = "application/octet-stream"
IMMUTABLE = "public, max-age=31536000, immutable"
PAGE = {"Accept": "text/html,application/xhtml+xml"}  # what a browser sends for a page
IDENTITY = {"Accept-Encoding": "identity"}
PATHS = json.loads(
    (Path(__file__).resolve().parents[1] / "testdata" / "tile_paths.json").read_text("utf-8")
)


def busy_ledger(ledger: Any, filers: int, first: int = 100) -> None:
    """``filers`` approved filers with a filing each: about 6 events per filer."""
    for serial in range(first, first + filers):
        code = uscc(serial)
        filer_id = approved_filer(ledger, code)
        file(ledger, code, filer_id, model=f"T-{serial}", name=f"测试产品{serial}")


def stored_entries(api) -> list[bytes]:
    """The log leaf data of every stored event, in notification order, read from the store."""
    notifications = api.state.ledger.recorder.select_notifications(start=1, limit=10**6)
    return [
        log_leaf_data(UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
        for n in notifications
    ]


def split_bundle(bundle: bytes) -> list[bytes]:
    entries, offset = [], 0
    while offset < len(bundle):
        length = int.from_bytes(bundle[offset : offset + 2], "big")
        entries.append(bundle[offset + 2 : offset + 2 + length])
        offset += 2 + length
    assert offset == len(bundle)
    return entries


def problem(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def size_of(api) -> int:
    return int(api.client.get("/tlog/checkpoint").text.splitlines()[1])


# --- the checkpoint -----------------------------------------------------------------------------
def test_checkpoint_is_the_latest_signed_note_and_not_cached(api):
    problem(api.client.get("/tlog/checkpoint"), 404, "log_not_available")
    busy_ledger(api.state.ledger, 2)
    api.settle()
    response = api.client.get("/tlog/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == api.client.get("/v1/log/checkpoint").text
    assert response.text == api.state.log.store.latest_checkpoint().signed_note


def test_checkpoint_serves_what_served_checkpoint_note_says(api, monkeypatch):
    busy_ledger(api.state.ledger, 1)
    api.settle()
    note = tile_routes.served_checkpoint_note
    monkeypatch.setattr(
        tile_routes, "served_checkpoint_note", lambda request: note(request) + "— witness x\n"
    )
    assert api.client.get("/tlog/checkpoint").text.endswith("\n— witness x\n")


# --- hash tiles ---------------------------------------------------------------------------------
def test_hash_tiles_are_the_leaf_and_subtree_hashes_immutable_and_public(api):
    busy_ledger(api.state.ledger, 50)  # more than 256 events
    api.settle()
    size = size_of(api)
    assert size > 256
    leaves = [leaf_hash(e) for e in stored_entries(api)][:size]

    full = api.client.get("/tlog/tile/0/000")
    assert full.status_code == 200
    assert full.headers["content-type"] == OCTETS
    assert full.headers["cache-control"] == IMMUTABLE
    assert full.content == b"".join(leaves[:256])
    assert len(full.content) == 8192

    full_tiles, width = divmod(size, 256)
    assert width  # a partial level-0 tile too
    last = api.client.get(f"/tlog/tile/0/{full_tiles:03d}.p/{width}")
    assert last.status_code == 200
    assert last.headers["cache-control"] == IMMUTABLE
    assert last.content == b"".join(leaves[full_tiles * 256 : size])
    prefix = api.client.get(f"/tlog/tile/0/{full_tiles:03d}.p/1")  # any width up to it
    assert prefix.content == leaves[full_tiles * 256]

    level1 = api.client.get(f"/tlog/tile/1/000.p/{full_tiles}")
    assert level1.content == b"".join(
        tree_root(leaves[i * 256 : (i + 1) * 256]) for i in range(full_tiles)
    )
    assert level1.headers["cache-control"] == IMMUTABLE


def test_a_tile_the_signed_checkpoint_does_not_cover_is_not_found_and_not_cached(api):
    problem(api.client.get("/tlog/tile/0/000.p/1"), 404, "tile_not_found")  # no checkpoint
    busy_ledger(api.state.ledger, 2)
    api.settle()
    size = size_of(api)
    busy_ledger(api.state.ledger, 1, first=900)
    api.state.log.sequencer.catch_up()  # integrated, not signed
    for path in (f"0/000.p/{size + 1}", "0/000", "0/001.p/1", "1/000.p/1", "2/000.p/1",
                 "63/x999/x999/999"):  # fmt: skip
        refused = api.client.get(f"/tlog/tile/{path}")
        body = problem(refused, 404, "tile_not_found")
        assert refused.headers["cache-control"] == "no-store"
        assert "signed checkpoint" in body["detail"]
    assert api.client.get(f"/tlog/tile/0/000.p/{size}").status_code == 200


@pytest.mark.parametrize(
    "case",
    [c for c in PATHS["invalid"] if c["path"].startswith("tile/") and "entries" not in c["path"]],
    ids=lambda case: case["desc"],
)
def test_a_malformed_tile_path_is_a_400_saying_what_is_wrong(api, case):
    body = problem(
        api.client.get("/tlog/" + quote(case["path"], safe="/")), 400, "malformed_tile_path"
    )
    assert case["want_error"] in body["detail"]


def test_problems_under_tlog_are_json_even_for_a_browser(api):
    for path in ("/tlog/tile/0/000", "/tlog/tile/0/1", "/tlog/checkpoint", "/tlog/nothing"):
        response = api.client.get(path, headers=PAGE)
        assert response.headers["content-type"] == PROBLEM, path
    assert (
        api.client.get("/no-such-page", headers=PAGE)
        .headers["content-type"]
        .startswith("text/html")
    )  # the pages' hook is installed, and /tlog/ is not one of its paths
    problem(api.client.post("/tlog/checkpoint", json={}), 405, "method_not_allowed")


# --- entry bundles ------------------------------------------------------------------------------
def test_entry_bundles_are_for_auditors_only(api):
    busy_ledger(api.state.ledger, 1)
    api.settle()
    path = "/tlog/tile/entries/000.p/1"
    refused = api.client.get(path)
    problem(refused, 401, "not_authenticated")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    problem(api.client.get(path, headers={"Authorization": "Bearer nope"}), 401, "token_invalid")
    for role, scope in ((Role.REVIEWER, None), (Role.CERTIFIER, None),
                        (Role.REGIONAL_ADMIN, "31"), (Role.FILER, uscc(100))):  # fmt: skip
        problem(api.client.get(path, headers=api.headers(role, scope)), 403, "forbidden")
    # refused before the path is looked at: a malformed or absent bundle says nothing either
    problem(api.client.get("/tlog/tile/entries/0"), 401, "not_authenticated")
    problem(api.client.get("/tlog/tile/entries/999", headers=api.headers(Role.REVIEWER)),
            403, "forbidden")  # fmt: skip
    assert api.client.get(path, headers=api.headers(Role.AUDITOR)).status_code == 200


def test_an_entry_bundle_is_every_stored_event_of_its_leaves(api):
    busy_ledger(api.state.ledger, 50)
    api.settle()
    size = size_of(api)
    assert 256 < size < 512
    entries = stored_entries(api)[:size]
    auditor = api.headers(Role.AUDITOR, accept_encoding="identity")

    full = api.client.get("/tlog/tile/entries/000", headers=auditor)
    assert full.status_code == 200
    assert full.headers["content-type"] == OCTETS
    assert full.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert "content-encoding" not in full.headers
    assert full.headers["vary"] == "Accept-Encoding"
    assert split_bundle(full.content) == entries[:256]
    tile = api.client.get("/tlog/tile/0/000").content
    assert b"".join(leaf_hash(e) for e in split_bundle(full.content)) == tile

    partial = api.client.get(f"/tlog/tile/entries/001.p/{size - 256}", headers=auditor)
    assert split_bundle(partial.content) == entries[256:size]
    problem(
        api.client.get(f"/tlog/tile/entries/001.p/{size - 255}", headers=auditor),
        404,
        "tile_not_found",
    )
    problem(api.client.get("/tlog/tile/entries/001", headers=auditor), 404, "tile_not_found")
    for bad in ("0/000", "000.p/256", "x000/000", "000/"):
        problem(
            api.client.get(f"/tlog/tile/entries/{bad}", headers=auditor), 400, "malformed_tile_path"
        )


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [("gzip", True), ("gzip, identity", True), ("br;q=1.0, gzip;q=0.5", True), ("*", True),
     ("x-gzip", True), ("identity", False), ("gzip;q=0", False), ("gzip;q=0, *", False),
     ("br", False), ("", False), ("*;q=0", False), ("gzip;q=nonsense", False)],
)  # fmt: skip
def test_entry_bundles_are_gzipped_when_the_client_accepts_it(api, accept, compressed):
    busy_ledger(api.state.ledger, 1)
    api.settle()
    headers = api.headers(Role.AUDITOR, accept_encoding=accept)
    with api.client.stream("GET", "/tlog/tile/entries/000.p/3", headers=headers) as response:
        raw = b"".join(response.iter_raw())
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-type"] == OCTETS
        assert (response.headers.get("content-encoding") == "gzip") is compressed
    plain = b"".join(
        len(e).to_bytes(2, "big") + e for e in stored_entries(api)[:3]
    )  # what the bundle holds
    assert (gzip.decompress(raw) if compressed else raw) == plain
    assert accepts_gzip(accept) is compressed


def _big_filing(filer_id: object, patents: int) -> dict[str, Any]:
    return {
        "filer_id": str(filer_id), "name": "大型专利组合产品", "model": f"BIG-{patents}",
        "category": "03",
        "patents": [{"number": patent(200_000 + i), "relation": "owner"} for i in range(patents)],
        "data_year": 2022, "proof_digests": ["0" * 64],
        "figures": {"sales_fen": 10_000_000, "exports_fen": 1_000_000, "profit_fen": 500_000,
                    "ip_spending_fen": 80_000},
    }  # fmt: skip


def test_a_filing_whose_event_would_not_fit_an_entry_bundle_is_refused_whole(api):
    # A body under the 64 KiB limit whose event would be a log leaf over 65,535 bytes: the
    # signing store refuses the save, so the log never holds an entry its tiles cannot serve.
    code = uscc(700)
    filer_id = approved_filer(api.state.ledger, code)
    api.settle()
    before = stored_entries(api)
    body = _big_filing(filer_id, 1000)
    assert len(json.dumps(body)) < api.settings.max_body_bytes
    refused = problem(api.post("/v1/products", body, Role.FILER, code), 413, "event_too_large")
    assert refused["size"] > 65_535
    assert "at most 65,535" in refused["detail"]
    api.settle()
    assert stored_entries(api) == before  # nothing stored, no key reserved
    fits = api.post("/v1/products", _big_filing(filer_id, 600), Role.FILER, code)
    assert fits.status_code == 201, fits.text
    api.settle()
    entries = stored_entries(api)
    assert max(len(entry) for entry in entries) > 50_000
    auditor = api.headers(Role.AUDITOR)
    served = api.client.get(f"/tlog/tile/entries/000.p/{len(entries)}", headers=auditor)
    assert split_bundle(served.content) == entries


def test_a_stored_event_changed_after_logging_is_never_served(api):
    ledger = api.state.ledger
    code = uscc(800)
    filer_id = approved_filer(ledger, code)
    api.settle()
    _rewrite_state(api.settings, filer_id, 2, lambda state: state.replace(b"RN-0001", b"RN-0002"))
    auditor = api.headers(Role.AUDITOR)
    body = problem(
        api.client.get("/tlog/tile/entries/000.p/3", headers=auditor),
        500,
        "ledger_integrity_failure",
    )
    assert "leaf 1" in body["detail"]
    assert body["failure"] == "TileIntegrityError"
    assert api.client.get("/tlog/tile/entries/000.p/1", headers=auditor).status_code == 200
