"""FileMaker error codes the emulator answers with, and the exception that carries one.

Messages follow the Claris error-code table (reference section 3); the Data API's own
wording is used where it differs (952, 960).
"""

from __future__ import annotations

__all__ = ["MESSAGES", "FMError", "message_for"]

MESSAGES: dict[str, str] = {
    "0": "OK",
    "3": "Command is unavailable",
    "100": "File is missing",
    "101": "Record is missing",
    "102": "Field is missing",
    "104": "Script is missing",
    "105": "Layout is missing",
    "106": "Table is missing",
    "111": "Field repetition is invalid",
    "201": "Field cannot be modified",
    "212": "Invalid user account and/or password; please try again",
    "301": "Record is in use by another user",
    "306": "Record modification ID does not match",
    "400": "Find criteria are empty",
    "401": "No records match the request",
    "500": "Date value does not meet validation entry options",
    "501": "Time value does not meet validation entry options",
    "502": "Number value does not meet validation entry options",
    "503": "Value in field is not within the range specified in validation entry options",
    "504": "Value in field is not unique, as required in validation entry options",
    "505": "Value in field is not an existing value in the file, as required in validation entry options",
    "506": "Value in field is not listed in the value list specified in validation entry option",
    "507": "Value in field failed calculation test of validation entry option",
    "508": "Invalid value entered in Find mode",
    "509": "Field requires a valid value",
    "510": "Related value is empty or unavailable",
    "511": "Value in field exceeds maximum field size",
    "802": "Unable to open file",
    "951": "An unexpected error occurred (*)",
    "952": "Invalid FileMaker Data API token (*)",
    "953": "Exceeded limit on data the FileMaker Data API can transmit (*)",
    "956": "Maximum number of database sessions exceeded (*)",
    "958": "Parameter missing (*)",
    "959": "Custom Web Publishing technology is disabled",
    "960": "Parameter is invalid",
    "1700": "Resource doesn't exist (*)",
    "1704": "HTTP verb not supported (*)",
    "1705": "Required header is missing (*)",
    "1708": "Parameter value is invalid (*)",
    "1710": "JSON input isn't syntactically valid (*)",
}

# HTTP status per code when not the FileMaker-error default of 500 (reference section 2).
_HTTP: dict[str, int] = {"0": 200, "212": 401, "952": 401, "960": 400, "958": 400, "1708": 400, "1710": 400}


def message_for(code: str) -> str:
    return MESSAGES.get(code, "Unknown error")


class FMError(Exception):
    """A Data API call failed with FileMaker code ``code`` (a string, as on the wire)."""

    def __init__(self, code: str | int, message: str | None = None, *, http_status: int | None = None) -> None:
        self.code = str(code)
        self.message = message or message_for(self.code)
        self.http_status = http_status or _HTTP.get(self.code, 500)
        super().__init__(f"{self.code}: {self.message}")
