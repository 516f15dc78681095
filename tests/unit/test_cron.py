"""Checkpoint schedules: cron patterns checked, and the longest gap between checkpoints."""
import os
from unittest import mock

import fixtures
from oslotest import base
import yaml

from actions import cron
from actions import install
from actions import plan
from tests.unit.test_plan import doc
from tests.unit.test_sites import CloudsYamlFixture


class TestCron(base.BaseTestCase):

    def test_longest_gap_between_firings(self):
        for pattern, minutes in (
                ('*/15 * * * *', 15), ('0 */4 * * *', 240), ('0 2 * * *', 1440),
                ('10/25 * * * *', 35),          # 10, 35, then 10 past the next hour
                ('30 1,13 * * mon', 9360),      # Monday 13:30 to the next Monday 1:30
                ('0 * * * 1-5', 49 * 60),       # Friday 23:00 to Monday 0:00
                ('0 0 1 * 1', 7 * 1440),        # the 1st or a Monday: cron's "or"
                ('0 2 1 jan-mar *', 306 * 1440),  # 1 March to 1 January
                ('0 0 * * 7', 7 * 1440),        # 7 is Sunday
                ('0 9-5 * * *', 4 * 60),        # croniter (and Mistral) wrap around
                ('0 0 29 2 *', 1461 * 1440)):   # 29 February: four years
            self.assertEqual(minutes, cron.longest_gap_minutes(pattern), pattern)

    def test_errors_name_the_field(self):
        rest = ', with "*", ranges, lists and "/steps"'
        for pattern, message in (
                ('61 * * * *', "minute '61': expected 0-59" + rest),
                ('* 24 * * *', "hour '24': expected 0-23" + rest),
                ('* * 0 * *', "day of month '0': expected 1-31" + rest),
                ('* * * 13 *', "month '13': expected 1-12 or jan-dec" + rest),
                ('* * * * funday', "day of week 'funday': expected 0-7 or sun-sat" + rest),
                ('*/0 * * * *', "minute '*/0': expected 0-59" + rest),
                ('0 0 31 2 *', "'0 0 31 2 *' never fires (no such day)"),
                ('* * * *', 'expected five fields (minute hour day month weekday), got 4')):
            self.assertEqual(message, str(self.assertRaises(
                cron.CronError, cron.longest_gap_minutes, pattern)), pattern)


class TestSchedules(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())

    def test_a_plan_with_a_bad_schedule_is_refused(self):
        err = self.assertRaises(plan.PlanError, plan.validate,
                                doc(policy={'name': 'gold', 'schedule': '0 25 * * *'}))
        self.assertEqual(['plan.policy.schedule: hour \'25\': expected 0-23, with "*", '
                          'ranges, lists and "/steps"'], err.errors)

    def test_install_touches_nothing_for_a_bad_schedule_and_warns_of_a_long_one(self):
        folder = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(folder, 'plans.yaml')
        weekly = doc(name='weekly', policy={'name': 'gold', 'schedule': '0 0 * * 0'})
        triggers = self.useFixture(fixtures.MockPatchObject(
            install, 'install_triggers', return_value=[])).mock
        self.useFixture(fixtures.MockPatchObject(install, 'mistral_for'))
        self.useFixture(fixtures.MockPatch('actions.sites.connect'))
        self.useFixture(fixtures.MockPatchObject(install, 'bind',
                                                 side_effect=lambda plan, keystone: plan))
        self.useFixture(fixtures.MockPatchObject(install, 'upload', return_value=[]))
        self.useFixture(fixtures.MockPatchObject(plan, 'save', return_value='x@site-b'))
        stderr = self.useFixture(fixtures.StringStream('stderr')).stream
        self.useFixture(fixtures.MockPatch('sys.stdout'))
        with open(path, 'w') as f:
            yaml.safe_dump([weekly, doc(policy={'name': 'gold', 'schedule': '* * 32 * *'})],
                           f)
        with mock.patch('sys.stderr', stderr):
            self.assertEqual(1, install.main(['--cloud', 'site-b', '--plans', path]))
        triggers.assert_not_called()
        with open(path, 'w') as f:
            yaml.safe_dump([weekly], f)
        with mock.patch('sys.stderr', stderr):
            self.assertEqual(0, install.main(['--cloud', 'site-b', '--plans', path]))
        triggers.assert_called_once()
        stderr.seek(0)
        text = stderr.read()
        self.assertIn("plan #2: plan.policy.schedule: day of month '32': expected 1-31", text)
        self.assertIn("warning: plan weekly: its schedule '0 0 * * 0' leaves up to 10080 "
                      "minutes between checkpoints, its RPO is 15 minutes", text)
