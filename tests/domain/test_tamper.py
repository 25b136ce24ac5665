"""A changed byte in the store is caught on read, naming the aggregate and version."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from psycopg import sql

from api.bootstrap import notification_reader, open_ledger
from audit.offline.errors import EventTamperedError, UnknownSigningKeyError
from audit.offline.keys import KeyManifest
from projections.feed import EventFeed
from tests.domain.factories import approved_filer, uscc


def _rewrite_state(settings, originator_id, version, change):
    """Apply ``change`` to the stored bytes of one event, directly in the database."""
    url = settings.database_url
    if url.startswith("sqlite"):
        with sqlite3.connect(settings.eventsourcing_env()["SQLITE_DBNAME"]) as conn:
            (state,) = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id=? AND originator_version=?",
                (originator_id.hex, version),
            ).fetchone()
            conn.execute(
                "UPDATE stored_events SET state=? WHERE originator_id=? AND originator_version=?",
                (change(bytes(state)), originator_id.hex, version),
            )
        return
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        table = sql.Identifier(schema, "patentledger_events")
        (state,) = conn.execute(
            sql.SQL("SELECT state FROM {} WHERE originator_id=%s AND originator_version=%s").format(
                table
            ),
            (originator_id, version),
        ).fetchone()
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state=%s WHERE originator_id=%s AND originator_version=%s"
            ).format(table),
            (change(bytes(state)), originator_id, version),
        )


def _filer_with_a_changed_byte(settings, serial, offset):
    """An approved filer whose second event has one stored byte flipped (at ``offset``)."""
    ledger = open_ledger(settings)
    filer_id = approved_filer(ledger, uscc(serial))
    ledger.close()

    def flip(state: bytes) -> bytes:
        index = offset % len(state)
        return state[:index] + bytes([state[index] ^ 0x01]) + state[index + 1 :]

    _rewrite_state(settings, filer_id, 2, flip)
    return filer_id


@pytest.mark.parametrize("offset", [-1, 90, 4])
def test_changed_byte_raises_typed_error_naming_the_event(settings, offset):
    filer_id = _filer_with_a_changed_byte(settings, 900, offset)
    fresh = open_ledger(settings)  # no cache: reads the store
    try:
        with pytest.raises((EventTamperedError, UnknownSigningKeyError)) as caught:
            fresh.get_filer(filer_id)
        error = caught.value
        assert isinstance(error, EventTamperedError | UnknownSigningKeyError)
        assert error.originator_id == filer_id
        assert error.version == 2
        assert str(filer_id) in str(caught.value)
    finally:
        fresh.close()


def test_tampered_state_byte_is_reported_as_tampering(settings):
    ledger = open_ledger(settings)
    filer_id = approved_filer(ledger, uscc(901))
    ledger.close()
    _rewrite_state(settings, filer_id, 1, lambda s: s.replace("上海".encode(), "北京".encode(), 1))
    fresh = open_ledger(settings)
    try:
        with pytest.raises(EventTamperedError) as caught:
            fresh.get_filer(filer_id)
        assert (caught.value.originator_id, caught.value.version) == (filer_id, 1)
    finally:
        fresh.close()


def test_old_events_stay_verifiable_after_key_rotation(settings, tmp_path):
    from audit.signing.key_files import rotate_signing_key
    from domain.clock import system_now

    ledger = open_ledger(settings)
    first_key = ledger.keyring.signer.key_id
    filer_id = approved_filer(ledger, uscc(902))
    ledger.close()
    new_key = tmp_path / "new-key.pem"
    new_id = rotate_signing_key(
        new_key_file=new_key, manifest_file=settings.public_keys_file, now=system_now()
    )
    from dataclasses import replace

    rotated = replace(settings, signing_key_file=new_key)
    fresh = open_ledger(rotated)
    try:
        assert fresh.keyring.signer.key_id == new_id != first_key
        assert fresh.get_filer(filer_id).uscc == uscc(902)
        second = approved_filer(fresh, uscc(903))
        signers = {fresh.recorder.select_events(i)[0].state[4:12].hex() for i in (filer_id, second)}
        assert signers == {first_key, new_id}
        manifest = KeyManifest.load(settings.public_keys_file)
        assert manifest.get(first_key).retired_at is not None
        assert manifest.get(new_id).retired_at is None
    finally:
        fresh.close()


def test_event_signed_by_an_untrusted_key_is_refused(settings):
    ledger = open_ledger(settings)
    filer_id = approved_filer(ledger, uscc(904))
    ledger.close()
    settings.public_keys_file.write_text('{"keys": []}')
    # The signer re-registers itself on open; replace its key by another one so the
    # stored events name a key the new manifest does not hold.
    from audit.signing.key_files import create_private_key_file

    other = settings.data_dir / "other.pem"
    create_private_key_file(other)
    from dataclasses import replace

    fresh = open_ledger(replace(settings, signing_key_file=other))
    try:
        with pytest.raises(UnknownSigningKeyError) as caught:
            fresh.get_filer(filer_id)
        assert caught.value.originator_id == filer_id
    finally:
        fresh.close()


@pytest.mark.parametrize("offset", [-1, 90, 4])
def test_the_followers_batch_reader_refuses_a_changed_byte_like_a_read(settings, offset):
    """The projection follower checks a save's signature once for all its events
    (SigningMapper.batch_reader): a changed byte is still refused, naming the event."""
    filer_id = _filer_with_a_changed_byte(settings, 902, offset)
    fresh = open_ledger(settings)
    try:
        feed = EventFeed(notification_reader(fresh), fresh.mapper)
        with pytest.raises((EventTamperedError, UnknownSigningKeyError)) as caught:
            feed.read(0, 100)
        error = caught.value
        assert isinstance(error, EventTamperedError | UnknownSigningKeyError)
        assert (error.originator_id, error.version) == (filer_id, 2)
        assert [event.version for event in EventFeed(notification_reader(fresh), fresh.mapper)
                .read(0, 1)] == [1]  # fmt: skip
    finally:
        fresh.close()
