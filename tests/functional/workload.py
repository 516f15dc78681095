"""A sample workload on a lab site: what the DR tests protect.

In its own project: a keypair, a server group, 2 security groups, 2 networks with subnets, a
router with an external gateway and interfaces on both, an image, 3 servers (web and app boot
from the image, db boots from a volume), a floating IP on web, and 2 data volumes with known
content written into their backing files, attached to app and db.

    python -m tests.functional.workload create site-a NAME   # prints the project's name
    python -m tests.functional.workload delete site-a NAME
"""
import concurrent.futures
import hashlib
import os
import secrets
import sys
import tempfile
import time
import types

import openstack

LAB = os.environ.get('DRAAS_LAB', '/opt/draas-lab')
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0l3v8M9nq0r2e3sW1Q8eZ2y6n0fXo5aTq1bq2P'
              '3K8c draas-sample')


def wait_status(fetch, want, timeout=180, what='resource'):
    deadline = time.monotonic() + timeout
    while True:
        res = fetch()
        status = (res.status or '').lower()
        if status == want.lower():
            return res
        if status == 'error' or time.monotonic() > deadline:
            raise RuntimeError('%s %s is %s, expected %s' % (what, res.id, res.status, want))
        time.sleep(1)


def root_disk(site, server_id):
    """The lab hypervisor's root disk file of a server (tools/drlab/nova_driver.py)."""
    return os.path.join(LAB, site, 'data', 'nova', 'instances', server_id, 'disk')


def backing_file(site, volume_id):
    """The NFS driver keeps each volume in a plain file of the (bind-mounted) export."""
    return os.path.join(LAB, site, 'data', 'cinder', 'nfs-export', 'volume-' + volume_id)


def content_for(name, size=1 << 20):
    """Known, distinct bytes for a data volume named `name`."""
    block = hashlib.sha256(name.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def project_conn(cloud, project, domain='Default'):
    return openstack.connect(cloud=cloud, project_name=project, project_domain_name=domain)


def create(cloud, name, servers=3, entry=None, flavor='m1.tiny', volume_type=None):
    """Create the sample workload in a new project `name`, or with `entry` (the clouds.yaml
    entry of a project's member at `cloud`: a tenant of a public cloud) in that entry's
    project with its credentials, names starting with `name`; its servers of `flavor`, its
    volumes of `volume_type` (default: the site's). Returns a dict of what exists."""
    if entry:
        c = openstack.connect(cloud=entry)
        project = types.SimpleNamespace(id=c.current_project_id)
    else:
        c, project = _new_project(cloud, name)
    public = c.network.find_network('public')
    flavor = c.compute.find_flavor(flavor)
    keypair = c.compute.create_keypair(name=name + '-key', public_key=PUBLIC_KEY)
    group = c.compute.create_server_group(name=name + '-group', policy='soft-anti-affinity')
    web_sg = c.network.create_security_group(name=name + '-web')
    db_sg = c.network.create_security_group(name=name + '-db')
    c.network.create_security_group_rule(security_group_id=web_sg.id, direction='ingress',
                                         protocol='tcp', port_range_min=80,
                                         port_range_max=80, remote_ip_prefix='0.0.0.0/0')
    c.network.create_security_group_rule(security_group_id=web_sg.id, direction='ingress',
                                         ether_type='IPv6', protocol='tcp',
                                         port_range_min=443, port_range_max=443,
                                         remote_ip_prefix='::/0')
    c.network.create_security_group_rule(security_group_id=db_sg.id, direction='ingress',
                                         protocol='tcp', port_range_min=5432,
                                         port_range_max=5432, remote_group_id=web_sg.id)
    nets = {}
    for tier, cidr in (('front', '10.10.1.0/24'), ('back', '10.10.2.0/24')):
        net = c.network.create_network(name='%s-%s' % (name, tier))
        subnet = c.network.create_subnet(name='%s-%s-subnet' % (name, tier),
                                         network_id=net.id, ip_version=4, cidr=cidr)
        nets[tier] = (net, subnet)
    router = c.network.create_router(name=name + '-router',
                                     external_gateway_info={'network_id': public.id})
    for net, subnet in nets.values():
        c.network.add_interface_to_router(router, subnet_id=subnet.id)
    with tempfile.NamedTemporaryFile(suffix='.raw') as image_file:
        image_file.write(content_for(name + '-image', 1 << 20))
        image_file.flush()
        image = c.image.create_image(name=name + '-image', filename=image_file.name,
                                     disk_format='raw', container_format='bare', wait=True)
    typed = {'volume_type': volume_type} if volume_type else {}
    boot = c.block_storage.create_volume(size=1, image_id=image.id, name=name + '-db-boot',
                                         **typed)
    data = [c.block_storage.create_volume(size=1, name='%s-data-%d' % (name, i), **typed)
            for i in (1, 2)]
    boot = wait_status(lambda: c.block_storage.get_volume(boot.id), 'available', what='volume')
    data = [wait_status(lambda v=v: c.block_storage.get_volume(v.id), 'available',
                        what='volume') for v in data]
    for vol in data:
        with open(backing_file(cloud, vol.id), 'r+b') as f:
            f.write(content_for(vol.name))

    def port(tier, sg):
        net, subnet = nets[tier]
        return c.network.create_port(network_id=net.id, security_group_ids=[sg.id])

    specs = [('web', [port('front', web_sg)], {'image_id': image.id}),
             ('app', [port('front', web_sg), port('back', db_sg)], {'image_id': image.id}),
             ('db', [port('back', db_sg)], {'block_device_mapping_v2': [{
                 'boot_index': 0, 'uuid': boot.id, 'source_type': 'volume',
                 'destination_type': 'volume', 'delete_on_termination': False}]})]
    specs += [('extra%d' % i, [port('front', web_sg)], {'image_id': image.id})
              for i in range(servers - 3)]
    created = []
    for tier, ports, boot_args in specs:
        created.append(c.compute.create_server(
            name='%s-%s' % (name, tier), flavor_id=flavor.id, key_name=keypair.name,
            networks=[{'port': p.id} for p in ports],
            scheduler_hints={'group': group.id} if tier in ('web', 'app') else {},
            metadata={'tier': tier}, **boot_args))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda s: c.compute.wait_for_server(s, wait=300), created))
    by_name = {s.name.rsplit('-', 1)[1]: s for s in created}
    c.compute.create_volume_attachment(by_name['app'], volume_id=data[0].id)
    c.compute.create_volume_attachment(by_name['db'], volume_id=data[1].id)
    for vol in data:
        wait_status(lambda v=vol: c.block_storage.get_volume(v.id), 'in-use', what='volume')
    web_port = next(c.network.ports(device_id=by_name['web'].id))
    fip = c.network.create_ip(floating_network_id=public.id, port_id=web_port.id)
    return {'project': project.id, 'servers': {k: s.id for k, s in by_name.items()},
            'data_volumes': {v.name: v.id for v in data}, 'boot_volume': boot.id,
            'image': image.id, 'floating_ip': fip.floating_ip_address,
            'networks': [n.id for n, _ in nets.values()], 'router': router.id,
            'security_groups': [web_sg.id, db_sg.id], 'keypair': keypair.name,
            'server_group': group.id}


def _new_project(cloud, name):
    """A new project `name` with an application user; (a connection to it, the project)."""
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.create_project(name=name, domain_id='default')
    me = admin.identity.find_user(admin.current_user_id)
    for role in ('admin', 'member'):
        admin.identity.assign_project_role_to_user(project, me,
                                                   admin.identity.find_role(role))
    # An application user of the project: a failover re-creates it without its password.
    owner = admin.identity.create_user(name=name + '-owner', domain_id='default',
                                       password=secrets.token_urlsafe(16),
                                       default_project_id=project.id)
    admin.identity.assign_project_role_to_user(project, owner,
                                               admin.identity.find_role('member'))
    return project_conn(cloud, name), project


def delete(cloud, name, entry=None):
    """Delete everything of the sample workload and its project (best effort, ordered);
    with `entry`, everything in that entry's project (the project stays)."""
    if entry:
        c = openstack.connect(cloud=entry)
        _empty(c, types.SimpleNamespace(id=c.current_project_id), name)
        return
    admin = openstack.connect(cloud=cloud)
    project = admin.identity.find_project(name)
    if project is not None:
        c = project_conn(cloud, name, admin.identity.get_domain(project.domain_id).name)
        _empty(c, project, name)
        admin.identity.delete_project(project)
    # also when a restore put the workload into another project (options.restore.project)
    owner = admin.identity.find_user(name + '-owner', domain_id='default')
    if owner is not None:
        admin.identity.delete_user(owner)


def _empty(c, project, name):
    """Delete what project `project` holds through its connection `c`."""
    for fip in c.network.ips(project_id=project.id):
        c.network.delete_ip(fip)
    servers = list(c.compute.servers())
    for s in servers:
        c.compute.delete_server(s)
    for s in servers:
        c.compute.wait_for_delete(s, wait=120)
    for router in c.network.routers(project_id=project.id):
        for p in c.network.ports(device_id=router.id):
            if p.device_owner.startswith('network:router_interface'):
                c.network.remove_interface_from_router(router, port_id=p.id)
        c.network.delete_router(router)
    for p in c.network.ports(project_id=project.id):
        c.network.delete_port(p)
    for net in c.network.networks(project_id=project.id):
        c.network.delete_network(net)
    for sg in c.network.security_groups(project_id=project.id):
        if sg.name != 'default':
            c.network.delete_security_group(sg)
    for vol in c.block_storage.volumes():
        if not vol.status.startswith('error'):  # a failed test's volume goes as it is
            wait_status(lambda v=vol: c.block_storage.get_volume(v.id), 'available', 120)
        for attempt in range(30):  # snapshots of a checkpoint may still be going away
            try:
                c.block_storage.delete_volume(vol)
                break
            except openstack.exceptions.BadRequestException:
                time.sleep(2)
    for img in c.image.images(owner=project.id):
        c.image.delete_image(img)
    for kp in c.compute.keypairs():
        if kp.name.startswith(name):
            c.compute.delete_keypair(kp)
    for g in c.compute.server_groups():
        c.compute.delete_server_group(g)


def delete_checkpoints(checkpoints, source='site-a', target='site-b'):
    """Remove the test's checkpoints, their backups on the source (newest first, so
    incremental backups go before the ones they build on), then the records restores
    imported of them on the target, and the plan's image copies on the target."""
    from actions import protect
    source = openstack.connect(cloud=source)
    backups = [(p['checkpoint_id'], p['backup_id'])
               for p in checkpoints.pending_deletions()]
    images = set()
    for cid in checkpoints.list():
        data = checkpoints.get_part(cid, 'data')
        backups += [(cid, vol['backup_id']) for vol in data['volumes'].values()
                    if 'backup_id' in vol]
        images |= protect.copies_of(data)
    target = openstack.connect(cloud=target)
    for image_id in images:  # the plan's own copies (of images, of volumes)
        target.image.delete_image(image_id, ignore_missing=True)
    for _, backup_id in sorted(backups, reverse=True):
        # The target's record after the source's: deleting it deletes the backup's objects.
        for site in (source, target):
            try:
                site.block_storage.delete_backup(backup_id, ignore_missing=True)
            except openstack.exceptions.BadRequestException:
                if site is source:
                    raise
                continue  # a record the target is busy with: a harmless leftover
            for _ in range(60):
                if not site.block_storage.find_backup(backup_id):
                    break
                time.sleep(1)
    for cid in checkpoints.list():
        checkpoints.delete(cid)
    checkpoints.set_pending_deletions([])
    for key in checkpoints.store.list(checkpoints.plan + '/restores/'):
        checkpoints.store.delete(key)


def verify(cloud, name):
    """Print whether the sample workload runs on `cloud` with its data; True if so."""
    c = openstack.connect(cloud=cloud)
    project = c.identity.find_project(name)
    servers = list(c.compute.servers(all_projects=True, project_id=project.id))
    ok = len(servers) >= 3 and all(s.status == 'ACTIVE' for s in servers)
    print('%d servers, %s' % (len(servers), ', '.join(
        '%s %s' % (s.name, s.status) for s in sorted(servers, key=lambda s: s.name))))
    for vol in c.block_storage.volumes(all_projects=True, project_id=project.id):
        if '-data-' in vol.name:
            with open(backing_file(cloud, vol.id), 'rb') as f:
                same = f.read(1 << 20) == content_for(vol.name)
            ok = ok and same
            print('volume %s (%s): %s' % (vol.name, vol.status, 'content as written on '
                                          'the source' if same else 'CONTENT DIFFERS'))
    return ok


def reset(name):
    """Remove the sample workload `name` from both sites, with its drills and checkpoints."""
    from actions import checkpoint
    from actions import drill
    drill.cleanup({'name': name, 'source': 'site-a', 'target': 'site-b',
                   'scope': {'project': name}, 'policy': 'silver'}, min_age_minutes=0)
    delete('site-b', name)
    delete('site-a', name)
    delete_checkpoints(checkpoint.Checkpoints(checkpoint.SwiftStore(
        openstack.connect(cloud='site-b'), 'draas-checkpoints'), name))


if __name__ == '__main__':
    # python -m tests.functional.workload create|delete|verify SITE NAME | reset NAME
    action = sys.argv[1]
    if action == 'create':
        print(create(*sys.argv[2:4]))
    elif action == 'delete':
        delete(*sys.argv[2:4])
    elif action == 'verify':
        sys.exit(0 if verify(*sys.argv[2:4]) else 1)
    elif action == 'reset':
        reset(sys.argv[2])
    else:
        sys.exit('unknown action %r' % action)
