"""The DR report: RPO achieved vs target, RTO of the last drill/failover, drift."""
import datetime
import json
import os
from unittest import mock

import fixtures
from oslotest import base
import yaml

from actions import checkpoint
from actions import report
from tests.unit.test_sites import CloudsYamlFixture


class TestReport(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())
        self.useFixture(fixtures.MockPatch('actions.sites.connect'))
        self.root = self.useFixture(fixtures.TempDir()).path
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(self.root), 'shop')
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'scope': {'project': 'shop'}, 'policy': 'gold',
                     'options': {'store': 'file://' + self.root}}

    def commit(self, cid, resources):
        parts = {'resources': self.cps.put_part(cid, 'resources', {
            'project_id': 'p1', 'resources': resources})}
        self.cps.commit(cid, parts, {'consistency': 'crash-consistent'})

    def test_drift_names_what_was_added_removed_and_changed(self):
        old = {'server': [{'id': 's1', 'name': 'web', 'status': 'ACTIVE'},
                          {'id': 's2', 'name': 'db', 'metadata': {'a': 1}}],
               'volume': [{'id': 'v1', 'name': 'data'}]}
        new = {'server': [{'id': 's1', 'name': 'web', 'status': 'SHUTOFF',
                           'updated_at': 'later'},
                          {'id': 's2', 'name': 'db', 'metadata': {'a': 2}},
                          {'id': 's3', 'name': 'cache'}]}
        self.assertEqual({'server': {'added': ['cache'], 'removed': [], 'changed': ['db']},
                          'volume': {'added': [], 'removed': ['data'], 'changed': []}},
                         report.drift(old, new))
        self.assertEqual({}, report.drift(new, new))

    def test_rpo_and_rto_against_the_policy(self):
        self.commit('20261121T100000Z-aaaaaa', {'server': [{'id': 's1', 'name': 'web'}]})
        self.commit('20261121T110000Z-bbbbbb', {'server': []})
        at = datetime.datetime(2026, 11, 21, 11, 10, tzinfo=datetime.timezone.utc)
        self.drill('drill-ab12', at - datetime.timedelta(minutes=45), rto=2400.0)
        self.cps.put_restore('drill-cd34', 'state', {'restore_id': 'drill-cd34'})  # no start
        out = report.plan_report(self.plan, now=at)
        self.assertEqual(600, out['rpo_seconds'])  # gold: 15 minutes allowed
        self.assertTrue(out['rpo_ok'])
        self.assertEqual(2400.0, out['rto_seconds'])  # gold: 30 minutes allowed
        self.assertFalse(out['rto_ok'])
        self.assertEqual('drill-ab12', out['last_drill']['restore_id'])
        self.assertIsNone(out['last_failover'])
        self.assertEqual(2, out['checkpoints']['count'])
        self.assertEqual({'server': {'added': [], 'removed': ['web'], 'changed': []}},
                         out['drift'])
        late = report.plan_report(self.plan, now=at + datetime.timedelta(minutes=10))
        self.assertFalse(late['rpo_ok'])
        text = report.table([late])
        self.assertIn('RPO VIOLATED, RTO VIOLATED', text)
        self.assertIn('20m (15m)', text)

    def test_replicated_volumes_give_the_rpo_of_their_lag(self):
        """Volumes an array replicates: the RPO is the largest lag of their replicas as
        the adapter tells it now, not the checkpoint's age; a replica not receiving is
        flagged."""
        cid = '20261121T100000Z-aaaaaa'
        parts = {'resources': self.cps.put_part(cid, 'resources', {
            'project_id': 'p1', 'resources': {'volume': [{'id': 'v1'}, {'id': 'v2'}]}}),
            'data': self.cps.put_part(cid, 'data', {'volumes': {
                vid: {'method': 'replication', 'adapter': 'cinder',
                      'replica': {'replica_id': vid}} for vid in ('v1', 'v2')}})}
        self.cps.commit(cid, parts, {'consistency': 'backend-replication'})
        states = {'v1': {'state': 'replicating', 'synced_at': 1.0, 'lag_seconds': 0.8},
                  'v2': {'state': 'replicating', 'synced_at': 1.0, 'lag_seconds': 1.4}}
        adapter = mock.Mock()
        adapter.status.side_effect = lambda replicas: {v: states[v] for v in replicas}
        self.useFixture(fixtures.MockPatch('actions.replication.adapters.load',
                                           lambda p: adapter))
        at = datetime.datetime(2026, 11, 21, 13, 0, tzinfo=datetime.timezone.utc)
        out = report.plan_report(self.plan, now=at)  # 3 hours after the checkpoint
        self.assertEqual((1.4, 'replicas', 10800.0, True),
                         (out['rpo_seconds'], out['rpo_of'], out['checkpoint_age_seconds'],
                          out['rpo_ok']))
        states['v2'] = {'state': 'source silent', 'synced_at': 1.0, 'lag_seconds': 1.4}
        out = report.plan_report(self.plan, now=at)
        self.assertFalse(out['rpo_ok'])
        self.assertIn('RPO VIOLATED, REPLICAS: v2 source silent', report.table([out]))

    def test_damaged_checkpoints_are_named_and_do_not_count(self):
        """A checkpoint a restore would refuse (manifest signed with another key, a part
        changed) is no evidence: the RPO is the newest whole checkpoint's."""
        ids = ['20261121T10%02d00Z-aaaaa%d' % (i * 10, i) for i in range(4)]
        for cid in ids:
            self.commit(cid, {'server': [{'id': cid, 'name': cid}]})
        key = 'shop/%s/manifest.json' % ids[3]
        forged = json.loads(self.cps.store.get(key))
        forged['signature'] = checkpoint.signature(forged, b'k' * 32)
        self.cps.store.put(key, json.dumps(forged).encode())
        self.cps.store.put('shop/%s/resources.json' % ids[2], b'{}')
        at = datetime.datetime(2026, 11, 21, 10, 40, tzinfo=datetime.timezone.utc)
        out = report.plan_report(self.plan, now=at)
        self.assertEqual(sorted(ids[2:]), out['checkpoints']['damaged'])
        self.assertEqual((ids[1], 1800, 2), (out['last_checkpoint']['checkpoint_id'],
                                             out['rpo_seconds'], out['checkpoints']['count']))
        self.assertEqual({'server': {'added': [ids[1]], 'removed': [ids[0]], 'changed': []}},
                         out['drift'])
        self.assertIn('RPO VIOLATED, RTO UNTESTED, 2 DAMAGED', report.table([out]))

    def drill(self, rid, started, rto=None, cleaned=False):
        """A drill's state in the store: finished with `rto`, or not (failed, cleaned)."""
        state = {'restore_id': rid, 'checkpoint_id': '20261121T100000Z-aaaaaa',
                 'started_at': started.timestamp()}
        if rto is not None:
            state['summary'] = {'restore_id': rid, 'checkpoint_id': state['checkpoint_id'],
                                'finished_at': checkpoint.iso(started), 'rto_seconds': rto}
        if cleaned:
            state['cleaned_at'] = checkpoint.iso(started)
        self.cps.put_restore(rid, 'state', state)

    def test_a_failed_or_old_drill_proves_no_rto(self):
        self.commit('20261121T100000Z-aaaaaa', {})
        at = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc)
        self.drill('drill-good', at - datetime.timedelta(hours=2), rto=300.0)
        self.assertEqual('ok', report.plan_report(self.plan, now=at)['rto_status'])
        # A newer drill that failed (its bubble removed): the RTO is unproven.
        self.drill('drill-bad', at - datetime.timedelta(hours=1), cleaned=True)
        out = report.plan_report(self.plan, now=at)
        self.assertEqual(('unproven', False, 300.0), (out['rto_status'], out['rto_ok'],
                                                       out['rto_seconds']))
        self.assertEqual((True, 'drill-bad'), (out['last_drill']['failed'],
                                               out['last_drill']['restore_id']))
        self.assertIn('RTO UNPROVEN', report.table([out]))
        # One still running is not counted; one started past the timeout failed.
        self.drill('drill-now', at - datetime.timedelta(minutes=5))
        self.assertEqual('drill-bad', report.plan_report(
            self.plan, now=at)['last_drill']['restore_id'])
        self.assertEqual('drill-now', report.plan_report(
            self.plan, now=at + datetime.timedelta(hours=2))['last_drill']['restore_id'])
        # Gold asks for a drill every 30 days: a passed one older than that is stale.
        self.drill('drill-new', at, rto=300.0)
        later = at + datetime.timedelta(days=31)
        out = report.plan_report(self.plan, now=later)
        self.assertEqual(('stale', False), (out['rto_status'], out['rto_ok']))
        self.assertIn('RTO STALE', report.table([out]))

    def test_a_schedule_firing_less_often_than_the_rpo_is_a_violation(self):
        self.commit('20261121T100000Z-aaaaaa', {})
        at = datetime.datetime(2026, 11, 21, 10, 1, tzinfo=datetime.timezone.utc)
        out = report.plan_report(self.plan, now=at)
        self.assertEqual((True, True, 900),
                         (out['rpo_ok'], out['schedule_ok'], out['schedule_gap_seconds']))
        weekdays = dict(self.plan, policy={'name': 'gold', 'rpo_minutes': 60,
                                           'schedule': '0 * * * 1-5'})
        out = report.plan_report(weekdays, now=at)
        self.assertTrue(out['rpo_ok'])  # a minute old, but the weekend has no checkpoint
        self.assertEqual((False, 49 * 3600), (out['schedule_ok'],
                                              out['schedule_gap_seconds']))
        result = report.report([weekdays])
        self.assertEqual(1, result['violations'])
        self.assertIn('SCHEDULE GAP 49h00m > RPO', result['table'])

    def test_no_checkpoint_and_bad_plans_are_rows_not_crashes(self):
        out = report.report([self.plan, {'name': 'broken'}])
        first, second = out['plans']
        self.assertIsNone(first['rpo_seconds'])
        self.assertFalse(first['rpo_ok'])
        self.assertIn('invalid plan', second['error'])
        self.assertEqual(2, out['violations'])
        self.assertIn('NO CHECKPOINT, RTO UNTESTED', out['table'])
        self.assertRaises(report.errors.DraasError, report.report, [])

    def test_html_page_and_command_line(self):
        self.commit('20261121T100000Z-aaaaaa', {})
        self.commit('20261121T100500Z-bbbbbb', {})
        result = report.report([self.plan])
        page = report.html_page(result)
        self.assertIn('<svg', page)
        self.assertIn('RPO of shop', page)
        self.assertEqual(2, page.count('stroke="#36c"'))  # one tick per checkpoint
        plans = os.path.join(self.root, 'plans.yaml')
        with open(plans, 'w') as f:
            yaml.safe_dump([self.plan], f)
        out = os.path.join(self.root, 'report.html')
        stdout = self.useFixture(fixtures.StringStream('stdout')).stream
        with mock.patch('sys.stdout', stdout):
            code = report.main([plans, '--html', out])
        self.assertEqual(1, code)  # hours old: the gold RPO is missed
        stdout.seek(0)
        self.assertIn('RPO VIOLATED', stdout.read())
        with open(out) as f:
            self.assertIn('<svg', f.read())
        self.assertEqual(2, report.main([os.path.join(self.root, 'missing.yaml')]))
