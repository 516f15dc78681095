"""The workload zoo: workloads shaped unlike the sample, each in a project of its own, that
together set the attributes a tenant or an admin sets on the protected kinds.

    SHAPES = {name: (create(cloud, project) -> plan options, description)}

- ``network``: a network with its own MTU and description, an IPv4 subnet without DHCP with
  allocation pools, DNS servers and host routes, an IPv6 SLAAC subnet, a network without port
  security and a subnet without gateway; a router without gateway, interfaces on three
  subnets and an extra route; a stateless security group with IPv6 and remote-group rules
  (the remote group only referred to); ports with a fixed IP, allowed address pairs, extra
  DHCP options, description and tags, and one without port security; a server with two NICs,
  metadata, tags and a description.
- ``identity``: the project in a domain of its own, with tags and a description; users of
  that domain with an email, a description, one or two roles, a default project.
- ``storage``: a server booting from a volume with two data volumes (one of 2 GiB), another
  with one; volume descriptions and metadata; a soft-anti-affinity group; server tags.
- ``addresses``: ports keeping their MACs (the plan asks), a DHCPv6-stateful subnet, a port
  with two addresses on one subnet, a gateway that is not the first address.
- ``groups``: servers of two users booted with their own keypairs of one name; anti-affinity
  (with a rule), soft-affinity and affinity groups.
- ``images``: servers of a private, a public and a community image (of another project),
  with other properties each; a paused server; user data (kept: the plan asks).
- ``access``: a group holding a role on the project, and a user who has it only through
  the group; a port with two addresses on one subnet whose floating IP forwards to the
  second; a floating IP on no port.
- ``compute``: a private flavor with extra specs, ephemeral and swap disks; an image with
  hw_*/os_* and custom properties, tags and minimums; a volume type with extra specs (the
  recovery site does not have it: the plan lets draas create it); a keypair; an affinity
  server group; a server with a config drive and a volume of that type, a stopped server; a
  router with a gateway and a floating IP.

    python -m tests.functional.zoo create SHAPE site-a NAME
    python -m tests.functional.zoo delete site-a NAME
"""
import base64
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
import openstack

from tests.functional import workload


def _image(c, name, **attrs):
    with tempfile.NamedTemporaryFile(suffix='.raw') as f:
        f.write(workload.content_for(name + '-image', 1 << 20))
        f.flush()
        return c.image.create_image(name=name + '-image', filename=f.name, disk_format='raw',
                                    container_format='bare', wait=True, **attrs)


def _new_public_key():
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH,
                               serialization.PublicFormat.OpenSSH).decode()


def _routed_network(c, name, cidr):
    """A network with a subnet of `cidr` and a router to the external network "public";
    returns (network, subnet, public)."""
    net = c.network.create_network(name=name + '-net')
    subnet = c.network.create_subnet(name=name + '-subnet', network_id=net.id, ip_version=4,
                                     cidr=cidr)
    public = c.network.find_network('public')
    router = c.network.create_router(name=name + '-router',
                                     external_gateway_info={'network_id': public.id})
    c.network.add_interface_to_router(router, subnet_id=subnet.id)
    return net, subnet, public


def _boot(c, servers):
    servers = [c.compute.create_server(**attrs) for attrs in servers]
    return [c.compute.wait_for_server(s, wait=300) for s in servers]


def network_shape(cloud, name):
    c = workload.project_conn(cloud, name)
    net = c.network
    main = net.create_network(name=name + '-main', mtu=1400, description='odd MTU')
    v4 = net.create_subnet(
        name=name + '-v4', network_id=main.id, ip_version=4, cidr='10.20.1.0/24',
        gateway_ip='10.20.1.1', is_dhcp_enabled=False, description='no DHCP',
        allocation_pools=[{'start': '10.20.1.50', 'end': '10.20.1.99'}],
        dns_nameservers=['10.20.1.2', '10.20.1.3'],
        host_routes=[{'destination': '10.30.0.0/24', 'nexthop': '10.20.1.250'}])
    v6 = net.create_subnet(name=name + '-v6', network_id=main.id, ip_version=6,
                           cidr='fd00:20::/64', ipv6_ra_mode='slaac',
                           ipv6_address_mode='slaac')
    side = net.create_network(name=name + '-side', is_port_security_enabled=False)
    side_v4 = net.create_subnet(name=name + '-side-v4', network_id=side.id, ip_version=4,
                                cidr='10.20.2.0/24', gateway_ip='10.20.2.1')
    quiet = net.create_subnet(name=name + '-quiet', network_id=side.id, ip_version=4,
                              cidr='10.20.3.0/24', gateway_ip=None)
    router = net.create_router(name=name + '-router', description='no gateway')
    for subnet in (v4, v6, side_v4):
        net.add_interface_to_router(router, subnet_id=subnet.id)
    net.update_router(router, routes=[{'destination': '10.40.0.0/24',
                                       'nexthop': '10.20.1.250'}])
    edge = net.create_security_group(name=name + '-edge', stateful=False,
                                     description='stateless')
    peer = net.create_security_group(name=name + '-peer')
    for rule in ({'protocol': 'tcp', 'port_range_min': 22, 'port_range_max': 22,
                  'remote_ip_prefix': '0.0.0.0/0'},
                 {'ether_type': 'IPv6', 'protocol': 'ipv6-icmp', 'remote_ip_prefix': '::/0'},
                 {'protocol': 'tcp', 'port_range_min': 8080, 'port_range_max': 8090,
                  'remote_group_id': peer.id}):
        net.create_security_group_rule(security_group_id=edge.id, direction='ingress',
                                       **rule)
    net.create_security_group_rule(security_group_id=peer.id, direction='ingress',
                                   protocol='udp', port_range_min=53, port_range_max=53,
                                   remote_group_id=edge.id)
    front = net.create_port(
        network_id=main.id, name=name + '-front', description='fixed address',
        fixed_ips=[{'subnet_id': v4.id, 'ip_address': '10.20.1.60'}, {'subnet_id': v6.id}],
        security_group_ids=[edge.id], allowed_address_pairs=[{'ip_address': '10.20.1.200'}],
        extra_dhcp_opts=[{'opt_name': 'domain-search', 'opt_value': 'zoo.example'}])
    net.set_tags(front, ['zoo-front'])
    back = net.create_port(network_id=side.id, name=name + '-back',
                           fixed_ips=[{'subnet_id': side_v4.id}, {'subnet_id': quiet.id}])
    image = _image(c, name)
    flavor = c.compute.find_flavor('m1.tiny')
    _boot(c, [dict(name=name + '-edge', flavor_id=flavor.id, image_id=image.id,
                   networks=[{'port': front.id}, {'port': back.id}],
                   metadata={'role': 'edge', 'zone': 'dmz'}, tags=['zoo', 'edge'],
                   description='two NICs')])
    return {}


def compute_shape(cloud, name):
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.find_project(name)
    flavor = admin.compute.create_flavor(name=name + '-flavor', vcpus=1, ram=128, disk=1,
                                         ephemeral=1, swap=64, is_public=False,
                                         description='private')
    admin.compute.create_flavor_extra_specs(flavor, {'hw:cpu_policy': 'shared',
                                                     'quota:disk_read_bytes_sec': '10240000'})
    admin.compute.flavor_add_tenant_access(flavor, project.id)
    vtype = admin.block_storage.create_type(name=name + '-fast', description='zoo type',
                                            extra_specs={'draas:tier': 'gold'})
    c = workload.project_conn(cloud, name)
    image = _image(c, name, min_disk=1, min_ram=64, tags=['zoo', 'base'],
                   os_distro='debian', os_version='12', hw_disk_bus='scsi',
                   hw_scsi_model='virtio-scsi', hw_qemu_guest_agent='yes',
                   zoo_owner='team-a')
    keypair = c.compute.create_keypair(name=name + '-key', public_key=workload.PUBLIC_KEY)
    group = c.compute.create_server_group(name=name + '-group', policy='affinity')
    net, _, public = _routed_network(c, name, '10.21.1.0/24')
    volume = c.block_storage.create_volume(size=1, name=name + '-data', volume_type=vtype.name,
                                           description='typed')
    workload.wait_status(lambda: c.block_storage.get_volume(volume.id), 'available',
                         what='volume')
    with open(workload.backing_file(cloud, volume.id), 'r+b') as f:
        f.write(workload.content_for(volume.name))
    app, idle = _boot(c, [dict(name=name + '-' + tier, flavor_id=flavor.id,
                               image_id=image.id, networks=[{'uuid': net.id}],
                               key_name=keypair.name, scheduler_hints={'group': group.id},
                               config_drive=tier == 'app', metadata={'tier': tier})
                          for tier in ('app', 'idle')])
    c.compute.create_volume_attachment(app, volume_id=volume.id)
    workload.wait_status(lambda: c.block_storage.get_volume(volume.id), 'in-use',
                         what='volume')
    port = next(c.network.ports(device_id=app.id))
    c.network.create_ip(floating_network_id=public.id, port_id=port.id, description='app')
    c.compute.stop_server(idle)
    c.compute.wait_for_server(idle, status='SHUTOFF', wait=120)
    return {'restore': {'create_volume_types': True}}


def identity_shape(cloud, name):
    """The project in a domain of its own, with tags and a description; users of that
    domain with an email, a description, one or several roles."""
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.find_project(name)
    domain = admin.identity.get_domain(project.domain_id)
    roles = {r: admin.identity.find_role(r) for r in ('member', 'reader')}
    for user, email, have in (('ops', 'ops@zoo.example', ('member', 'reader')),
                              ('auditor', None, ('reader',))):
        made = admin.identity.create_user(name='%s-%s' % (name, user), domain_id=domain.id,
                                          email=email, description='zoo ' + user,
                                          default_project_id=project.id)
        for role in have:
            admin.identity.assign_project_role_to_user(project, made, roles[role])
    c = workload.project_conn(cloud, name, domain.name)
    net = c.network.create_network(name=name + '-net')
    c.network.create_subnet(name=name + '-subnet', network_id=net.id, ip_version=4,
                            cidr='10.22.1.0/24')
    image = _image(c, name)
    _boot(c, [dict(name=name + '-vm', flavor_id=c.compute.find_flavor('m1.tiny').id,
                   image_id=image.id, networks=[{'uuid': net.id}])])
    return {}


def storage_shape(cloud, name):
    """A server booting from a volume with two data volumes, another with one; volume
    descriptions and metadata; the servers in a soft-anti-affinity group, with tags."""
    c = workload.project_conn(cloud, name)
    net = c.network.create_network(name=name + '-net')
    c.network.create_subnet(name=name + '-subnet', network_id=net.id, ip_version=4,
                            cidr='10.23.1.0/24')
    image = _image(c, name)
    group = c.compute.create_server_group(name=name + '-group', policy='soft-anti-affinity')
    bs = c.block_storage
    volumes = {'boot': bs.create_volume(size=1, image_id=image.id, name=name + '-boot',
                                        metadata={'role': 'boot'})}
    for vol, size in (('data-a', 1), ('data-b', 2), ('data-c', 1)):
        volumes[vol] = bs.create_volume(size=size, name='%s-%s' % (name, vol),
                                        description='data ' + vol,
                                        metadata={'role': 'data', 'tier': vol[-1]})
    for key, vol in volumes.items():
        volumes[key] = workload.wait_status(lambda v=vol: bs.get_volume(v.id), 'available',
                                            what='volume')
        if key != 'boot':
            with open(workload.backing_file(cloud, vol.id), 'r+b') as f:
                f.write(workload.content_for(vol.name))
    flavor = c.compute.find_flavor('m1.tiny')
    db, app = _boot(c, [
        dict(name=name + '-db', flavor_id=flavor.id, networks=[{'uuid': net.id}],
             block_device_mapping_v2=[{'boot_index': 0, 'uuid': volumes['boot'].id,
                                       'source_type': 'volume',
                                       'destination_type': 'volume',
                                       'delete_on_termination': False}],
             scheduler_hints={'group': group.id}, tags=['zoo', 'db']),
        dict(name=name + '-app', flavor_id=flavor.id, image_id=image.id,
             networks=[{'uuid': net.id}], scheduler_hints={'group': group.id},
             tags=['zoo'], metadata={'tier': 'app'})])
    for server, vol in ((db, 'data-a'), (db, 'data-b'), (app, 'data-c')):
        c.compute.create_volume_attachment(server, volume_id=volumes[vol].id)
        workload.wait_status(lambda v=volumes[vol]: bs.get_volume(v.id), 'in-use',
                             what='volume')
    return {}


def addresses_shape(cloud, name):
    """Ports keeping their MAC addresses (the plan asks), a DHCPv6-stateful subnet, a port
    with two addresses on one subnet, a subnet whose gateway is not its first address."""
    c = workload.project_conn(cloud, name)
    net = c.network.create_network(name=name + '-net', description='addresses')
    v4 = c.network.create_subnet(name=name + '-v4', network_id=net.id, ip_version=4,
                                 cidr='10.24.1.0/24', gateway_ip='10.24.1.254',
                                 allocation_pools=[{'start': '10.24.1.10',
                                                    'end': '10.24.1.200'}])
    v6 = c.network.create_subnet(name=name + '-v6', network_id=net.id, ip_version=6,
                                 cidr='fd00:24::/64', ipv6_ra_mode='dhcpv6-stateful',
                                 ipv6_address_mode='dhcpv6-stateful')
    port = c.network.create_port(
        network_id=net.id, name=name + '-multi', mac_address='fa:16:3e:24:00:01',
        fixed_ips=[{'subnet_id': v4.id, 'ip_address': '10.24.1.20'},
                   {'subnet_id': v4.id, 'ip_address': '10.24.1.21'},
                   {'subnet_id': v6.id, 'ip_address': 'fd00:24::20'}])
    image = _image(c, name)
    _boot(c, [dict(name=name + '-vm', flavor_id=c.compute.find_flavor('m1.tiny').id,
                   image_id=image.id, networks=[{'port': port.id}])])
    return {'restore': {'keep_mac_addresses': True}}


def groups_shape(cloud, name):
    """Servers of two users, each booted with the user's own keypair (one name, two keys),
    in an anti-affinity group with a rule, a soft-affinity group and an affinity group."""
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.find_project(name)
    member = admin.identity.find_role('member')
    c = workload.project_conn(cloud, name)
    net = c.network.create_network(name=name + '-net')
    c.network.create_subnet(name=name + '-subnet', network_id=net.id, ip_version=4,
                            cidr='10.25.1.0/24')
    image = _image(c, name)
    flavor = c.compute.find_flavor('m1.tiny')
    groups = [c.compute.create_server_group(name='%s-%s' % (name, policy), policy=policy,
                                            **({'rules': {'max_server_per_host': 1}}
                                               if policy == 'anti-affinity' else {}))
              for policy in ('anti-affinity', 'soft-affinity', 'affinity')]
    for i, user in enumerate(('dev', 'ops')):
        password = 'zoo-%s-%s' % (user, name)
        made = admin.identity.create_user(name='%s-%s' % (name, user), domain_id='default',
                                          password=password)
        admin.identity.assign_project_role_to_user(project, made, member)
        # The user's own connection (openstack.connect(cloud=...) would keep the entry's
        # user whatever username it is given).
        as_user = openstack.connect(auth=dict(
            admin.config.config['auth'], username=made.name, password=password,
            user_domain_name='Default', project_name=name, project_domain_name='Default'),
            region_name=admin.config.region_name, identity_api_version='3')
        if as_user.current_user_id != made.id:
            raise RuntimeError('connected as %s, not as %s' % (as_user.current_user_id,
                                                               made.id))
        # One key name, each user's own key.
        key = as_user.compute.create_keypair(name=name + '-key', public_key=(
            workload.PUBLIC_KEY if user == 'dev' else _new_public_key()))
        _boot(as_user, [dict(name='%s-%s-vm' % (name, user), flavor_id=flavor.id,
                             image_id=image.id, networks=[{'uuid': net.id}],
                             key_name=key.name, scheduler_hints={'group': groups[i].id})])
    _boot(c, [dict(name=name + '-vm', flavor_id=flavor.id, image_id=image.id,
                   networks=[{'uuid': net.id}], scheduler_hints={'group': groups[2].id})])
    return {}


def images_shape(cloud, name):
    """Servers of a private, a public and a community image (the last two of another
    project), with other properties each; a paused server; user data kept by the plan."""
    admin = openstack.connect(cloud=cloud)
    c = workload.project_conn(cloud, name)
    net = c.network.create_network(name=name + '-net')
    c.network.create_subnet(name=name + '-subnet', network_id=net.id, ip_version=4,
                            cidr='10.26.1.0/24')
    images = {'private': _image(c, name + '-private', os_type='linux', zoo='private'),
              'public': _image(admin, name + '-public', visibility='public',
                               hw_video_model='vga', architecture='x86_64'),
              'community': _image(admin, name + '-community', visibility='community',
                                  os_distro='alpine', min_ram=32)}
    flavor = c.compute.find_flavor('m1.tiny')
    servers = _boot(c, [dict(name='%s-%s' % (name, kind), flavor_id=flavor.id,
                             image_id=image.id, networks=[{'uuid': net.id}],
                             user_data=base64.b64encode(b'#cloud-config\n').decode())
                        for kind, image in images.items()])
    c.compute.pause_server(servers[1])
    c.compute.wait_for_server(servers[1], status='PAUSED', wait=120)
    return {'keep_user_data': True}


def access_shape(cloud, name):
    """A group with a role on the project and a user holding it only through the group; a
    port with two addresses on one subnet, its floating IP on the second; an address the
    project holds on no port."""
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.find_project(name)
    group = admin.identity.create_group(name=name + '-readers', domain_id='default',
                                        description='zoo group')
    admin.identity.assign_project_role_to_group(project, group,
                                                admin.identity.find_role('reader'))
    carol = admin.identity.create_user(name=name + '-carol', domain_id='default',
                                       email='carol@zoo.example')
    admin.identity.add_user_to_group(carol, group)
    c = workload.project_conn(cloud, name)
    net, subnet, public = _routed_network(c, name, '10.27.1.0/24')
    port = c.network.create_port(network_id=net.id, name=name + '-two', fixed_ips=[
        {'subnet_id': subnet.id, 'ip_address': '10.27.1.20'},
        {'subnet_id': subnet.id, 'ip_address': '10.27.1.21'}])
    image = _image(c, name)
    _boot(c, [dict(name=name + '-vm', flavor_id=c.compute.find_flavor('m1.tiny').id,
                   image_id=image.id, networks=[{'port': port.id}])])
    c.network.create_ip(floating_network_id=public.id, port_id=port.id,
                        fixed_ip_address='10.27.1.21', description='second address')
    c.network.create_ip(floating_network_id=public.id, description='held on no port')
    return {}


SHAPES = {'network': network_shape, 'compute': compute_shape, 'identity': identity_shape,
          'storage': storage_shape, 'addresses': addresses_shape, 'groups': groups_shape,
          'images': images_shape, 'access': access_shape}
OWN_DOMAIN = ('identity',)  # shapes whose project is in a domain of its own


def create(shape, cloud, name):
    """A project `name` on `cloud` holding workload `shape`; returns the plan options it
    needs."""
    admin = openstack.connect(cloud=cloud)
    domain = 'default'
    if shape in OWN_DOMAIN:
        domain = admin.identity.create_domain(name=name + '-domain',
                                              description='zoo domain').id
    project = admin.identity.create_project(name=name, domain_id=domain,
                                            description='zoo shape ' + shape, tags=['zoo'])
    me = admin.identity.find_user(admin.current_user_id)
    for role in ('admin', 'member'):
        admin.identity.assign_project_role_to_user(project, me, admin.identity.find_role(role))
    return SHAPES[shape](cloud, name)


def delete(cloud, name):
    """The project and what the shapes make outside it (flavor, volume type, domain)."""
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.find_project(name)
    if project is not None:
        c = workload.project_conn(cloud, name, admin.identity.get_domain(
            project.domain_id).name)
        for router in c.network.routers(project_id=project.id):
            if router.routes:
                c.network.update_router(router, routes=[])
    for group in admin.identity.groups(name=name + '-readers'):  # the access shape's
        admin.identity.delete_group(group)
    for user in ('dev', 'ops', 'carol'):  # the groups and access shapes'
        found = admin.identity.find_user('%s-%s' % (name, user), domain_id='default')
        if found is not None:
            for key in openstack.connect(cloud=cloud).compute.keypairs(user_id=found.id):
                admin.compute.delete_keypair(key, user_id=found.id)
            admin.identity.delete_user(found)
    workload.delete(cloud, name)
    for visibility in ('public', 'community'):  # the images shape's, of the admin
        for image in admin.image.images(name='%s-%s-image' % (name, visibility)):
            admin.image.delete_image(image)
    for domain in admin.identity.domains(name=name + '-domain'):
        admin.identity.update_domain(domain, is_enabled=False)
        admin.identity.delete_domain(domain)  # with its users
    for flavor in admin.compute.flavors(is_public=None):
        if flavor.name == name + '-flavor':
            admin.compute.delete_flavor(flavor)
    for vtype in admin.block_storage.types():
        if vtype.name == name + '-fast':
            for _ in range(60):  # "still in use" while the project's volumes go away
                try:
                    admin.block_storage.delete_type(vtype)
                    break
                except openstack.exceptions.BadRequestException:
                    time.sleep(2)


if __name__ == '__main__':
    if sys.argv[1] == 'create':
        print(create(*sys.argv[2:5]))
    else:
        delete(*sys.argv[2:4])
