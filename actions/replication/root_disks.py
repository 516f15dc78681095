"""Root disks of servers booted from an image: what their guests wrote since boot.

A server's root disk is snapshotted by Nova (createImage, as an operator would: Nova quiesces
the guest when its image has hw_qemu_guest_agent), the snapshot copied to the recovery site as
images are (actions/replication/images.py: not again when a copy with its hash is there), and
the source snapshot deleted. A restore boots the server from that copy. With root_disk
"base_image" a server is stateless: it boots from its base image and its root disk's writes
are lost, as the preflight says. A shelved server's root disk is the image Nova took as it
shelved it: copied as it is, left in place.

Which servers: options.root_disks {server name: mode} of the plan, else the server's tag
"draas-root-disk=<mode>", else options.root_disk (default "snapshot"). Volume-backed servers
have no root disk here: their boot volume is a volume.
"""

from openstack import exceptions

from actions import errors
from actions import waits
from actions.replication import images as images_mod
from actions.resources import image as image_kind
from actions import sites

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


def start(source, servers, checkpoint_id, made, what='root disk', parallel=PARALLEL):
    """Ask Nova to snapshot each server's `what` (createImage; the checkpoint's
    point-in-time step); `made` ({server ID: image ID}) gets each at once, so that a failure
    part way still knows what to delete. Requests go `parallel` at a time; wait_captured
    then waits."""
    def one(server):
        try:
            made[server['id']] = source.compute.create_server_image(
                server['id'], name='draas-%s-%s' % (checkpoint_id, server['name'])[:255],
                metadata={'draas_checkpoint': checkpoint_id}).id
        except exceptions.HttpException as exc:  # Nova refused (unreachable: SiteError)
            raise RootDiskError('server %r (%s): Nova could not snapshot its %s: %s'
                                % (server['name'], server['id'], what, exc)) from None
    images_mod.each(one, servers, parallel, gather=RootDiskError)
    return made


SHELVED = ('SHELVED', 'SHELVED_OFFLOADED')  # Nova took an image of their root disk


def shelved_images(source, servers):
    """{server ID: image ID} of shelved servers: the image Nova took of the root disk as it
    shelved the server (property instance_uuid, named "<server>-shelved"), unchanged since:
    copied as it is and never deleted (unshelving needs it)."""
    found = {}
    for server in servers:
        # A raw GET: openstacksdk's image list refuses filters on properties.
        images = source.image.get('/images', params={
            'instance_uuid': server['id'], 'sort': 'created_at:desc'}).json()['images']
        shelved = [i for i in images if i['name'].endswith('-shelved') and
                   i['status'] == 'active']
        if not shelved:
            raise RootDiskError('server %r (%s) is %s and Nova kept no image of its root '
                                'disk: unshelve it, or declare it stateless (root_disks: '
                                '{%s: base_image})' % (server['name'], server['id'],
                                                       server.get('status'), server['name']))
        found[server['id']] = shelved[0]['id']
    return found


# Nova's task states of a snapshot once the disk's bytes are taken (libvirt, the lab's
# driver: image_snapshot -> image_pending_upload -> image_uploading -> none).
CAPTURED = ('image_uploading', None)


def wait_captured(source, project_id, servers, made, timeout, poll=1.0):
    """Wait until Nova has taken the bytes of every root disk in `made` (the upload may go
    on): one list of the project's servers and one of the snapshots per round. A snapshot
    that Nova deleted or that failed names its server; so does the timeout."""
    names = {s['id']: s['name'] for s in servers}
    pending = dict(made)

    def check():
        images = {i.id: i for i in source.image.images(id='in:' + ','.join(pending.values()))}
        states = {s.id: s.task_state for s in source.compute.servers(
            **sites.in_every_project(source, project_id)) if s.id in pending}
        failed = sorted('server %r (%s): Nova could not snapshot its root disk (snapshot %s '
                        '%s)' % (names[sid], sid, iid, images[iid].status if iid in images
                                 else 'deleted by Nova: see the server\'s fault')
                        for sid, iid in pending.items()
                        if iid not in images or images[iid].status in ('killed', 'deleted'))
        if failed:
            raise RootDiskError('; '.join(failed))
        for sid, iid in list(pending.items()):
            if images[iid].status == 'active' or (sid in states and
                                                   states[sid] in CAPTURED):
                del pending[sid]
        return True if not pending else None
    waits.until(check, timeout, poll, lambda: RootDiskError(
        'root disk snapshots not taken after %d s: %s' % (timeout, ', '.join(
            '%r (%s)' % (names[sid], sid) for sid in sorted(pending)))))


def copy_one(source, target, server, image_id, owner, timeout=600, delete=True,
             throttle=None):
    """Copy one server's root disk snapshot once Nova has uploaded it, then delete it at
    the source (unless not to `delete`: a shelved server's); returns {mode, name,
    target_id, hash_value, bytes_copied, server_updated_at, quiesced (its image asks Nova
    to quiesce: hw_qemu_guest_agent)}."""
    def uploaded():
        image = source.image.get_image(image_id)
        if image.status in ('killed', 'deleted'):
            raise RootDiskError('server %r (%s): its root disk snapshot %s is %s' % (
                server['name'], server['id'], image_id, image.status))
        return image if image.status == 'active' else None

    # A snapshot changes the server's updated_at: a planned failover compares servers
    # with the checkpoint's (protect._final_checkpoint) as they were after it.
    def idle():
        now = source.compute.get_server(server['id'])
        return now if now.task_state is None else None
    try:
        image = waits.until(uploaded, timeout, 1, lambda: RootDiskError(
            'server %r (%s): its root disk snapshot %s not uploaded after %d s' % (
                server['name'], server['id'], image_id, timeout)))
        copied = images_mod.copy_image(source, target, _snapshot_doc(image), owner,
                                       throttle=throttle)
        settled = waits.until(idle, timeout, 1, lambda: RootDiskError(
            'server %r (%s): still busy after its snapshot' % (server['name'], server['id'])))
    finally:
        if delete:
            source.image.delete_image(image_id, ignore_missing=True)
    props = image_kind.image_properties(image)
    return dict(copied, mode='snapshot', name=server['name'],
                server_updated_at=settled.updated_at,
                quiesced=str(props.get('hw_qemu_guest_agent', '')).lower() in ('yes', 'true'))


def copy_servers(plan, source, target, servers, made, owner, shelved=None, throttle=None):
    """Root disks of a checkpoint's server documents: {server ID: {mode, ...}} for every
    server booted from an image; the snapshots in `made` ({server ID: image ID}) copied,
    and the images of shelved servers (`shelved`, shelved_images) left in place."""
    found = {s['id']: {'mode': mode(plan, s), 'name': s['name']} for s in servers
             if mode(plan, s)}
    shelved = shelved or {}

    def one(server):
        sid = server['id']
        found[sid] = copy_one(source, target, server, made.get(sid) or shelved[sid], owner,
                              delete=sid in made, throttle=throttle)
    images_mod.each(one, [s for s in servers if s['id'] in made or s['id'] in shelved],
                    throttle.streams if throttle else PARALLEL, gather=RootDiskError)
    return found


def delete_snapshots(source, image_ids):
    """Delete the images draas had Nova make (root disk snapshots, quiesce.py's), ignoring
    those gone or failing to delete."""
    for image_id in image_ids:
        try:
            source.image.delete_image(image_id, ignore_missing=True)
        except Exception:  # a leftover must not hide the run's own error
            pass
