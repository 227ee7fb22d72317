"""CI gate of the dialogue: the whole text scenario suite (calls/evals/scenarios) must pass at least as often as
the floor kept in calls/evals/thresholds.toml. The lead raises the floor as the dialogue improves; a change
that lowers the pass rate fails here, with the scenarios that broke."""

import pytest

from calls.evals.runner import run_suite, thresholds
from calls.evals.scenario import load_scenarios

pytestmark = pytest.mark.django_db(transaction=True)


def test_text_suite_pass_rate_stays_above_the_floor():
    floor = thresholds()["text"]
    suite = run_suite(load_scenarios(), brain="rules")
    report = "\n".join([*(r.line() for r in suite.results if not r.passed), suite.summary()])
    assert suite.pass_rate >= floor, f"pass rate {suite.pass_rate:.1%} is below the floor of {floor:.1%}:\n{report}"
