"""procrastinate's tables and functions in the connector's database (``lsq db upgrade``)."""

from __future__ import annotations

import procrastinate

from runtime.errors import ConfigurationError

UPGRADE_HINT = "run `lsq db upgrade` with the same --database (the [workers] extra installed)"


def has_queue_schema(app: procrastinate.App) -> bool:
    """Whether procrastinate's schema is in the database the app is open on."""
    return app.check_connection()


def queue_schema_present(url: str) -> bool:
    """Whether procrastinate's schema is in the database at ``url`` (``lsq db status``)."""
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=url))
    with app.open():
        return has_queue_schema(app)


def apply_queue_schema(url: str) -> bool:
    """Create procrastinate's schema when it is missing; True if it was created now."""
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=url))
    with app.open():
        if has_queue_schema(app):
            return False
        app.schema_manager.apply_schema()
        return True


def require_queue_schema(app: procrastinate.App) -> None:
    """One line and the fix when the job tables are missing."""
    if not has_queue_schema(app):
        raise ConfigurationError("the database has no job queue tables yet", hint=UPGRADE_HINT)


__all__ = ["apply_queue_schema", "has_queue_schema", "queue_schema_present",
           "require_queue_schema"]
