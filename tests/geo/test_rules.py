"""Tests of planner.geo.rules: the rule language, its errors and its explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.geo.rules import RuleError, column_kind, parse_rule, parse_rules


@pytest.fixture
def four_accounts() -> pd.DataFrame:
    """Four accounts with text, number, list and missing values."""
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "industry": ["Healthcare", "Retail", None, "Healthcare"],
            "annual_revenue": [2e6, 5.2e4, 3e6, np.nan],
            "product_line": ["A", "C", "B", None],
            "key_account": [True, False, False, True],
        }
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('industry == "Healthcare" and annual_revenue >= 1000000', [True, False, False, False]),
        ('product_line in ["A", "B"]', [True, False, True, False]),
        ('product_line not in ["A"]', [False, True, True, True]),
        ('not industry == "Healthcare"', [False, True, True, False]),
        ('industry = "Retail" or annual_revenue > 2_500_000', [False, True, True, False]),
        ("annual_revenue is null", [False, False, False, True]),
        ("industry is not null", [True, True, False, True]),
        ("1e6 <= annual_revenue", [True, False, True, False]),
        ('industry == "Healthcare" AND NOT (annual_revenue < 1e6)', [True, False, False, True]),
        ("`industry` != 'Retail'", [True, False, False, True]),
        ("key_account", [True, False, False, True]),
        ("key_account == false", [False, True, True, False]),
        (
            '(industry == "Retail" or industry == "Healthcare") and product_line == "C"',
            [False, True, False, False],
        ),
    ],
)
def test_rules_evaluate_column_wise(
    four_accounts: pd.DataFrame, rule: str, expected: list[bool]
) -> None:
    """Each rule of the documented language selects the expected accounts."""
    assert parse_rule(rule, fields=four_accounts).evaluate(four_accounts).tolist() == expected


def test_missing_values_fail_comparisons_and_not_flips_them(four_accounts: pd.DataFrame) -> None:
    """A comparison with a missing value is false; `not` makes it true."""
    rule = parse_rule('industry == "Retail"', fields=four_accounts)
    negated = parse_rule('not industry == "Retail"', fields=four_accounts)
    assert rule.evaluate(four_accounts)[2] is np.False_
    assert negated.evaluate(four_accounts)[2] is np.True_


@pytest.mark.parametrize(
    ("rule", "position", "message"),
    [
        ("revenue >= 5", 1, r"unknown field 'revenue' at position 1"),
        ('industry =~ "x"', 10, r"unknown operator '=~' at position 10"),
        ("annual_revenue => 5", 16, r"unknown operator '=>' at position 16"),
        ('industry == "a" && product_line == "A"', 17, r"unknown operator '&&' at position 17"),
        ("industry == Healthcare", 13, r"expected a value but found 'Healthcare'"),
        ('(industry == "a"', 17, r"expected '\)' to close"),
        ('product_line in "A"', 17, r"expected '\[' after 'in'"),
        ("annual_revenue >= 1M", 19, r"'1M' at position 19 is not a number"),
        ('industry == "a" product_line', 17, r"unexpected 'product_line' at position 17"),
        ('industry == "abc', 13, r"no closing"),
        ("", 1, r"the rule is empty"),
        ("industry $ 3", 10, r"unexpected character '\$' at position 10"),
    ],
)
def test_bad_rules_name_the_position(
    four_accounts: pd.DataFrame, rule: str, position: int, message: str
) -> None:
    """Every syntax error and unknown name says where it is."""
    with pytest.raises(RuleError, match=message) as info:
        parse_rule(rule, fields=four_accounts)
    assert info.value.position == position


def test_unknown_field_lists_the_known_fields_and_a_suggestion(
    four_accounts: pd.DataFrame,
) -> None:
    """The fix of an unknown field names every account column and the closest one."""
    with pytest.raises(RuleError, match="unknown field") as info:
        parse_rule("revenue >= 5", fields=four_accounts, label="territory T3")
    problem = info.value.problems[0]
    assert "did you mean 'annual_revenue'" in problem.fix
    assert "account_id, annual_revenue, industry, key_account, product_line" in problem.fix
    assert problem.message.startswith("territory T3:")


def test_type_mismatches_are_rejected(four_accounts: pd.DataFrame) -> None:
    """Text compared with a number, or a number with text, is an error with a fix."""
    with pytest.raises(RuleError, match="holds numbers"):
        parse_rule('annual_revenue >= "1M"', fields=four_accounts)
    with pytest.raises(RuleError, match="holds text") as info:
        parse_rule("industry == 5", fields=four_accounts)
    assert 'put the value in quotes: "5"' in info.value.problems[0].fix


def test_unknown_operator_suggests_the_right_one() -> None:
    """`=>` suggests `>=` and `&&` suggests `and`."""
    with pytest.raises(RuleError, match="unknown operator") as info:
        parse_rule("annual_revenue => 5")
    assert "'>='" in info.value.problems[0].fix
    with pytest.raises(RuleError, match="unknown operator") as info:
        parse_rule("a == 1 || b == 2")
    assert "'or'" in info.value.problems[0].fix


def test_rules_are_never_evaluated_as_python(four_accounts: pd.DataFrame) -> None:
    """Python code in a rule is a syntax error, not executed."""
    with pytest.raises(RuleError, match="position"):
        parse_rule("__import__('os').system('true')", fields=four_accounts)


def test_explain_names_the_failing_condition_and_value() -> None:
    """The explanation of a failed rule quotes the condition and the account's value."""
    rule = parse_rule('industry == "Healthcare" and annual_revenue >= 1000000')
    assert rule.explain({"industry": "Healthcare", "annual_revenue": 52000}) == (
        "annual_revenue >= 1000000 (value 52000)"
    )
    assert rule.explain({"industry": "Healthcare", "annual_revenue": 2e6}) is None
    either = parse_rule('industry == "Retail" or annual_revenue > 1')
    assert either.explain({"industry": "X", "annual_revenue": None}) == (
        'none of: industry == "Retail" (value X) | annual_revenue > 1 (value missing)'
    )


def test_parse_rules_collects_every_problem(four_accounts: pd.DataFrame) -> None:
    """Several bad rules are reported together, each naming its territory; blanks are skipped."""
    with pytest.raises(InputError, match="T1, T2 cannot be used") as info:
        parse_rules(
            {"T1": "revenue > 1", "T2": "industry ~ 'x'", "T3": None, "T4": 'industry == "x"'},
            fields=four_accounts,
        )
    assert [p.message.split(":")[0] for p in info.value.problems] == [
        "territory T1",
        "territory T2",
    ]
    ok = parse_rules({"T3": "", "T4": 'industry == "x"'}, fields=four_accounts)
    assert list(ok) == ["T4"]


def test_normalised_text_round_trips() -> None:
    """str(rule) is itself a rule that parses to the same text."""
    rule = parse_rule("INDUSTRY_NAME = 'x' AND NOT (rev < 1e6 or b in [1, 'two', null])")
    again = parse_rule(str(rule))
    assert str(again) == str(rule)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(
    threshold=st.integers(min_value=-10, max_value=10),
    values=st.lists(st.one_of(st.none(), st.integers(-10, 10)), min_size=1, max_size=20),
)
def test_a_rule_and_its_negation_partition_the_accounts(
    threshold: int, values: list[int | None]
) -> None:
    """For any data, `r` and `not r` select complementary sets of accounts."""
    frame = pd.DataFrame({"v": pd.array(values, dtype="Float64")})
    rule = parse_rule(f"v >= {threshold}", fields=frame)
    negated = parse_rule(f"not v >= {threshold}", fields=frame)
    a, b = rule.evaluate(frame), negated.evaluate(frame)
    assert (a ^ b).all()
    expected = [v is not None and v >= threshold for v in values]
    assert a.tolist() == expected


@pytest.mark.parametrize(
    ("rule", "position", "message"),
    [
        ("índustry == 1", 1, r"unexpected character 'í' at position 1"),
        ("x == -.", 6, r"'-\.' at position 6 is not a number"),
        ("x == " + "9" * 400, 6, r"the number 9{17}\.\.\. at position 6 is too large"),
        ("x == 1e400", 6, r"the number 1e400 at position 6 is too large"),
        ("(" * 500 + "x == 1" + ")" * 500, 51, r"nests more than 50 levels"),
        ("not " * 60 + "x", 201, r"nests more than 50 levels"),
        ("x == 1 or " * 1200 + "x == 1", 10001, r"more than 10,000"),
    ],
)
def test_fuzzed_crashes_are_rule_errors(rule: str, position: int, message: str) -> None:
    """The strings that once escaped as AssertionError, ValueError, OverflowError or
    RecursionError are RuleErrors naming their position."""
    with pytest.raises(RuleError, match=message) as info:
        parse_rule(rule)
    assert info.value.position == position
    assert info.value.problems[0].fix


def test_numbers_up_to_the_bound_evaluate(four_accounts: pd.DataFrame) -> None:
    """Large but bounded numbers parse and compare with float columns without overflow."""
    rule = parse_rule("annual_revenue < 999_999_999_999_999_999", fields=four_accounts)
    assert rule.evaluate(four_accounts).tolist() == [True, True, True, False]


def test_rules_read_compact_text_columns_as_text() -> None:
    """Text read as categories (large imports) is compared as text, column-wise and alike."""
    codes = ["30001", "29000", None, "31000"]
    compact = pd.DataFrame({"postal_code": pd.Categorical(codes)})
    plain = pd.DataFrame({"postal_code": pd.Series(codes, dtype=object)})
    assert column_kind(compact["postal_code"]) == "text"
    for text in [
        'postal_code >= "30000"',
        'postal_code in ["29000", "31000"]',
        "postal_code is null",
    ]:
        rule = parse_rule(text)
        assert list(rule.evaluate(compact)) == list(rule.evaluate(plain)), text
    assert list(parse_rule('postal_code >= "30000"').evaluate(compact)) == [
        True,
        False,
        False,
        True,
    ]
