"""Truthful deletes: every delete action says what happened to the record.

LeadSquared's delete answers mostly do not say whether the record existed
(``Lead/Delete/ById`` answers ``{"Status": "Success"}``, ``Company.Delete`` an empty
``Message``), and a delete GET or POST is retried after a dropped connection, so a retry whose
first attempt already deleted the record is told "not found". So :func:`delete_record` looks
the record up first (a read, safe to retry), then:

- absent: ``already_absent``, and nothing is sent;
- present: the delete is sent. An answer that confirms it: ``deleted``. An error, or an
  answer that says nothing was deleted: the record is looked up again; gone now means
  ``deleted`` (an earlier attempt of this request, whose answer was lost, deleted it); still
  there means the error is raised, or ``not_deleted`` with the answer's reason.

The ``result`` values are :data:`RESULTS` (schemas/common/deleted.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.errors import ApiError

RESULTS = ("deleted", "already_absent", "not_deleted")


@dataclass(frozen=True)
class Deletion:
    """What happened: ``result`` (one of :data:`RESULTS`), whether the delete was sent, its
    answer (None when not sent or it failed) and, for ``not_deleted``, the reason."""

    result: str
    sent: bool = True
    answer: Any = None
    reason: str | None = None

    @property
    def deleted(self) -> bool:
        return self.result == "deleted"

    def fields(self) -> dict[str, Any]:
        """``{"result", "deleted"}`` for the action's output."""
        return {"result": self.result, "deleted": self.deleted}


def delete_record(
    exists: Callable[[], bool],
    send: Callable[[], Any],
    refusal: Callable[[Any], str | None] = lambda answer: None,
) -> Deletion:
    """Look up, delete, and tell what happened (see the module doc).

    ``refusal(answer)`` is the reason when the delete's answer says nothing was deleted.
    """
    if not exists():
        return Deletion("already_absent", sent=False)
    try:
        answer = send()
    except ApiError:
        if not exists():
            return Deletion("deleted")
        raise
    reason = refusal(answer)
    if reason is None or not exists():
        return Deletion("deleted", answer=answer)
    return Deletion("not_deleted", answer=answer, reason=reason)
