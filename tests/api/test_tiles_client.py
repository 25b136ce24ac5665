"""An independent tlog-tiles client reads the served log: tlog-scales (PyPI) over real HTTP.

The app runs under uvicorn on a loopback port, on SQLite and on PostgreSQL, with a log of a
few hundred events (a full level-0 tile, a partial one, a level-1 partial) and two signed
checkpoints. tlog-scales fetches ``/tlog/checkpoint`` and the tiles with its own HTTP backend
(requests), verifies the checkpoint's signature with the log's published verifier key,
recomputes the root from the tiles, builds inclusion and consistency proofs from them and
checks them with its own RFC 9162 code; with an auditor's token it reads the entry bundles
(gzip-encoded on the wire) and each entry is the project's log leaf data of the stored event.
Nothing here takes the server's word: every expected value is computed on this side.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from tlog_scales.backend import HttpBackend
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey
from tlog_scales.tiles import leaf_hash as scales_leaf_hash
from tlog_scales.tlog import Checkpoint, ConsistencyProofInvalid, InclusionProofInvalid

from api.app import create_app
from audit.offline.log_leaf import log_leaf_data
from audit.offline.rfc6962 import leaf_hash, tree_root
from domain.actor import Role
from tests.api.conftest import api_settings
from tests.api.test_tiles_routes import busy_ledger
from tests.served import serve


@dataclass
class ServedLog:
    app: Any
    origin: str  # http://127.0.0.1:<port>
    first: Checkpoint  # the earlier signed checkpoint, as tlog-scales parsed it

    @property
    def state(self) -> Any:
        return self.app.state

    def backend(self) -> HttpBackend:
        return HttpBackend(self.origin + "/tlog")

    def entries(self) -> list[bytes]:
        """The log leaf data of every stored event, read from the store here."""
        notifications = self.state.ledger.recorder.select_notifications(start=1, limit=10**6)
        return [
            log_leaf_data(UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
            for n in notifications
        ]

    def vkey(self) -> Vkey:
        keys = self.backend().session.get(self.origin + "/v1/keys").json()
        return Vkey.from_string(keys["log"]["verifier_key"])

    def auditor_token(self) -> str:
        _, token = self.state.tokens.create(Role.AUDITOR, None, label="tiles client")
        return str(token)


@pytest.fixture
def served_log(database_url: str, tmp_path: Path) -> Iterator[ServedLog]:
    """The app under uvicorn on the test's store: a checkpoint of ~120 events, then ~480."""
    app = create_app(api_settings(database_url, tmp_path))
    with serve(app) as origin:
        busy_ledger(app.state.ledger, 20)
        app.state.log.sequence()
        first = TilesReader(HttpBackend(origin + "/tlog")).get_checkpoint()
        busy_ledger(app.state.ledger, 60, first=200)
        app.state.log.sequence()
        yield ServedLog(app, origin, first)


def test_the_checkpoint_verifies_and_the_tiles_give_its_root(served_log):
    reader = TilesReader(served_log.backend())
    checkpoint = reader.get_checkpoint()
    vkey = served_log.vkey()
    checkpoint.verify(vkey)
    served_log.first.verify(vkey)
    assert checkpoint.origin == served_log.state.log.origin
    # a full level-0 tile, a partial one and a level-1 partial; the first checkpoint had none
    assert served_log.first.size < 256 < checkpoint.size < 65_536
    assert checkpoint.size % 256

    leaves = [leaf_hash(e) for e in served_log.entries()[: checkpoint.size]]
    assert checkpoint.root_hash == tree_root(leaves)
    assert reader.calculate_root_hash() == checkpoint.root_hash
    # an older size's root from the same (immutable) tiles
    reader.set_size(served_log.first.size)
    assert (
        reader.calculate_root_hash()
        == served_log.first.root_hash
        == tree_root(leaves[: served_log.first.size])
    )


def test_inclusion_proofs_from_tiles_check_against_the_served_root(served_log):
    reader = TilesReader(served_log.backend())
    checkpoint = reader.get_checkpoint()
    checkpoint.verify(served_log.vkey())
    size = checkpoint.size
    entries = served_log.entries()
    for index in sorted({0, 1, 127, 255, 256, 257, 300, 511, 512, size - 2, size - 1}):
        if index >= size:
            continue
        proof = reader.get_inclusion_proof(index, size)
        proof.check(leaf_hash(entries[index]), checkpoint.root_hash)
        with pytest.raises(InclusionProofInvalid):
            proof.check(leaf_hash(entries[index] + b"x"), checkpoint.root_hash)
        served = served_log.backend().session.get(
            served_log.origin + "/v1/log/proofs/inclusion",
            params={"leaf_index": index, "tree_size": size},
        )
        assert [h.hex() for h in proof.node_hashes] == [
            base64.b64decode(h).hex() for h in served.json()["proof"]
        ]  # the tiles' proof is the API's own
    # in the older tree too
    old = served_log.first
    reader.set_size(size)
    proof = reader.get_inclusion_proof(old.size - 1, old.size)
    proof.check(leaf_hash(entries[old.size - 1]), old.root_hash)


def test_a_consistency_proof_from_tiles_links_the_two_checkpoints(served_log):
    reader = TilesReader(served_log.backend())
    new = reader.get_checkpoint()
    old = served_log.first
    vkey = served_log.vkey()
    new.verify(vkey)
    old.verify(vkey)
    proof = reader.get_consistency_proof(old.size, new.size)
    proof.check(old.root_hash, new.root_hash)
    with pytest.raises(ConsistencyProofInvalid):
        proof.check(tree_root([b"\x00" * 32]), new.root_hash)


def test_entries_read_with_an_auditor_token_are_the_stored_events(served_log):
    backend = served_log.backend()
    reader = TilesReader(backend)
    checkpoint = reader.get_checkpoint()
    assert backend.get("tile", "entries", "000") is None  # without a token: absent
    backend.session.headers["Authorization"] = f"Bearer {served_log.auditor_token()}"
    entries = served_log.entries()
    full, width = divmod(checkpoint.size, 256)
    paths: list[tuple[str, ...]] = [("tile", "0", f"{n:03d}") for n in range(full)]
    paths += [("tile", "0", f"{full:03d}.p", str(width))] if width else []
    tiles = [backend.get(*path) for path in paths]
    level0 = b"".join(tile for tile in tiles if tile is not None)
    assert len(level0) == 32 * checkpoint.size
    for index in range(checkpoint.size):
        got = reader.get_entry(index)
        assert got == entries[index]
        assert scales_leaf_hash(got) == level0[32 * index : 32 * (index + 1)]
    raw = backend.session.get(served_log.origin + "/tlog/tile/entries/000", stream=True)
    assert raw.headers["Content-Encoding"] == "gzip"  # requests asked for it and decoded it
    assert raw.headers["Content-Type"] == "application/octet-stream"
    raw.close()
