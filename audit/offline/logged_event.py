"""One event as the offline auditor sees it: its place in the log and its decoded state.

Built from a log leaf and the stored event it commits to, *after* the event's signature has
been verified (audit.offline.event_signature.verify_event): ``state`` is
``audit.offline.canonical.decode_canonical(envelope.state)``, so ``timestamp`` is a UTC
``datetime``,
typed UUIDs are ``UUID`` objects and creation events carry ``originator_topic``. The replay
checks (audit.offline.replay, audit.offline.duplicates) read nothing else. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""How ``str(UUID)`` spells a UUID: the only text of an id the replay accepts in a field."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event at ``leaf_index`` of the transparency log.

    ``state`` is whatever the stored bytes decoded to; the checks that read it refuse an
    unexpected shape with ``audit.offline.errors.InvalidReplayError``, so it is not checked here.
    The
    header fields come from typed columns, and a wrong type there is a programming error.

    Raises:
        TypeError: ``leaf_index`` or ``version`` is not an ``int`` (``bool`` is refused),
            ``originator_id`` is not a ``UUID`` or ``topic`` is not a ``str``.
    """

    leaf_index: int
    originator_id: UUID
    version: int
    topic: str
    state: Mapping[str, Any]

    def __post_init__(self) -> None:
        header: tuple[tuple[str, object, type], ...] = (
            ("leaf_index", self.leaf_index, int),
            ("originator_id", self.originator_id, UUID),
            ("version", self.version, int),
            ("topic", self.topic, str),
        )
        for name, value, want in header:
            if isinstance(value, bool) or not isinstance(value, want):
                raise TypeError(
                    f"LoggedEvent.{name}: got {type(value).__name__}, want {want.__name__}"
                )
