"""Root disks of servers booted from an image (issue 19): the lab's hypervisor
(tools/drlab/nova_driver.py) keeps a real file per root disk, Nova's snapshot of the server
uploads it, a quiesce-capable image gets a recorded freeze; checkpoints keep what guests
wrote there and restores bring it back."""
import hashlib
import os
import tempfile
import time

import openstack

from tests.functional import base
from tests.functional import test_failover
from tests.functional import workload


class TestLabHypervisor(base.FunctionalTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = 'rd-%x' % int(time.time())
        cls.admin = openstack.connect(cloud='site-a')
        project = cls.admin.identity.create_project(name=cls.name, domain_id='default')
        cls.addClassCleanup(workload.delete, 'site-a', cls.name)
        me = cls.admin.identity.find_user(cls.admin.current_user_id)
        cls.admin.identity.assign_project_role_to_user(
            project, me, cls.admin.identity.find_role('member'))
        cls.conn = workload.project_conn('site-a', cls.name)
        cls.base_bytes = workload.content_for(cls.name + '-base', 1 << 20)
        cls.images = {}
        for kind, properties in (('plain', {}), ('agent', {'hw_qemu_guest_agent': 'yes'})):
            with tempfile.NamedTemporaryFile(suffix='.raw') as f:
                f.write(cls.base_bytes)
                f.flush()
                cls.images[kind] = cls.conn.image.create_image(
                    name='%s-%s' % (cls.name, kind), filename=f.name, disk_format='raw',
                    container_format='bare', wait=True, **properties)
        net = cls.conn.network.create_network(name=cls.name + '-net')
        cls.conn.network.create_subnet(network_id=net.id, ip_version=4, cidr='10.9.0.0/24')
        flavor = cls.conn.compute.find_flavor('m1.tiny')
        cls.servers = {kind: cls.conn.compute.create_server(
            name='%s-%s' % (cls.name, kind), image_id=image.id, flavor_id=flavor.id,
            networks=[{'uuid': net.id}]) for kind, image in cls.images.items()}
        cls.servers = {kind: cls.conn.compute.wait_for_server(s, wait=120)
                       for kind, s in cls.servers.items()}

    def snapshot(self, server):
        image_id = self.conn.compute.create_server_image(server, self.name + '-snap')
        self.addCleanup(self.conn.image.delete_image, image_id, ignore_missing=True)
        image = self.conn.image.wait_for_status(self.conn.image.get_image(image_id),
                                                'active', wait=120)
        return b''.join(self.conn.image.download_image(image, stream=True).iter_content(
            1 << 20))

    def test_a_root_disk_is_its_image_then_what_the_guest_wrote(self):
        server = self.servers['plain']
        path = workload.root_disk('site-a', server.id)
        with open(path, 'rb') as f:
            self.assertEqual(self.base_bytes, f.read())
        written = b'written after boot by ' + self.name.encode()
        with open(path, 'r+b') as f:
            f.seek(4096)
            f.write(written)
        data = self.snapshot(server)
        self.assertEqual(written, data[4096:4096 + len(written)])
        self.assertEqual(len(self.base_bytes), len(data))
        # A plain image is not quiesced: no freeze recorded.
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(path), 'freezes')))

    def test_a_guest_agent_image_is_frozen_while_its_disk_is_read(self):
        server = self.servers['agent']
        before = time.time()
        data = self.snapshot(server)
        self.assertEqual(hashlib.sha256(self.base_bytes).hexdigest(),
                         hashlib.sha256(data).hexdigest())
        with open(os.path.join(os.path.dirname(workload.root_disk('site-a', server.id)),
                               'freezes')) as f:
            lines = [line.split() for line in f]
        self.assertEqual(['frozen', 'thawed'], [what for what, _ in lines])
        frozen, thawed = (float(t) for _, t in lines)
        self.assertLessEqual(before, frozen)
        self.assertLessEqual(frozen, thawed)
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(
            workload.root_disk('site-a', server.id)), 'frozen')))

    def test_deleting_a_server_deletes_its_root_disk(self):
        flavor = self.conn.compute.find_flavor('m1.tiny')
        net = self.conn.network.find_network(self.name + '-net')
        server = self.conn.compute.wait_for_server(self.conn.compute.create_server(
            name=self.name + '-gone', image_id=self.images['plain'].id, flavor_id=flavor.id,
            networks=[{'uuid': net.id}]), wait=120)
        self.assertTrue(os.path.exists(workload.root_disk('site-a', server.id)))
        self.conn.compute.delete_server(server)
        self.conn.compute.wait_for_delete(server, wait=120)
        self.assertFalse(os.path.exists(os.path.dirname(
            workload.root_disk('site-a', server.id))))


class TestRootDisksThroughMistral(test_failover.FailoverTestCase):
    """The sample workload (web and app boot from an image, db from a volume); web's root
    disk gets known bytes after boot; app is declared stateless."""
    prefix = 'rdm'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan['options'] = {'root_disks': {cls.name + '-app': 'base_image'}}
        cls.written = workload.content_for(cls.name + '-written-after-boot', 4096)
        for tier in ('web', 'app'):
            with open(workload.root_disk('site-a', cls.sample['servers'][tier]), 'r+b') as f:
                f.seek(8192)
                f.write(cls.written)

    def checkpoint(self):
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        return self.output(execution)

    def test_restored_root_disks_hold_what_the_guest_wrote_unless_stateless(self):
        first = self.checkpoint()['summary']['replicate']
        self.assertEqual(1, first['root_disks'])  # web only: app is stateless, db has none
        self.assertEqual(1 << 20, first['root_disk_bytes_copied'])
        again = self.checkpoint()['summary']['replicate']
        base.measured('root disks: first checkpoint %d bytes, unchanged again %d bytes' % (
            first['root_disk_bytes_copied'], again['root_disk_bytes_copied']))
        self.assertEqual(0, again['root_disk_bytes_copied'])

        execution = self.run_workflow('draas.failover.failover',
                                      {'plan': self.plan, 'dry_run': True})
        preview = self.output(execution)['preflight']['preview']
        self.assertIn('boot server %s-web from its root disk as checkpointed' % self.name,
                      preview)
        self.assertIn("boot server %s-app from its base image (root_disk base_image: its "
                      "root disk's writes are not kept)" % self.name, preview)

        execution = self.run_workflow('draas.drill.drill', {'plan': self.plan, 'keep': True},
                                      timeout=600)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        drill_id = self.output(execution)['drill_id']
        self.addCleanup(self.run_workflow, 'draas.drill.cleanup',
                        {'plan': self.plan, 'drill_id': drill_id})
        servers = {s.name[len(self.name) + 1:-len(drill_id) - 1]: s for s in
                   self.target.compute.servers(all_projects=True,
                                               tags='draas-restore=' + drill_id)}
        image = workload.content_for(self.name + '-image', 1 << 20)
        for tier, expected in (('web', self.written), ('app', image[8192:8192 + 4096])):
            with open(workload.root_disk('site-b', servers[tier].id), 'rb') as f:
                f.seek(8192)
                self.assertEqual(expected, f.read(4096), tier)
