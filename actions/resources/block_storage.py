"""Cinder: volume types and volumes (size, type, bootable, attachments, metadata)."""
import json

from openstack.block_storage.v3 import type as sdk_type
from openstack.block_storage.v3 import volume as sdk_volume

from actions import errors
from actions.replication import adapters
from actions.replication import volumes as movers
from actions.resources import ALIAS
from actions.resources import ASSIGNED
from actions.resources import declared
from actions.resources import Field
from actions.resources import Kind
from actions.resources import missing_zones
from actions.resources import NOT_COMPARED
from actions.resources import reused_name
from actions.resources import STATE
from actions.resources import why
from actions.resources.image import share_with_project
from actions import sites

# Volume states in which Cinder refuses a delete.
BUSY = ('in-use', 'attaching', 'detaching', 'creating', 'restoring-backup', 'downloading',
        'uploading', 'maintenance')
SOURCE_KEY = 'draas_source_id'
RESTORE_KEY = 'draas_restore'
DATA_KEY = 'draas_data'  # "restored" once the volume holds the checkpoint's data


# Cinder's mark on a volume restored from a backup: the restore's, not the workload's.
CINDER_KEYS = ('src_backup_id',)


def own_metadata(doc):
    """A volume's metadata without the keys an earlier restore gave it (going back, the
    checkpoint's volumes are restored copies: their "restored" mark is not this one's)."""
    return {k: v for k, v in (doc.get('metadata') or {}).items()
            if k not in (SOURCE_KEY, RESTORE_KEY, DATA_KEY) + CINDER_KEYS}


class VolumeType(Kind):
    name = 'volume_type'
    service = 'block_storage'
    sdk = sdk_type.Type
    restores = (
        Field('name', how='the type of that name (or the plan\'s mapping) on the target; '
              'made only with options.restore.create_volume_types, else preflight refuses '
              'a missing one'),
        Field('description'), Field('extra_specs'),
        Field('is_public', how='a private one gives the restored project access'))
    drops = why(ASSIGNED, 'id')
    level = 'compute'

    def list(self, conn, ctx):
        return conn.block_storage.types()

    def target_name(self, rc, doc):
        return rc.options['volume_types'].get(doc['name'], doc['name'])

    def restored(self, rc):
        names = {t.name: t.id for t in rc.admin.block_storage.types()}
        out = {}
        for d in rc.docs('volume_type'):
            # A drill makes its own type, if it makes one (removed with the drill).
            for name in (self.target_name(rc, d), rc.name(self.target_name(rc, d))):
                if name in names:
                    out[d['id']] = names[name]
                    break
        return out

    def check(self, rc, found):
        """The type (or the mapped one) exists, or the plan lets draas make it."""
        types = {t.name for t in rc.admin.block_storage.types()}
        for vtype in rc.docs('volume_type'):
            name = self.target_name(rc, vtype)
            if name in types:
                found.preview.append('use volume type %s' % name)
            elif rc.options['create_volume_types'] and rc.member:
                found.problems.append(
                    'volume type %r is not on %s, and a member\'s credentials make none '
                    '(options.restore.create_volume_types): map it in options.restore.'
                    'volume_types, e.g. {%r: <type of %s>}' % (name, rc.site, name, rc.site))
            elif rc.options['create_volume_types']:
                found.preview.append('create volume type %s (extra specs %s)' % (
                    rc.name(name), json.dumps(vtype.get('extra_specs') or {},
                                              sort_keys=True)))
            elif name != vtype['name']:
                found.problems.append('volume type %r (mapped from %r) does not exist on %s'
                                      % (name, vtype['name'], rc.site))
            else:
                found.problems.append(
                    'volume type %r is not on %s: map it in options.restore.volume_types, '
                    'e.g. {%r: <type of %s>}, or set options.restore.create_volume_types' % (
                        name, rc.site, name, rc.site))

    def intended(self, rc, field, doc):
        if field.name == 'name':
            return reused_name(rc, doc, rc.options['volume_types'])
        if field.name == 'is_public' and rc.drill:
            return NOT_COMPARED  # the target's of that name, or the drill's own (private)
        return super().intended(rc, field, doc)

    def remove(self, bubble):
        """Types a drill made (with options.restore.create_volume_types)."""
        mine = [t for t in bubble.admin.block_storage.types() if bubble.made(t.name)]
        for vtype in mine:
            bubble.admin.block_storage.delete_type(vtype)
        return len(mine)

    def restore(self, rc, doc, target_id):
        """The type found by name, else (when the plan asks) one made like the source's."""
        bs = rc.admin.block_storage
        if target_id is None:
            if not rc.options['create_volume_types']:
                raise errors.DraasError('volume type %r is not on %s' % (
                    self.target_name(rc, doc), rc.site))  # preflight said so already
            target_id = bs.create_type(**dict(
                self.args(rc, doc), name=rc.name(self.target_name(rc, doc)),
                extra_specs=doc.get('extra_specs') or {},
                is_public=doc.get('is_public', True) and not rc.drill)).id
        vtype = bs.get_type(target_id)
        if not vtype.is_public and rc.project_id not in {
                a['project_id'] for a in bs.get_type_access(vtype)}:
            bs.add_type_access(vtype, rc.project_id)
        return target_id


class Volume(Kind):
    name = 'volume'
    service = 'block_storage'
    sdk = sdk_volume.Volume
    restores = (
        Field('name'), Field('description'), Field('size'),
        Field('volume_type_id', arg='volume_type', ref='volume_type',
              how='(computed from volume_type)'),
        Field('metadata', how='with the restore\'s keys added'),
        Field('availability_zone', arg=False,
              how='only when options.restore.availability_zones maps it'),
        Field('is_bootable', arg=False, how='set once the data is there'))
    keeps = {
        'volume_type': 'its name: volume_type_id is restored',
        'attachments': 'the server kind attaches its volumes (volume_ids)',
        'server_ids': '(computed from attachments)',
        'is_multiattach': 'Cinder takes it from the volume type (restored)',
        'volume_image_metadata': 'Cinder keeps it with the volume data (backup method) or '
                                 'takes it from the image (image method)',
        'is_encrypted': 'encrypted volumes are not supported yet (their keys live in the '
                        'source\'s key manager)',
        'replication_status': 'the replication method records replicas in the data part',
        'group_id': 'volume groups are not restored',
        'status': STATE, 'updated_at': 'the source\'s version (checkpoints compare it)'}
    drops = declared(
        why(ASSIGNED, 'id', 'created_at', 'host', 'cluster_name', 'provider_id',
            'service_uuid', 'shared_targets', 'user_id', 'project_id', 'consumes_quota'),
        why(STATE, 'migration_id', 'migration_status', 'replication_driver_data',
            'extended_replication_status'),
        why('a create-time request; the copy is filled from the checkpoint\'s data',
            'backup_id', 'snapshot_id', 'source_volume_id', 'image_id', 'scheduler_hints'),
        encryption_key_id='a key of the source\'s key manager',
        consistency_group_id=ALIAS)
    level = 'volumes'

    def list(self, conn, ctx):
        # Cinder refuses a member the project_id filter: its list holds its project's.
        return conn.block_storage.volumes(**sites.in_every_project(conn, ctx.project.id))

    def derived(self, resource, workload):
        vtype = workload.by_name('volume_type', resource.volume_type)
        return {'volume_type_id': vtype['id'] if vtype else None,
                'server_ids': [a.get('server_id') for a in resource.attachments or ()]}

    def check(self, rc, found):
        """Each volume's data is restorable at the target; mapped zones exist."""
        for vol in rc.docs('volume'):
            data = rc.data['volumes'].get(vol['id']) or {}
            if rc.member and data.get('method') in movers.ADMIN_METHODS:
                found.problems.append('volume %r (%s): its data (method %s) restores with '
                                      'an admin\'s credentials only (%s), and %s\'s are a '
                                      'member\'s' % (vol.get('name'), vol['id'],
                                                      data['method'],
                                                      movers.ADMIN_METHODS[data['method']],
                                                      rc.site))
                continue
            if data.get('method') == 'image':
                copy = rc.admin.image.find_image(data['image_id'], ignore_missing=True)
                restorable = copy is not None and copy.status == 'active'
            elif data.get('method') == 'replication':
                continue  # all replicas at once, below
            else:
                restorable = data.get('method') == 'backup' and data.get('record')
            if not restorable:
                found.problems.append('volume %r (%s): the checkpoint holds no data %s can '
                                      'restore (method %s)' % (vol.get('name'), vol['id'],
                                                               rc.site, data.get('method')))
        self._check_replicas(rc, found)
        found.problems.extend(missing_zones(rc, 'block_storage', 'volume'))
        methods = sorted({d['method'] for d in rc.data['volumes'].values()})
        found.preview.append('fill %d volumes from %s' % (len(rc.docs('volume')), ' and '.join(
            {'backup': 'imported backups', 'image': 'image copies',
             'replication': 'array replicas'}.get(m, m) for m in methods)))

    @staticmethod
    def _check_replicas(rc, found):
        """Every replicated volume's replica is at the target and trails its volume by
        no more than the RPO (else refused, or with options.replication.
        failover_when_lagging a warning saying what is lost); a drill needs clones."""
        replicated = {v['id']: v for v in rc.docs('volume')
                      if rc.data['volumes'].get(v['id'], {}).get('method') == 'replication'}
        todo = {vid: rc.data['volumes'][vid]['replica'] for vid in replicated
                if vid not in rc.idmap.get('volume', {})}
        if not todo:
            return
        try:
            adapter = rc.adapter
            adapter.restorable()
            if rc.drill and adapters.CLONE not in adapter.capabilities:
                raise adapter.cannot_clone()
            states = adapter.status(todo)
        except errors.DraasError as exc:
            found.problems.append('replicated volumes: %s' % exc)
            return
        rpo = rc.plan['policy']['rpo_minutes'] * 60
        lagging = rc.plan['options']['replication']['failover_when_lagging']
        for vid in sorted(todo):
            vol, state = replicated[vid], states.get(vid) or {'state': 'missing'}
            named = 'volume %r (%s)' % (vol.get('name'), vid)
            lag = state.get('lag_seconds')
            if state['state'] not in ('replicating', 'source silent'):
                found.problems.append('%s: its replica at %s is %s' % (
                    named, rc.site, state['state']))
            elif lag is not None and lag > rpo and not rc.drill:
                (found.warnings if lagging else found.problems).append(
                    '%s: its replica trailed it by %.1f s when last in contact, past the '
                    'RPO of %d s: up to %.1f s of writes are lost%s' % (
                        named, lag, rpo, lag, '' if lagging else
                        ' (options.replication.failover_when_lagging: true to fail over '
                        'anyway)'))
        found.preview.append('%s %d replicas through adapter %s' % (
            'clone' if rc.drill else 'promote', len(todo), rc.adapter.name))

    def needs(self, rc, done):
        todo = [v for v in rc.docs('volume') if v['id'] not in done]
        return {'volumes': len(todo), 'gigabytes': sum(v['size'] for v in todo)}

    def restored(self, rc):
        return self.made_by(rc, rc.conn.block_storage.volumes())

    @staticmethod
    def made_by(rc, volumes):
        """{source ID: target ID} of those of `volumes` restore `rc` made."""
        volumes = list(volumes)
        # Volumes being filled have lost their tags for a while: the ID map knows them.
        found = {src: tid for src, tid in rc.idmap.get('volume', {}).items()
                 if tid in {v.id for v in volumes}}
        found.update({v.metadata[SOURCE_KEY]: v.id for v in volumes
                      if (v.metadata or {}).get(RESTORE_KEY) == rc.restore_id})
        return found

    def restore(self, rc, doc, target_id):
        """A new volume in the project, filled with the checkpoint's data by the method
        the checkpoint used. Its ID is remembered before the data moves: restoring
        rewrites a volume's metadata, where the restore tags live. The data fills while
        the next levels run: a server waits for its boot volume (finish), the attach
        level for the others."""
        bs = rc.conn.block_storage
        data = rc.data['volumes'][doc['id']]
        tags = {SOURCE_KEY: doc['id'], RESTORE_KEY: rc.restore_id}
        attrs = dict(self.args(rc, doc, skip=('metadata',)),
                     metadata=dict(own_metadata(doc), **tags))
        zone = rc.options['availability_zones'].get(doc.get('availability_zone'))
        if zone:
            attrs['availability_zone'] = zone
        if target_id is None and data['method'] == 'replication':
            # The array copied the data: the target's Cinder takes over the replica (a
            # drill: a clone of it, the replica goes on receiving).
            replica = dict(data['replica'], volume_id=doc['id'], name=doc.get('name'))
            handed = (rc.adapter.clone(replica, rc.restore_id) if rc.drill else
                      rc.adapter.promote(replica))
            rc.handed_over(doc['id'], handed)
            attrs.pop('size', None)
            target_id = bs.manage_volume(
                host=handed['host'], ref=handed['ref'], **dict(
                    attrs, metadata=dict(attrs['metadata'], **{DATA_KEY: 'restored'}),
                    bootable=bool(doc.get('is_bootable')))).id
            rc.remember('volume', doc['id'], target_id)
        if target_id is None:
            source = {}
            if data['method'] == 'image':  # filled by Cinder from the copied image
                source['image_id'] = share_with_project(rc, data['image_id'])
            target_id = bs.create_volume(**attrs, **source).id
            rc.remember('volume', doc['id'], target_id)
        if data['method'] == 'backup':
            volume = bs.get_volume(target_id)
            # Still carrying this restore's tags and not marked: no fill has begun (a
            # fill replaces the metadata and reads "restoring-backup" until done).
            if (volume.status in ('creating', 'available') and not self._marked(rc, volume)
                    and (volume.metadata or {}).get(RESTORE_KEY) == rc.restore_id):
                movers.wait_volume(bs, target_id, rc.timeout, statuses=rc.volume_statuses)
                movers.start_restore(rc.admin, data, target_id, rc.timeout)
        return target_id

    def remove(self, bubble):
        """Volumes of the drill's projects, and those its ID map lists (a volume being
        filled has lost its metadata for a while), once none is busy."""
        bs = bubble.admin.block_storage

        def volumes():
            seen = {v.id: v for pid in bubble.project_ids
                    for v in bs.volumes(all_projects=True, project_id=pid)}
            for vid in bubble.idmap.get('volume', {}).values():
                if vid not in seen:
                    found = bs.find_volume(vid, ignore_missing=True, all_projects=True)
                    if found is not None and (found.metadata or {}).get(
                            RESTORE_KEY, bubble.drill_id) == bubble.drill_id:
                        seen[vid] = found
            return seen.values()
        found = bubble.wait('volumes to settle', volumes,
                            lambda vs: all(v.status not in BUSY for v in vs))
        for volume in found:
            bs.delete_volume(volume, cascade=True)
        bubble.wait('deleting the volumes', volumes, lambda vs: not vs)
        return len(found)

    def intended(self, rc, field, doc):
        if field.name == 'metadata':
            return own_metadata(doc)
        if (field.name == 'availability_zone' and
                doc.get('availability_zone') not in rc.options['availability_zones']):
            return NOT_COMPARED
        return super().intended(rc, field, doc)

    def observed(self, rc, field, copy):
        if field.name == 'metadata':
            return own_metadata(copy)
        return super().observed(rc, field, copy)

    @staticmethod
    def _marked(rc, volume):
        metadata = volume.metadata or {}
        return (metadata.get(DATA_KEY) == 'restored'
                and metadata.get(RESTORE_KEY) == rc.restore_id)

    def finish(self, rc, doc, target_id):
        """Wait until volume `target_id` holds its data, then mark it so (and bootable
        as on the source); a volume marked already is left alone (maybe attached)."""
        bs = rc.conn.block_storage
        volume = bs.get_volume(target_id)
        if self._marked(rc, volume) and volume.status in ('available', 'in-use'):
            return
        filled = movers.wait_volume(bs, target_id, rc.timeout, statuses=rc.volume_statuses)
        # As on the source: Cinder marks a volume made from an image (the image method)
        # bootable, whatever the source's was.
        if bool(filled.is_bootable) != bool(doc.get('is_bootable')):
            bs.set_volume_bootable_status(target_id, bool(doc.get('is_bootable')))
        bs.set_volume_metadata(target_id, **{SOURCE_KEY: doc['id'],
                                             RESTORE_KEY: rc.restore_id, DATA_KEY: 'restored'})


FIRST_KINDS = (VolumeType(),)
KINDS = (Volume(),)
