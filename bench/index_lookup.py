"""Product-index lookups over HTTP on PostgreSQL, with their proofs, at many keys.

Question (issue #19): how fast does ``GET /v1/index/products`` answer — value and proof of
presence or absence, checked by the server against the signed root before it is sent — when
the product-key map holds 10^6 keys? Target: p99 under 5 ms on PostgreSQL.

The index tables are filled directly (``audit.log.index_store``): n product keys with values
shaped as the ledger writes them (one filing, its three leaves, a row digest), their map built
with ``MapTree.put_many``, a signed index note for a checkpoint of the log; a lookup's cost
depends on these tables, not on how the entries came to be. The server runs as ``ppl serve``
runs it — the app under uvicorn in a process of its own (bench.api ``served``), with its
background loops — on loopback; one client in this process, with a keep-alive connection
(urllib3), asks in rounds that alternate their order: lookups of random present
keys (``?key_rule=1&key=…``), of random absent keys, and as the baseline ``GET /v1/index`` (the
latest note and its checkpoint: two reads through the same stack). Each answer of the first
round is verified offline (audit.offline.index_check) — a fast wrong answer proves nothing.

Printed: p50 and p99 of each (milliseconds, over all rounds), proof sizes. Last line:
``ratio: <lookup p99 ÷ 5 ms> (target 1.0)``.

Run: ``.venv/bin/python -m bench.index_lookup`` (10^5 keys, under a minute) or ``--full``
(10^6 keys: filling the tables takes a few minutes). PostgreSQL through
``PPL_BENCH_POSTGRES_ADMIN``; without it nothing is measured.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import urllib3

from api.bootstrap import open_ledger, open_transparency_log
from api.settings import Settings
from audit.log.index_store import IndexBatch, MapTop
from audit.log.log_store import CheckpointRecord
from audit.offline.canonical import encode_canonical_plain, format_timestamp
from audit.offline.checkpoint import Checkpoint, sign_checkpoint
from audit.offline.index_check import check_answer
from audit.offline.index_note import IndexNote, MapHead, sign_index_note
from audit.offline.map_tree import MapTree
from audit.offline.note import NoteVerifier
from audit.offline.product_index import MAPS, PATENTS, PRODUCT_KEYS, product_key_bytes
from audit.offline.sparse_map import EMPTY, map_path, value_digest
from bench.api import INSIDE, served
from bench.common import (
    machine_info,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
)
from domain.clock import system_now

TARGET_MS = 5.0
FULL, DEFAULT = 1_000_000, 100_000
ROUNDS = 4


class _Empty:
    def nodes(self, keys: object) -> dict[bytes, Any]:
        return {}


def _value(number: int, key: str) -> bytes:
    product_id = str(UUID(int=number + 1))
    return encode_canonical_plain(
        {
            "filings": [
                {
                    "leaves": [3 * number, 3 * number + 1, 3 * number + 2],
                    "product_id": product_id,
                    "row": value_digest(product_id.encode()).hex(),
                }
            ],
            "format": "ppl-index/product-key/v1",
            "holder": product_id,
            "key": key,
            "key_rule": 1,
            "reservation": {"id": str(UUID(int=2**64 + number)), "leaves": [3 * number + 1]},
        }
    )


def fill(settings: Settings, count: int) -> tuple[list[str], NoteVerifier, str]:
    """The index of ``count`` product keys, committed with a signed note; returns the keys,
    the log's public key and origin."""
    ledger = open_ledger(settings)
    log = open_transparency_log(ledger, settings)
    assert log.index is not None  # noqa: S101 (the app opens it so)
    keys = [f"基准产品{n}\x1fbm-{n:07d}" for n in range(count)]
    tree = MapTree(None, _Empty())
    entries: list[tuple[str, bytes, bytes, bytes]] = []
    digests: dict[bytes, bytes] = {}
    for number, key in enumerate(keys):
        map_key = product_key_bytes(1, key)
        value = _value(number, key)
        path = map_path(PRODUCT_KEYS, map_key)
        digests[path] = value_digest(value)
        entries.append(("product-keys", path, map_key, value))
    tree.put_many(digests)
    size = 3 * count
    root = value_digest(b"a log of %d leaves" % size)  # a checkpoint of the log, signed
    signed = sign_checkpoint(Checkpoint(log.origin, size, root), log.signer)
    log.store.add_checkpoint(CheckpointRecord(size, root, signed, format_timestamp(system_now())))
    heads = {PRODUCT_KEYS: MapHead(count, tree.root()), PATENTS: MapHead(0, EMPTY)}
    note = sign_index_note(IndexNote(log.origin, size, root, heads), log.signer)
    nodes = [("product-keys", k, node) for k, node in tree.take_changed().items()]
    tops = {"product-keys": MapTop(tree.top, count), "patents": MapTop(None, 0)}
    log.index.store.commit(0, IndexBatch(size, note, [], entries, nodes, tops))
    verifier, origin = log.signer.verifier(), log.origin
    log.store.close()
    ledger.close()
    assert set(heads) == set(MAPS)  # noqa: S101
    return keys, verifier, origin


def _timed(http: urllib3.PoolManager, url: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = http.request("GET", url)
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{url}: {response.status} {response.data[:200]!r}")
    body: dict[str, Any] = json.loads(response.data)
    return elapsed, body


def _p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(base: str, keys: Sequence[str], per_round: int, verifier: Any, origin: str) -> int:
    rng = random.Random(19)
    http = urllib3.PoolManager(maxsize=1)
    present: list[float] = []
    absent: list[float] = []
    head: list[float] = []
    sizes: list[int] = []
    for round_number in range(ROUNDS):
        kinds = ["present", "absent", "head"]
        if round_number % 2:
            kinds.reverse()
        for kind in kinds:
            for _ in range(per_round):
                if kind == "head":
                    head.append(_timed(http, f"{base}/v1/index")[0])
                    continue
                key = rng.choice(keys) if kind == "present" else f"无此产品\x1f{rng.random()}"
                query = urlencode({"key_rule": 1, "key": key})
                elapsed, body = _timed(http, f"{base}/v1/index/products?{query}")
                (present if kind == "present" else absent).append(elapsed)
                if round_number == 0:  # every answer of the first round, verified offline
                    wanted = [(PRODUCT_KEYS, product_key_bytes(1, key))]
                    check_answer(body, wanted, log_key=verifier, origin=origin)
                    sizes.append(len(body["lookups"][0]["proof"]) * 3 // 4)
    for name, values in (("lookup, present", present), ("lookup, absent", absent),
                         ("baseline GET /v1/index", head)):  # fmt: skip
        print(
            f"{name}: p50 {_p(values, 0.5):.2f} ms, p99 {_p(values, 0.99):.2f} ms, "
            f"mean {statistics.mean(values) * 1000:.2f} ms ({len(values)} requests)"
        )
    print(f"proof size: mean {statistics.mean(sizes):.0f} B, max {max(sizes)} B")
    p99 = _p(present + absent, 0.99)
    print(
        f"lookups p99 {p99:.2f} ms (target < {TARGET_MS} ms); baseline p99 {_p(head, 0.99):.2f} ms"
    )
    print(f"ratio: {p99 / TARGET_MS:.2f} (target 1.0)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="10^6 keys")
    args = parser.parse_args(argv)
    count = FULL if args.full else DEFAULT
    per_round = 500 if args.full else 250
    print(f"machine: {machine_info().describe()}")
    admin = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin)
    if reason is not None:
        print(f"postgres: not reachable at {admin} ({reason}); nothing measured")
        return 1
    with tempfile.TemporaryDirectory() as directory, postgres_database(admin) as database:
        extra = {"PPL_STATS_PUBLISH": "off", "PPL_RATE_EXPENSIVE_PER_ADDRESS": "100000000/minute"}
        settings = Settings.from_environment(
            {"PPL_DATA_DIR": str(Path(directory) / "data"), "PPL_DATABASE_URL": database, **extra}
        )
        started = time.perf_counter()
        keys, verifier, origin = fill(settings, count)
        print(f"{count:,} product keys indexed in {time.perf_counter() - started:.1f} s")
        with served(settings, INSIDE, Path(directory) / "logs", extra) as server:
            return measure(server.url, keys, per_round, verifier, origin)


if __name__ == "__main__":
    sys.exit(main())
