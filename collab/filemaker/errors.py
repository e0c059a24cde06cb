"""What the Data API client raises: one class per FileMaker code the hub acts on.

The class is decided on ``messages[0].code`` of the Data API envelope, never on the HTTP
status alone (FileMaker answers most errors with HTTP 500). Exception tree::

    DataAPIError                 anything the Data API client raises on purpose
    ├── FileMakerError           FileMaker answered with a non-zero messages[0].code
    │   ├── RecordMissing        101  the record was deleted (or never existed)
    │   ├── FieldMissing         102  a field is not on the layout (or misspelled)
    │   ├── LayoutMissing        105  no such layout in this database
    │   ├── InvalidLogin         212  wrong account or password; retrying will not help
    │   ├── RecordInUse          301  a FileMaker Pro user has the record open
    │   ├── ModIdMismatch        306  the record changed since the modId we sent
    │   ├── NoRecordsMatch       401  a find with no hits (the client returns an empty FoundSet)
    │   ├── FieldValidationError 500-511  a value failed the field's validation
    │   ├── InvalidToken         952  the session token expired or the server restarted
    │   ├── SessionLimit         956  too many Data API sessions are open
    │   └── InvalidParameter     960  the request used a parameter FileMaker does not know
    └── FileMakerUnavailable     no usable answer: connection refused or closed, timeout,
                                 or a non-JSON 5xx / 502 / 503 page from the web server

Every other code is a plain ``FileMakerError`` with its code and FileMaker's message.
"""

from __future__ import annotations

__all__ = [
    "DataAPIError",
    "FieldMissing",
    "FieldValidationError",
    "FileMakerError",
    "FileMakerUnavailable",
    "InvalidLogin",
    "InvalidParameter",
    "InvalidToken",
    "LayoutMissing",
    "ModIdMismatch",
    "NoRecordsMatch",
    "RecordInUse",
    "RecordMissing",
    "SessionLimit",
    "error_for",
]

# FileMaker's own wording (Claris error-code table), used when a response carries no message.
_MESSAGES: dict[int, str] = {
    9: "Insufficient privileges",
    100: "File is missing",
    101: "Record is missing",
    102: "Field is missing",
    104: "Script is missing",
    105: "Layout is missing",
    106: "Table is missing",
    200: "Record access is denied",
    201: "Field cannot be modified",
    212: "Invalid user account or password",
    214: "Too many login attempts",
    301: "Record is in use by another user",
    306: "Record modification ID does not match",
    400: "Find criteria are empty",
    401: "No records match the request",
    500: "Date value does not meet validation entry options",
    501: "Time value does not meet validation entry options",
    502: "Number value does not meet validation entry options",
    503: "Value in field is not within the range specified in validation entry options",
    504: "Value in field is not unique, as required in validation entry options",
    505: "Value in field is not an existing value in the file, as required in validation entry options",
    506: "Value in field is not listed in the value list specified in validation entry option",
    507: "Value in field failed calculation test of validation entry option",
    508: "Invalid value entered in Find mode",
    509: "Field requires a valid value",
    510: "Related value is empty or unavailable",
    511: "Value in field exceeds maximum field size",
    802: "Unable to open file",
    951: "An unexpected error occurred",
    952: "Invalid FileMaker Data API token",
    953: "Exceeded limit on data the FileMaker Data API can transmit",
    956: "Maximum number of database sessions exceeded",
    958: "Parameter missing",
    959: "Custom Web Publishing technology is disabled",
    960: "Parameter is invalid",
}


class DataAPIError(Exception):
    """Base of everything the Data API client raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class FileMakerError(DataAPIError):
    """FileMaker answered with error ``code`` (``messages[0].code``) and its ``message``."""

    def __init__(self, code: int, message: str, http_status: int) -> None:
        self.code = code
        self.message = message or _MESSAGES.get(code, "Unknown FileMaker error")
        self.http_status = http_status
        super().__init__(f"FileMaker error {code}: {self.message} (HTTP {http_status})")


class RecordMissing(FileMakerError):
    """101: the record does not exist (deleted in FileMaker, or a stale recordId)."""


class FieldMissing(FileMakerError):
    """102: a field named in the request is not on the layout. FileMaker does not say which."""


class LayoutMissing(FileMakerError):
    """105: the layout does not exist in this database (names are case-sensitive)."""


class InvalidLogin(FileMakerError):
    """212: the account name or password is wrong, or the account lacks the fmrest privilege."""


class RecordInUse(FileMakerError):
    """301: someone holds the record open in FileMaker Pro; retry once they commit."""


class ModIdMismatch(FileMakerError):
    """306: the record was changed since the modId we sent; nothing was written. Re-read and merge."""


class NoRecordsMatch(FileMakerError):
    """401: a find matched nothing. The client turns this into an empty FoundSet."""


class FieldValidationError(FileMakerError):
    """500-511: a value failed the field's validation. ``field`` is set when it can be known."""

    def __init__(self, code: int, message: str, http_status: int, *, field: str | None = None) -> None:
        super().__init__(code, message, http_status)
        self.field = field
        if field is not None:
            self.detail = f"{self.detail} [field {field}]"
            self.args = (self.detail,)


class InvalidToken(FileMakerError):
    """952: the session token expired (15 minutes idle) or FileMaker Server restarted."""


class SessionLimit(FileMakerError):
    """956: FileMaker Server refuses more Data API sessions; tokens are leaking somewhere."""


class InvalidParameter(FileMakerError):
    """960: a request parameter is unknown or malformed (a client bug, not a data problem)."""


class FileMakerUnavailable(DataAPIError):
    """FileMaker Server did not give a usable Data API answer: down, unreachable, or too slow.

    ``http_status`` is set when a web server answered with a page instead of the Data API.
    """

    def __init__(self, detail: str, *, http_status: int | None = None) -> None:
        super().__init__(detail)
        self.http_status = http_status


_BY_CODE: dict[int, type[FileMakerError]] = {
    101: RecordMissing,
    102: FieldMissing,
    105: LayoutMissing,
    212: InvalidLogin,
    301: RecordInUse,
    306: ModIdMismatch,
    401: NoRecordsMatch,
    952: InvalidToken,
    956: SessionLimit,
    960: InvalidParameter,
}


def error_for(code: int, message: str, status: int, *, field: str | None = None) -> FileMakerError:
    """The exception for FileMaker error ``code`` (``field`` only matters for 500-511)."""
    if 500 <= code <= 511:
        return FieldValidationError(code, message, status, field=field)
    return _BY_CODE.get(code, FileMakerError)(code, message, status)
