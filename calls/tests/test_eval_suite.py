"""CI gate of the dialogue: the whole text scenario suite (calls/evals/scenarios) must pass at least as often as
the floor kept in calls/evals/thresholds.toml. The lead raises the floor as the dialogue improves; a change
that lowers the pass rate fails here, with the scenarios that broke.

The suite runs in shards (every SHARDS-th scenario) so that pytest-xdist spreads it over its workers, in pieces
small enough (~30 scenarios) that none is left running alone at the end; each shard holds the floor on its own,
which is at least as strict as the whole suite holding it."""

import pytest

from calls.evals.runner import run_suite, thresholds
from calls.evals.scenario import load_scenarios

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHARDS = 8


@pytest.mark.parametrize("shard", range(SHARDS))
def test_text_suite_pass_rate_stays_above_the_floor(shard):
    floor = thresholds()["text"]
    scenarios = load_scenarios()[shard::SHARDS]
    suite = run_suite(scenarios, brain="rules")
    report = "\n".join([*(r.line() for r in suite.results if not r.passed), suite.summary()])
    assert suite.pass_rate >= floor, f"pass rate {suite.pass_rate:.1%} is below the floor of {floor:.1%}:\n{report}"
