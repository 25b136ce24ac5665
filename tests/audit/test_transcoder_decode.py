"""The transcoder's fast timestamp revival accepts and refuses exactly what the reference does."""

from __future__ import annotations

from typing import Any

import pytest

from audit.offline.canonical import from_canonical_tree
from audit.offline.errors import NonCanonicalValueError
from audit.signing.transcoder import _revive


def typed(kind: str, data: Any) -> dict[str, Any]:
    return {"_type_": kind, "_data_": data}


@pytest.mark.parametrize(
    "tree",
    [
        {"at": typed("datetime_iso", "2023-03-27T02:04:53.000123Z"), "n": 3},
        [typed("datetime_iso", "1999-12-31T23:59:59.999999Z"), "text", None, True],
        {"id": typed("uuid_hex", "0c40136f4f925935b98ddf44a473ccf0")},
        {"nested": {"list": [{"at": typed("datetime_iso", "2024-02-29T00:00:00.000000Z")}]}},
        {"_type_": "not", "other": 1},  # three keys: a plain object
    ],
)
def test_revives_like_the_reference(tree: Any) -> None:
    revived = _revive(tree)
    assert revived == from_canonical_tree(tree)
    assert type(revived) is type(from_canonical_tree(tree))


@pytest.mark.parametrize(
    "data",
    [
        "2023-03-27T02:04:53Z",  # no fraction
        "2023-03-27T02:04:53.000123+00:00",  # offset instead of Z
        "2023-03-27 02:04:53.000123Z",  # space
        "2023-02-30T00:00:00.000000Z",  # no such day
        7,
    ],
)
def test_refuses_what_the_reference_refuses(data: Any) -> None:
    tree = {"at": typed("datetime_iso", data)}
    with pytest.raises(NonCanonicalValueError):
        from_canonical_tree(tree)
    with pytest.raises(NonCanonicalValueError):
        _revive(tree)
