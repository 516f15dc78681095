"""Volume data: the policy's replication method, behind one function.

`replication`: an array replicates the volumes continuously, draas speaks to it through a
storage replication adapter (adapters.py) and records each replica and its lag.
`backup` (works on the lab): Cinder backups of the volumes' snapshots (take_snapshots, the
checkpoint's point-in-time step: requested back to back, each crash-consistent alone),
incremental when the volume already has one, and each backup record exported into the
checkpoint so the recovery site can import it with the primary gone.
`image`: the snapshots uploaded to Glance and copied to the recovery site's.
"""
import base64
import json
import threading
import time

from openstack import exceptions

from actions import errors
from actions.replication import adapters
from actions.replication import images as images_mod
from actions import sites
from actions import waits

POLL = 1.0
RESTORE_POLL = 0.5  # waits a restore's RTO is made of: shorter


class VolumeReplicationError(errors.DraasError):
    pass


def _failed(status):
    """Cinder's error*, Nova's ERROR, Glance's killed: the resource will not get there."""
    status = (status or '').lower()
    return status.startswith('error') or status == 'killed'


def wait_all(list_fn, ids, want, timeout, what, poll=POLL, error=VolumeReplicationError,
             describe=lambda r: r.id):
    """Poll with one list call per round (not a GET per resource) until every ID in `ids`
    has status `want`. One that fails raises `error` at once naming it (`describe`), as
    does the timeout naming those still pending."""
    pending = set(ids)

    def check():
        listed = {r.id: r for r in list_fn() if r.id in pending}
        failed = sorted(describe(r) for r in listed.values() if _failed(r.status))
        if failed:
            raise error('%s in error: %s' % (what, '; '.join(failed)))
        pending.difference_update(i for i in set(pending)
                                  if getattr(listed.get(i), 'status', None) == want)
        return True if not pending else None
    waits.until(check, timeout, poll, lambda: error('%s not %s after %d s: %s' % (
        what, want, timeout, ', '.join(sorted(pending)))))


def backup(src, volumes, checkpoint_id, snaps, previous=None, full_every=8, timeout=1800):
    """Back up `volumes` (checkpoint documents) from their snapshots `snaps` ({volume ID:
    snapshot ID}, available; deleted once backed up); returns per-volume data.

    Backups are incremental when the volume has one already, except every `full_every`-th
    (`previous` is the data of the plan's latest checkpoint): chains stay short, so
    retention can delete whole chains.
    """
    previous = previous or {}
    if not volumes:
        return {}
    bs = src.block_storage
    ids = [v['id'] for v in volumes]
    missing = sorted(set(ids) - set(snaps))
    if missing:  # a volume left out would be lost in silence
        raise VolumeReplicationError('no snapshot of volumes %s' % ', '.join(missing))
    backups = {}
    try:
        # Cinder builds an incremental backup on the volume's newest backup, whoever made
        # it (another plan, a failed run): incremental only when that is this plan's last.
        newest = {}
        for b in bs.backups(all_projects=True):
            if b.volume_id in ids and b.status == 'available' and (
                    b.volume_id not in newest or
                    (b.data_timestamp or '') > (newest[b.volume_id].data_timestamp or '')):
                newest[b.volume_id] = b
        chain = {vid: previous[vid].get('chain', 0) + 1 for vid in ids
                 if vid in previous and vid in newest and
                 newest[vid].id == previous[vid].get('backup_id')}
        builds_on_last = {vid for vid, length in chain.items() if length < full_every}
        for vid, snap in snaps.items():
            backups[vid] = bs.create_backup(
                volume_id=vid, snapshot_id=snap, force=True,
                is_incremental=vid in builds_on_last, name='draas-%s' % checkpoint_id,
                description='draas checkpoint %s' % checkpoint_id)
        wait_all(lambda: bs.backups(all_projects=True), [b.id for b in backups.values()],
                 'available', timeout, 'backup')
    except Exception as exc:
        # Backups this failed run made belong to no checkpoint: the caller records them
        # for deletion rather than leaving them behind.
        exc.orphan_backups = [b.id for b in backups.values()]
        raise
    finally:
        _delete_quietly(bs.delete_snapshot, snaps.values())
    # What Cinder made, not what was asked: it falls back to a full backup when it finds
    # no parent, and the chain must say so.
    made = {b.id: b for b in bs.backups(all_projects=True)}
    data = {}
    for vid, b in backups.items():
        record = bs.export_backup(b.id)['backup-record']
        incremental = bool(made[b.id].is_incremental)
        # An incremental backup restores only with its ancestors imported first: each
        # checkpoint carries the records of the whole chain (oldest first).
        parents = []
        if incremental:
            before = previous[vid]
            parent = parent_of(record)
            if parent != before['backup_id']:
                # Another backup of the volume came in between: the chain is not ours.
                exc = VolumeReplicationError(
                    'backup %s of volume %s builds on backup %s, not on %s of the plan\'s '
                    'previous checkpoint (another backup of the volume was made meanwhile): '
                    'run the checkpoint again (it makes a full backup)' % (
                        b.id, vid, parent, before['backup_id']))
                exc.orphan_backups = [x.id for x in backups.values()]
                raise exc
            parents = before.get('parents', []) + [{'backup_id': before['backup_id'],
                                                    'record': before['record']}]
        data[vid] = {'method': 'backup', 'backup_id': b.id, 'incremental': incremental,
                     'parent_id': parent_of(record),  # as Cinder recorded it
                     'chain': chain[vid] if incremental else 0, 'parents': parents,
                     'snapshot_id': snaps[vid], 'record': record,
                     'size': made[b.id].size}
    return data


def stored_bytes(swift, record):
    """The bytes a backup (its exported record) wrote to the Swift holding the backups
    (`swift`: a Connection there): its data objects, metadata and sha256 file; None when
    another driver than Cinder's Swift driver made it."""
    fields = json.loads(base64.b64decode(record['backup_url']))
    if not fields.get('service', '').endswith('.SwiftBackupDriver'):
        return None
    return sum(o.content_length for o in swift.object_store.objects(
        fields['container'], prefix=fields['service_metadata']))


def parent_of(record):
    """The backup a backup builds on, as Cinder recorded it: its exported record holds the
    backup's fields (base64 JSON), parent_id included."""
    try:
        return json.loads(base64.b64decode(record['backup_url'])).get('parent_id')
    except (KeyError, TypeError, ValueError):
        return None


SNAPSHOT_METHODS = ('backup', 'image')  # they copy volume snapshots draas takes


def take_snapshots(bs, volumes, checkpoint_id, made):
    """Request a snapshot of every volume, back to back (not a group snapshot: each is
    crash-consistent alone); `made` ({volume ID: snapshot ID}) gets each at once, so that a
    failure part way still knows what to delete. wait_all then waits for them."""
    for v in volumes:
        made[v['id']] = bs.create_snapshot(volume_id=v['id'], force=True,
                                           metadata={'draas_checkpoint': checkpoint_id},
                                           name='draas-%s' % checkpoint_id).id
    return made


CONSISTENT = '<is> True'  # a group type's consistent_group_snapshot_enabled: the array's


def consistent_groups(bs, volumes):
    """{group ID: [IDs of `volumes` in it]} of the volumes' Cinder groups (generic volume
    groups) whose type asks the backend for consistent group snapshots; the volumes of
    other groups are snapshotted one by one (a generic group's snapshot is no better)."""
    found = {}
    for gid in sorted({v['group_id'] for v in volumes if v.get('group_id')}):
        group = bs.get_group(gid)
        specs = bs.get_group_type(group.group_type).group_specs or {}
        if specs.get('consistent_group_snapshot_enabled') == CONSISTENT:
            found[gid] = [v['id'] for v in volumes if v.get('group_id') == gid]
    return found


def take_group_snapshots(bs, groups, checkpoint_id, made):
    """Request a group snapshot of each group in `groups` (consistent_groups); `made`
    ({group snapshot ID: group ID}) gets each at once. group_members then reads the
    volumes' snapshots."""
    for gid in groups:
        made[bs.create_group_snapshot(group_id=gid, name='draas-%s' % checkpoint_id,
                                      description='draas checkpoint %s' % checkpoint_id
                                      ).id] = gid
    return made


def group_members(bs, group_snapshots, volume_ids):
    """({volume ID: snapshot ID}, {volume ID: group snapshot ID}) of the volumes in
    `volume_ids` from the group snapshots (available) in `group_snapshots`."""
    members = [s for s in bs.snapshots(all_projects=True)
               if s.group_snapshot_id in group_snapshots and s.volume_id in volume_ids]
    return ({s.volume_id: s.id for s in members},
            {s.volume_id: s.group_snapshot_id for s in members})


def delete_snapshots(bs, ids, group_snapshots=(), settle=0):
    """Delete snapshots and group snapshots (IDs) draas made, ignoring those gone or failing
    to delete (a group's member goes with its group snapshot only). Cinder refuses to
    delete one still 'creating': a failed run waits up to `settle` seconds for them."""
    ids, group_snapshots = list(ids), list(group_snapshots)
    if settle:
        _settle(lambda: bs.snapshots(all_projects=True), ids, settle)
        _settle(lambda: bs.group_snapshots(details=True), group_snapshots, settle)
    _delete_quietly(bs.delete_snapshot, ids)
    _delete_quietly(bs.delete_group_snapshot, group_snapshots)


def _settle(list_fn, ids, timeout):
    """Wait until none of `ids` is 'creating' (the timeout or a failing list: go on)."""
    def check():
        return not any(r.status == 'creating' for r in list_fn() if r.id in ids) or None
    try:
        waits.until(check, timeout, POLL, lambda: TimeoutError())
    except Exception:
        pass


def _delete_quietly(delete, items):
    for item in items:
        try:
            delete(item, ignore_missing=True)
        except Exception:  # a leftover must not fail the checkpoint
            pass


def delete_backups(src, items):
    """Delete the backups of expired checkpoints that nothing depends on any more.

    `items` are {backup_id, checkpoint_id}; the newest go first (incremental ones before
    the backups they build on). Returns the items still to delete at a later prune.
    """
    left = []
    for item in sorted(items, key=lambda i: i['checkpoint_id'], reverse=True):
        backup = src.block_storage.find_backup(item['backup_id'])
        if backup is None:
            continue
        if backup.has_dependent_backups or backup.status not in ('available', 'error'):
            left.append(item)
            continue
        src.block_storage.delete_backup(backup)
    return left


def forget_imports(dst, items):
    """Delete the recovery site's imported records of backups the source has deleted.

    A record imported for a restore points at the same backup objects as the source's;
    Cinder deletes a backup's objects with its record, so this runs only once the source's
    backup is gone (its objects are, then: the delete removes the record alone and frees
    the importing project's backup quota). `items` are {imported_backup_id, checkpoint_id};
    returns those to retry at a later prune (a record in use, or one an imported
    incremental still builds on).
    """
    left = []
    for item in sorted(items, key=lambda i: i['checkpoint_id'], reverse=True):
        record = dst.block_storage.find_backup(item['imported_backup_id'],
                                               ignore_missing=True)
        if record is None:
            continue
        if record.status not in ('available', 'error'):
            left.append(item)
            continue
        try:
            dst.block_storage.delete_backup(record)
        except exceptions.BadRequestException:
            left.append(item)
    return left


SYNC_TIMEOUT = 900  # seconds a checkpoint waits for new replicas' first copy


def replication(plan, src, volumes, timeout=SYNC_TIMEOUT):
    """Volumes a storage array replicates (actions/replication/adapters.py): each one is
    enabled toward the recovery site (one not replicating yet starts now), then waited for
    until its replica is in sync. Nothing is copied by draas; the checkpoint records each
    replica, when it was last in sync and how far it trailed (the data's RPO)."""
    if not volumes:
        return {}
    adapter = adapters.load(plan)
    replicas = adapter.enable(src, volumes)
    states = {}

    def in_sync():
        states.update(adapter.status(replicas))
        return all(states.get(vid, {}).get('state') == 'replicating'
                   for vid in replicas) or None
    waits.until(in_sync, timeout, POLL, lambda: VolumeReplicationError(
        'replicas not in sync after %d s: %s' % (timeout, ', '.join(
            '%s (%s)' % (vid, states.get(vid, {}).get('state', 'unknown'))
            for vid in sorted(replicas)
            if states.get(vid, {}).get('state') != 'replicating'))))
    sizes = {d['id']: d['size'] for d in volumes}
    return {vid: {'method': 'replication', 'adapter': adapter.name, 'replica': replica,
                  'synced_at': states[vid].get('synced_at'),
                  'lag_seconds': states[vid].get('lag_seconds'), 'size': sizes[vid],
                  # what the replica received since it was made, if the array tells
                  'received_bytes': states[vid].get('received_bytes'),
                  'bytes_copied': None}  # the array moves the data, out of draas' sight
            for vid, replica in replicas.items()}


# Cinder converts the upload (qemu-img): a volume's unwritten blocks take no bytes, so a
# 1 GiB volume holding 1 MiB crosses the sites as about 1 MiB, not 1 GiB.
IMAGE_FORMAT = 'qcow2'


def image(src, dst, volumes, checkpoint_id, snaps, owner, timeout=1800, throttle=None):
    """Volumes as images: a temporary volume from each snapshot in `snaps` ({volume ID:
    snapshot ID}, available), uploaded to the source Glance, copied to the target Glance
    as `owner`'s (images.owner_key; skipped when it has an image with the same hash there:
    an unchanged volume costs no transfer), then the temporaries deleted.
    """
    if not volumes:
        return {}
    bs = src.block_storage
    temps, uploads, data = {}, {}, {}
    try:
        for vol in volumes:
            temps[vol['id']] = bs.create_volume(
                snapshot_id=snaps[vol['id']], size=vol['size'],
                name='draas-%s-%s' % (checkpoint_id, vol['id']))
        wait_all(lambda: bs.volumes(all_projects=True), [t.id for t in temps.values()],
                 'available', timeout, 'temporary volume')
        for vid, temp in temps.items():
            uploads[vid] = bs.upload_volume_to_image(
                temp, 'draas-%s-%s' % (checkpoint_id, vid), disk_format=IMAGE_FORMAT,
                container_format='bare')['image_id']
        wait_all(lambda: src.image.images(id='in:' + ','.join(uploads.values())),
                 list(uploads.values()), 'active', timeout, 'uploaded image')

        def one(vid):
            up = src.image.get_image(uploads[vid])
            copy = images_mod.copy_image(src, dst, {
                'id': up.id, 'name': 'draas-volume-%s' % vid, 'disk_format': IMAGE_FORMAT,
                'container_format': 'bare', 'hash_algo': up.hash_algo,
                'hash_value': up.hash_value}, owner, throttle=throttle)
            data[vid] = {'method': 'image', 'image_id': copy['target_id'],
                         'hash_value': copy['hash_value'],
                         'bytes_copied': copy['bytes_copied'], 'image_bytes': up.size}
        images_mod.each(one, uploads,
                        throttle.streams if throttle else images_mod.STREAMS)
    finally:
        _delete_quietly(src.image.delete_image, uploads.values())
        _delete_quietly(bs.delete_volume, temps.values())
        _delete_quietly(bs.delete_snapshot, snaps.values())
    return data


METHODS = ('backup', 'replication', 'image')
# Methods a member's credentials cannot run, and why (the image method only uses calls a
# project's member may make at both sites).
ADMIN_METHODS = {
    'backup': 'Cinder exports and imports backup records for admins only',
    'replication': 'an array\'s replica is managed into the recovery site\'s Cinder by an '
                   'admin only'}


def check_method(method, modes):
    """Refuse, before anything is made, a method the credentials of the sites cannot run;
    `modes`: {site: sites.ADMIN or sites.MEMBER}."""
    members = sorted(site for site, mode in modes.items() if mode != sites.ADMIN)
    if method in ADMIN_METHODS and members:
        raise VolumeReplicationError(
            'plan.policy.replication: %r needs admin credentials at both sites (%s), and '
            '%s %s a member\'s: use "image" (volume snapshots uploaded to Glance and copied '
            'to the recovery site\'s), which members may run' % (
                method, ADMIN_METHODS[method], ' and '.join(members),
                'are' if len(members) > 1 else 'is'))


def replicate(plan, src, dst, volumes, checkpoint_id, snaps=None, previous=None,
              owner=None, throttle=None):
    """Replicate `volumes` by the plan's method; returns per-volume data. `snaps`: their
    snapshots (take_snapshots) for the SNAPSHOT_METHODS; `owner`: whose image copies the
    image method makes (images.owner_key), as fast as `throttle` (images.Throttle) lets."""
    method = plan['policy']['replication']
    if method == 'backup':
        return backup(src, volumes, checkpoint_id, snaps, previous,
                      plan['policy']['retention']['count'])
    if method == 'replication':
        return replication(plan, src, volumes)
    if method == 'image':
        return image(src, dst, volumes, checkpoint_id, snaps, owner, throttle=throttle)
    raise VolumeReplicationError(
        'volume replication method %r is not available (available: %s)' % (
            method, ', '.join(METHODS)))


# ---- the recovery side: fill a new volume on the target from a checkpoint's data

class VolumeStatuses:
    """Volume states for many threads that wait at once, from one list call per poll
    round: a restore of N volumes polls Cinder once per round, not N times."""

    def __init__(self, bs, poll=RESTORE_POLL):
        self.bs, self.poll = bs, poll
        self._lock = threading.Lock()
        self._listed_at, self._volumes = None, {}

    def get(self, volume_id, since):
        """The volume as listed after `since` (a time.monotonic() value), or None until a
        list that new is due: a waiter never sees a state from before the change it waits
        for (a restore it just asked for), and waiters starting apart share the next list."""
        with self._lock:
            if self._listed_at is None or time.monotonic() - self._listed_at >= self.poll:
                started = time.monotonic()
                self._volumes = {v.id: v for v in self.bs.volumes()}
                self._listed_at = started
            if self._listed_at < since:
                return None
            volume = self._volumes.get(volume_id)
        # Made since the last list, or outside the listed project: ask for it alone.
        return volume if volume is not None else self.bs.get_volume(volume_id)


def wait_volume(bs, volume_id, timeout, want='available', statuses=None):
    """Wait until a volume is `want` (one GET per poll, or a share of one list call per
    poll with `statuses`, a VolumeStatuses); errors name the volume."""
    since = time.monotonic()
    last = ['not listed yet']

    def check():
        volume = statuses.get(volume_id, since) if statuses else bs.get_volume(volume_id)
        last[0] = volume.status if volume is not None else 'not listed yet'
        if last[0].startswith('error'):
            raise VolumeReplicationError('volume %s went to %s' % (volume_id, last[0]))
        return volume if last[0] == want else None
    return waits.until(check, timeout, RESTORE_POLL, lambda: VolumeReplicationError(
        'volume %s still %s after %d s' % (volume_id, last[0], timeout)))


def import_chain(admin, data, timeout):
    """Import the backup records of a volume's chain (oldest first) that the target does
    not know yet. Imported backups keep their IDs: a re-run finds them."""
    bs = admin.block_storage
    for item in data.get('parents', []) + [data]:
        backup = bs.find_backup(item['backup_id'], ignore_missing=True)
        if backup is None:
            # Not bs.import_backup(): openstacksdk 4.22 posts it to the wrong URL.
            resp = bs.post('/backups/import_record', json={'backup-record': item['record']})
            if resp.status_code != 201:
                raise VolumeReplicationError('importing backup %s: HTTP %s: %s' % (
                    item['backup_id'], resp.status_code, resp.text[:300]))
        # A GET, not a list: the recovery site may hold thousands of backups.
        wait_all(lambda: [bs.get_backup(item['backup_id'])], [item['backup_id']],
                 'available', timeout, 'imported backup', poll=RESTORE_POLL)
    return data['backup_id']


def start_restore(admin, data, volume_id, timeout=1800):
    """Start filling volume `volume_id` (on the target, available) from a checkpoint's
    backup; Cinder moves the data meanwhile (the volume is "restoring-backup", then
    "available": wait_volume)."""
    if data['method'] == 'backup':
        backup_id = import_chain(admin, data, timeout)
        # Cinder sets the volume "restoring-backup" before answering: a wait is sound.
        admin.block_storage.restore_backup(backup_id, volume_id=volume_id)
        return
    raise VolumeReplicationError(
        'volume data of method %r cannot be restored into a new volume yet (only '
        '"backup" can)' % data['method'])
