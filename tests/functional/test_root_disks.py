"""Root disks of servers booted from an image (issue 19). First the lab's hypervisor
(tools/drlab/nova_driver.py): a server's root disk is a real file, Nova's snapshot of the
server uploads it, a quiesce-capable image gets a recorded freeze."""
import hashlib
import os
import tempfile
import time

import openstack

from tests.functional import base
from tests.functional import workload


def root_disk(site, server_id):
    """The lab hypervisor's root disk file of a server."""
    return os.path.join(workload.LAB, site, 'data', 'nova', 'instances', server_id, 'disk')


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
        path = root_disk('site-a', server.id)
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
        with open(os.path.join(os.path.dirname(root_disk('site-a', server.id)),
                               'freezes')) as f:
            lines = [line.split() for line in f]
        self.assertEqual(['frozen', 'thawed'], [what for what, _ in lines])
        frozen, thawed = (float(t) for _, t in lines)
        self.assertLessEqual(before, frozen)
        self.assertLessEqual(frozen, thawed)
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(
            root_disk('site-a', server.id)), 'frozen')))

    def test_deleting_a_server_deletes_its_root_disk(self):
        flavor = self.conn.compute.find_flavor('m1.tiny')
        net = self.conn.network.find_network(self.name + '-net')
        server = self.conn.compute.wait_for_server(self.conn.compute.create_server(
            name=self.name + '-gone', image_id=self.images['plain'].id, flavor_id=flavor.id,
            networks=[{'uuid': net.id}]), wait=120)
        self.assertTrue(os.path.exists(root_disk('site-a', server.id)))
        self.conn.compute.delete_server(server)
        self.conn.compute.wait_for_delete(server, wait=120)
        self.assertFalse(os.path.exists(os.path.dirname(root_disk('site-a', server.id))))
