"""The error classes are decided on FileMaker's code, with messages a FileMaker developer reads."""

from __future__ import annotations

import pytest

from collab.filemaker.errors import (
    DataAPIError,
    FieldMissing,
    FieldValidationError,
    FileMakerError,
    FileMakerUnavailable,
    InvalidLogin,
    InvalidParameter,
    InvalidToken,
    LayoutMissing,
    ModIdMismatch,
    NoRecordsMatch,
    RecordInUse,
    RecordMissing,
    SessionLimit,
    error_for,
)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (101, RecordMissing),
        (102, FieldMissing),
        (105, LayoutMissing),
        (212, InvalidLogin),
        (301, RecordInUse),
        (306, ModIdMismatch),
        (401, NoRecordsMatch),
        (500, FieldValidationError),
        (507, FieldValidationError),
        (511, FieldValidationError),
        (952, InvalidToken),
        (956, SessionLimit),
        (960, InvalidParameter),
        (953, FileMakerError),
        (512, FileMakerError),
    ],
)
def test_error_for_picks_the_class(code: int, kind: type[FileMakerError]) -> None:
    error = error_for(code, "", 500)
    assert type(error) is kind
    assert (error.code, error.http_status) == (code, 500)
    assert isinstance(error, DataAPIError)


def test_messages_are_readable() -> None:
    assert str(error_for(301, "", 500)) == "FileMaker error 301: Record is in use by another user (HTTP 500)"
    assert (
        error_for(952, "Invalid FileMaker Data API token (*)", 401).message
        == "Invalid FileMaker Data API token (*)"
    )
    named = error_for(509, "", 500, field="DueDate")
    assert isinstance(named, FieldValidationError) and named.field == "DueDate"
    assert str(named).endswith("[field DueDate]")


def test_unavailable_is_not_a_filemaker_code() -> None:
    outage = FileMakerUnavailable("cannot reach FileMaker Server", http_status=502)
    assert isinstance(outage, DataAPIError) and not isinstance(outage, FileMakerError)
