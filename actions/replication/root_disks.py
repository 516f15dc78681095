"""Root disks of servers booted from an image: what their guests wrote since boot.

A server's root disk is snapshotted by Nova (createImage, as an operator would: Nova quiesces
the guest when its image has hw_qemu_guest_agent), the snapshot copied to the recovery site as
images are (actions/replication/images.py: not again when a copy with its hash is there), and
the source snapshot deleted. A restore boots the server from that copy. With root_disk
"base_image" a server is stateless: it boots from its base image and its root disk's writes
are lost, as the preflight says.

Which servers: options.root_disks {server name: mode} of the plan, else the server's tag
"draas-root-disk=<mode>", else options.root_disk (default "snapshot"). Volume-backed servers
have no root disk here: their boot volume is a volume.
"""
import concurrent.futures

from actions import errors
from actions import waits
from actions.replication import images as images_mod
from actions.resources import image as image_kind

MODES = ('snapshot', 'base_image')
TAG = 'draas-root-disk='
PARALLEL = 4  # Nova takes at most max_concurrent_snapshots (5) at once per compute node


class RootDiskError(errors.DraasError):
    pass


def mode(plan, server):
    """'snapshot' or 'base_image' for a server document booted from an image, else None."""
    if server.get('boot_volume_id') or not server.get('image_id'):
        return None
    named = plan['options'].get('root_disks', {}).get(server['name'])
    tagged = [t[len(TAG):] for t in server.get('tags') or () if t.startswith(TAG)]
    return named or (tagged[0] if tagged and tagged[0] in MODES else None) or \
        plan['options'].get('root_disk', 'snapshot')


def _snapshot_doc(image):
    """A Nova snapshot as a checkpoint document of an image (what images.copy_image takes)."""
    return {'id': image.id, 'name': image.name, 'disk_format': image.disk_format,
            'container_format': image.container_format, 'min_disk': image.min_disk,
            'min_ram': image.min_ram, 'tags': list(image.tags or ()),
            'hash_algo': image.hash_algo, 'hash_value': image.hash_value,
            'properties': image_kind.image_properties(image)}


def snapshot_one(source, target, server, owner, checkpoint_id, timeout=600):
    """Snapshot one server's root disk, copy it, delete the source snapshot; returns
    {mode, name, target_id, hash_value, bytes_copied, server_updated_at, quiesced (its image
    asks Nova to quiesce: hw_qemu_guest_agent)}."""
    try:
        image = source.compute.create_server_image(
            server['id'], name='draas-%s-%s' % (checkpoint_id, server['name'])[:255],
            metadata={'draas_checkpoint': checkpoint_id}, wait=True, timeout=timeout)
    except Exception as exc:
        raise RootDiskError('server %r (%s): Nova could not snapshot its root disk: %s' % (
            server['name'], server['id'], exc)) from None
    try:
        image = source.image.get_image(image.id)
        copied = images_mod.copy_image(source, target, _snapshot_doc(image), owner)
        # A snapshot changes the server's updated_at: a planned failover compares servers
        # with the checkpoint's (protect._final_checkpoint) as they were after it.
        def idle():
            now = source.compute.get_server(server['id'])
            return now if now.task_state is None else None
        settled = waits.until(idle, timeout, 1, lambda: RootDiskError(
            'server %r (%s): still busy after its snapshot' % (server['name'], server['id'])))
    finally:
        source.image.delete_image(image.id, ignore_missing=True)
    props = image_kind.image_properties(image)
    return dict(copied, mode='snapshot', name=server['name'],
                server_updated_at=settled.updated_at,
                quiesced=str(props.get('hw_qemu_guest_agent', '')).lower() in ('yes', 'true'))


def snapshot_servers(plan, source, target, servers, owner, checkpoint_id):
    """Root disks of a checkpoint's server documents: {server ID: {mode, ...}} for every
    server booted from an image; 'snapshot' ones snapshotted and copied."""
    found = {s['id']: {'mode': mode(plan, s), 'name': s['name']} for s in servers
             if mode(plan, s)}
    todo = [s for s in servers if found.get(s['id'], {}).get('mode') == 'snapshot']
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        futures = {s['id']: pool.submit(snapshot_one, source, target, s, owner,
                                        checkpoint_id) for s in todo}
        failed = []
        for sid, future in futures.items():
            try:
                found[sid] = future.result()
            except RootDiskError as exc:
                failed.append(str(exc))
    if failed:
        raise RootDiskError('; '.join(failed))
    return found
