"""Helpers every action group shares: LeadSquared's answer shapes and the find result.

- :func:`message_value` reads ``{"Status": "Success", "Message": {"Id": ...}}`` answers
  (Lead.Create, Company.Create, Task.Create, ... reference §2.5) with a clear error, never a
  ``KeyError``, when the answer has another shape.
- :func:`records` turns a read answer (a bare array of flat or property-list records, or a
  ``{"RecordCount", "<Plural>": [...]}`` object) into flat dicts.
- :func:`normalise_dates` writes a record's date properties as UTC ``yyyy-MM-dd HH:mm:ss``,
  whatever format the endpoint answered in (reference §2.1).
- :func:`find_result` builds every find action's ``{"found": ..., "<record>": ...}`` output
  (schemas/common/found.json) and raises :class:`RecordNotFoundError` when the input asks to.
- :func:`read_or_none` is a GET of one record by id that reads "no such record" as ``None``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import from_property_list, utc_text
from runtime.errors import PermanentApiError, RecordNotFoundError

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

#: LIKELY: how LeadSquared reads answer an unknown id ("... does not exist in the system",
#: as Lead.Update answers an unknown lead, reference §4.4); the sandbox answers the same.
NOT_FOUND_EXCEPTION = "MXInvalidEntityException"


def message_value(answer: Any, name: str, operation: str) -> Any:
    """``answer["Message"][name]``; PermanentApiError naming ``operation`` if it is missing."""
    message = answer.get("Message") if isinstance(answer, Mapping) else None
    value = message.get(name) if isinstance(message, Mapping) else None
    if value is None or value == "":
        raise PermanentApiError(
            f"LeadSquared answered without Message.{name}", operation=operation,
            hint="the call may have succeeded; check the record in LeadSquared",
        )
    return value


def records(answer: Any, plural: str | None = None) -> list[dict[str, Any]]:
    """The flat records of a read answer: a bare array, or ``answer[plural]`` of an object."""
    items = answer.get(plural) if plural and isinstance(answer, Mapping) else answer
    if type(items) is not list and (not isinstance(items, Sequence) or isinstance(items, str)):
        return []
    # type(...) is list/dict before the ABC isinstance (0.13 us each): a parsed answer is made
    # of lists and dicts
    return [from_property_list(item) for item in items
            if type(item) is dict or isinstance(item, Mapping)]


def normalise_dates(record: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """A copy of ``record`` with the properties in ``names`` as UTC ``yyyy-MM-dd HH:mm:ss``.

    A value that is empty or unreadable is kept as LeadSquared sent it, for the output check.
    """
    return {name: utc_text(value) if name in names else value for name, value in record.items()}


def find_result(
    key: str, matches: Sequence[Mapping[str, Any]], *, fail_if_not_found: bool, looked_for: str
) -> dict[str, Any]:
    """``{"found": True, key: first match}`` or ``{"found": False, key: None}``.

    With ``fail_if_not_found`` an empty result raises RecordNotFoundError("no <key> with
    <looked_for>") instead, so a workflow can stop on it.
    """
    if not matches:
        if fail_if_not_found:
            raise RecordNotFoundError(
                f"no {key} with {looked_for}",
                hint="set fail_if_not_found to false to get found: false instead",
            )
        return {"found": False, key: None}
    return {"found": True, key: dict(matches[0])}


def read_or_none(client: LeadSquaredClient, operation: str, params: Mapping[str, Any]) -> Any:
    """GET ``operation``; ``None`` when LeadSquared answers that the record does not exist.

    Reads by id answer an unknown id either with an empty answer or with
    :data:`NOT_FOUND_EXCEPTION` (which one is not documented for every read): callers treat an
    empty answer and ``None`` alike, so both variants mean "no such record".
    """
    try:
        return client.get(operation, params)
    except PermanentApiError as error:
        if error.exception_type == NOT_FOUND_EXCEPTION:
            return None
        raise
