"""Processes that start together on a fresh store all come up (the schema lock).

``ppl serve --workers N`` and the ``ppl`` followers, started at once on an empty store, each
create the tables they need. On PostgreSQL, concurrent ``CREATE TABLE IF NOT EXISTS`` used to
fail one of them ("duplicate key value violates unique constraint pg_type_typname_nsp_index",
"tuple concurrently updated"); table creation now holds an advisory lock.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any

from api.bootstrap import (
    load_keyring,
    open_database,
    open_ledger,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
)
from api.idempotency import IdempotencyStore
from api.settings import Settings
from api.tokens import TokenStore
from domain.actor import Role

STARTERS = 6


def test_processes_starting_together_on_a_fresh_store_all_come_up(settings: Settings) -> None:
    keyring = load_keyring(settings)  # the development keys exist before the race, as in a deploy
    barrier = threading.Barrier(STARTERS)
    errors: list[BaseException] = []
    opened: list[Any] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            barrier.wait()
            ledger = open_ledger(settings, keyring=keyring)
            log = open_transparency_log(ledger, settings)
            store = open_projection_store(settings)
            side = open_database(settings)
            tokens, idempotency = TokenStore(side), IdempotencyStore(side)
            with lock:
                opened.append((ledger, log, store, side, tokens, idempotency))
            open_projection_runner(ledger, store).catch_up()  # creates generations: racing too
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with ExitStack() as stack:
        for ledger, log, store, side, _, _ in opened:
            stack.callback(ledger.close)
            stack.callback(log.store.close)
            stack.callback(store.db.close)
            stack.callback(side.close)
        assert errors == []
        assert len(opened) == STARTERS
        ledger, _, store, _, tokens, _ = opened[0]
        _, token = tokens.create(Role.AUDITOR)
        assert tokens.authenticate(token) is not None  # the tables work once everyone is up
        served = {name: store.require_generation(name) for name in store.active_generations()}
        assert len(served) == len(open_projection_runner(ledger, store).models)
