"""Nova: flavors, keypairs (public key only), server groups, servers."""
from openstack.compute.v2 import flavor as sdk_flavor
from openstack.compute.v2 import keypair as sdk_keypair
from openstack.compute.v2 import server as sdk_server
from openstack.compute.v2 import server_group as sdk_server_group
from openstack import exceptions

from actions import errors
from actions.resources import ALIAS
from actions.resources import all_kinds
from actions.resources import ASSIGNED
from actions.resources import by_source_tag
from actions.resources import declared
from actions.resources import Field
from actions.resources import Kind
from actions.resources import missing_zones
from actions.resources import NOT_COMPARED
from actions.resources import restore_tags
from actions.resources import reused_name
from actions.resources import RESTORE_TAG
from actions.resources import STATE
from actions.resources import why
from actions import sites


class Flavor(Kind):
    name = 'flavor'
    service = 'compute'
    sdk = sdk_flavor.Flavor
    restores = (
        Field('name', how='a flavor of that name (or the plan\'s mapping) is used when the '
              'target has one'),
        Field('description'), Field('vcpus'), Field('ram'), Field('disk'),
        Field('ephemeral'), Field('swap'), Field('rxtx_factor'),
        Field('is_public', how='a private one gives the restored project access'),
        Field('extra_specs', arg=False, how='set after the flavor is made'))
    drops = dict(why(ASSIGNED, 'id'), original_name=ALIAS,
                 is_disabled='Nova\'s API never disables a flavor')
    level = 'compute'

    def list(self, conn, ctx):
        return conn.compute.flavors(is_public=None)

    def restored(self, rc):
        if rc.member:
            return {d: f.id for d, f in self.chosen(rc).items() if f is not None}
        names = {f.name: f for f in rc.admin.compute.flavors(is_public=None)}
        out = {}
        for d in rc.docs('flavor'):
            name = rc.options['flavors'].get(d['name'], d['name'])
            # A drill reuses the public flavor of that name, else makes one of its own.
            for found in (names.get(name), names.get(rc.name(name))):
                if found is not None and (found.is_public or not rc.drill or
                                          found.name != name):
                    out[d['id']] = found.id
                    break
        return out

    @staticmethod
    def chosen(rc):
        """Tenant mode, where no flavor can be made: {flavor document: the target's flavor
        a restore uses (the plan's mapping, else the one of the same name, else the
        closest that fits), or None}."""
        have = list(rc.admin.compute.flavors())  # the public ones and those shared with it
        names = {f.name: f for f in have}
        return {d['id']: names.get(rc.options['flavors'].get(d['name'], d['name'])) or (
            None if d['name'] in rc.options['flavors'] else closest(d, have))
            for d in rc.docs('flavor')}

    def restore(self, rc, doc, target_id):
        """The flavor of the same name (or the plan's mapping) on the target; created
        like the source one when missing and not mapped (preflight checked which)."""
        compute = rc.admin.compute
        if rc.member and not target_id:  # preflight said so
            raise errors.DraasError('no flavor of %s fits flavor %r' % (rc.site, doc['name']))
        if target_id:
            flavor = compute.get_flavor(target_id)
        else:
            name = rc.options['flavors'].get(doc['name'], doc['name'])
            flavor = compute.create_flavor(**dict(
                self.args(rc, doc, skip=('swap',)), name=rc.name(name),
                is_public=doc.get('is_public', True) and not rc.drill,
                # Nova's API says "" for no swap, and takes 0 or more MiB.
                swap=doc.get('swap') or 0))
            if doc.get('extra_specs'):
                compute.create_flavor_extra_specs(flavor, doc['extra_specs'])
        if not flavor.is_public and not rc.member:  # a member's project has access
            self.give_access(compute, flavor, rc.project_id)
        return flavor.id

    def remove(self, bubble):
        """The drill's own flavors; the drill projects' access to private ones it used."""
        compute, count = bubble.admin.compute, 0
        for flavor in compute.flavors(is_public=None):
            if bubble.made(flavor.name):
                compute.delete_flavor(flavor)
                count += 1
            elif not flavor.is_public and flavor.id in bubble.idmap.get(
                    'flavor', {}).values():
                for pid in bubble.project_ids:
                    try:
                        compute.flavor_remove_tenant_access(flavor, pid)
                    except exceptions.NotFoundException:
                        pass
        return count

    def intended(self, rc, field, doc):
        if rc.member:
            return NOT_COMPARED  # the target's flavor as it is: preflight names it
        if field.name == 'name':
            return reused_name(rc, doc, rc.options['flavors'])
        if field.name == 'is_public' and rc.drill:
            return NOT_COMPARED  # a public one of the target's, or the drill's own
        return super().intended(rc, field, doc)

    def check(self, rc, found):
        """Mapped flavors must exist; others are reused or created (in tenant mode: the
        closest that fits is proposed, none fitting is a problem)."""
        if rc.member:
            return self.check_member(rc, found)
        for flavor in rc.docs('flavor'):
            name = rc.options['flavors'].get(flavor['name'], flavor['name'])
            there = rc.admin.compute.find_flavor(name, ignore_missing=True)
            if there is None and name != flavor['name']:
                found.problems.append('flavor %r (mapped from %r) does not exist on %s' % (
                    name, flavor['name'], rc.site))
            elif there is None:
                found.preview.append('create flavor %s (%d vCPU, %d MiB)' % (
                    name, flavor['vcpus'], flavor['ram']))
            else:
                if (there.vcpus, there.ram) != (flavor['vcpus'], flavor['ram']):
                    found.warnings.append(
                        'flavor %s on %s has %d vCPU/%d MiB, the source %d/%d' % (
                            name, rc.site, there.vcpus, there.ram, flavor['vcpus'],
                            flavor['ram']))
                found.preview.append('use flavor %s' % name)

    @staticmethod
    def check_member(rc, found):
        chosen = Flavor.chosen(rc)
        for doc in rc.docs('flavor'):
            there = chosen[doc['id']]
            mapped = rc.options['flavors'].get(doc['name'])
            if there is None and mapped:
                found.problems.append('flavor %r (mapped from %r) is not a flavor %s may use'
                                      % (mapped, doc['name'], rc.site))
            elif there is None:
                found.problems.append(
                    'no flavor %s may use fits flavor %r (%s), and a member\'s credentials '
                    'make none: map it in options.restore.flavors, e.g. {%r: <a flavor of '
                    '%s>}' % (rc.site, doc['name'], sizes(doc), doc['name'], rc.site))
            elif there.name == (mapped or doc['name']):
                found.preview.append('use flavor %s' % there.name)
            else:
                found.warnings.append('flavor %r (%s) becomes %r (%s), the closest of %s that '
                                      'fits (map it in options.restore.flavors to choose)' % (
                                          doc['name'], sizes(doc), there.name,
                                          sizes(there), rc.site))
                found.preview.append('use flavor %s for %s' % (there.name, doc['name']))

    @staticmethod
    def give_access(compute, flavor, project_id):
        """Let the project use a private flavor (once: Nova answers 409 to a second time)."""
        if project_id in {a['tenant_id'] for a in compute.get_flavor_access(flavor)}:
            return
        try:
            compute.flavor_add_tenant_access(flavor, project_id)
        except exceptions.ConflictException:
            pass  # given meanwhile by a parallel run


class Keypair(Kind):
    name = 'keypair'
    service = 'compute'
    sdk = sdk_keypair.Keypair
    restores = (Field('name', how='two users\' keys of one name with other public keys: '
                      'the second as "<name>-<its user>" (the restoring user owns both)'),
                Field('public_key'), Field('type'))
    keeps = {'fingerprint': 'computed by Nova from the public key (the same)',
             'user_id': 'the copy belongs to the restoring user: Nova boots a server with '
                        'a key of the user creating it'}
    drops = dict(why(ASSIGNED, 'id', 'created_at'), is_deleted=STATE,
                 private_key='a secret, and only returned when Nova generates a key')
    level = 'compute'

    def list(self, conn, ctx):
        # Keypairs belong to users: one list call per user owning a server with a key.
        for user_id in sorted(ctx.keypair_users):
            if ctx.mode != sites.ADMIN and user_id != conn.current_user_id:
                raise errors.DraasError(
                    'a server of the scope has a keypair of user %s: Nova shows a keypair '
                    'to its user and to admins only, and these credentials are a member\'s '
                    '(user %s): protect it with that user\'s credentials, or an admin\'s'
                    % (user_id, conn.current_user_id))
            for keypair in conn.compute.keypairs(user_id=user_id):
                keypair.user_id = user_id
                yield keypair

    def export(self, resource, workload):
        doc = super().export(resource, workload)
        doc['id'] = key_id(workload, resource.name, resource.user_id)
        return doc

    @staticmethod
    def copy_name(rc, doc):
        """The name of the copy: the key's own, unless another user's key of that name
        is also restored (then suffixed with the user's name)."""
        if doc['id'] != '%s@%s' % (doc['name'], doc.get('user_id')):
            return rc.name(doc['name'])
        user = {u['id']: u['name'] for u in rc.docs('user')}.get(doc['user_id'],
                                                                 doc['user_id'][:8])
        return rc.name('%s-%s' % (doc['name'], user))

    def check(self, rc, found):
        """A key of the restoring user of the copy's name must hold the same public key."""
        if rc.drill:
            return  # a drill's keys are its own
        mine = {k.name: k for k in rc.admin.compute.keypairs()}
        for key in rc.docs('keypair'):
            have = mine.get(self.copy_name(rc, key))
            if have is not None and have.public_key.strip() != key['public_key'].strip():
                found.problems.append('keypair %r of the restoring user on %s holds another '
                                      'public key' % (self.copy_name(rc, key), rc.site))

    # Restored keypairs belong to the user who restores (servers boot with a key of the
    # user creating them).
    def restored(self, rc):
        names = {k.name for k in rc.conn.compute.keypairs()}
        return {d['id']: self.copy_name(rc, d) for d in rc.docs('keypair')
                if self.copy_name(rc, d) in names}

    def intended(self, rc, field, doc):
        if field.name == 'name':
            return self.copy_name(rc, doc)
        return super().intended(rc, field, doc)

    def remove(self, bubble):
        mine = [k for k in bubble.admin.compute.keypairs() if bubble.made(k.name)]
        for key in mine:  # the restoring user's
            bubble.admin.compute.delete_keypair(key)
        return len(mine)

    def restore(self, rc, doc, target_id):
        if not target_id:
            rc.conn.compute.create_keypair(**dict(self.args(rc, doc),
                                                  name=self.copy_name(rc, doc)))
        return self.copy_name(rc, doc)


def sizes(flavor):
    """"2 vCPU, 4096 MiB RAM, 20 GB disk" of a flavor (document or resource)."""
    get = flavor.get if isinstance(flavor, dict) else lambda k: getattr(flavor, k, None)
    return '%s vCPU, %s MiB RAM, %s GB disk' % (get('vcpus'), get('ram'), get('disk'))


def closest(doc, flavors):
    """The flavor of `flavors` with at least the vCPUs, RAM and disk of flavor document
    `doc` and the least more of them (each relative to `doc`'s, summed; then the smallest
    disk), or None."""
    keys = ('vcpus', 'ram', 'disk')

    def excess(f):
        return (sum(getattr(f, k) / doc[k] for k in keys if doc.get(k)), f.disk or 0, f.name)
    return min((f for f in flavors if all((getattr(f, k) or 0) >= (doc.get(k) or 0)
                                          for k in keys)), key=excess, default=None)


def key_id(workload, name, user_id):
    """A keypair's ID in checkpoints (servers refer to keys by name): its name, unless
    users of the workload hold other keys of that name: "<name>@<user ID>"."""
    return '%s@%s' % (name, user_id) if name in workload.raw.get('keypair_clash', ()) else name


class ServerGroup(Kind):
    name = 'server_group'
    service = 'compute'
    sdk = sdk_server_group.ServerGroup
    restores = (Field('name'), Field('policy'), Field('rules'))
    keeps = {'member_ids': 'servers join their group when they boot (scheduler hint)',
             'project_id': 'the restored project\'s', 'user_id': 'the restoring user\'s'}
    drops = dict(why(ASSIGNED, 'id'), policies=ALIAS,
                 metadata='always empty in Nova\'s API')
    level = 'compute'

    def list(self, conn, ctx):
        return conn.compute.server_groups(all_projects=True)

    def restored(self, rc):
        # Server groups have neither tags nor metadata: matched by name in the project.
        names = {g.name: g.id for g in rc.conn.compute.server_groups()}
        return {d['id']: names[rc.name(d['name'])] for d in rc.docs('server_group')
                if rc.name(d['name']) in names}

    def restore(self, rc, doc, target_id):
        return target_id or rc.conn.compute.create_server_group(**self.args(rc, doc)).id

    def remove(self, bubble):
        compute = bubble.admin.compute
        mine = [g for g in compute.server_groups(all_projects=True)
                if g.project_id in bubble.project_ids or bubble.made(g.name)]
        for group in mine:
            compute.delete_server_group(group)
        return len(mine)


class Server(Kind):
    name = 'server'
    service = 'compute'
    sdk = sdk_server.Server
    restores = (
        Field('name'), Field('description'), Field('metadata'),
        Field('tags', how='with the restore\'s tags added'),
        Field('flavor_id', ref='flavor'),
        Field('image_id', ref='image', how='for a server booting from an image: the copy '
              'of its root disk\'s snapshot, or of its image (root_disk base_image)'),
        Field('boot_volume_id', arg=False, ref='volume',
              how='(computed) the volume a server boots from, once its data is there'),
        Field('port_ids', arg=False, ref='port', how='(computed) its ports, in order'),
        Field('key_name', ref='keypair'),
        Field('availability_zone', arg=False,
              how='only when options.restore.availability_zones maps it'),
        Field('server_group_id', arg=False, ref='server_group',
              how='(computed) the group, as a scheduler hint'),
        Field('config_drive', how='asked for when the source had one'),
        Field('user_data', how='kept only with options.keep_user_data (it may hold '
              'secrets)'),
        Field('volume_ids', arg=False, ref='volume',
              how='(computed) attached at the attach level'))
    keeps = {'flavor': 'the flavor as the server saw it (the flavor kind restores it)',
             'user_id': 'the copy belongs to the restoring user',
             'status': 'the copy is started (ACTIVE) whatever the source was',
             'updated_at': 'the source\'s version of the server (checkpoints compare it)'}
    drops = declared(
        why(ASSIGNED, 'id', 'created_at', 'launched_at', 'terminated_at', 'host_id',
            'reservation_id', 'launch_index', 'instance_name', 'hostname', 'links',
            'project_id', 'compute_host', 'host', 'hypervisor_hostname', 'kernel_id',
            'ramdisk_id', 'root_device_name', 'pinned_availability_zone'),
        why(STATE, 'power_state', 'task_state', 'vm_state', 'progress', 'fault',
            'host_status', 'is_locked', 'locked_reason'),
        why(ALIAS, 'image', 'has_config_drive', 'block_device_mapping', 'networks',
            'attached_volumes', 'security_groups', 'server_groups', 'addresses',
            'scheduler_hints'),
        admin_password='a secret, only returned when Nova generates one',
        access_ipv4='Nova\'s free-text address fields, unused by Neutron',
        access_ipv6='Nova\'s free-text address fields, unused by Neutron',
        disk_config='a Xen-era API setting, decided by the image',
        personality='deprecated file injection, never returned',
        trusted_image_certificates='certificate IDs of the source\'s key manager',
        min_count='a create-time request', max_count='a create-time request')
    level = 'servers'
    tagged = True

    def list(self, conn, ctx):
        query = sites.in_every_project(conn, ctx.project.id)
        if ctx.scope.get('tags'):
            query['tags'] = ','.join(ctx.scope['tags'])
        return conn.compute.servers(details=True, **query)

    def derived(self, resource, workload):
        flavor = workload.by_name('flavor', (resource.flavor or {}).get('original_name'))
        volumes = [v['id'] for v in resource.attached_volumes or ()]
        root = workload.root_volume(resource)
        groups = [g['id'] for g in workload.docs('server_group')
                  if resource.id in (g.get('member_ids') or ())]
        doc = {'flavor_id': flavor['id'] if flavor else None,
               'key_name': resource.key_name and key_id(workload, resource.key_name,
                                                        resource.user_id),
               'flavor': dict(resource.flavor or {}),
               'image_id': (resource.image or {}).get('id') or None,
               'boot_volume_id': root,
               'volume_ids': volumes,
               'port_ids': [p['id'] for p in workload.docs('port')
                            if p['device_id'] == resource.id],
               'server_group_id': groups[0] if groups else None,
               # It may hold secrets: kept only when the plan asks.
               'user_data': resource.user_data if workload.keep_user_data else None}
        return doc

    def check(self, rc, found):
        """The boot order names servers of the checkpoint, once; mapped zones exist."""
        ordered = [name for group in rc.options['boot_order'] for name in group]
        unknown = sorted(set(ordered) - {s['name'] for s in rc.docs('server')})
        if unknown:
            found.problems.append('options.restore.boot_order: checkpoint %s has no server '
                                  '%s' % (rc.checkpoint_id, ', '.join(map(repr, unknown))))
        twice = sorted({name for name in ordered if ordered.count(name) > 1})
        if twice:
            found.problems.append('options.restore.boot_order: server %s listed more than '
                                  'once' % ', '.join(map(repr, twice)))
        found.problems.extend(missing_zones(rc, 'compute', 'server'))
        flavors = {f['id']: f for f in rc.docs('flavor')}
        kept = rc.data.get('root_disks')
        copies = sorted({r['target_id'] for r in (kept or {}).values() if r.get('target_id')})
        # One list per 100 copies (a URL of bounded length), not a GET per server.
        active = {i.id for n in range(0, len(copies), 100)
                  for i in rc.admin.image.images(id='in:' + ','.join(copies[n:n + 100]))
                  if i.status == 'active'}
        for server in rc.docs('server'):
            root = (kept or {}).get(server['id']) or {}
            if root.get('target_id'):
                if root['target_id'] not in active:
                    found.problems.append('the copy of the root disk of server %r (%s) is '
                                          'missing on %s' % (server['name'], root['target_id'],
                                                             rc.site))
                found.preview.append('boot server %s from its root disk as checkpointed'
                                     % server['name'])
            elif root.get('mode') == 'base_image':
                found.preview.append('boot server %s from its base image (root_disk '
                                     'base_image: its root disk\'s writes are not kept)'
                                     % server['name'])
            elif kept is None and server.get('image_id') and not server.get('boot_volume_id'):
                found.warnings.append('server %s boots from its base image: checkpoint %s '
                                      'kept no root disks (taken before draas did)' % (
                                          server['name'], rc.checkpoint_id))
            flavor = flavors.get(server.get('flavor_id')) or {}
            empty = ['ephemeral disk (%s GB)' % flavor['ephemeral']] \
                if flavor.get('ephemeral') else []
            if flavor.get('swap'):
                empty.append('swap (%s MB)' % flavor['swap'])
            if empty:
                found.preview.append('server %s gets an empty %s: checkpoints keep neither'
                                     % (server['name'], ' and '.join(empty)))

    def needs(self, rc, done):
        flavors = {f['id']: f for f in rc.docs('flavor')}
        todo = [flavors[s['flavor_id']] for s in rc.docs('server') if s['id'] not in done]
        return {'instances': len(todo), 'cores': sum(f['vcpus'] for f in todo),
                'ram': sum(f['ram'] for f in todo)}

    def restored(self, rc):
        return by_source_tag(rc.conn.compute.servers(tags=RESTORE_TAG + rc.restore_id))

    def intended(self, rc, field, doc):
        if field.name == 'user_data' and not rc.plan['options'].get('keep_user_data'):
            return NOT_COMPARED
        if field.name == 'image_id' and root_disk_copy(rc, doc):
            return root_disk_copy(rc, doc)  # its root disk, a snapshot of its base image
        if (field.name == 'availability_zone' and
                doc.get('availability_zone') not in rc.options['availability_zones']):
            return NOT_COMPARED  # the target's scheduler chooses
        return super().intended(rc, field, doc)

    def remove(self, bubble):
        compute = bubble.admin.compute

        def servers():
            seen = {s.id: s for s in compute.servers(tags=bubble.tag,
                                                     **sites.all_projects(bubble.admin))}
            for pid in bubble.project_ids:
                seen.update({s.id: s for s in compute.servers(all_projects=True,
                                                              project_id=pid)})
            return seen.values()
        found = list(servers())
        for server in found:
            compute.delete_server(server)
        bubble.wait('deleting the servers', servers, lambda s: not s)
        return len(found)

    def restore(self, rc, doc, target_id):
        if target_id:
            return target_id
        attrs = dict(self.args(rc, doc, skip=('image_id', 'config_drive', 'user_data')),
                     networks=[{'port': rc.map('port', p)} for p in doc['port_ids']],
                     metadata=doc.get('metadata') or {}, tags=restore_tags(rc, doc))
        if doc.get('boot_volume_id'):
            # Its data has been filling since the volumes level: boot once it is there.
            all_kinds()['volume'].finish(rc, rc.doc('volume', doc['boot_volume_id']),
                                         rc.map('volume', doc['boot_volume_id']))
            attrs['block_device_mapping'] = [{
                'boot_index': 0, 'uuid': rc.map('volume', doc['boot_volume_id']),
                'source_type': 'volume', 'destination_type': 'volume',
                'delete_on_termination': False}]
        else:
            attrs['image_id'] = root_disk_image(rc, doc) or rc.map('image', doc['image_id'])
        zone = rc.options['availability_zones'].get(doc.get('availability_zone'))
        if zone:
            attrs['availability_zone'] = zone
        if doc.get('server_group_id'):
            attrs['scheduler_hints'] = {'group': rc.map('server_group',
                                                        doc['server_group_id'])}
        if doc.get('user_data'):
            attrs['user_data'] = doc['user_data']
        if doc.get('config_drive'):
            attrs['config_drive'] = True
        return rc.conn.compute.create_server(**attrs).id


def root_disk_copy(rc, doc):
    """The copy at the target of a server's root disk snapshot, or None (a volume-backed or
    stateless server, or a checkpoint from before root disks were kept)."""
    return ((rc.data.get('root_disks') or {}).get(doc['id']) or {}).get('target_id')


def root_disk_image(rc, doc):
    """The root disk copy a server boots from, shared with the restored project, or None."""
    from actions.resources import image  # a sibling kind module
    copy = root_disk_copy(rc, doc)
    return image.share_with_project(rc, copy) if copy else None


FIRST_KINDS = (Flavor(), Keypair())
KINDS = (ServerGroup(), Server())
