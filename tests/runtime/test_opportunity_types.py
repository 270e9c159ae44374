"""AccountMetadata opportunity types: by event code or display name, the bounded scan, caching.

LeadSquared has no list-types endpoint (reference §7.6): a name is looked up among the codes
read so far plus a one-time scan of GetOpportunityTypeMetadata from 12000 upward that stops at
the first missing code and reads at most OPPORTUNITY_TYPE_SCAN_LIMIT codes.
"""

from __future__ import annotations

import pytest

from runtime.api.metadata import OPPORTUNITY_TYPE_OP, OPPORTUNITY_TYPE_SCAN_LIMIT
from runtime.errors import InputValidationError, PermanentApiError
from tests.fakes import mx_error, ok

MISSING = mx_error("MXInvalidEntityException",
                   "Opportunity type with event code '12002' does not exist")


def kind(code: int | str, name: str, *, can_delete: bool = True) -> dict:
    return {"EventCode": code, "DisplayName": name, "CanDelete": can_delete,
            "Fields": [{"SchemaName": "mx_Custom_1"}, {"SchemaName": "Status"}]}


SEEDED_TYPES = (ok(kind(12000, "New Business")), ok(kind(12001, "Renewal")))


def codes(fake) -> list[str]:
    return [call.params["code"] for call in fake.calls]


def test_a_code_is_read_once_and_cached(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP, ok(kind("12001", "Renewal", can_delete=False)))
    found = metadata.resolve_opportunity_type(12001)
    assert (found["EventCode"], found["DisplayName"], found["CanDelete"]) == (12001, "Renewal",
                                                                              False)
    assert metadata.resolve_opportunity_type(" 12001 ") is found
    assert codes(fake) == ["12001"]


def test_a_name_is_found_by_scanning_until_the_first_missing_code(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP, *SEEDED_TYPES, MISSING)
    assert metadata.resolve_opportunity_type("  renewal ")["EventCode"] == 12001
    assert metadata.resolve_opportunity_type("NEW BUSINESS")["EventCode"] == 12000
    assert codes(fake) == ["12000", "12001", "12002"]  # once per connection


def test_an_unknown_name_lists_the_known_types_and_how_to_give_a_code(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP, *SEEDED_TYPES, MISSING)
    with pytest.raises(InputValidationError) as caught:
        metadata.resolve_opportunity_type("Upsell", location="opportunity_type")
    assert caught.value.problems == [
        "opportunity_type: 'Upsell' is not an opportunity type of this account; known types: "
        "New Business (12000), Renewal (12001)"
    ]
    assert "event code (>= 12000)" in str(caught.value)


def test_an_unknown_code_is_named_with_the_known_types(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP, MISSING, ok(kind(12000, "New Business")), MISSING)
    with pytest.raises(InputValidationError) as caught:
        metadata.resolve_opportunity_type(12005)
    assert caught.value.problems == [
        "opportunity_type: event code 12005 is not an opportunity type of this account; "
        "known types: New Business (12000)"
    ]
    assert codes(fake) == ["12005", "12000", "12001"]


def test_a_code_below_12000_is_refused_without_a_lookup_of_it(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP, MISSING)  # only the scan's first code
    with pytest.raises(InputValidationError, match="event code 33 is not an opportunity type"):
        metadata.resolve_opportunity_type("33")
    assert codes(fake) == ["12000"]


def test_the_scan_is_bounded_and_a_type_past_it_is_found_by_its_code(fake, metadata):
    answers = [ok(kind(12000 + n, f"Type {n}")) for n in range(OPPORTUNITY_TYPE_SCAN_LIMIT)]
    fake.add("GET", OPPORTUNITY_TYPE_OP, *answers, ok(kind(12025, "Far Away")))
    with pytest.raises(InputValidationError, match="'Far Away' is not an opportunity type"):
        metadata.resolve_opportunity_type("Far Away")
    assert len(fake.calls) == OPPORTUNITY_TYPE_SCAN_LIMIT
    assert metadata.resolve_opportunity_type(12025)["DisplayName"] == "Far Away"
    assert metadata.resolve_opportunity_type("far away")["EventCode"] == 12025  # now known
    assert len(fake.calls) == OPPORTUNITY_TYPE_SCAN_LIMIT + 1


def test_other_errors_are_raised_not_taken_for_a_missing_type(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP,
             mx_error("MXUnauthorizedRequestException", "Not allowed"), ok(kind(12000, "N")))
    with pytest.raises(PermanentApiError, match="MXUnauthorizedRequestException"):
        metadata.resolve_opportunity_type(12000)
    assert metadata.resolve_opportunity_type(12000)["DisplayName"] == "N"  # not cached


def test_an_answer_without_event_code_means_no_such_type(fake, metadata):
    fake.add("GET", OPPORTUNITY_TYPE_OP, ok({}), ok(None))  # 12003, then the scan's 12000
    with pytest.raises(InputValidationError, match="known types: none found"):
        metadata.resolve_opportunity_type(12003)


def test_record_fields_are_checked_with_the_closest_names(metadata):
    with pytest.raises(InputValidationError) as caught:
        metadata.check_record_fields(
            ["mx_Custom_1", "mx_custom_2", "Nickname"], {"mx_Custom_1", "mx_Custom_2"},
            record="opportunity type (New Business)", listed_by="GetOpportunityTypeMetadata",
        )
    assert caught.value.problems == [
        "fields.mx_custom_2: not a field of this opportunity type (New Business); did you mean "
        "mx_Custom_2?",
        "fields.Nickname: not a field of this opportunity type (New Business); custom fields "
        "start with mx_; valid fields are listed by GetOpportunityTypeMetadata",
    ]
    assert str(caught.value).startswith("unknown opportunity type (New Business) field(s)")
