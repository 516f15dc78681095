"""The one line that leads the outputs of the main workflows (actions/outcome.py)."""
from oslotest import base

from actions import outcome
from tests.unit import test_inputs

PLAN = {'name': 'web', 'source': 'site-a', 'target': 'site-b'}


def summary(**changes):
    return dict({'mode': 'unplanned', 'restore_id': 'failover-c1', 'checkpoint_id': 'c1',
                 'target': 'site-b', 'counts': {'server': 2, 'volume': 1, 'keypair': 0},
                 'rto_seconds': 95.2, 'rto_target_seconds': 3600, 'rpo_seconds': 4000.0,
                 'rpo_target_seconds': 3600, 'users_to_enable': []}, **changes)


class TestOutcome(base.BaseTestCase):

    def test_the_main_workflows_outputs_lead_with_it(self):
        found = test_inputs.workflows()
        for name in ('draas.sites.check', 'draas.checkpoint.create', 'draas.failover.failover',
                     'draas.failback.failback', 'draas.restore.restore', 'draas.drill.drill',
                     'draas.report.report', 'draas.checkpoint.verify', 'draas.checkpoint.prune',
                     'draas.drill.cleanup', 'draas.failback.reprotect'):
            self.assertEqual('outcome', next(iter(found[name]['output'])), name)

    def test_a_checkpoint_says_what_it_holds_and_what_next(self):
        self.assertEqual([
            'Checkpoint c1 of plan web committed',
            'at site-b. It holds 2 servers, 1 volumes, 3 resources in all.',
            'Consistency: per-volume (servers: 1 application-consistent, 1 per-volume).',
            'Retention removed 2 older checkpoints.',
            'Next: a drill (draas.drill.drill) proves that it restores.'],
            outcome.checkpoint(PLAN, {'checkpoint_id': 'c1', 'counts': {
                'volume': 1, 'server': 2, 'keypair': 0}, 'pruned': ['c0', 'c00'],
                'consistency': 'per-volume', 'servers_by_consistency': {
                    'per-volume': 1, 'application-consistent': 1}}))

    def test_a_failover_says_rto_and_rpo_against_the_policy_and_what_next(self):
        self.assertEqual([
            'Failover (unplanned) of plan web to site-b done.',
            'Checkpoint c1 restored.',
            'Restored and verified: 2 servers, 1 volumes, 3 resources in all.',
            'RTO 95s (target 60m), RPO 66m (target 60m, MISSED).',
            'Enable its users at site-b: ann.',
            'Next: check the workload at site-b;',
            'once site-a is back, draas.failback.reprotect, then draas.failback.failback.'],
            outcome.restore(PLAN, summary(users_to_enable=['ann'])))

    def test_a_drill_says_it_passed(self):
        self.assertEqual([
            'Drill drill-ab12 of plan web passed.',
            'Checkpoint c1 restored in a bubble at site-b.',
            'Restored and verified: 2 servers, 1 volumes, 3 resources in all.',
            'RTO 95s (target 60m), RPO 10s (target 60m).',
            'Its bubble is removed next unless kept.'],
            outcome.restore(PLAN, summary(mode='drill', restore_id='drill-ab12',
                                          rpo_seconds=10)))

    def test_a_dry_run_says_what_would_be_made_and_that_nothing_was(self):
        result = {'checkpoint_id': 'c1', 'checkpoint_created_at': '2026-11-30T01:02:03Z',
                  'counts': {'server': {'create': 2, 'exists': 0},
                             'network': {'create': 1, 'exists': 1}},
                  'warnings': ['flavor m1.x: made public', 'other']}
        self.assertEqual([
            'Dry run of an unplanned failover of plan web to site-b:',
            'it would restore checkpoint c1 (taken 2026-11-30T01:02:03Z),',
            'creating 3 resources, with 2 warnings, first: flavor m1.x: made public.',
            'Nothing was changed. Next: run it without dry_run.'],
            outcome.preflight(PLAN, result, 'unplanned'))

    def test_a_report_names_the_plans_out_of_policy(self):
        ok = {'plan': 'web', 'rpo_ok': True, 'rto_ok': True, 'schedule_ok': True}
        late = dict(ok, plan='db', rpo_ok=False)
        self.assertEqual(['1 plans, all within their policy.'],
                         outcome.report({'plans': [ok]}))
        self.assertEqual(
            ['3 plans, 2 not within their policy (the table says why):', 'db',
             'x@site-b: no plan'],
            outcome.report({'plans': [ok, late, {'plan': 'x@site-b', 'error': 'no plan'}]}))

    def test_verify_prune_and_cleanup_say_what_they_found(self):
        self.assertEqual(['Checkpoint c1 of plan web is intact:',
                          'its 3 parts match their manifest.'],
                         outcome.verified(PLAN, {'checkpoint_id': 'c1',
                                                 'parts': ['data', 'images', 'resources']}))
        self.assertEqual(['Retention of plan web removed 1 checkpoints and keeps 2.',
                          '1 deletions wait for their backups to be free; the next run '
                          'retries.'],
                         outcome.pruned(PLAN, {'pruned': ['c0'], 'kept': ['c1', 'c2'],
                                               'pending_deletions': 1}))
        self.assertEqual(['Drill cleanup of plan web removed 5 resources of 2 drills (left '
                          'alone, too recent: drill-3).'],
                         outcome.cleaned(PLAN, {'cleaned': {'drill-1': {'server': 3},
                                                            'drill-2': {'port': 2}},
                                                'skipped': ['drill-3']}))
