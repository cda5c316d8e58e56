"""Bring a store's schema to ``SCHEMA_VERSION``, in one transaction, or refuse a newer one."""

from __future__ import annotations

from evaltrace.history._backends import Backend, Transaction
from evaltrace.history._errors import StoreSchemaError
from evaltrace.history._schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE

__all__ = ["migrate"]


def migrate(backend: Backend, where: str) -> int:
    """Migrate the store to ``SCHEMA_VERSION``; returns the version it was at (0: new).

    A store already at the current version is only read. Otherwise, under the
    backend's migration lock, every missing step runs and the version is set
    in the same transaction: a failed migration leaves the store as it was.
    ``where`` (a redacted URL) names the store in errors.
    """
    try:
        with backend.read() as tx:
            if _check(_version(tx), where) == SCHEMA_VERSION:
                return SCHEMA_VERSION
    except backend.errors:  # no schema_version table yet: a new store
        pass
    with backend.write() as tx:
        backend.lock_migrations(tx)
        tx.execute(VERSION_TABLE)
        found = _check(_version(tx), where)
        for migration in MIGRATIONS[backend.name]:
            if migration.version > found:
                for step in migration.steps:
                    tx.execute(step)
        _set_version(tx, found)
    return found


def _version(tx: Transaction) -> int:
    rows = tx.query("SELECT version FROM schema_version")
    return max((int(row[0]) for row in rows), default=0)


def _check(version: int, where: str) -> int:
    if version > SCHEMA_VERSION:
        raise StoreSchemaError(
            f"store {where} has schema version {version}, written by a newer evaltrace "
            f"(this one knows up to {SCHEMA_VERSION}): upgrade evaltrace"
        )
    return version


def _set_version(tx: Transaction, found: int) -> None:
    if found == 0:
        tx.execute("DELETE FROM schema_version")
        tx.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    elif found < SCHEMA_VERSION:
        tx.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
