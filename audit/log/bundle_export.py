"""Writes audit bundles from the live store (server side; the verifier never imports it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from audit.database.private_files import open_private_text
from audit.log.log_store import CheckpointRecord, LeafRecord, LogStore
from audit.offline.bundle import BundleEvent, BundleHeader, write_line
from audit.offline.canonical import format_timestamp

PAGE = 2000


class ExportError(RuntimeError):
    """The store cannot be exported consistently (the message says why)."""


def export_bundle(
    out: Path,
    *,
    store: LogStore,
    origin: str,
    log_key: str,
    event_keys: Mapping[str, Any],
    read_notifications: Callable[[int, int], Sequence[Notification]],
    exported_at: Any,
    progress: Callable[[int, int], None] | None = None,
    upto: CheckpointRecord | None = None,
    note_of: Callable[[CheckpointRecord], str] = lambda record: record.signed_note,
    index_notes: Sequence[str] = (),
) -> BundleHeader:
    """Write every event up to a checkpoint, the checkpoints up to it and the keys.

    Only events covered by a checkpoint are exported, so every event in the bundle is
    committed to by a signed root. ``upto``: the checkpoint to stop at (default the latest; the
    log's published one under a witness policy, audit.log.transparency_log); ``note_of``: each
    checkpoint's note as the bundle carries it (with its witness cosignatures). The file is
    written to ``out`` + ".tmp" and renamed.
    """
    latest = upto if upto is not None else store.latest_checkpoint()
    if latest is None:
        raise ExportError("the log has no checkpoint yet: run `ppl log sequence` first")
    size = latest.tree_size
    header = BundleHeader(
        origin=origin,
        log_key=log_key,
        event_keys=dict(event_keys),
        checkpoints=tuple(
            note_of(record) for record in store.checkpoints() if record.tree_size <= size
        ),
        tree_size=size,
        exported_at=format_timestamp(exported_at),
        index_notes=tuple(index_notes),
    )
    temporary = out.with_name(out.name + ".tmp")
    descriptor = open_private_text(temporary)  # 0600: the bundle holds confidential figures
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
        write_line(handle, header.to_json())
        for leaf, notification in leaf_events(store, read_notifications, 0, size):
            event = BundleEvent(
                leaf.leaf_index,
                UUID(str(notification.originator_id)),
                notification.originator_version,
                notification.topic,
                notification.state,
            )
            write_line(handle, event.to_json())
            written = leaf.leaf_index + 1
            if progress is not None and (written % PAGE == 0 or written == size):
                progress(written, size)
    temporary.replace(out)
    return header


def leaf_events(
    store: LogStore,
    read_notifications: Callable[[int, int], Sequence[Notification]],
    start: int,
    stop: int,
) -> Iterator[tuple[LeafRecord, Notification]]:
    """Each leaf start ≤ index < stop with the stored event it names, a page at a time (the
    bundle's events, the product index's input).

    Raises:
        ExportError: a leaf's notification is missing from the event store.
    """
    while start < stop:
        leaves = store.leaves(start, min(start + PAGE, stop))
        if not leaves:
            raise ExportError(f"the log has no leaf {start}: it holds fewer events")
        notifications = read_notifications(leaves[0].notification_id, len(leaves))
        by_id = {n.id: n for n in notifications}
        for leaf in leaves:
            notification = by_id.get(leaf.notification_id)
            if notification is None:
                raise ExportError(
                    f"leaf {leaf.leaf_index}: notification {leaf.notification_id} is missing "
                    "from the event store"
                )
            yield leaf, notification
        start += len(leaves)


def events_after(
    store: LogStore,
    read_notifications: Callable[[int, int], Sequence[Notification]],
    tree_size: int,
) -> Iterator[Notification]:
    """The stored events a bundle of ``tree_size`` leaves leaves out, in notification order.

    Those are the events after the leaf at ``tree_size - 1``: the ones sequenced after the
    checkpoint and the ones not sequenced yet (the sequencer takes notifications in order, and
    ids commit in order, so none is left behind the log's position). Read a page at a time, as
    the caller verifies them (``audit.offline.verifier.verify_uncheckpointed_events``): a log far
    behind
    is never held in memory.

    Raises:
        ExportError: the log has no leaf at ``tree_size - 1``.
    """
    start = 1  # notification ids start at 1
    if tree_size > 0:
        last = store.leaf(tree_size - 1)
        if last is None:
            raise ExportError(f"the log has no leaf {tree_size - 1}: it holds fewer events")
        start = last.notification_id + 1
    while notifications := read_notifications(start, PAGE):
        yield from notifications
        start = notifications[-1].id + 1
