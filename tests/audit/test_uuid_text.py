"""``uuid5_text`` spells what ``str(uuid.uuid5(...))`` spells, for any namespace and name."""

from __future__ import annotations

from uuid import UUID, uuid5

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.offline.uuid_text import uuid5_text


@settings(max_examples=500)
@given(st.uuids(), st.text())
def test_uuid5_text_is_the_text_of_uuid5(namespace: UUID, name: str) -> None:
    assert uuid5_text(namespace, name) == str(uuid5(namespace, name))


def test_a_known_answer() -> None:
    # python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, "python.org"))'
    assert uuid5_text(UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "python.org") == (
        "886313e1-3b8a-5372-9b90-0c9aee199e5d"
    )
