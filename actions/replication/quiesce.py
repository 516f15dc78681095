"""Volume-backed servers whose image asks for the guest agent (hw_qemu_guest_agent): Nova's
own snapshot of the server (createImage) freezes the guest's filesystems through the agent,
snapshots every volume attached, then thaws the guest. draas takes those snapshots as the
volumes' (backed up or copied like the others) and deletes Nova's image, a bucket of
properties naming them (block_device_mapping).
"""
import json

from actions.replication import root_disks

AGENT = ('yes', 'true', '1')


def candidates(servers, volumes):
    """The running volume-backed servers (documents) whose boot volume's image asks for the
    guest agent and whose volumes are all among `volumes` (documents) to snapshot."""
    by_id = {v['id']: v for v in volumes}
    return [s for s in servers if s.get('status') == 'ACTIVE' and
            s.get('boot_volume_id') in by_id and
            str((by_id[s['boot_volume_id']].get('volume_image_metadata') or {}).get(
                'hw_qemu_guest_agent', '')).lower() in AGENT and
            all(v in by_id for v in s.get('volume_ids') or ())]


def start(source, servers, checkpoint_id, made):
    """Ask Nova to snapshot each server (it answers once its volumes' snapshots are
    requested, the guest frozen meanwhile; one at a time: each call holds its guest frozen);
    `made` ({server ID: Nova's image ID}) gets each at once."""
    return root_disks.start(source, servers, checkpoint_id, made, what='volumes', parallel=1)


def snapshots(source, images):
    """{volume ID: snapshot ID} of the volume snapshots Nova's images (IDs) name."""
    found = {}
    for image_id in images:
        # A raw GET: the property is JSON text openstacksdk leaves in `properties`.
        mapping = source.image.get('/images/' + image_id).json().get(
            'block_device_mapping') or '[]'
        for bdm in json.loads(mapping) if isinstance(mapping, str) else mapping:
            if bdm.get('snapshot_id'):
                snap = source.block_storage.get_snapshot(bdm['snapshot_id'])
                found[snap.volume_id] = snap.id
    return found
