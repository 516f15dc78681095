"""Nova: flavors, keypairs (public key only), server groups, servers."""
from actions.resources import Kind


class Flavor(Kind):
    name = 'flavor'
    service = 'compute'
    fields = ('name', 'description', 'vcpus', 'ram', 'disk', 'ephemeral', 'swap',
              'rxtx_factor', 'is_public', 'extra_specs')

    def list(self, conn, ctx):
        return conn.compute.flavors(is_public=None)


class Keypair(Kind):
    name = 'keypair'
    service = 'compute'
    fields = ('name', 'public_key', 'type', 'fingerprint', 'user_id')
    secret_fields = ('private_key',)  # only returned when Nova generates a key

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


class ServerGroup(Kind):
    name = 'server_group'
    service = 'compute'
    fields = ('name', 'policy', 'rules', 'member_ids')

    def list(self, conn, ctx):
        return conn.compute.server_groups(all_projects=True)


class Server(Kind):
    name = 'server'
    service = 'compute'
    fields = ('name', 'description', 'availability_zone', 'metadata', 'tags', 'key_name',
              'config_drive', 'user_id', 'status', 'updated_at')
    refs = {'flavor_id': 'flavor', 'image_id': 'image', 'key_name': 'keypair',
            'port_ids': 'port', 'volume_ids': 'volume', 'server_group_id': 'server_group'}
    secret_fields = ('admin_password', 'user_data')  # user data kept only on request

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


FIRST_KINDS = (Flavor(), Keypair())
KINDS = (ServerGroup(), Server())
