"""DR drills of the sample workload through the real Mistral, and the report (issue 5)."""
import time

import openstack

from actions import checkpoint
from actions import drill
from tests.functional import base
from tests.functional import test_failover


class TestDrill(test_failover.FailoverTestCase):
    """Site-a keeps running; drills restore into bubbles on site-b and remove them."""
    prefix = 'dr'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.source = openstack.connect(cloud='site-a')
        # Bubbles a failing test left (runs before the checkpoints go: it reads their ID maps).
        cls.addClassCleanup(drill.cleanup, cls.plan, min_age_minutes=0)
        execution = cls.run_workflow('draas.checkpoint.create', {'plan': cls.plan})
        assert execution.state == 'SUCCESS', execution.state_info

    def drill(self, plan=None, stop_after=None, **inputs):
        execution = self.run_workflow('draas.drill.drill',
                                      dict({'plan': plan or self.plan}, **inputs), timeout=600,
                                      stop_after=stop_after)
        return execution, self.output(execution)

    def site_a(self):
        """The workload on site-a, as comparable tuples (IDs, states, addresses)."""
        a, pid = self.source, self.sample['project']
        return {
            'server': sorted((s.id, s.name, s.status, s.updated_at) for s in
                             a.compute.servers(all_projects=True, project_id=pid)),
            'network': sorted((n.id, n.revision_number) for n in
                              a.network.networks(project_id=pid)),
            'subnet': sorted((n.id, n.revision_number) for n in
                             a.network.subnets(project_id=pid)),
            'port': sorted((p.id, p.revision_number, p.status, p.device_id) for p in
                           a.network.ports(project_id=pid)),
            'router': sorted((r.id, r.revision_number) for r in
                             a.network.routers(project_id=pid)),
            'security_group': sorted((g.id, g.revision_number) for g in
                                     a.network.security_groups(project_id=pid)),
            'floating_ip': sorted((f.id, f.revision_number, f.port_id) for f in
                                  a.network.ips(project_id=pid)),
            'volume': sorted((v.id, v.status, str(v.attachments)) for v in
                             a.block_storage.volumes(all_projects=True, project_id=pid)),
        }

    def drill_resources(self, drill_id):
        """What site-b holds of a drill: tagged with its ID or named after it."""
        b, tag = self.target, 'draas-restore=' + drill_id
        found = {'server': list(b.compute.servers(all_projects=True, tags=tag)),
                 'project': [p for p in b.identity.projects() if p.name.endswith(drill_id)],
                 'volume': [v for v in b.block_storage.volumes(all_projects=True)
                            if (v.metadata or {}).get('draas_restore') == drill_id or
                            (v.name or '').endswith(drill_id)],
                 'keypair': [k for k in b.compute.keypairs() if k.name.endswith(drill_id)],
                 'server_group': [g for g in b.compute.server_groups(all_projects=True)
                                  if g.name.endswith(drill_id)],
                 'flavor': [f for f in b.compute.flavors(is_public=None)
                            if f.name.endswith(drill_id)]}
        for kind, call in (('network', 'networks'), ('subnet', 'subnets'), ('port', 'ports'),
                           ('router', 'routers'), ('security_group', 'security_groups'),
                           ('floating_ip', 'ips')):
            found[kind] = list(getattr(b.network, call)(tags=tag))
        return {k: v for k, v in found.items() if v}

    def test_1_kept_drill_runs_isolated_then_cleanup_removes_it(self):
        before = self.site_a()
        execution, out = self.drill(keep=True)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        drill_id, summary = out['drill_id'], out['summary']
        base.measured('drill (kept): RTO %.1f s; summary %s' % (
            summary['rto_seconds'], summary))
        self.assertGreater(summary['rto_seconds'], 0)
        self.assertIsNone(out['cleanup'])
        self.assertIn('3 servers ACTIVE', summary['verified'])
        self.assertIn('3 volumes attached', summary['verified'])

        made = self.drill_resources(drill_id)
        suffix = '-' + drill_id
        self.assertEqual({self.name + suffix}, {p.name for p in made['project']})
        self.assertEqual({'ACTIVE'}, {s.status for s in made['server']})
        self.assertEqual(sorted(s + suffix for s in ('web', 'app', 'db')),
                         sorted(s.name[len(self.name) + 1:] for s in made['server']))
        self.assertEqual(3, len(made['volume']))
        # Isolated: no floating IP, routers without a gateway, nothing in production's
        # project (site-b has none) and no user touched.
        self.assertNotIn('floating_ip', made)
        self.assertEqual([None], [r.external_gateway_info for r in made['router']])
        self.assertIsNone(self.target.identity.find_project(self.name, ignore_missing=True))
        self.assertIsNone(self.target.identity.find_user(self.name + '-owner',
                                                         ignore_missing=True))
        # Site-a untouched by the drill.
        self.assertEqual(before, self.site_a())
        # Checkpoints keep running while a drill's bubble is up.
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)

        execution = self.run_workflow('draas.drill.cleanup', {'plan': self.plan,
                                                              'drill_id': drill_id})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        removed = self.output(execution)['cleanup']
        base.measured('drill cleanup: %s' % removed)
        self.assertEqual(3, removed['cleaned'][drill_id]['server'])
        self.assertEqual({}, self.drill_resources(drill_id))
        # Once more: nothing left to remove, no error.
        execution = self.run_workflow('draas.drill.cleanup', {'plan': self.plan,
                                                              'drill_id': drill_id})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual({}, self.output(execution)['cleanup']['cleaned'][drill_id])

    def test_2_failed_drill_removes_its_bubble(self):
        """A drill given a network to the outside: its router gets a gateway and web a
        floating IP there. A probe of web that cannot pass (nothing listens in the lab's
        fake servers) fails the drill after its bubble was made; the bubble is removed all
        the same."""
        plan = dict(self.plan, options={
            'drill': {'external_network': 'public'},
            'verify': {'timeout_seconds': 5, 'probes': [
                {'server': self.name + '-web', 'port': 80, 'protocol': 'http'}]}})
        execution, out = self.drill(plan)
        self.assertEqual('ERROR', execution.state)
        self.assertIn('http probe of %s-web (172.24.' % self.name, out['error'])
        removed = out['cleanup']['cleaned'][out['drill_id']]
        self.assertEqual((3, 1, 1), (removed['server'], removed['router'],
                                     removed['floating_ip']))
        self.assertEqual({}, self.drill_resources(out['drill_id']))
        # The newest drill failed: the report calls the plan's RTO unproven.
        execution = self.run_workflow('draas.report.report', {'plans': [self.plan]})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        [row] = self.output(execution)['plans']
        self.assertEqual(('unproven', out['drill_id'], True), (
            row['rto_status'], row['last_drill']['restore_id'], row['last_drill']['failed']))

    def test_3_cleanup_finds_a_drill_whose_run_died(self):
        execution, out = self.drill(keep=True, stop_after='ports')
        self.assertEqual('ERROR', execution.state)
        drill_id = out['drill_id']
        self.assertIn('network', self.drill_resources(drill_id))
        # Young and unfinished: it may still be running, left alone unless asked.
        execution = self.run_workflow('draas.drill.cleanup', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual([drill_id], self.output(execution)['cleanup']['skipped'])
        execution = self.run_workflow('draas.drill.cleanup', {'plan': self.plan,
                                                              'min_age_minutes': 0})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertIn(drill_id, self.output(execution)['cleanup']['cleaned'])
        self.assertEqual({}, self.drill_resources(drill_id))

    def test_4_report_shows_rto_of_drills_drift_and_rpo_violations(self):
        # Drift: web's metadata changed on site-a since the previous checkpoint.
        [web] = self.source.compute.servers(all_projects=True, name=self.name + '-web')
        self.source.compute.set_server_metadata(web, drift='yes')
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        execution, out = self.drill()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual({}, self.drill_resources(out['drill_id']))
        rto = out['summary']['rto_seconds']
        # A policy whose RPO the last checkpoint no longer meets (older than a minute).
        strict = dict(self.plan, policy={'name': 'silver', 'rpo_minutes': 1})
        age = time.time() - checkpoint.checkpoint_time(self.checkpoints.latest()).timestamp()
        if age < 61:
            time.sleep(61 - age)
        execution = self.run_workflow('draas.report.report', {'plans': [self.plan, strict]})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        report = self.output(execution)
        base.measured('report:\n' + report['table'])
        ok, violated = report['plans']
        self.assertEqual(out['drill_id'], ok['last_drill']['restore_id'])
        self.assertEqual(rto, ok['rto_seconds'])
        self.assertTrue(ok['rpo_ok'] and ok['rto_ok'] and ok['schedule_ok'], ok)
        self.assertEqual(len(self.checkpoints.list()), ok['checkpoints']['count'])
        self.assertEqual({'server': {'added': [], 'removed': [], 'changed': [
            self.name + '-web']}}, ok['drift'])
        self.assertFalse(violated['rpo_ok'])
        self.assertGreater(violated['rpo_seconds'], 60)
        self.assertEqual(1, report['violations'])
        self.assertIn('RPO VIOLATED', report['table'])
        # Silver checkpoints every 4 hours: a 1-minute RPO cannot hold between them.
        self.assertEqual((False, 4 * 3600), (violated['schedule_ok'],
                                             violated['schedule_gap_seconds']))
        self.assertIn('SCHEDULE GAP 4h00m > RPO', report['table'])
        # As a monitoring job: the same report fails the execution when asked to.
        execution = self.run_workflow('draas.report.report', {'plans': [strict],
                                                              'fail_on_violation': True})
        self.assertEqual('ERROR', execution.state)
        self.assert_no_secret(self.execution_texts('draas.drill.drill') +
                              self.execution_texts('draas.report.report'))
