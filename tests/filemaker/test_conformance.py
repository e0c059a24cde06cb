"""The client against a Data API server, checked against the reference (sections 1-6).

Every test runs on the emulator over real HTTP and, when COLLAB_TEST_FMS_URL is set, on a
real FileMaker Server with a file that has the demo ``Invoices`` layout (see conftest).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from collab.filemaker.client import DataAPIClient
from collab.filemaker.errors import (
    FieldMissing,
    FieldValidationError,
    FileMakerError,
    InvalidLogin,
    LayoutMissing,
    ModIdMismatch,
    RecordMissing,
)
from collab.filemaker.models import Record
from collab.filemaker.values import to_document, to_filemaker
from tests.filemaker.conftest import Target


@pytest.fixture
async def scratch(client: DataAPIClient, target: Target) -> AsyncIterator[list[str]]:
    """recordIds created by a test; deleted afterwards so a real file stays clean."""
    created: list[str] = []
    yield created
    for record_id in created:
        try:
            await client.delete_record(target.layout, record_id)
        except RecordMissing:
            pass


async def _new_invoice(client: DataAPIClient, target: Target, scratch: list[str], **fields: object) -> str:
    data: dict[str, object] = {"UUID": str(uuid.uuid4()).upper(), "Customer": "Conformance Test Ltd"}
    data.update(fields)
    record_id, mod_id = await client.create_record(target.layout, data)
    scratch.append(record_id)
    assert mod_id == "0"
    return record_id


# -- sessions and metadata ---------------------------------------------------------------------


async def test_product_info_reports_default_formats(client: DataAPIClient) -> None:
    info = await client.product_info()
    assert info.name == "FileMaker Data API Engine"
    assert (info.date_format, info.time_format, info.time_stamp_format) == (
        "MM/dd/yyyy",
        "HH:mm:ss",
        "MM/dd/yyyy HH:mm:ss",
    )


async def test_databases_lists_the_file(client: DataAPIClient, target: Target) -> None:
    assert target.database in await client.databases()


async def test_login_is_lazy_and_logout_ends_the_session(client: DataAPIClient, target: Target) -> None:
    assert not client.logged_in
    assert target.layout in await client.layouts()  # first call logs in
    assert client.logged_in
    await client.logout()
    assert not client.logged_in
    await client.logout()  # twice is harmless
    assert target.layout in await client.layouts()  # and the next call logs in again


async def test_wrong_password_is_invalid_login(target: Target) -> None:
    client = target.client()
    client_bad = DataAPIClient(target.url, target.database, target.username, target.password + "-wrong")
    try:
        with pytest.raises(InvalidLogin) as caught:
            await client_bad.layouts()
        assert caught.value.code == 212
        assert caught.value.http_status == 401
        assert not client_bad.logged_in
    finally:
        await client_bad.aclose()
    assert await client.layouts()


async def test_scripts_are_listed(client: DataAPIClient) -> None:
    scripts = await client.scripts()
    assert all(isinstance(name, str) and name for name in scripts)


async def test_layout_metadata_field_types(client: DataAPIClient, target: Target) -> None:
    meta = await client.layout_metadata(target.layout)
    types = meta.field_types()
    for name, result in {
        "UUID": "text",
        "InvoiceNo": "number",
        "Customer": "text",
        "Notes": "text",
        "Amount": "number",
        "DueDate": "date",
        "ApprovedAt": "timeStamp",
    }.items():
        assert types.get(name) == result, name
    due = meta.field("DueDate")
    assert due is not None and due.max_repeat >= 1 and due.type in ("normal", "calculation", "summary")


async def test_missing_layout_is_105(client: DataAPIClient) -> None:
    with pytest.raises(LayoutMissing) as caught:
        await client.layout_metadata("No Such Layout")
    assert caught.value.code == 105


# -- records -----------------------------------------------------------------------------------


async def test_create_get_edit_delete(client: DataAPIClient, target: Target, scratch: list[str]) -> None:
    record_id = await _new_invoice(client, target, scratch, Notes="first", Amount=125.5)
    record = await client.get_record(target.layout, record_id)
    assert isinstance(record, Record) and record.record_id == record_id and record.mod_id == "0"
    assert record.field_data["Notes"] == "first"
    assert record.field_data["Amount"] == 125.5  # a JSON number, not a string

    new_mod = await client.edit_record(target.layout, record_id, {"Notes": "second"}, mod_id="0")
    assert new_mod == "1"
    again = await client.get_record(target.layout, record_id)
    assert again.mod_id == "1"
    assert again.field_data["Notes"] == "second"
    assert again.field_data["Amount"] == 125.5  # a partial edit leaves other fields alone

    await client.delete_record(target.layout, record_id)
    with pytest.raises(RecordMissing) as caught:
        await client.get_record(target.layout, record_id)
    assert caught.value.code == 101


async def test_edit_without_mod_id_is_last_writer_wins(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    record_id = await _new_invoice(client, target, scratch)
    await client.edit_record(target.layout, record_id, {"Notes": "a"}, mod_id=None)
    assert await client.edit_record(target.layout, record_id, {"Notes": "b"}, mod_id=None) == "2"
    assert (await client.get_record(target.layout, record_id)).field_data["Notes"] == "b"


async def test_stale_mod_id_is_306_and_changes_nothing(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    record_id = await _new_invoice(client, target, scratch, Notes="original")
    current = await client.edit_record(target.layout, record_id, {"Notes": "by someone else"}, mod_id="0")
    with pytest.raises(ModIdMismatch) as caught:
        await client.edit_record(target.layout, record_id, {"Notes": "stale write"}, mod_id="0")
    assert caught.value.code == 306
    after = await client.get_record(target.layout, record_id)
    assert after.mod_id == current
    assert after.field_data["Notes"] == "by someone else"


async def test_empty_field_data_changes_nothing(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    target.require_emulator()  # FileMaker Server's modId behaviour here is undocumented
    record_id = await _new_invoice(client, target, scratch)
    assert await client.edit_record(target.layout, record_id, {}, mod_id="0") == "0"


async def test_unknown_field_is_102(client: DataAPIClient, target: Target, scratch: list[str]) -> None:
    record_id = await _new_invoice(client, target, scratch)
    with pytest.raises(FieldMissing) as caught:
        await client.edit_record(target.layout, record_id, {"NoSuchField": "x"}, mod_id=None)
    assert caught.value.code == 102
    assert (await client.get_record(target.layout, record_id)).mod_id == "0"


async def test_missing_record_is_101(client: DataAPIClient, target: Target) -> None:
    with pytest.raises(RecordMissing):
        await client.get_record(target.layout, "999999999")
    with pytest.raises(RecordMissing):
        await client.edit_record(target.layout, "999999999", {"Notes": "x"}, mod_id=None)


# -- values ------------------------------------------------------------------------------------


async def test_dates_times_and_empty_values(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    record_id = await _new_invoice(
        client,
        target,
        scratch,
        DueDate=to_filemaker("2026-03-15", "date"),
        ApprovedAt=to_filemaker("2026-03-01T09:30:00", "timeStamp"),
    )
    record = await client.get_record(target.layout, record_id)
    assert record.field_data["DueDate"] == "03/15/2026"
    assert record.field_data["ApprovedAt"] == "03/01/2026 09:30:00"
    assert to_document(record.field_data["ApprovedAt"], "timeStamp") == "2026-03-01T09:30:00"
    assert record.field_data["Amount"] == ""  # empty values come back as "", numbers included
    assert record.field_data["Notes"] == ""

    await client.edit_record(target.layout, record_id, {"ApprovedAt": "3/2/2026 1:05:00 PM"}, mod_id=None)
    assert (await client.get_record(target.layout, record_id)).field_data[
        "ApprovedAt"
    ] == "03/02/2026 13:05:00"


async def test_invalid_date_is_a_validation_error_naming_the_field(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    record_id = await _new_invoice(client, target, scratch)
    with pytest.raises(FieldValidationError) as caught:
        await client.edit_record(target.layout, record_id, {"DueDate": "13/45/2026"}, mod_id="0")
    assert 500 <= caught.value.code <= 511
    assert caught.value.field == "DueDate"
    assert (await client.get_record(target.layout, record_id)).mod_id == "0"


# -- reads and finds ---------------------------------------------------------------------------


async def test_range_offset_limit_sort(client: DataAPIClient, target: Target) -> None:
    first = await client.get_records(target.layout, limit=3, sort=[{"fieldName": "InvoiceNo"}])
    assert len(first.records) == 3
    assert first.data_info.returned_count == 3
    assert first.data_info.found_count == first.data_info.total_record_count >= 4
    numbers = [r.field_data["InvoiceNo"] for r in first.records]
    assert numbers == sorted(numbers)
    second = await client.get_records(
        target.layout, offset=2, limit=2, sort=[{"fieldName": "InvoiceNo", "sortOrder": "ascend"}]
    )
    assert [r.record_id for r in second.records] == [r.record_id for r in first.records[1:3]]
    descending = await client.get_records(
        target.layout, limit=1, sort=[{"fieldName": "InvoiceNo", "sortOrder": "descend"}]
    )
    assert descending.records[0].field_data["InvoiceNo"] >= numbers[-1]


async def test_find_or_omit_and_no_match(client: DataAPIClient, target: Target, scratch: list[str]) -> None:
    tag = uuid.uuid4().hex[:10]
    a = await _new_invoice(client, target, scratch, Customer=f"Alpha{tag}", Amount=10)
    b = await _new_invoice(client, target, scratch, Customer=f"Beta{tag}", Amount=20)
    both = await client.find(
        target.layout,
        [{"Customer": f"=Alpha{tag}"}, {"Customer": f"=Beta{tag}"}],
        sort=[{"fieldName": "Amount"}],
    )
    assert [r.record_id for r in both.records] == [a, b]
    assert both.data_info.found_count == 2
    omitted = await client.find(
        target.layout,
        [{"Customer": f"Alpha{tag}"}, {"Customer": f"Beta{tag}"}, {"Amount": "20", "omit": "true"}],
    )
    assert [r.record_id for r in omitted.records] == [a]
    paged = await client.find(
        target.layout, [{"Customer": f"Alpha{tag}"}, {"Customer": f"Beta{tag}"}], limit=1
    )
    assert len(paged.records) == 1 and paged.data_info.found_count == 2

    nothing = await client.find(target.layout, [{"Customer": f"=Nobody{tag}"}])
    assert nothing.records == [] and nothing.data_info.found_count == 0  # 401 is an empty result


async def test_find_one_by_key(client: DataAPIClient, target: Target, scratch: list[str]) -> None:
    key = str(uuid.uuid4()).upper()
    record_id = await _new_invoice(client, target, scratch, UUID=key)
    found = await client.find_one_by(target.layout, "UUID", key)
    assert found is not None and found.record_id == record_id
    assert await client.find_one_by(target.layout, "UUID", key[:-1]) is None  # exact, not a prefix
    assert await client.find_one_by(target.layout, "UUID", str(uuid.uuid4())) is None


async def test_find_by_keys_answers_every_key_in_one_find(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    keys = [str(uuid.uuid4()).upper() for _ in range(3)]
    ids = [await _new_invoice(client, target, scratch, UUID=key) for key in keys]
    missing = str(uuid.uuid4()).upper()
    found = await client.find_by_keys(target.layout, "UUID", [*keys, missing, keys[0]])
    assert set(found) == {*keys, missing}
    assert [found[key].record_id for key in keys] == ids  # type: ignore[union-attr]
    assert found[missing] is None
    assert await client.find_by_keys(target.layout, "UUID", [missing]) == {missing: None}  # 401: none match


async def test_find_one_by_does_not_expand_wildcards(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    await _new_invoice(client, target, scratch, Customer=f"Acme{tag}")
    assert await client.find_one_by(target.layout, "Customer", f"Ac*{tag}") is None


async def test_find_one_by_is_case_sensitive(
    client: DataAPIClient, target: Target, scratch: list[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    upper = await _new_invoice(client, target, scratch, Customer=f"ACME{tag}")
    assert await client.find_one_by(target.layout, "Customer", f"acme{tag}") is None
    found = await client.find_one_by(target.layout, "Customer", f"ACME{tag}")
    assert found is not None and found.record_id == upper


@pytest.mark.parametrize("value", ["Star*Corp", 'Say "hi"', "a@b.example", "x..y", "<none>"])
async def test_find_one_by_with_find_operators_in_the_value(
    client: DataAPIClient, target: Target, scratch: list[str], value: str
) -> None:
    if target.emulator is not None:
        pytest.skip("the emulator does not implement FileMaker's \\ (escape next character) find operator")
    record_id = await _new_invoice(client, target, scratch, Customer=value + uuid.uuid4().hex[:6])
    stored = (await client.get_record(target.layout, record_id)).field_data["Customer"]
    found = await client.find_one_by(target.layout, "Customer", stored)
    assert found is not None and found.record_id == record_id


async def test_find_with_bad_parameter_is_an_error(client: DataAPIClient, target: Target) -> None:
    with pytest.raises(FileMakerError):
        await client.find(target.layout, [{"NoSuchField": "x"}])


# -- scripts -----------------------------------------------------------------------------------


async def test_run_script_result_and_error(client: DataAPIClient, target: Target) -> None:
    target.require_emulator()  # script names depend on the file
    ok = await client.run_script(target.layout, "Echo", "hello")
    assert (ok.result, ok.error) == ("hello", 0)
    failed = await client.run_script(target.layout, "Fail", "3")
    assert failed.error == 3  # a failing script is still messages code 0
