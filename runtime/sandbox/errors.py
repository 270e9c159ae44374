"""LeadSquared-style error answers raised by sandbox services.

LeadSquared reports application errors as ``{"Status": "Error", "ExceptionType": ...,
"ExceptionMessage": ...}``, usually on HTTP 500 (reference §3.2). Services raise
:class:`LsqError`; the app turns it into that body with the given status.
"""

from __future__ import annotations


class LsqError(Exception):
    """An error answer: HTTP status plus the MX exception type and message."""

    def __init__(self, exception_type: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {
            "Status": "Error",
            "ExceptionType": self.exception_type,
            "ExceptionMessage": self.message,
        }


def mandatory_missing(message: str) -> LsqError:
    """A required parameter or attribute is missing (MXMandatoryAttributeMissingException)."""
    return LsqError("MXMandatoryAttributeMissingException", message)


def invalid_entity(message: str) -> LsqError:
    """The referenced record does not exist (MXInvalidEntityException)."""
    return LsqError("MXInvalidEntityException", message)


def duplicate_entry(message: str) -> LsqError:
    """A unique value clashes with an existing record (MXDuplicateEntryException)."""
    return LsqError("MXDuplicateEntryException", message)


def invalid_data(message: str) -> LsqError:
    """The body has the wrong shape or type (MXInvalidDataTypeException)."""
    return LsqError("MXInvalidDataTypeException", message)
