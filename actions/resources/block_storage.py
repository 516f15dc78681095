"""Cinder: volume types and volumes (size, type, bootable, attachments, metadata)."""
from actions.replication import volumes as movers
from actions.resources import Kind
from actions.resources.image import share_with_project

SOURCE_KEY = 'draas_source_id'
RESTORE_KEY = 'draas_restore'
DATA_KEY = 'draas_data'  # "restored" once the volume holds the checkpoint's data


def own_metadata(doc):
    """A volume's metadata without the keys an earlier restore gave it (going back, the
    checkpoint's volumes are restored copies: their "restored" mark is not this one's)."""
    return {k: v for k, v in (doc.get('metadata') or {}).items()
            if k not in (SOURCE_KEY, RESTORE_KEY, DATA_KEY)}


class VolumeType(Kind):
    name = 'volume_type'
    service = 'block_storage'
    fields = ('name', 'description', 'extra_specs', 'is_public')
    level = 'compute'

    def list(self, conn, ctx):
        return conn.block_storage.types()

    def restored(self, rc):
        # Reused, never made: one list of the target's types decides.
        names = {t.name: t.id for t in rc.admin.block_storage.types()}
        return {d['id']: names[rc.options['volume_types'].get(d['name'], d['name'])]
                for d in rc.docs('volume_type')
                if rc.options['volume_types'].get(d['name'], d['name']) in names}

    def restore(self, rc, doc, target_id):
        """The type of the same name (or the plan's mapping) on the target; without one
        volumes get the target's default type (preflight says so)."""
        return target_id  # restored() found it by name, or there is none: no second look


class Volume(Kind):
    name = 'volume'
    service = 'block_storage'
    fields = ('name', 'description', 'size', 'volume_type', 'is_bootable',
              'availability_zone', 'metadata', 'attachments', 'is_multiattach',
              'volume_image_metadata', 'replication_status', 'group_id', 'status',
              'updated_at')
    refs = {'volume_type_id': 'volume_type'}
    level = 'volumes'

    def list(self, conn, ctx):
        return conn.block_storage.volumes(all_projects=True, project_id=ctx.project.id)

    def derived(self, resource, workload):
        vtype = workload.by_name('volume_type', resource.volume_type)
        return {'volume_type_id': vtype['id'] if vtype else None,
                'server_ids': [a.get('server_id') for a in resource.attachments or ()]}

    def restored(self, rc):
        volumes = list(rc.conn.block_storage.volumes())
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
        vtype = rc.idmap.get('volume_type', {}).get(doc.get('volume_type_id'))
        if target_id is None and data['method'] == 'replication':
            # The array copied the data: the target's Cinder takes over the replica.
            ref = {k: v.format(id=doc['id'], name=doc.get('name') or '')
                   for k, v in rc.options['replica_ref'].items()}
            target_id = bs.manage_volume(
                host=rc.options['replica_host'], ref=ref, name=rc.name(doc.get('name')),
                description=doc.get('description'), volume_type=vtype,
                metadata=dict(own_metadata(doc), **tags, **{DATA_KEY: 'restored'}),
                bootable=bool(doc.get('is_bootable'))).id
            rc.remember('volume', doc['id'], target_id)
        if target_id is None:
            source = {}
            if data['method'] == 'image':  # filled by Cinder from the copied image
                source['image_id'] = share_with_project(rc, data['image_id'])
            target_id = bs.create_volume(
                size=doc['size'], name=rc.name(doc.get('name')),
                description=doc.get('description'),
                volume_type=vtype, metadata=dict(own_metadata(doc), **tags),
                **source).id
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
        movers.wait_volume(bs, target_id, rc.timeout, statuses=rc.volume_statuses)
        if doc.get('is_bootable'):
            bs.set_volume_bootable_status(target_id, True)
        bs.set_volume_metadata(target_id, **{SOURCE_KEY: doc['id'],
                                             RESTORE_KEY: rc.restore_id, DATA_KEY: 'restored'})


FIRST_KINDS = (VolumeType(),)
KINDS = (Volume(),)
