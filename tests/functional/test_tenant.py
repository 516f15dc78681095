"""Tenant mode (issue 20): a project member's credentials at both sites, no admin anywhere,
and site-a's backups kept at site-a (lab: `tools/lab backups local site-a`), which site-b
cannot read: the backup method is refused; the member's data path works. The member makes
the workload (its servers of a private flavor site-b does not have),
checkpoints it into its own Swift account at the recovery site (volume data by the image
method), drills it, and fails it over with site-a stopped into its project at site-b."""
import time

import openstack

from actions import checkpoint
from actions import drill
from tests.functional import base
from tests.functional import workload

SOURCE, TARGET = 'site-a-demo', 'site-b-demo'  # members of project demo at each site


class TestTenantMode(base.FunctionalTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = 'tn-%x' % int(time.time())
        # site-a's cinder-backup keeps its backups at site-a: nothing is shared.
        base.lab('backups', 'local', 'site-a')
        cls.addClassCleanup(base.lab, 'backups', 'shared', 'site-a')
        # A flavor only the member's project may use at site-a; site-b has none like it.
        admin = openstack.connect(cloud='site-a')
        flavor = admin.compute.create_flavor(name=cls.name + '-flavor', vcpus=1, ram=1024,
                                             disk=2, is_public=False)
        cls.addClassCleanup(admin.compute.delete_flavor, flavor)
        member = openstack.connect(cloud=SOURCE)
        admin.compute.flavor_add_tenant_access(flavor, member.current_project_id)
        cls.addClassCleanup(workload.delete, 'site-a', cls.name, SOURCE)
        cls.addClassCleanup(workload.delete, 'site-b', cls.name, TARGET)
        cls.sample = workload.create('site-a', cls.name, entry=SOURCE, flavor=flavor.name)
        # What web's guest wrote to its root disk: the copies must hold it.
        cls.written = workload.content_for(cls.name + '-root-disk', 4096)
        with open(workload.root_disk('site-a', cls.sample['servers']['web']), 'r+b') as f:
            f.seek(8192)
            f.write(cls.written)
        cls.plan = {'name': cls.name, 'source': SOURCE, 'target': TARGET,
                    'scope': {'project': 'demo'},
                    'policy': {'name': 'silver', 'replication': 'image'}}
        cls.member = openstack.connect(cloud=TARGET)
        cls.checkpoints = checkpoint.Checkpoints(
            checkpoint.SwiftStore(cls.member, 'draas-checkpoints'), cls.name)
        cls.addClassCleanup(workload.delete_checkpoints, cls.checkpoints, SOURCE, TARGET)
        cls.addClassCleanup(drill.cleanup, cls.plan, min_age_minutes=0)

    def workflow(self, workflow, **inputs):
        execution = self.run_workflow(workflow, dict({'plan': self.plan}, **inputs),
                                      timeout=600)
        return execution, self.output(execution)

    def servers(self):
        return {s.name: s for s in self.member.compute.servers()}

    def test_0_backups_site_b_cannot_read_are_refused_with_the_reason(self):
        # Probed anew (the lab's cinder-backup was just reconfigured): site-b cannot read
        # site-a's backups.
        execution = self.run_workflow('draas.sites.check', {'sites': ['site-a', 'site-b'],
                                                            'reprobe': True})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        out = self.output(execution)
        probe = out['report']['data_paths']['site-a -> site-b']['backup']
        self.assertFalse(probe['readable'])
        self.assertTrue(probe['reason'].startswith(
            'importing the backup record at the recovery site: imported backup in error: '),
            probe['reason'])
        self.assertIn('cannot find backup service', probe['reason'])
        self.assertIn('Backups of site-a are NOT readable at site-b (%s): plans site-a -> '
                      'site-b use replication "image".' % probe['reason'], out['outcome'])
        # An admin's plan of the same project by backup: refused before anything is made.
        plan = {'name': self.name + '-admin', 'source': 'site-a', 'target': 'site-b',
                'scope': {'project': 'demo'}, 'policy': 'silver'}
        admin = checkpoint.Checkpoints(checkpoint.SwiftStore(
            openstack.connect(cloud='site-b'), 'draas-checkpoints'), plan['name'])
        execution = self.run_workflow('draas.checkpoint.create', {'plan': plan})
        self.assertEqual('ERROR', execution.state)
        self.assertIn("plan.policy.replication: 'backup' would not survive the loss of "
                      "site-a: site-b cannot read the backups site-a makes (probe of ",
                      execution.state_info)
        self.assertIn('Use "image" (volume snapshots uploaded to Glance and copied to '
                      'site-b\'s)', execution.state_info)
        self.assertEqual([], admin.list())
        self.assertIsNone(admin.store.get(plan['name'] + '/lock'))

    def test_1_the_backup_method_and_another_project_are_refused_before_anything(self):
        plan, self.plan = self.plan, dict(self.plan, policy='silver')
        self.addCleanup(setattr, self, 'plan', plan)
        execution, _ = self.workflow('draas.checkpoint.create')
        self.assertEqual('ERROR', execution.state)
        self.assertIn(
            "plan.policy.replication: 'backup' needs admin credentials at both sites (Cinder "
            "exports and imports backup records for admins only), and site-a-demo and "
            "site-b-demo are a member's: use \"image\"", execution.state_info)
        self.assertEqual([], self.checkpoints.list())
        self.assertIsNone(self.checkpoints.store.get(self.name + '/lock'))
        # Another project than the entry's: named, with the entry's.
        self.plan = dict(plan, scope={'project': 'admin'})
        execution, _ = self.workflow('draas.checkpoint.create')
        self.assertEqual('ERROR', execution.state)
        self.assertIn("scope.project: 'admin' is not the project of site-a-demo, whose "
                      "credentials are a member's of project 'demo'", execution.state_info)
        self.assertEqual([], self.checkpoints.list())

    def test_2_checkpoints_hold_the_workload_and_send_unchanged_data_once(self):
        # The first one's copies (image, root disks, volumes) read 256 KiB/s together,
        # two at once (options.transfer).
        rate, plan = 1 << 18, self.plan
        self.plan = dict(plan, options={'transfer': {'bytes_per_second': rate,
                                                     'streams': 2}})
        execution, out = self.workflow('draas.checkpoint.create')
        self.plan = plan
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertIn('Member credentials at site-a-demo: not protected: domains, groups, '
                      'role assignments, users.', out['outcome'])
        cid = out['checkpoint_id']
        manifest = self.checkpoints.verify(cid)
        self.assertEqual('member', manifest['mode'])
        self.assertEqual(self.sample['project'], manifest['project']['id'])
        counts = manifest['counts']
        for kind, n in {'server': 3, 'volume': 3, 'router': 1, 'floating_ip': 1,
                        'keypair': 1, 'server_group': 1, 'image': 1, 'project': 1,
                        'flavor': 1}.items():
            self.assertEqual(n, counts.get(kind), kind)
        for kind in ('user', 'role_assignment', 'domain', 'group'):
            self.assertNotIn(kind, counts)
        data = self.checkpoints.get_part(cid, 'data', manifest['parts']['data'])
        # Every copy is the member's own, in its project at the recovery site.
        copies = [v['image_id'] for v in data['volumes'].values()] + [
            r['target_id'] for r in data['root_disks'].values() if 'target_id' in r]
        self.assertEqual(5, len(copies))  # 3 volumes, the root disks of web and app
        for image_id in copies:
            self.assertEqual(self.member.current_project_id,
                             self.member.image.get_image(image_id).owner)
        first = out['summary']['replicate']
        self.assertGreater(first['volume_bytes_copied'], 0)
        self.assertGreater(first['root_disk_bytes_copied'], 0)
        sent = sum(first[k] for k in ('image_bytes_copied', 'root_disk_bytes_copied',
                                      'volume_bytes_copied'))
        # Each chunk (at most 1 MiB) waits for those before it: all but the last at `rate`.
        self.assertGreaterEqual(first['seconds'], (sent - (1 << 20)) / rate)
        base.measured('tenant checkpoint at %d bytes/s, 2 streams: %d bytes in %s s' % (
            rate, sent, first['seconds']))

        execution, out = self.workflow('draas.checkpoint.create')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        again = out['summary']['replicate']
        self.assertEqual((0, 0), (again['volume_bytes_copied'],
                                  again['root_disk_bytes_copied']))
        base.measured('tenant checkpoints (image method): first %s s, %d volume bytes, %d '
                      'root disk bytes; unchanged %s s, 0 bytes' % (
                          first['seconds'], first['volume_bytes_copied'],
                          first['root_disk_bytes_copied'], again['seconds']))

    def test_3_a_drill_beside_nothing_of_production_then_cleanup(self):
        before = set(self.servers())
        execution, out = self.workflow('draas.drill.drill')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        preview = out['preflight']['preview']
        self.assertEqual("use project demo (of site-b-demo, whose credentials are a "
                         "member's: no project, user, flavor or quota is made or changed)",
                         preview[0])
        self.assertIn('use flavor m1.small for %s-flavor' % self.name, preview)
        self.assertEqual([], out['summary']['fidelity']['differences'])
        self.assertTrue(out['cleanup']['cleaned'], out['cleanup'])
        # Its bubble is gone; the project and its default security group stay.
        self.assertEqual(before, set(self.servers()))
        left = [g.name for g in self.member.network.security_groups(
            project_id=self.member.current_project_id)]
        self.assertEqual(['default'], left)

    def test_4_failover_with_site_a_stopped_into_the_members_project(self):
        # A flavor mapped to one the member may not use stops the dry run, naming both.
        plan, self.plan = self.plan, dict(self.plan, options={'restore': {'flavors': {
            self.name + '-flavor': 'm9.nowhere'}}})
        execution, _ = self.workflow('draas.failover.failover', dry_run=True)
        self.plan = plan
        self.assertEqual('ERROR', execution.state)
        self.assertIn("flavor 'm9.nowhere' (mapped from '%s-flavor') is not a flavor "
                      "site-b-demo may use" % self.name, execution.state_info)
        # A project without the quota for it (its admin gave it 2 servers), named.
        admin = openstack.connect(cloud='site-b')
        limit = admin.compute.get_quota_set(self.member.current_project_id).instances
        admin.compute.update_quota_set(self.member.current_project_id, instances=2)
        try:
            execution, _ = self.workflow('draas.failover.failover', dry_run=True)
        finally:
            admin.compute.update_quota_set(self.member.current_project_id, instances=limit)
        self.assertEqual('ERROR', execution.state)
        self.assertIn('compute quota instances of the project on site-b-demo: 3 needed, 0 of '
                      '2 in use', execution.state_info)

        self.addCleanup(base.lab, 'up')
        base.lab('stop-site', 'site-a')
        execution, out = self.workflow('draas.failover.failover')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        summary = out['summary']
        self.assertEqual([], summary['fidelity']['differences'])
        self.assertEqual([], summary['users_to_enable'])
        servers = self.servers()
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        self.assertEqual({'m1.small'}, {s.flavor['original_name'] for s in servers.values()})
        web = servers[self.name + '-web']
        with open(workload.root_disk('site-b', web.id), 'rb') as f:
            f.seek(8192)
            self.assertEqual(self.written, f.read(4096))
        data = [v for v in self.member.block_storage.volumes() if '-data-' in v.name]
        self.assertEqual(2, len(data))
        for vol in data:
            with open(workload.backing_file('site-b', vol.id), 'rb') as f:
                self.assertEqual(workload.content_for(vol.name), f.read(1 << 20), vol.name)
        base.measured('tenant failover with site-a stopped: RTO %.1f s' % (
            summary['rto_seconds']))
