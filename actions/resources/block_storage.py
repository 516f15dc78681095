"""Cinder: volume types and volumes (size, type, bootable, attachments, metadata)."""
from actions.resources import Kind


class VolumeType(Kind):
    name = 'volume_type'
    service = 'block_storage'
    fields = ('name', 'description', 'extra_specs', 'is_public')

    def list(self, conn, ctx):
        return conn.block_storage.types()


class Volume(Kind):
    name = 'volume'
    service = 'block_storage'
    fields = ('name', 'description', 'size', 'volume_type', 'is_bootable',
              'availability_zone', 'metadata', 'attachments', 'is_multiattach',
              'volume_image_metadata', 'replication_status', 'group_id', 'status',
              'updated_at')
    refs = {'volume_type_id': 'volume_type'}

    def list(self, conn, ctx):
        return conn.block_storage.volumes(all_projects=True, project_id=ctx.project.id)

    def derived(self, resource, workload):
        vtype = workload.by_name('volume_type', resource.volume_type)
        return {'volume_type_id': vtype['id'] if vtype else None,
                'server_ids': [a.get('server_id') for a in resource.attachments or ()]}


FIRST_KINDS = (VolumeType(),)
KINDS = (Volume(),)
