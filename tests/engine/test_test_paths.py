"""Which paths are test code (analysis.doubles.is_test_path)."""

import pytest

from poolsafe.analysis.doubles import is_test_path


@pytest.mark.parametrize("path", [
    "tests/test_db.py", "test/helpers.py", "pkg/conftest.py", "pkg/db_test.py",
    "mycli_test/features/db_utils.py", "app/integration_tests/utils.py",
    # test-support packages (issue 31, large33: galaxy's model/unittest_utils/)
    "app/model/unittest_utils/helpers.py", "pkg/testing/fixtures.py", "pkg/_testing/db.py",
    "pkg/test_utils/db.py",
    # a Django application's tests.py (Django's default pattern `test*.py`) and the
    # `*_tests.py` convention (round 26, large60: hue's sql_alchemy_tests.py)
    "shop/tests.py", "tests.py", "notebook/connectors/sql_alchemy_tests.py",
    # a module or package whose own name says it supports tests (issue 31, round 35,
    # prec78: large76b's mysql_streamer `testing_helper/util.py`)
    "app/testutils.py", "app/db_test_utils.py", "app/testing_helper/util.py",
    "app/testing_utils.py", "app/unittest_helpers.py", "app/test_tools/db.py",
])
def test_test_paths(path: str) -> None:
    assert is_test_path(path)


@pytest.mark.parametrize("path", [
    "app/db.py", "latest/db.py", "contest/db.py", "app/contests.py",
    "app/testimonials/db.py", "app/unit/db.py", "app/attesting/db.py",
    # A/B testing in production, a library's public testing API, a name no support
    # word follows (round 35, prec78)
    "app/ab_testing_utils.py", "app/ab_testing/db.py", "app/testing.py",
    "app/contest_utils.py", "app/replication_handler_testing/db_sandbox.py",
])
def test_production_paths(path: str) -> None:
    assert not is_test_path(path)
