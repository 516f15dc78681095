"""Nova: flavors, keypairs (public key only), server groups, servers."""
from actions.resources import all_kinds
from actions.resources import by_source_tag
from actions.resources import Kind
from actions.resources import restore_tags
from actions.resources import RESTORE_TAG


class Flavor(Kind):
    name = 'flavor'
    service = 'compute'
    fields = ('name', 'description', 'vcpus', 'ram', 'disk', 'ephemeral', 'swap',
              'rxtx_factor', 'is_public', 'extra_specs')

    level = 'compute'

    def list(self, conn, ctx):
        return conn.compute.flavors(is_public=None)

    def restored(self, rc):
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

    def restore(self, rc, doc, target_id):
        """The flavor of the same name (or the plan's mapping) on the target; created
        like the source one when missing and not mapped (preflight checked which)."""
        if target_id:
            found = rc.admin.compute.get_flavor(target_id)
            if not found.is_public:
                rc.admin.compute.flavor_add_tenant_access(found, rc.project_id)
            return found.id
        name = rc.options['flavors'].get(doc['name'], doc['name'])
        flavor = rc.admin.compute.create_flavor(
            name=rc.name(name), vcpus=doc['vcpus'], ram=doc['ram'], disk=doc['disk'],
            ephemeral=doc.get('ephemeral') or 0, swap=doc.get('swap') or 0,
            rxtx_factor=doc.get('rxtx_factor') or 1.0,
            is_public=doc.get('is_public', True) and not rc.drill,
            description=doc.get('description'))
        if doc.get('extra_specs'):
            rc.admin.compute.create_flavor_extra_specs(flavor, doc['extra_specs'])
        if not flavor.is_public:
            rc.admin.compute.flavor_add_tenant_access(flavor, rc.project_id)
        return flavor.id


class Keypair(Kind):
    name = 'keypair'
    service = 'compute'
    fields = ('name', 'public_key', 'type', 'fingerprint', 'user_id')
    secret_fields = ('private_key',)  # only returned when Nova generates a key
    level = 'compute'

    def list(self, conn, ctx):
        # Keypairs belong to users: one list call per user owning a server with a key.
        for user_id in sorted(ctx.keypair_users):
            for keypair in conn.compute.keypairs(user_id=user_id):
                keypair.user_id = user_id
                yield keypair

    def export(self, resource, workload):
        doc = super().export(resource, workload)
        doc['id'] = resource.name  # servers refer to keypairs by name
        return doc

    # Restored keypairs belong to the user who restores (servers boot with a key of the
    # user creating them); preflight refuses a same-named key with another public key.
    def restored(self, rc):
        names = {k.name for k in rc.conn.compute.keypairs()}
        return {d['name']: rc.name(d['name']) for d in rc.docs('keypair')
                if rc.name(d['name']) in names}

    def restore(self, rc, doc, target_id):
        if not target_id:
            rc.conn.compute.create_keypair(name=rc.name(doc['name']),
                                           public_key=doc['public_key'],
                                           type=doc.get('type') or 'ssh')
        return rc.name(doc['name'])


class ServerGroup(Kind):
    name = 'server_group'
    service = 'compute'
    fields = ('name', 'policy', 'rules', 'member_ids')
    level = 'compute'

    def list(self, conn, ctx):
        return conn.compute.server_groups(all_projects=True)

    def restored(self, rc):
        # Server groups have neither tags nor metadata: matched by name in the project.
        names = {g.name: g.id for g in rc.conn.compute.server_groups()}
        return {d['id']: names[rc.name(d['name'])] for d in rc.docs('server_group')
                if rc.name(d['name']) in names}

    def restore(self, rc, doc, target_id):
        return target_id or rc.conn.compute.create_server_group(
            name=rc.name(doc['name']), policy=doc['policy'], rules=doc.get('rules') or {}).id


class Server(Kind):
    name = 'server'
    service = 'compute'
    fields = ('name', 'description', 'availability_zone', 'metadata', 'tags', 'key_name',
              'config_drive', 'user_id', 'status', 'updated_at')
    refs = {'flavor_id': 'flavor', 'image_id': 'image', 'key_name': 'keypair',
            'port_ids': 'port', 'volume_ids': 'volume', 'server_group_id': 'server_group'}
    secret_fields = ('admin_password', 'user_data')  # user data kept only on request
    level = 'servers'
    tagged = True

    def list(self, conn, ctx):
        query = {'all_projects': True, 'project_id': ctx.project.id}
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
               'flavor': dict(resource.flavor or {}),
               'image_id': (resource.image or {}).get('id') or None,
               'boot_volume_id': root,
               'volume_ids': volumes,
               'port_ids': [p['id'] for p in workload.docs('port')
                            if p['device_id'] == resource.id],
               'server_group_id': groups[0] if groups else None}
        if workload.keep_user_data:
            doc['user_data'] = resource.user_data
        return doc

    def restored(self, rc):
        return by_source_tag(rc.conn.compute.servers(tags=RESTORE_TAG + rc.restore_id))

    def restore(self, rc, doc, target_id):
        if target_id:
            return target_id
        attrs = dict(name=rc.name(doc['name']), flavor_id=rc.map('flavor', doc['flavor_id']),
                     networks=[{'port': rc.map('port', p)} for p in doc['port_ids']],
                     metadata=doc.get('metadata') or {},
                     tags=restore_tags(rc, doc))
        if doc.get('description'):
            attrs['description'] = doc['description']
        if doc.get('boot_volume_id'):
            # Its data has been filling since the volumes level: boot once it is there.
            all_kinds()['volume'].finish(rc, rc.doc('volume', doc['boot_volume_id']),
                                         rc.map('volume', doc['boot_volume_id']))
            attrs['block_device_mapping'] = [{
                'boot_index': 0, 'uuid': rc.map('volume', doc['boot_volume_id']),
                'source_type': 'volume', 'destination_type': 'volume',
                'delete_on_termination': False}]
        else:
            attrs['image_id'] = rc.map('image', doc['image_id'])
        if doc.get('key_name'):
            attrs['key_name'] = rc.map('keypair', doc['key_name'])
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


FIRST_KINDS = (Flavor(), Keypair())
KINDS = (ServerGroup(), Server())
