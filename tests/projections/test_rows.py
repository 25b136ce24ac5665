"""The rows a read model keeps between batches are bounded by their size (``Rows.trim``)."""

from __future__ import annotations

from projections.rows import Rows
from projections.schema import Table, integer, json_column, text

SMALL = Table("small", (text("id"), integer("n")), key=("id",))
LARGE = Table("large", (text("id"), json_column("patents")), key=("id",))


def _rows(loaded: dict[str, dict[str, object]] | None = None) -> Rows:
    store = loaded if loaded is not None else {}
    return Rows(
        {"small": SMALL, "large": LARGE},
        lambda table, key: store.get(f"{table.name}:{key[0]}"),
    )


def test_the_estimate_follows_the_rows_size_not_their_number():
    few_large, many_small = _rows(), _rows()
    for n in range(100):
        few_large.put("large", {"id": f"p{n}", "patents": [f"2021{n:08d}.{i}" for i in range(200)]})
    for n in range(1000):
        many_small.put("small", {"id": f"r{n}", "n": n})
    assert few_large.size() < many_small.size()
    assert few_large.estimated_bytes() > many_small.estimated_bytes()
    assert 100 * 200 * 50 < few_large.estimated_bytes() < 100 * 200 * 500  # ~60-byte strings


def test_trim_forgets_the_oldest_rows_down_to_half_the_budget_and_keeps_unflushed_ones():
    rows = _rows({"small:r0": {"id": "r0", "n": 0}})
    for n in range(2000):
        rows.put("small", {"id": f"r{n}", "n": n})
    rows.flushed()
    rows.put("small", {"id": "r0", "n": -1})  # changed since the flush: never forgotten
    estimate = rows.estimated_bytes()
    assert rows.trim(estimate * 2) == 0  # within the budget: nothing forgotten
    forgotten = rows.trim(estimate // 2)
    assert 1000 < forgotten < 2000
    assert rows.estimated_bytes() <= estimate // 4 * 1.2
    assert rows.get("small", "r0") == {"id": "r0", "n": -1}  # the unflushed change is kept
    assert rows.get("small", "r1999") == {"id": "r1999", "n": 1999}  # the newest stay
    assert [key for _, upserts, _ in rows.changes() for key in upserts] == [{"id": "r0", "n": -1}]


def test_a_trimmed_cache_loads_forgotten_rows_from_the_store():
    stored = {"small:r5": {"id": "r5", "n": 5}}
    rows = Rows({"small": SMALL}, lambda table, key: stored.get(f"{table.name}:{key[0]}"))
    rows.complete = True  # a rebuild into empty tables: misses need no query
    for n in range(100):
        rows.put("small", {"id": f"r{n}", "n": n})
    rows.flushed()
    assert rows.trim(0) == 100
    assert not rows.complete
    assert rows.get("small", "r5") == {"id": "r5", "n": 5}  # loaded, not taken as absent
