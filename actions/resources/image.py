"""Glance: metadata of the images servers boot from (the data is copied by replication)."""
from openstack import exceptions
from openstack.image.v2 import image as sdk_image

from actions.resources import ALIAS
from actions.resources import ASSIGNED
from actions.resources import declared
from actions.resources import Field
from actions.resources import Kind
from actions.resources import sdk_attributes
from actions.resources import STATE
from actions.resources import why

# Attributes of Glance's own (openstacksdk names them); every other attribute is an image
# property (hw_*, os_*, ...), restored with the custom ones in "properties".
_CORE = ('id', 'name', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'size',
         'virtual_size', 'checksum', 'hash_algo', 'hash_value', 'visibility', 'tags',
         'properties', 'is_protected', 'is_hidden', 'owner', 'owner_id', 'status',
         'created_at', 'updated_at', 'direct_url', 'file', 'locations', 'metadata', 'schema',
         'store', 'url')
PROPERTY_ATTRIBUTES = {attr: api for attr, api in sdk_attributes(sdk_image.Image).items()
                       if attr not in _CORE}
# Properties that are not the image's own: set by Glance or by openstacksdk at upload (the
# copy gets its own), or by draas.
NOT_PROPERTIES = ('os_glance_', 'owner_specified.openstack.', 'stores', 'os_hash_',
                  'draas_')


def image_properties(resource):
    """Every property of an image as Glance gives it (names and text values)."""
    # The body as the API sent it: openstacksdk turns some properties into other types.
    body = getattr(getattr(resource, '_body', None), 'attributes', None)
    if body is None:  # not read from an API
        body = {api: getattr(resource, attr, None)
                for attr, api in PROPERTY_ATTRIBUTES.items()}
        body['properties'] = getattr(resource, 'properties', None)
    props = {api: body.get(api) for api in PROPERTY_ATTRIBUTES.values()}
    props.update(body.get('properties') or {})
    return {k: v for k, v in sorted(props.items())
            if v is not None and not k.startswith(NOT_PROPERTIES)}


class Image(Kind):
    name = 'image'
    service = 'image'
    sdk = sdk_image.Image
    restores = tuple(Field(name, how='on the copy the checkpoint makes at the recovery '
                           'site') for name in ('name', 'disk_format', 'container_format',
                                                'min_disk', 'min_ram', 'tags')) + (
        Field('properties', how='every property (hw_*, os_*, custom ones) under Glance\'s '
              'name, on the copy the checkpoint makes'),)
    keeps = {
        'size': 'the copy holds the same bytes', 'checksum': 'the copy holds the same bytes',
        'hash_algo': 'copies are found by this hash',
        'hash_value': 'copies are found by this hash',
        'visibility': 'the copy is private, shared with the restored project',
        'is_protected': 'the copy may be deleted by retention',
        'owner_id': 'the copy belongs to the project of the target\'s clouds.yaml entry'}
    drops = declared(
        why(ASSIGNED, 'id', 'created_at', 'updated_at', 'direct_url', 'file', 'locations',
            'schema', 'store', 'url', 'virtual_size'),
        why(STATE, 'status'), why(ALIAS, 'owner', 'metadata'),
        is_hidden='a hidden copy could not be found by its hash',
        **why('an image property: kept in "properties"', *PROPERTY_ATTRIBUTES))
    level = 'compute'

    def derived(self, resource, workload):
        return {'properties': image_properties(resource)}

    def seen(self, rc, doc):
        """The project shows the images its servers boot from: not one whose servers all
        boot from their root disk's copy (compared as their image_id)."""
        from actions.resources import compute  # a sibling kind module
        return any(s.get('image_id') == doc['id'] and not compute.root_disk_copy(rc, s)
                   for s in rc.docs('server'))

    def intended(self, rc, field, doc):
        if field.name == 'name':
            return doc['name']  # the checkpoint's copy, shared: never renamed
        return super().intended(rc, field, doc)

    def remove(self, bubble):
        """Copies shared with the drill's projects (boot images, root disks, volumes of the
        image method) lose that membership; the copies stay: they are the checkpoint's."""
        images = set(bubble.idmap.get('image', {}).values())
        images |= {v['image_id'] for v in (bubble.data.get('volumes') or {}).values()
                   if v.get('method') == 'image'}
        images |= {r['target_id'] for r in (bubble.data.get('root_disks') or {}).values()
                   if r.get('target_id')}
        for image_id in images:
            for pid in bubble.project_ids:
                bubble.admin.image.remove_member(pid, image_id)
        return 0

    def list(self, conn, ctx):
        if not ctx.image_ids:
            return []
        # One call for all of them: Glance's "in:" filter on id.
        return conn.image.images(id='in:' + ','.join(sorted(ctx.image_ids)))

    def check(self, rc, found):
        """The checkpoint's copy of each image is active at the target."""
        for image in rc.docs('image'):
            copy = rc.data['images'].get(image['id'], {}).get('target_id')
            there = copy and rc.admin.image.find_image(copy, ignore_missing=True)
            if not there or there.status != 'active':
                found.problems.append('the copy of image %r (%s) is missing on %s' % (
                    image.get('name'), copy, rc.site))

    def restored(self, rc):
        return {d['id']: rc.data['images'][d['id']]['target_id'] for d in rc.docs('image')}

    def restore(self, rc, doc, target_id):
        """The copy replication made on the target, shared with the workload's project so
        its servers can boot from it."""
        return share_with_project(rc, rc.data['images'][doc['id']]['target_id'])


KINDS = (Image(),)


def share_with_project(rc, image_id):
    """Let the restored project use an image replication copied to the target (owned by
    the restoring admin's project, private): shared, membership accepted."""
    image = rc.admin.image.get_image(image_id)
    if image.visibility in ('public', 'community') or image.owner == rc.project_id:
        return image.id
    if image.visibility != 'shared':
        rc.admin.image.update_image(image, visibility='shared')
    members = {m.member_id for m in rc.admin.image.members(image)}
    if rc.project_id not in members:
        try:
            rc.admin.image.add_member(image, member_id=rc.project_id)
        except exceptions.HttpException as exc:
            if exc.status_code != 413:
                raise
            # Glance caps an image's members (image_member_quota, 128 by default) and keeps
            # those of deleted projects (drills, restores since removed): drop those, retry.
            gone = [m for m in sorted(members) if not _project_exists(rc.admin, m)]
            if not gone:
                raise
            for member in gone:
                rc.admin.image.remove_member(member, image)
            rc.admin.image.add_member(image, member_id=rc.project_id)
    rc.conn.image.update_member(rc.project_id, image, status='accepted')
    return image.id


def _project_exists(admin, project_id):
    """False only when Keystone says the project is not there (a project this admin may
    not see, in another domain, is kept)."""
    try:
        admin.identity.get_project(project_id)
    except exceptions.NotFoundException:
        return False
    except exceptions.HttpException:
        pass
    return True
