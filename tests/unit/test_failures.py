"""tools/failures.py: the failed tests of a stestr log, each with the end of its traceback."""
import contextlib
import importlib.util
import io
import os

import fixtures
from oslotest import base

from tests import readme

LOG = '''{0} tests.functional.test_x.T.test_ok [1.0s] ... ok
{0} tests.functional.test_x.T.test_bad [2.5s] ... FAILED

Captured traceback:
~~~~~~~~~~~~~~~~~~~
    Traceback (most recent call last):

      File "tests/functional/test_x.py", line 5, in test_bad
    self.assertLess(9, 3, 'gold RTO')

    testtools.matchers._impl.MismatchError: 9 is not < 3: gold RTO


Captured pythonlogging:
~~~~~~~~~~~~~~~~~~~~~~~
    DEBUG noise

{1} setUpClass (tests.functional.test_y.U) [0.1s] ... FAILED

Captured traceback:
~~~~~~~~~~~~~~~~~~~
    AssertionError: lab down

======
Totals
======
'''


class TestFailures(base.BaseTestCase):

    def test_each_failed_test_with_the_end_of_its_traceback(self):
        path = os.path.join(readme.ROOT, 'tools', 'failures.py')
        spec = importlib.util.spec_from_file_location('failures', path)
        failures = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(failures)
        log = os.path.join(self.useFixture(fixtures.TempDir()).path, 'log')
        with open(log, 'w') as f:
            f.write(LOG)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            failures.main(log)
        self.assertEqual([
            '{0} tests.functional.test_x.T.test_bad [2.5s] ... FAILED',
            '  Traceback (most recent call last):',
            '  File "tests/functional/test_x.py", line 5, in test_bad',
            "  self.assertLess(9, 3, 'gold RTO')",
            '  testtools.matchers._impl.MismatchError: 9 is not < 3: gold RTO',
            '{1} setUpClass (tests.functional.test_y.U) [0.1s] ... FAILED',
            '  AssertionError: lab down'], out.getvalue().splitlines())
