"""Every error the connector raises, rooted at :class:`ConnectorError`.

The tree, grouped by the phase that raises it::

    ConnectorError
    ├── ConfigurationError        bad connection settings, arguments or host
    ├── ManifestError             connector.yaml or a schema file is invalid
    ├── WorkflowError             a workflow file is invalid (schema, mappings, references)
    ├── MappingError              a template could not be rendered at run time
    ├── InputValidationError      input does not fit the operation's input schema or the account
    ├── OutputValidationError     a handler's output does not fit its output schema
    ├── RecordNotFoundError       a find matched nothing and its input asked to fail
    ├── StorageUnavailable        the state or history database cannot be used right now
    └── ApiError                  LeadSquared (or the sandbox) answered with an error
        ├── AuthError             401: bad keys, inactive user or wrong regional host
        ├── NotFoundError         404: the API operation does not exist on this host
        ├── RateLimitedError      429, or 403 "exceeded the limit": retriable after a wait
        ├── TransientApiError     502/503/504, 500 without an MX type, dropped connection
        ├── AmbiguousWriteError   a create failed after it may have reached LeadSquared
        └── PermanentApiError     an MX exception: deterministic, never retried

Errors that list several problems carry them in ``problems`` (``"location: message"``).
Messages never contain secrets: the client builds API errors through its redactor and
names the LeadSquared operation (``LeadManagement.svc/Lead.Create``), never the URL. Messages
are always valid text: a lone surrogate quoted from data is kept as its ``\\udXXX`` escape, so
an error can be logged, printed and stored anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from runtime.text import storable_text


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""

    exit_code: ClassVar[int] = 1
    category: ClassVar[str] = "connector"
    retriable: ClassVar[bool] = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = storable_text(str(message))
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else storable_text(str(hint))

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description, as stored in run history and printed by ``--json``."""
        return {"type": type(self).__name__, "category": self.category, "message": str(self)}


def error_line(problem: ConnectorError) -> str:
    """The one line a caller is told: what ``lsq`` prints on stderr and the MCP server returns
    as a tool error."""
    return f"error: {problem}"


class ConfigurationError(ConnectorError):
    """Bad connection settings, command arguments or API host."""

    category = "configuration"


class _ProblemsError(ConnectorError):
    """An error that reports several ``location: message`` problems at once."""

    def __init__(self, message: str, problems: Iterable[str] = (), *, hint: str | None = None):
        # each once: two schema branches can report the same problem
        self.problems = list(dict.fromkeys(storable_text(str(problem)) for problem in problems))
        detail = "; ".join(self.problems)
        super().__init__(f"{message}: {detail}" if detail else message, hint=hint)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "problems": self.problems}


class ManifestError(_ProblemsError):
    """connector.yaml or one of its schema files is invalid."""

    category = "manifest"


class WorkflowError(_ProblemsError):
    """A workflow file is invalid: schema, template syntax, references or types."""

    category = "workflow"


class MappingError(ConnectorError):
    """A mapping template could not be rendered (undefined value, sandbox violation, type)."""

    category = "mapping"


class InputValidationError(_ProblemsError):
    """An operation's input does not fit its schema or the account (e.g. unknown mx_ field)."""

    category = "input"


class OutputValidationError(_ProblemsError):
    """A handler produced output that does not fit its output schema."""

    category = "output"


class RecordNotFoundError(ConnectorError):
    """A find action matched no record and its input set ``fail_if_not_found``."""

    category = "record_not_found"


class StorageUnavailable(ConnectorError):
    """The database is unusable for now: disk full, locked past the busy timeout, read-only,
    PostgreSQL unreachable. Nothing was written; retry later (a receiver answers 503)."""

    category = "storage"
    retriable = True


class ApiError(ConnectorError):
    """LeadSquared answered with an error; carries the operation, status and MX exception."""

    category = "api"

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status: int | None = None,
        exception_type: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.operation = operation
        self.status = status
        self.exception_type = exception_type
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        where = self.operation + (f" HTTP {self.status}" if self.status else "")
        kind = f" {self.exception_type}" if self.exception_type else ""
        base = f"{where}{kind}: {self.message}"
        return f"{base} ({self.hint})" if self.hint else base

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "operation": self.operation,
            "status": self.status,
            "exception_type": self.exception_type,
        }


class AuthError(ApiError):
    """401: the keys are wrong, the user is inactive, or the regional host is wrong."""

    category = "auth"


class NotFoundError(ApiError):
    """404: the API operation does not exist on this host."""

    category = "not_found"


class RateLimitedError(ApiError):
    """The account's rate limit was exceeded; retriable after the window passes."""

    category = "rate_limited"
    retriable = True


class TransientApiError(ApiError):
    """A temporary failure (5xx without an MX type, dropped connection); retriable."""

    category = "transient"
    retriable = True


class AmbiguousWriteError(ApiError):
    """A create failed after the request may have reached LeadSquared: it may exist."""

    category = "ambiguous_write"


class PermanentApiError(ApiError):
    """An MX application exception: deterministic, so never retried."""

    category = "permanent"
