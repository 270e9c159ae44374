"""Names an account defines, for the static workflow checks: fields, types, users.

Schemas mark where such a name appears with ``x-accountNames: <kind>`` (one of :data:`KINDS`).
On a text schema the value is the name; on an object schema its keys are (``fields``), and on
a record schema (a trigger event, a find's output) the fields read from it are. Field names of a
type carry ``x-accountScope: <input>``: the input (or trigger config entry) naming the type.

:class:`MetadataNames` answers from a client's account metadata, the same cached look-ups the
actions make before they write, so ``lsq validate`` and a run agree. With no account to ask,
the checks skip these names (the schemas' own rules still apply).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from runtime.errors import ConnectorError, InputValidationError

if TYPE_CHECKING:
    from runtime.api.metadata import AccountMetadata

KINDS = ("lead_field", "opportunity_field", "task_field", "opportunity_type", "task_type", "user",
         "lead_activity_type", "lead_activity_field")
NAMES = "x-accountNames"
SCOPE = "x-accountScope"
CUSTOM_FIELDS = "x-customFields"


class AccountNames(Protocol):
    """One account, asked whether a name exists in it."""

    def lookup(self, kind: str, name: Any, scope: Any = None) -> tuple[bool | None, str | None]:
        """``(True, None)`` when ``name`` is a ``kind`` of this account; ``(False, why)`` with
        the closest names when it is not; ``(None, None)`` when this cannot be told (e.g. the
        type that scopes a field is unknown, or the account could not be read)."""
        ...


AccountResolver = Callable[[str | None], "AccountNames | None"]
"""The account of a connection file named in a workflow (``None``: the workflow's default)."""

Check = Callable[["AccountMetadata", Any, Any], Any]
"""Raises InputValidationError for an unknown name; returns False when it cannot tell."""


def _lead_field(metadata: AccountMetadata, name: Any, scope: Any) -> None:
    metadata.check_lead_fields([str(name)], location="_")


def _opportunity_field(metadata: AccountMetadata, name: Any, scope: Any) -> bool:
    kind = _quietly(lambda: metadata.resolve_opportunity_type(scope)) if scope is not None else None
    if kind is None:
        return False
    valid = {str(f.get("SchemaName")) for f in kind["Fields"]}
    metadata.check_record_fields([str(name)], valid, location="_",
                                 record=f"opportunity type ({kind['DisplayName']})",
                                 listed_by="GetOpportunityTypeMetadata")
    return True


def _task_field(metadata: AccountMetadata, name: Any, scope: Any) -> bool:
    kind = _quietly(lambda: metadata.resolve_task_type(str(scope))) if scope is not None else None
    if kind is None:
        return False
    columns = kind.get("ColumnConfiguration") or []
    valid = {str(c.get("SchemaName")) for c in columns if isinstance(c, dict)}
    metadata.check_record_fields([str(name)], valid, location="_",
                                 record=f"task type ({kind['Name']})", listed_by="RetrieveTaskType")
    return True


def _lead_activity_field(metadata: AccountMetadata, name: Any, scope: Any) -> bool:
    kind = _quietly(lambda: metadata.resolve_lead_activity_type(scope)) if scope is not None \
        else None
    if kind is None:
        return False
    metadata.check_lead_activity_fields(kind, [str(name)], location="_")
    return True


CHECKS: dict[str, Check] = {
    "lead_field": _lead_field,
    "opportunity_field": _opportunity_field,
    "task_field": _task_field,
    "opportunity_type": lambda m, name, scope: m.resolve_opportunity_type(name, location="_"),
    "task_type": lambda m, name, scope: m.resolve_task_type(str(name), location="_"),
    "user": lambda m, name, scope: m.resolve_user(str(name), location="_"),
    "lead_activity_type": lambda m, name, scope: m.resolve_lead_activity_type(name, location="_"),
    "lead_activity_field": _lead_activity_field,
}
"""How each kind is looked up (a new kind of name: one entry here, one in the schemas)."""


class MetadataNames:
    """:class:`AccountNames` over one client's :class:`~runtime.api.metadata.AccountMetadata`.

    ``label`` says which account answered (e.g. "the embedded sandbox"). A look-up that fails
    for another reason than an unknown name (no network, bad keys) is kept in ``failure`` and
    the name is not judged.
    """

    def __init__(self, metadata: AccountMetadata, label: str) -> None:
        self.metadata = metadata
        self.label = label
        self.failure: str | None = None

    def lookup(self, kind: str, name: Any, scope: Any = None) -> tuple[bool | None, str | None]:
        check = CHECKS.get(kind)
        if check is None or self.failure is not None:
            return None, None
        try:
            told = check(self.metadata, name, scope)
        except InputValidationError as error:
            text = error.problems[0] if error.problems else error.message
            return False, f"{text.split(': ', 1)[-1]} (checked with {self.label})"
        except ConnectorError as error:
            self.failure = f"could not read the set-up of {self.label}: {error}"
            return None, None
        return (None, None) if told is False else (True, None)


def _quietly(lookup: Callable[[], Any]) -> Any:
    """The look-up's answer, or None when the name it resolves is unknown (reported apart)."""
    try:
        return lookup()
    except InputValidationError:
        return None
