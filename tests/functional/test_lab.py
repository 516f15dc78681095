"""The lab itself: what later DR tests rely on, proven on the running services."""
import time

import openstack

from tests.functional import base
from tests.functional.workload import backing_file
from tests.functional.workload import content_for
from tests.functional.workload import wait_status


class TestCrossSiteBackup(base.FunctionalTestCase):
    """A backup taken on site-a lives in the vault at site-b and restores there with
    site-a gone; the lab's site-loss switch stops every site-a process."""

    def test_backup_restores_on_site_b_with_site_a_stopped(self):
        a = openstack.connect(cloud='site-a')
        name = 'lab-backup-%d' % time.time()
        vol = a.block_storage.create_volume(size=1, name=name)
        self.addCleanup(a.block_storage.delete_volume, vol, ignore_missing=True)
        vol = wait_status(lambda: a.block_storage.get_volume(vol.id), 'available')
        content = content_for(name)
        with open(backing_file('site-a', vol.id), 'r+b') as f:
            f.write(content)
        backup = a.block_storage.create_backup(volume_id=vol.id, name=name)
        self.addCleanup(a.block_storage.delete_backup, backup, ignore_missing=True)
        backup = wait_status(lambda: a.block_storage.get_backup(backup.id), 'available')
        record = a.block_storage.export_backup(backup)['backup-record']

        base.lab('stop-site', 'site-a')
        self.addCleanup(base.lab, 'up')
        execution = self.run_workflow('draas.sites.check',
                                      {'sites': ['site-a', 'site-b'], 'require_healthy': False})
        report = self.output(execution)['report']
        self.assertFalse(report['sites']['site-a']['healthy'])
        self.assertTrue(report['sites']['site-b']['healthy'])
        self.assertIn("site 'site-a': identity: unreachable", report['problems'][0])

        b = openstack.connect(cloud='site-b')
        # Not block_storage.import_backup(): openstacksdk 4.22 posts it to the wrong URL.
        resp = b.block_storage.post('/backups/import_record', json={'backup-record': record})
        self.assertEqual(201, resp.status_code, resp.text)
        imported = resp.json()['backup']['id']
        self.addCleanup(b.block_storage.delete_backup, imported, ignore_missing=True)
        wait_status(lambda: b.block_storage.get_backup(imported), 'available')
        b.block_storage.restore_backup(imported, name=name)
        restored = None
        deadline = time.monotonic() + 120
        while restored is None or restored.status != 'available':
            self.assertLess(time.monotonic(), deadline, 'restore did not finish')
            time.sleep(1)
            restored = b.block_storage.find_volume(name)
        self.addCleanup(b.block_storage.delete_volume, restored, ignore_missing=True)
        with open(backing_file('site-b', restored.id), 'rb') as f:
            self.assertEqual(content, f.read(len(content)))
