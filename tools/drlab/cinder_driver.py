"""Cinder NFS driver of the lab: snapshots of attached volumes are taken by Cinder itself, and
group snapshots are consistent.

With a real hypervisor, Cinder's NFS driver asks Nova (assisted snapshots) to switch the guest
to the new qcow2 overlay of an attached volume. The lab's Nova runs its own fake virt driver:
no guest holds the files open, and it has no assisted-snapshot support, so the request would
time out after 10 minutes. Taking every snapshot the "offline" way is exact here.

An array with consistent group snapshots takes every volume of a group at one instant. The
lab's does so by taking the group's snapshots one after the other while holding the group
"frozen": it appends "<group snapshot ID> frozen <time>" and "... thawed <time>" to the file
group-snapshots of its export, so tests see the window every member was taken in. It reports
consistent_group_snapshot_enabled, so that group types asking for it
("<is> True") land here, and replication_enabled: the lab's array (storage_array.py) replicates
volumes of types asking for it, and the recovery site's Cinder manages a promoted replica (a
file of the export) with the remote file system drivers' own manage (their mixin, which
Cinder's NFS driver does not take). Loaded by the lab's cinder services as
volume_driver = draas_lab_cinder.LabNfsDriver.
"""
import os
import time

from cinder.volume.drivers import nfs
from cinder.volume.drivers import remotefs


class LabNfsDriver(remotefs.RemoteFSManageableVolumesMixin, nfs.NfsDriver):

    def _is_volume_attached(self, volume):
        return False

    def _update_volume_stats(self):
        super()._update_volume_stats()
        self._stats['consistent_group_snapshot_enabled'] = True
        # The site's array (storage_array.py) replicates volumes of types asking for it.
        self._stats['replication_enabled'] = True

    def _record(self, what):
        share = self._mounted_shares[0] if self._mounted_shares else None
        folder = self._get_mount_point_for_share(share) if share else '/tmp'
        with open(os.path.join(folder, 'group-snapshots'), 'a') as f:
            f.write('%s %.6f\n' % (what, time.time()))

    def create_group_snapshot(self, context, group_snapshot, snapshots):
        self._record('%s frozen' % group_snapshot.id)
        try:
            updates = [dict(self.create_snapshot(s) or {}, id=s.id, status='available')
                       for s in snapshots]
        finally:
            self._record('%s thawed' % group_snapshot.id)
        return {'status': 'available'}, updates

    def manage_existing(self, volume, existing_ref):
        # Cinder's manage, unlike its create, leaves the volume's service_uuid unset, and
        # Nova's attach of a volume with shared targets locks on it (and fails on None).
        # One host, one share: nothing to lock against.
        return dict(super().manage_existing(volume, existing_ref), shared_targets=False)

    def delete_group_snapshot(self, context, group_snapshot, snapshots):
        for snapshot in snapshots:
            self.delete_snapshot(snapshot)
        return ({'status': 'deleted'},
                [{'id': s.id, 'status': 'deleted'} for s in snapshots])
