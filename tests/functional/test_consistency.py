"""Consistency a checkpoint names per server (issue 19): a quiesce-capable server (its image
has hw_qemu_guest_agent; the lab's hypervisor records the freeze), and a plan's hook
workflows run through Mistral around the snapshots: in order, the post-hook also after a
failure, nothing of a failed run left behind."""
import json
import os
import tempfile

import openstack

from tests.functional import base
from tests.functional import test_failover
from tests.functional import workload

HOOK = '''---
version: '2.0'
%(name)s:
  input: [label, checkpoint_id]
  tasks:
    stamp:
      action: std.echo output=<%% now(utctz()).timestamp %%>
      publish:
        at: <%% task().result %%>
  output:
    at: <%% $.at %%>
    label: <%% $.label %%>
    checkpoint_id: <%% $.checkpoint_id %%>
'''
FAILING = '''---
version: '2.0'
%(name)s:
  tasks:
    refuse:
      action: std.fail error_data="the database refused to flush"
'''


class TestConsistencyThroughMistral(test_failover.FailoverTestCase):
    """The sample workload (web boots from an image; app from an image with a volume; db
    from a volume with another, both in a Cinder group of a type asking for consistent
    group snapshots: the lab's Cinder driver takes them in a recorded window) and agent,
    booted from an image asking for the guest agent."""
    prefix = 'cons'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        conn = workload.project_conn('site-a', cls.name)
        with tempfile.NamedTemporaryFile(suffix='.raw') as f:
            f.write(workload.content_for(cls.name + '-agent', 1 << 20))
            f.flush()
            image = conn.image.create_image(
                name=cls.name + '-agent', filename=f.name, disk_format='raw',
                container_format='bare', wait=True, hw_qemu_guest_agent='yes')
        net = conn.network.find_network(cls.name + '-front')
        flavor = conn.compute.find_flavor('m1.tiny')
        cls.agent = conn.compute.create_server(
            name=cls.name + '-agent', image_id=image.id, networks=[{'uuid': net.id}],
            flavor_id=flavor.id)
        # vault boots from a volume of that image: Nova quiesces it for its own snapshot.
        boot = conn.block_storage.create_volume(size=1, image_id=image.id,
                                                name=cls.name + '-vault-boot')
        workload.wait_status(lambda: conn.block_storage.get_volume(boot.id), 'available',
                             what='volume')
        cls.vault = conn.compute.create_server(
            name=cls.name + '-vault', networks=[{'uuid': net.id}], flavor_id=flavor.id,
            block_device_mapping_v2=[{'boot_index': 0, 'uuid': boot.id,
                                      'source_type': 'volume', 'destination_type': 'volume',
                                      'delete_on_termination': False}])
        cls.agent, cls.vault = (conn.compute.wait_for_server(s, wait=120)
                                for s in (cls.agent, cls.vault))
        cls.group = cls.db_in_a_consistent_group()
        cls.hooks = {}
        for when, text in (('pre', HOOK), ('post', HOOK), ('fail', FAILING)):
            name = '%s.%s' % (cls.name, when)
            cls.mistral.workflows.create(text % {'name': name})
            cls.addClassCleanup(cls.mistral.workflows.delete, name)
            cls.hooks[when] = name

    @classmethod
    def db_in_a_consistent_group(cls):
        admin = openstack.connect(cloud='site-a')
        db = [cls.sample['boot_volume'], cls.sample['data_volumes'][cls.name + '-data-2']]
        vtype = admin.block_storage.find_type(
            admin.block_storage.get_volume(db[0]).volume_type)
        gtype = admin.block_storage.create_group_type(
            name=cls.name + '-consistent',
            group_specs={'consistent_group_snapshot_enabled': '<is> True'})
        cls.addClassCleanup(admin.block_storage.delete_group_type, gtype)
        conn = workload.project_conn('site-a', cls.name)
        group = conn.block_storage.create_group(name=cls.name + '-db', group_type=gtype.id,
                                                volume_types=[vtype.id])
        workload.wait_status(lambda: conn.block_storage.get_group(group.id), 'available',
                             what='group')

        def ungroup():  # the workload's volumes delete only out of their group
            conn.block_storage.update_group(group.id, remove_volumes=','.join(db))
            workload.wait_status(lambda: conn.block_storage.get_group(group.id),
                                 'available', what='group')
            conn.block_storage.delete_group(group.id, delete_volumes=False)
            # its type deletes only once it is gone
            conn.block_storage.wait_for_delete(group, wait=120)
        cls.addClassCleanup(ungroup)
        conn.block_storage.update_group(group.id, add_volumes=','.join(db))
        workload.wait_status(lambda: conn.block_storage.get_group(group.id), 'available',
                             what='group')
        return group

    def checkpoint(self, **options):
        plan = dict(self.plan, options=options)
        return self.run_workflow('draas.checkpoint.create', {'plan': plan}, timeout=600)

    def hook_runs(self, when):
        """The outputs of the runs of a hook workflow, oldest first."""
        runs = sorted(self.mistral.executions.list(workflow_name=self.hooks[when]),
                      key=lambda e: e.created_at)
        return [(e.state, json.loads(self.mistral.executions.get(e.id).output or '{}'))
                for e in runs]

    def data(self, checkpoint_id):
        return self.checkpoints.get_part(checkpoint_id, 'data')

    def assert_nothing_left(self, execution):
        """A failed run: no checkpoint, no parts, no (group) snapshot or image of it, plan
        free."""
        cid = self.output(execution)['checkpoint_id']
        self.assertNotIn(cid, self.checkpoints.list())
        self.assertEqual([], self.checkpoints.store.list('%s/%s/' % (self.name, cid)))
        source = workload.project_conn('site-a', self.name)
        self.assertEqual([], [s.name for s in source.block_storage.snapshots()
                              if cid in s.name and s.status != 'deleting'])
        self.assertEqual([], [i.name for i in source.image.images() if cid in i.name])
        self.assertEqual([], [g.name for g in source.block_storage.group_snapshots()
                              if cid in g.name and g.status != 'deleting'])
        return cid

    def test_1_each_server_gets_the_level_it_reached(self):
        execution = self.checkpoint()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        out = self.output(execution)
        cid = out['checkpoint_id']
        consistency = self.data(cid)['consistency']
        levels = {d['name'][len(self.name) + 1:]: d['level']
                  for d in consistency['servers'].values()}
        self.assertEqual({'agent': 'application-consistent', 'web': 'crash-consistent',
                          'app': 'per-volume', 'db': 'crash-consistent-group',
                          'vault': 'application-consistent'}, levels,
                         consistency['servers'])
        self.assertEqual('per-volume', consistency['level'])
        self.assertIn('Consistency: per-volume (servers: 2 application-consistent, '
                      '1 crash-consistent, 1 crash-consistent-group, 1 per-volume).',
                      out['outcome'])
        # Nova froze vault for its snapshot, within the snapshot step; its image is gone.
        with open(os.path.join(workload.LAB, 'site-a', 'data', 'nova', 'instances',
                               self.vault.id, 'freezes')) as f:
            (frozen, at), (thawed, until) = [line.split() for line in f][-2:]
        self.assertEqual(('frozen', 'thawed'), (frozen, thawed))
        self.assertLessEqual(consistency['snapshots_requested_from'], float(at))
        source = workload.project_conn('site-a', self.name)
        self.assertEqual([], [i.name for i in source.image.images() if cid in i.name])
        self.assertEqual([], [s.name for s in source.block_storage.snapshots()
                              if s.status != 'deleting'])
        # db's volumes were taken in one group snapshot, in the array's window.
        how = [d['how'] for d in consistency['servers'].values()
               if d['name'] == self.name + '-db'][0]
        group_snapshot = how.split()[-1]
        with open(os.path.join(workload.LAB, 'site-a', 'data', 'cinder', 'nfs-export',
                               'group-snapshots')) as f:
            window = [line.split() for line in f if line.startswith(group_snapshot)]
        self.assertEqual(['frozen', 'thawed'], [w[1] for w in window])
        source = workload.project_conn('site-a', self.name)
        self.assertIsNone(source.block_storage.find_group_snapshot(group_snapshot,
                                                                   ignore_missing=True))
        # The guest agent's freeze fell inside the snapshot step.
        with open(os.path.join(os.path.dirname(workload.root_disk(
                'site-a', self.agent.id)), 'freezes')) as f:
            (frozen, at), (thawed, until) = [line.split() for line in f][-2:]
        self.assertEqual(('frozen', 'thawed'), (frozen, thawed))
        self.assertLessEqual(consistency['snapshots_requested_from'], float(at))
        self.assertLessEqual(float(until), consistency['snapshots_captured_at'])
        # The report shows it.
        execution = self.run_workflow('draas.report.report', {'plans': [self.plan]})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        last = self.output(execution)['plans'][0]['last_checkpoint']
        self.assertEqual(('per-volume', 'application-consistent'), (
            last['consistency'], last['servers'][self.name + '-agent']))

    def test_2_hooks_run_around_the_snapshots(self):
        execution = self.checkpoint(hooks={
            'pre': {'workflow': self.hooks['pre'], 'input': {'label': 'flush'}},
            'post': {'workflow': self.hooks['post'], 'input': {'label': 'thaw'}},
            'freeze_seconds': 120})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        cid = self.output(execution)['checkpoint_id']
        consistency = self.data(cid)['consistency']
        (pre_state, pre), = self.hook_runs('pre')
        (post_state, post), = self.hook_runs('post')
        self.assertEqual(('SUCCESS', 'flush', cid), (pre_state, pre['label'],
                                                     pre['checkpoint_id']))
        self.assertEqual(('SUCCESS', 'thaw'), (post_state, post['label']))
        # In order: the pre-hook, the snapshots, the post-hook.
        self.assertLess(pre['at'], consistency['snapshots_requested_from'])
        self.assertLess(consistency['snapshots_captured_at'], post['at'])
        self.assertLessEqual(pre['at'], consistency['hooks']['pre']['finished_at'])
        # Frozen from the pre-hook's end to the post-hook's, within the window.
        self.assertLess(0, consistency['frozen_seconds'])
        self.assertLess(consistency['frozen_seconds'], 120)
        base.measured('hooks: application frozen %.1f s, snapshot step %.1f s' % (
            consistency['frozen_seconds'], self.output(execution)['summary']['snapshot'][
                'seconds']))
        self.assertEqual({'application-consistent'},
                         {d['level'] for d in consistency['servers'].values()})

    def test_3_a_failing_pre_hook_aborts_and_the_post_hook_still_thaws(self):
        runs = len(self.hook_runs('post'))
        execution = self.checkpoint(hooks={
            'pre': {'workflow': self.hooks['fail']},
            'post': {'workflow': self.hooks['post'], 'input': {'label': 'thaw'}}})
        self.assertEqual('ERROR', execution.state)
        self.assertTrue(execution.state_info.startswith(
            'pre-hook workflow %s failed' % self.hooks['fail']), execution.state_info)
        self.assertIn('the database refused to flush', execution.state_info)
        self.assertEqual(runs + 1, len(self.hook_runs('post')))
        self.assert_nothing_left(execution)

    def test_4_a_failed_snapshot_names_its_server_thaws_and_leaves_nothing(self):
        disk = workload.root_disk('site-a', self.sample['servers']['web'])
        os.rename(disk, disk + '.aside')  # a directory in its place: the copy fails
        os.mkdir(disk)

        def put_back():
            os.rmdir(disk)
            os.rename(disk + '.aside', disk)
        self.addCleanup(put_back)
        runs = len(self.hook_runs('post'))
        execution = self.checkpoint(hooks={
            'pre': {'workflow': self.hooks['pre'], 'input': {'label': 'flush'}},
            'post': {'workflow': self.hooks['post'], 'input': {'label': 'thaw'}}})
        self.assertEqual('ERROR', execution.state)
        self.assertIn("server '%s-web' (%s): Nova could not snapshot its root disk" % (
            self.name, self.sample['servers']['web']), execution.state_info)
        self.assertEqual(runs + 1, len(self.hook_runs('post')))
        self.assert_nothing_left(execution)

    def test_5_a_missing_hook_or_other_inputs_fail_before_anything(self):
        before = self.checkpoints.list()
        execution = self.checkpoint(hooks={
            'pre': {'workflow': self.name + '.nope'},
            'post': {'workflow': self.hooks['post'], 'input': {'lable': 'thaw'}}})
        self.assertEqual('ERROR', execution.state)
        self.assertEqual(
            "plan '%s': pre-hook: there is no Mistral workflow '%s.nope' (openstack workflow "
            "list); post-hook workflow '%s' takes inputs checkpoint_id, label; not lable; "
            "missing label" % (self.name, self.name, self.hooks['post']),
            execution.state_info.splitlines()[0])
        self.assertIsNone(self.output(execution)['checkpoint_id'])  # no lock was taken
        self.assertEqual(before, self.checkpoints.list())
        execution = self.checkpoint(hooks={'post': {'workflow': self.hooks['post'], 'input': {
            'label': 'x'}}, 'freeze_seconds': 601})
        self.assertEqual('ERROR', execution.state)
        self.assertIn('plan.options.hooks.freeze_seconds: expected seconds (1-600)',
                      execution.state_info)


    def test_6_a_shelved_server_keeps_what_its_guest_wrote(self):
        written = workload.content_for(self.name + '-before-shelving', 4096)
        with open(workload.root_disk('site-a', self.agent.id), 'r+b') as f:
            f.seek(8192)
            f.write(written)
        conn = workload.project_conn('site-a', self.name)
        conn.compute.shelve_server(self.agent)
        conn.compute.wait_for_server(self.agent, status='SHELVED_OFFLOADED', wait=120)
        execution = self.checkpoint()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        root = self.data(self.output(execution)['checkpoint_id'])['root_disks'][self.agent.id]
        copy = b''.join(self.target.image.download_image(self.target.image.get_image(
            root['target_id']), stream=True).iter_content(1 << 20))
        self.assertEqual(written, copy[8192:8192 + 4096])
        # Nova's shelve image stays: unshelving needs it.
        self.assertEqual(1, len([i for i in conn.image.images()
                                 if i.name == self.name + '-agent-shelved']))
