"""Nova virt driver of the lab: Nova's fake driver with a real root disk per server.

A server booted from an image gets the file <instances_path>/<uuid>/disk, a copy of its
image's bytes, that tests write to as its guest would. Nova's snapshot of the server
(createImage) uploads that file to Glance, as libvirt uploads the guest's disk. Quiescing (an
image with hw_qemu_guest_agent, as libvirt asks the guest agent to fsfreeze) holds the file
<uuid>/frozen while the disk is read and appends "frozen <time>" and "thawed <time>" to
<uuid>/freezes, so tests see the freeze window and that writes waited for it. A
volume-backed server has no root disk file. Loaded by the lab's nova-compute as
compute_driver = draas_lab.LabDriver (copied into nova/virt/ as
draas_lab.py: Nova loads drivers from there only).
"""
import os
import shutil
import time

from nova.compute import task_states
from nova.compute import utils as compute_utils
import nova.conf
from nova import exception
from nova.image import glance
from nova.virt import fake

CONF = nova.conf.CONF


class LabDriver(fake.FakeDriverWithoutFakeNodes):

    @staticmethod
    def _dir(instance):
        return os.path.join(CONF.instances_path, instance.uuid)

    def _disk(self, instance):
        return os.path.join(self._dir(instance), 'disk')

    def spawn(self, context, instance, image_meta, injected_files, admin_password,
              allocations, network_info=None, block_device_info=None, power_on=True,
              accel_info=None):
        super().spawn(context, instance, image_meta, injected_files, admin_password,
                      allocations, network_info, block_device_info, power_on, accel_info)
        disk = self._disk(instance)
        # A reboot spawns again: the disk keeps what the guest wrote.
        if os.path.exists(disk) or compute_utils.is_volume_backed_instance(context, instance):
            return
        os.makedirs(self._dir(instance), exist_ok=True)
        glance.API().download(context, instance.image_ref, dest_path=disk + '.part')
        os.rename(disk + '.part', disk)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        super().destroy(context, instance, network_info, block_device_info, destroy_disks,
                        destroy_secrets)
        if destroy_disks:
            shutil.rmtree(self._dir(instance), ignore_errors=True)

    def _record(self, instance, what):
        with open(os.path.join(self._dir(instance), 'freezes'), 'a') as f:
            f.write('%s %.6f\n' % (what, time.time()))

    def quiesce(self, context, instance, image_meta):
        if not image_meta.properties.get('hw_qemu_guest_agent', False):
            raise exception.QemuGuestAgentNotEnabled()
        os.makedirs(self._dir(instance), exist_ok=True)
        open(os.path.join(self._dir(instance), 'frozen'), 'w').close()
        self._record(instance, 'frozen')

    def unquiesce(self, context, instance, image_meta):
        if not image_meta.properties.get('hw_qemu_guest_agent', False):
            raise exception.QemuGuestAgentNotEnabled()
        self._record(instance, 'thawed')
        try:
            os.unlink(os.path.join(self._dir(instance), 'frozen'))
        except FileNotFoundError:
            pass

    def snapshot(self, context, instance, image_id, update_task_state):
        # Not the fake driver's check of its in-memory servers (empty after a restart of
        # nova-compute): the disk file is what a snapshot reads.
        disk = self._disk(instance)
        if not os.path.exists(disk):
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        image_meta = instance.image_meta
        # As libvirt: quiesce when the guest agent is there; fail when required but absent.
        quiesce = bool(image_meta.properties.get('hw_qemu_guest_agent', False))
        if not quiesce and image_meta.properties.get('os_require_quiesce', False):
            raise exception.QemuGuestAgentNotEnabled()
        copy = os.path.join(self._dir(instance), 'snapshot-' + image_id)
        if quiesce:
            self.quiesce(context, instance, image_meta)
        try:
            shutil.copyfile(disk, copy)
        finally:
            if quiesce:
                self.unquiesce(context, instance, image_meta)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        try:
            with open(copy, 'rb') as data:
                glance.API().update(context, image_id,
                                    {'disk_format': 'raw', 'container_format': 'bare'},
                                    data=data)
        finally:
            os.unlink(copy)
