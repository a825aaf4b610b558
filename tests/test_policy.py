"""The IAM policy language (tenancy/policy.py): pure code, no database."""

import copy

import pytest

from tenancy import policy
from tenancy.policy import FULL_ACCESS, READ_ONLY, PolicyError, action_matches, is_allowed, validate_document


def doc(*statements) -> dict:
    return {"Version": "1.1", "Statement": list(statements)}


def allow(*actions) -> dict:
    return {"Effect": "Allow", "Action": list(actions)}


def deny(*actions) -> dict:
    return {"Effect": "Deny", "Action": list(actions)}


# --- wildcard matching ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "action"), [
    ("metastudio:asset:show", "metastudio:asset:show"),
    ("*:asset:show", "metastudio:asset:show"),
    ("metastudio:*:show", "metastudio:asset:show"),
    ("metastudio:asset:*", "metastudio:asset:delete"),
    ("*:*:*", "anything:at:all"),
    ("meta*:as*t:sh*", "metastudio:asset:showList"),
    ("metastudio:asset:show*", "metastudio:asset:show"),  # * may match nothing
    ("metastudio:asset:sho?", "metastudio:asset:show"),
    ("METASTUDIO:Asset:SHOW", "metastudio:asset:show"),
    ("metastudio:asset:show", "MetaStudio:ASSET:Show"),
    ("metastudio:*:show*", "METASTUDIO:VIDEOSCRIPT:SHOWLIST"),
])
def test_pattern_matches(pattern, action):
    assert action_matches(pattern, action)


@pytest.mark.parametrize(("pattern", "action"), [
    ("metastudio:asset:show", "metastudio:asset:showList"),  # no implicit prefix match
    ("metastudio:asset:show", "xmetastudio:asset:show"),  # anchored at the start
    ("metastudio:*:*", "billing:asset:show"),
    ("metastudio:asset:*", "metastudio:assets:show"),
    ("metastudio:*:show*", "metastudio:asset:create"),
    ("metastudio:asset:sho?", "metastudio:asset:sho"),  # ? is exactly one character
    ("metastudio:asset:sho.", "metastudio:asset:show"),  # regex characters are literal
    ("metastudio:asset:[s]how", "metastudio:asset:show"),
])
def test_pattern_does_not_match(pattern, action):
    assert not action_matches(pattern, action)


# --- system policies --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("action", [
    "metastudio:asset:create", "metastudio:asset:delete", "metastudio:iamuser:delete", "metastudio:asset:show",
])
def test_full_access_allows_every_metastudio_action(action):
    assert is_allowed(FULL_ACCESS["Statement"], action)


def test_full_access_is_limited_to_metastudio():
    assert not is_allowed(FULL_ACCESS["Statement"], "billing:order:create")


@pytest.mark.parametrize("action", ["metastudio:asset:show", "metastudio:asset:showList", "metastudio:iamuser:show"])
def test_read_only_allows_show_actions(action):
    assert is_allowed(READ_ONLY["Statement"], action)


@pytest.mark.parametrize("action", [
    "metastudio:asset:create", "metastudio:asset:delete", "metastudio:asset:update", "metastudio:iamuser:create",
    "metastudio:export:download", "metastudio:asset:list",
])
def test_read_only_refuses_everything_else(action):
    assert not is_allowed(READ_ONLY["Statement"], action)


def test_system_policies_are_valid_documents():
    for name, (description, document) in policy.SYSTEM_POLICIES.items():
        assert description, name
        assert validate_document(copy.deepcopy(document)) == document


# --- evaluation -------------------------------------------------------------------------------------------------------

def test_no_statement_means_deny():
    assert not is_allowed([], "metastudio:asset:show")


def test_no_matching_statement_means_deny():
    assert not is_allowed([allow("metastudio:asset:show")], "metastudio:asset:create")


def test_explicit_deny_wins_over_allow_in_any_order():
    statements = [allow("metastudio:*:*"), deny("metastudio:iamuser:delete")]
    assert not is_allowed(statements, "metastudio:iamuser:delete")
    assert not is_allowed(list(reversed(statements)), "metastudio:iamuser:delete")
    assert is_allowed(statements, "metastudio:iamuser:create")
    assert is_allowed(list(reversed(statements)), "metastudio:iamuser:create")


def test_wildcard_deny_wins_over_specific_allow():
    statements = [allow("metastudio:asset:delete"), deny("metastudio:*:delete")]
    assert not is_allowed(statements, "metastudio:asset:delete")
    assert not is_allowed(statements, "METASTUDIO:ASSET:DELETE")


def test_deny_alone_allows_nothing():
    assert not is_allowed([deny("metastudio:asset:delete")], "metastudio:asset:show")


def test_any_action_of_a_statement_matches():
    statements = [allow("metastudio:asset:show", "metastudio:asset:create")]
    assert is_allowed(statements, "metastudio:asset:create")
    assert not is_allowed(statements, "metastudio:asset:delete")


# --- validation -------------------------------------------------------------------------------------------------------

def test_valid_document_is_normalised():
    assert validate_document(doc(deny("metastudio:iamuser:delete"), allow("metastudio:*:*"))) == {
        "Version": "1.1",
        "Statement": [
            {"Action": ["metastudio:iamuser:delete"], "Effect": "Deny"},
            {"Action": ["metastudio:*:*"], "Effect": "Allow"},
        ],
    }


def invalid(document) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        validate_document(document)
    error = caught.value
    assert str(error).startswith(f"{error.field}: "), str(error)
    return error


@pytest.mark.parametrize(("document", "field"), [
    ([], "document"),
    ("{}", "document"),
    ({"Statement": [allow("metastudio:*:*")]}, "Version"),
    ({"Version": "1.0", "Statement": [allow("metastudio:*:*")]}, "Version"),
    ({"Version": 1.1, "Statement": [allow("metastudio:*:*")]}, "Version"),
    ({"Version": "1.1"}, "Statement"),
    ({"Version": "1.1", "Statement": []}, "Statement"),
    ({"Version": "1.1", "Statement": allow("metastudio:*:*")}, "Statement"),
    ({"Version": "1.1", "Statement": [allow("metastudio:*:*")] * (policy.MAX_STATEMENTS + 1)}, "Statement"),
    (doc("Allow"), "Statement[0]"),
    (doc({"Effect": "allow", "Action": ["metastudio:*:*"]}), "Statement[0].Effect"),
    (doc({"Action": ["metastudio:*:*"]}), "Statement[0].Effect"),
    (doc(allow("metastudio:*:*"), {"Effect": "Permit", "Action": ["metastudio:*:*"]}), "Statement[1].Effect"),
    (doc(allow("metastudio:*:*"), {"Effect": "Allow"}), "Statement[1].Action"),
    (doc(allow("metastudio:*:*"), {"Effect": "Allow", "Action": []}), "Statement[1].Action"),
    (doc(allow("metastudio:*:*"), {"Effect": "Allow", "Action": "metastudio:*:*"}), "Statement[1].Action"),
    (doc(allow("metastudio:*:*"), allow("metastudio:*")), "Statement[1].Action[0]"),
    (doc(allow("metastudio:asset:show", "not an action")), "Statement[0].Action[1]"),
    (doc(allow("metastudio:asset:show", 42)), "Statement[0].Action[1]"),
    (doc(allow("metastudio:asset:show:extra")), "Statement[0].Action[0]"),
    (doc(allow("metastudio:asset:sh.w")), "Statement[0].Action[0]"),
    (doc({**allow("metastudio:*:*"), "Resource": ["*"]}), "Statement[0].Resource"),
    (doc({**allow("metastudio:*:*"), "Condition": {}}), "Statement[0].Condition"),
])
def test_invalid_document_names_the_field(document, field):
    assert invalid(document).field == field


def test_statement_limit_is_inclusive():
    assert len(validate_document(doc(*[allow("metastudio:*:*")] * policy.MAX_STATEMENTS))["Statement"]) == 50
