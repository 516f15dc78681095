"""Tenant mode (issue 20): a project member's credentials at both sites, no admin anywhere:
the workload is made by the member, checkpointed into the member's own Swift account at the
recovery site, its volume data by the image method."""
import time

import openstack

from actions import checkpoint
from tests.functional import base
from tests.functional import workload

SOURCE, TARGET = 'site-a-demo', 'site-b-demo'  # members of project demo at each site


class TestTenantCheckpoints(base.FunctionalTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = 'tn-%x' % int(time.time())
        cls.sample = workload.create('site-a', cls.name, entry=SOURCE)
        cls.addClassCleanup(workload.delete, 'site-a', cls.name, SOURCE)
        cls.plan = {'name': cls.name, 'source': SOURCE, 'target': TARGET,
                    'scope': {'project': 'demo'},
                    'policy': {'name': 'silver', 'replication': 'image'}}
        cls.member = openstack.connect(cloud=TARGET)
        cls.checkpoints = checkpoint.Checkpoints(
            checkpoint.SwiftStore(cls.member, 'draas-checkpoints'), cls.name)
        cls.addClassCleanup(workload.delete_checkpoints, cls.checkpoints, SOURCE, TARGET)

    def create(self, plan=None):
        execution = self.run_workflow('draas.checkpoint.create', {'plan': plan or self.plan},
                                      timeout=600)
        return execution, self.output(execution)

    def test_1_the_backup_method_is_refused_before_anything_is_made(self):
        execution, _ = self.create(dict(self.plan, policy='silver'))
        self.assertEqual('ERROR', execution.state)
        self.assertIn(
            "plan.policy.replication: 'backup' needs admin credentials at both sites (Cinder "
            "exports and imports backup records for admins only), and site-a-demo and "
            "site-b-demo are a member's: use \"image\"", execution.state_info)
        self.assertEqual([], self.checkpoints.list())
        self.assertIsNone(self.checkpoints.store.get(self.name + '/lock'))

    def test_2_checkpoints_hold_the_workload_and_send_unchanged_data_once(self):
        execution, out = self.create()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertIn('Member credentials at site-a-demo: not protected: domains, groups, '
                      'role assignments, users.', out['outcome'])
        cid = out['checkpoint_id']
        manifest = self.checkpoints.verify(cid)
        self.assertEqual('member', manifest['mode'])
        self.assertEqual(self.sample['project'], manifest['project']['id'])
        counts = manifest['counts']
        for kind, n in {'server': 3, 'volume': 3, 'router': 1, 'floating_ip': 1,
                        'keypair': 1, 'server_group': 1, 'image': 1, 'project': 1}.items():
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

        execution, out = self.create()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        again = out['summary']['replicate']
        self.assertEqual((0, 0), (again['volume_bytes_copied'],
                                  again['root_disk_bytes_copied']))
        base.measured('tenant checkpoints (image method): first %s s, %d volume bytes, %d '
                      'root disk bytes; unchanged %s s, 0 bytes' % (
                          first['seconds'], first['volume_bytes_copied'],
                          first['root_disk_bytes_copied'], again['seconds']))
