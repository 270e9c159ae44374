"""Per-client cached lookups of the account's set-up: lead fields, users, task types,
opportunity types, lead activity types and their fields.

Each list is fetched once (under a lock, so concurrent callers share one request) and kept
until :meth:`AccountMetadata.refresh`. The checks raise :class:`InputValidationError` with
the closest valid names, so a typo fails before anything is written.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from runtime.api import lead_activity
from runtime.errors import InputValidationError, PermanentApiError


class Reader(Protocol):
    """What the lookups need of a client: one GET (the client owns auth, retries, errors)."""

    def get(self, operation: str, params: Any = None) -> Any: ...


LEAD_FIELDS_OP = "LeadManagement.svc/LeadsMetaData.Get"
USERS_OP = "UserManagement.svc/Users.Get"
TASK_TYPES_OP = "Task.svc/RetrieveTaskType"
OPPORTUNITY_TYPE_OP = "OpportunityManagement.svc/GetOpportunityTypeMetadata"
#: Opportunity type event codes start at 12000 (reference §7).
FIRST_OPPORTUNITY_CODE = 12000
#: LeadSquared has no list-types endpoint (reference §7.6), so a type NAME is looked up among the
#: codes read so far plus a one-time scan of GetOpportunityTypeMetadata from 12000 upward. LIKELY:
#: codes are given out consecutively; the scan stops at the first code that does not exist, and
#: reads at most this many codes. A type past a gap or past the limit is found by its code.
OPPORTUNITY_TYPE_SCAN_LIMIT = 20
#: UNKNOWN in the reference: how GetOpportunityTypeMetadata and GetActivitySetting answer an unknown
#: code; chosen: these MX types (or an answer without the type) mean "no such type"; other errors
#: are raised.
MISSING_TYPE_EXCEPTIONS = frozenset({"MXInvalidEntityException", "MXInvalidDataTypeException"})
#: Attributes a lead write may carry that are not fields (reference §2.4).
PSEUDO_ATTRIBUTES = frozenset({"SearchBy"})
#: Task type categories (reference §8): 0 = appointment, 1 = to-do.
TASK_CATEGORIES: dict[int, str] = {0: "appointment", 1: "to-do"}
_CATEGORY_NAMES = {"appointment": 0, "to-do": 1, "todo": 1, "to_do": 1}
ACTIVE_USER = 0  # Users.Get StatusCode: 0 = active, 1 = inactive (reference §11)
#: Activity fields every lead activity type has (the docs' Update example sends both). UNKNOWN
#: whether GetActivitySetting lists them among a type's Fields: they are accepted either way.
STANDARD_ACTIVITY_FIELDS = frozenset({"Status", "Owner"})


class AccountMetadata:
    """Lookups for one client's account, cached with a lock."""

    def __init__(self, client: Reader) -> None:
        self._client = client
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}

    def refresh(self) -> None:
        """Forget every cached list (the next lookup fetches again)."""
        with self._lock:
            self._cache.clear()

    def remember(self, key: str, fetch: Callable[[], Any], *, refresh: bool = False) -> Any:
        """``fetch()``'s answer kept under ``key`` for this client (fetched again on
        ``refresh``): e.g. a watched list's id, looked up once per scan, not once per page."""
        with self._lock:
            if refresh:
                self._cache.pop(f"remember:{key}", None)
        return self._cached(f"remember:{key}", fetch)

    def _cached(self, key: str, fetch: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = fetch()
            return self._cache[key]

    # -- lead fields -----------------------------------------------------------------------

    def lead_fields(self) -> list[dict[str, Any]]:
        """The account's lead field descriptors (SchemaName, DisplayName, DataType, ...)."""
        return self._cached("lead_fields", lambda: _list(self._client.get(LEAD_FIELDS_OP)))

    def lead_field_summaries(self) -> list[dict[str, Any]]:
        """Each lead field as ``{schema_name, display_name, type, kind}``; kind is ``custom``
        for ``mx_`` fields, else ``standard`` (``lsq fields lead``, the MCP resource)."""
        summaries = []
        for raw in self.lead_fields():
            name = str(raw.get("SchemaName") or "")
            summaries.append({
                "schema_name": name,
                "display_name": raw.get("DisplayName"),
                "type": raw.get("DataType"),
                "kind": "custom" if name.startswith("mx_") else "standard",
            })
        return summaries

    def lead_field_names(self) -> frozenset[str]:
        """Every lead field's schema name (standard and ``mx_`` custom fields)."""
        return frozenset(
            f["SchemaName"] for f in self.lead_fields() if isinstance(f.get("SchemaName"), str)
        )

    def check_lead_fields(self, names: Iterable[str], location: str = "fields") -> None:
        """Raise InputValidationError naming each unknown field and the closest valid names."""
        valid = self.lead_field_names()
        problems = []
        for name in names:
            if name in valid or name in PSEUDO_ATTRIBUTES:
                continue
            problems.append(f"{location}.{name}: not a lead field of this account; "
                            f"{_suggest(name, valid)}")
        if problems:
            raise InputValidationError("unknown lead field(s)", problems)

    def check_record_fields(
        self, names: Iterable[str], valid: Iterable[str], *, record: str, listed_by: str,
        location: str = "fields",
    ) -> None:
        """Like :meth:`check_lead_fields` for another record's fields (``valid`` schema names)."""
        valid = frozenset(valid)
        problems = [
            f"{location}.{name}: not a field of this {record}; {_suggest(name, valid, listed_by)}"
            for name in names if name not in valid
        ]
        if problems:
            raise InputValidationError(f"unknown {record} field(s)", problems)

    # -- users -----------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        """The account's users (ID, FirstName, LastName, EmailAddress, Role, StatusCode)."""
        return self._cached("users", lambda: _list(self._client.get(USERS_OP)))

    def resolve_user(self, id_or_email: str, location: str = "owner") -> str:
        """The user id for an active user's id or email address (case-insensitive)."""
        wanted = str(id_or_email).strip().lower()
        key = "EmailAddress" if "@" in wanted else "ID"
        matches = [u for u in self.users() if str(u.get(key, "")).strip().lower() == wanted]
        active = [u for u in matches if _int(u.get("StatusCode"), ACTIVE_USER) == ACTIVE_USER]
        if active:
            return str(active[0]["ID"])
        emails = sorted(
            str(u["EmailAddress"]) for u in self.users()
            if u.get("EmailAddress") and _int(u.get("StatusCode"), ACTIVE_USER) == ACTIVE_USER
        )
        why = "is an inactive user" if matches else "is not a user of this account"
        raise InputValidationError(
            "unknown user",
            [f"{location}: '{id_or_email}' {why}; active users: {', '.join(emails) or 'none'}"],
        )

    # -- task types ------------------------------------------------------------------------

    def task_types(self) -> list[dict[str, Any]]:
        """Task types as ``{"Id", "Name", "Category"}`` (Category 0 appointment, 1 to-do)."""
        return self._cached(
            "task_types", lambda: [_task_type(t) for t in _list(self._client.get(TASK_TYPES_OP))]
        )

    def resolve_task_type(
        self, name_or_id: str, category: int | str | None = None, location: str = "task_type"
    ) -> dict[str, Any]:
        """The task type with this name or id (case-insensitive), of ``category`` if given."""
        wanted = str(name_or_id).strip().lower()
        want_category = _category(category, location)
        found = [
            t for t in self.task_types()
            if wanted in {str(t["Id"]).lower(), str(t["Name"]).strip().lower()}
        ]
        fitting = [t for t in found if want_category is None or t["Category"] == want_category]
        if fitting:
            return fitting[0]
        choices = sorted(
            str(t["Name"]) for t in self.task_types()
            if want_category is None or t["Category"] == want_category
        )
        kind = TASK_CATEGORIES[want_category] if want_category is not None else None
        if found:
            actual = TASK_CATEGORIES.get(found[0]["Category"], str(found[0]["Category"]))
            why = f"is {_a(actual)} type, not {_a(kind or 'task')} type"
        else:
            why = f"is not {_a(kind + ' task') if kind else 'a task'} type of this account"
        raise InputValidationError(
            "unknown task type",
            [f"{location}: '{name_or_id}' {why}; valid: {', '.join(choices) or 'none'}"],
        )

    # -- lead activity types ---------------------------------------------------------------

    def lead_activity_types(self) -> list[dict[str, Any]]:
        """ActivityTypes.Get (reference §4.8): ``{ActivityEvent, DisplayName, ActivityEventName,
        EventType, ...}`` with ActivityEvent as an integer."""
        return self._cached("lead_activity_types", lambda: [
            kind for kind in map(_activity_type, _list(self._client.get(lead_activity.TYPES)))
            if kind is not None
        ])

    def lead_activity_setting(self, code: int) -> dict[str, Any] | None:
        """GetActivitySetting?code= (§4.8): the type's DisplayName and Fields, or None when
        LeadSquared has no such type. UNKNOWN in the reference: the answer's shape; LIKELY (a
        client's live-checked code) ``{DisplayName, Score, Fields: [{SchemaName, DisplayName,
        DataType, IsMandatory, ...}]}``; an answer without Fields lists none."""
        return self._cached(f"lead_activity_setting:{code}",
                            lambda: self._fetch_activity_setting(code))

    def resolve_lead_activity_type(
        self, code_or_name: int | str, location: str = "activity_type"
    ) -> dict[str, Any]:
        """The type with this code (201, "201") or display name (any case).

        UNKNOWN whether ActivityTypes.Get lists every type (system ones too): a code it does not
        list is accepted when GetActivitySetting describes a type with that code.
        """
        code = lead_activity.type_code(code_or_name, location)
        kinds = self.lead_activity_types()
        if code is not None:
            found = next((k for k in kinds if k["ActivityEvent"] == code), None)
            if found is None and (setting := self.lead_activity_setting(code)) is not None:
                found = _activity_type({**setting, "ActivityEvent": code})
        else:
            wanted = str(code_or_name).strip().lower()
            found = next((k for k in kinds if wanted in _activity_names(k)), None)
        if found is not None:
            return found
        what = f"code {code}" if code is not None else f"'{code_or_name}'"
        names = {str(k["DisplayName"]).lower(): k for k in kinds}
        close = difflib.get_close_matches(str(code_or_name).strip().lower(), list(names), n=3,
                                          cutoff=0.6)
        listed = ", ".join(f"{names[name]['DisplayName']} ({names[name]['ActivityEvent']})"
                           for name in close or names)
        lead = "did you mean" if close else "known types:"
        raise InputValidationError(
            "unknown lead activity type",
            [f"{location}: {what} is not a lead activity type of this account; "
             f"{lead} {listed or 'none found'}{'?' if close else ''}"],
            hint="give the type's code or display name, as ActivityTypes.Get lists them "
                 "(Settings > Leads > Activities and Scores)",
        )

    def check_lead_activity_fields(
        self, kind: dict[str, Any], names: Iterable[str], location: str = "fields"
    ) -> None:
        """Raise InputValidationError for a name that is not a field of the type (with the
        closest names); Status and Owner are always accepted."""
        setting = self.lead_activity_setting(int(kind["ActivityEvent"])) or {}
        valid = {str(f["SchemaName"]) for f in setting.get("Fields") or []}
        self.check_record_fields(
            [name for name in names if name not in STANDARD_ACTIVITY_FIELDS],
            valid | STANDARD_ACTIVITY_FIELDS, location=location,
            record=f"lead activity type ({kind['DisplayName']})", listed_by="GetActivitySetting",
        )

    def _fetch_activity_setting(self, code: int) -> dict[str, Any] | None:
        try:
            answer = self._client.get(lead_activity.TYPE_SETTING, {"code": code})
        except PermanentApiError as error:
            if error.exception_type in MISSING_TYPE_EXCEPTIONS:
                return None
            raise
        if not isinstance(answer, dict) or not answer:
            return None
        fields = answer.get("Fields")
        return {**answer, "Fields": [f for f in fields if isinstance(f, dict)
                                     and f.get("SchemaName")] if isinstance(fields, list) else []}

    # -- opportunity types -----------------------------------------------------------------

    def opportunity_type(self, code: int) -> dict[str, Any] | None:
        """The type with this event code (EventCode, DisplayName, CanDelete, Fields), or None."""
        return self._cached(
            f"opportunity_type:{code}", lambda: self._fetch_opportunity_type(code)
        )

    def opportunity_types(self) -> list[dict[str, Any]]:
        """The types this connection knows: the scan from 12000 plus every code read so far."""
        with self._lock:
            known = {t["EventCode"]: t for t in self._cached(
                "opportunity_types", self._scan_opportunity_types
            )}
            for key, kind in self._cache.items():
                if key.startswith("opportunity_type:") and kind is not None:
                    known.setdefault(kind["EventCode"], kind)
            return [known[code] for code in sorted(known)]

    def resolve_opportunity_type(
        self, code_or_name: int | str, location: str = "opportunity_type"
    ) -> dict[str, Any]:
        """The type with this event code (12000, "12000") or display name (case-insensitive)."""
        code = _int(code_or_name, None) if not isinstance(code_or_name, bool) else None
        if code is not None:
            found = self.opportunity_type(code) if code >= FIRST_OPPORTUNITY_CODE else None
        else:
            wanted = str(code_or_name).strip().lower()
            found = next((t for t in self.opportunity_types()
                          if str(t["DisplayName"]).strip().lower() == wanted), None)
        if found is not None:
            return found
        what = f"event code {code}" if code is not None else f"'{code_or_name}'"
        choices = ", ".join(f"{t['DisplayName']} ({t['EventCode']})"
                            for t in self.opportunity_types())
        raise InputValidationError(
            "unknown opportunity type",
            [f"{location}: {what} is not an opportunity type of this account; "
             f"known types: {choices or 'none found'}"],
            hint="a type not listed can be given by its event code (>= 12000), shown in "
                 "Settings > Opportunities > Opportunity Types",
        )

    def _fetch_opportunity_type(self, code: int) -> dict[str, Any] | None:
        try:
            answer = self._client.get(OPPORTUNITY_TYPE_OP, {"code": code})
        except PermanentApiError as error:
            if error.exception_type in MISSING_TYPE_EXCEPTIONS:
                return None
            raise
        return _opportunity_type(answer)

    def _scan_opportunity_types(self) -> list[dict[str, Any]]:
        """Codes 12000 upward until the first that does not exist (at most the scan limit)."""
        found = []
        for code in range(FIRST_OPPORTUNITY_CODE,
                          FIRST_OPPORTUNITY_CODE + OPPORTUNITY_TYPE_SCAN_LIMIT):
            kind = self.opportunity_type(code)
            if kind is None:
                break
            found.append(kind)
        return found


def _opportunity_type(answer: Any) -> dict[str, Any] | None:
    """A GetOpportunityTypeMetadata answer with EventCode as an int; None if it has none."""
    if not isinstance(answer, dict) or _int(answer.get("EventCode"), None) is None:
        return None
    fields = answer.get("Fields")
    return {
        **answer,
        "EventCode": _int(answer["EventCode"], None),
        "DisplayName": answer.get("DisplayName") or str(answer["EventCode"]),
        "CanDelete": bool(answer.get("CanDelete")),
        "Fields": [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else [],
    }


def _activity_type(raw: dict[str, Any]) -> dict[str, Any] | None:
    """An ActivityTypes.Get item with ActivityEvent as an integer and a DisplayName."""
    code = _int(raw.get("ActivityEvent", raw.get("EventCode")), None)
    if code is None:
        return None
    name = raw.get("DisplayName") or raw.get("ActivityEventName") or str(code)
    return {**raw, "ActivityEvent": code, "DisplayName": name}


def _activity_names(kind: dict[str, Any]) -> set[str]:
    """The names a type answers to: its display name and its event name, in lower case."""
    return {str(kind[key]).strip().lower() for key in ("DisplayName", "ActivityEventName")
            if kind.get(key)}


def _suggest(name: str, valid: Iterable[str], listed_by: str = "LeadsMetaData.Get") -> str:
    """'did you mean ...?' from case-insensitive and close matches, else a pointer."""
    valid = sorted(valid)
    same_case = [v for v in valid if v.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
    if close:
        return f"did you mean {', '.join(close)}?"
    custom = "custom fields start with mx_; " if not name.startswith("mx_") else ""
    return f"{custom}valid fields are listed by {listed_by}"


def _list(answer: Any) -> list[dict[str, Any]]:
    """A metadata answer as a list of dicts (LeadSquared answers these with a bare array)."""
    if isinstance(answer, list):
        return [item for item in answer if isinstance(item, dict)]
    return []


def _task_type(raw: dict[str, Any]) -> dict[str, Any]:
    """One RetrieveTaskType item; LIKELY both Id/Name and TaskTypeId/TaskName spellings."""
    return {
        **raw,
        "Id": raw.get("Id", raw.get("TaskTypeId")),
        "Name": raw.get("Name", raw.get("TaskName", raw.get("TaskTypeName"))),
        "Category": _int(raw.get("Category"), None),
    }


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _category(value: int | str | None, location: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value in TASK_CATEGORIES:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit() and int(text) in TASK_CATEGORIES:
            return int(text)
        if text in _CATEGORY_NAMES:
            return _CATEGORY_NAMES[text]
    raise InputValidationError(
        "unknown task category", [f"{location}: category '{value}': use appointment or to-do"]
    )


def _int(value: Any, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
