"""Volume data: the policy's replication method, behind one function.

`replication`: volumes of Cinder replicated types; their state is recorded, the array moves
the data (no lab backend replicates: unit-tested with mocks).
`backup` (works on the lab): snapshots of all the workload's volumes taken back to back (a
crash-consistent set), Cinder backups of those snapshots (incremental when the volume already
has one), and each backup record exported into the checkpoint so the recovery site can import
it with the primary gone.
"""
import time

from actions import errors

POLL = 1.0


class VolumeReplicationError(errors.DraasError):
    pass


def _wait_all(list_fn, ids, want, timeout, what):
    """Poll with one list call per round until every ID in `ids` has status `want`."""
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        states = {r.id: r.status for r in list_fn() if r.id in pending}
        failed = sorted(i for i, s in states.items() if s == 'error')
        if failed:
            raise VolumeReplicationError('%s %s went to error' % (what, ', '.join(failed)))
        pending = {i for i in pending if states.get(i) != want}
        if pending and time.monotonic() > deadline:
            raise VolumeReplicationError('%s %s not %s after %d s' % (
                what, ', '.join(sorted(pending)), want, timeout))
        if pending:
            time.sleep(POLL)


def backup(src, volumes, checkpoint_id, previous=None, full_every=8, timeout=1800):
    """Back up `volumes` (checkpoint documents); returns (per-volume data, consistency).

    Backups are incremental when the volume has one already, except every `full_every`-th
    (`previous` is the data of the plan's latest checkpoint): chains stay short, so
    retention can delete whole chains.
    """
    previous = previous or {}
    if not volumes:
        return {}, 'none'
    bs = src.block_storage
    ids = [v['id'] for v in volumes]
    tag = {'draas_checkpoint': checkpoint_id}
    taken = time.time()
    snaps = {v['id']: bs.create_snapshot(volume_id=v['id'], force=True, metadata=tag,
                                         name='draas-%s' % checkpoint_id)
             for v in volumes}
    snapped = time.time()
    try:
        _wait_all(lambda: bs.snapshots(all_projects=True), [s.id for s in snaps.values()],
                  'available', timeout, 'snapshot')
        have_full = {b.volume_id for b in bs.backups(all_projects=True)
                     if b.volume_id in ids and b.status == 'available'}
        chain = {vid: previous[vid].get('chain', 0) + 1 for vid in ids
                 if vid in have_full and vid in previous}
        have_full = {vid for vid in have_full if chain.get(vid, full_every) < full_every}
        backups = {vid: bs.create_backup(volume_id=vid, snapshot_id=snap.id, force=True,
                                         is_incremental=vid in have_full,
                                         name='draas-%s' % checkpoint_id,
                                         description='draas checkpoint %s' % checkpoint_id)
                   for vid, snap in snaps.items()}
        _wait_all(lambda: bs.backups(all_projects=True), [b.id for b in backups.values()],
                  'available', timeout, 'backup')
    finally:
        for snap in snaps.values():
            try:
                bs.delete_snapshot(snap, ignore_missing=True)
            except Exception:  # a leftover snapshot must not fail the checkpoint
                pass
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
            parents = before.get('parents', []) + [{'backup_id': before['backup_id'],
                                                    'record': before['record']}]
        data[vid] = {'method': 'backup', 'backup_id': b.id, 'incremental': incremental,
                     'chain': chain[vid] if incremental else 0, 'parents': parents,
                     'snapshot_id': snaps[vid].id, 'record': record,
                     'size': made[b.id].size}
    # Snapshots taken one right after the other, not as a group: crash-consistent within
    # the window they were requested in.
    return data, {'level': 'crash-consistent', 'snapshots_requested_from': taken,
                  'snapshots_requested_until': snapped}


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


def replication(src, volumes, checkpoint_id, previous=None, full_every=8):
    """Volumes of Cinder replicated types: the array copies the data to the recovery site.

    Nothing is copied here; the checkpoint records each volume's replication state (the
    restore fails the replicated volumes over). A volume that is not replicated would be
    lost in a disaster, so it fails the checkpoint with a message naming it.
    """
    current = {v.id: v for v in src.block_storage.volumes(all_projects=True)
               if v.id in {d['id'] for d in volumes}}
    bad = sorted('%s (%s, replication %s)' % (vid, v.volume_type, v.replication_status)
                 for vid, v in current.items() if v.replication_status != 'enabled')
    missing = sorted({d['id'] for d in volumes} - set(current))
    if bad or missing:
        raise VolumeReplicationError(
            'the replication method needs volumes of a replicated type with replication '
            'enabled; not so: %s' % ', '.join(bad + ['%s (gone)' % m for m in missing]))
    data = {vid: {'method': 'replication', 'replication_status': v.replication_status,
                  'volume_type': v.volume_type, 'size': v.size,
                  'backend': getattr(v, 'host', None)}
            for vid, v in current.items()}
    # The array replicates continuously; consistency across volumes is the backend's
    # (a replication group gives it, separate volumes do not).
    return data, {'level': 'backend-replication'}


METHODS = {'backup': backup, 'replication': replication}


def replicate(method, src, volumes, checkpoint_id, previous=None, full_every=8):
    if method not in METHODS:
        raise VolumeReplicationError(
            'volume replication method %r is not available (available: %s)' % (
                method, ', '.join(sorted(METHODS))))
    return METHODS[method](src, volumes, checkpoint_id, previous, full_every)


# ---- the recovery side: fill a new volume on the target from a checkpoint's data

def wait_volume(bs, volume_id, timeout, want='available'):
    """Wait until a volume is `want` (one GET per poll); errors name the volume."""
    deadline = time.monotonic() + timeout
    while True:
        volume = bs.get_volume(volume_id)
        if volume.status == want:
            return volume
        if volume.status.startswith('error'):
            raise VolumeReplicationError('volume %s went to %s' % (volume_id, volume.status))
        if time.monotonic() > deadline:
            raise VolumeReplicationError('volume %s still %s after %d s' % (
                volume_id, volume.status, timeout))
        time.sleep(POLL)


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
        _wait_all(lambda: bs.backups(all_projects=True), [item['backup_id']], 'available',
                  timeout, 'imported backup')
    return data['backup_id']


def restore_volume(admin, data, volume_id, timeout=1800):
    """Fill volume `volume_id` (on the target, available) from a checkpoint's data."""
    if data['method'] == 'backup':
        backup_id = import_chain(admin, data, timeout)
        # Cinder sets the volume "restoring-backup" before answering: the wait is sound.
        admin.block_storage.restore_backup(backup_id, volume_id=volume_id)
        wait_volume(admin.block_storage, volume_id, timeout)
        return
    raise VolumeReplicationError(
        'volume data of method %r cannot be restored into a new volume yet (only '
        '"backup" can)' % data['method'])
