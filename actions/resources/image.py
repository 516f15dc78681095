"""Glance: metadata of the images servers boot from (the data is copied by replication)."""
from openstack import exceptions

from actions.resources import Kind


class Image(Kind):
    name = 'image'
    service = 'image'
    fields = ('name', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'size',
              'checksum', 'hash_algo', 'hash_value', 'visibility', 'tags', 'properties',
              'is_protected', 'owner_id')
    level = 'compute'

    def list(self, conn, ctx):
        if not ctx.image_ids:
            return []
        # One call for all of them: Glance's "in:" filter on id.
        return conn.image.images(id='in:' + ','.join(sorted(ctx.image_ids)))

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
