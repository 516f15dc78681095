"""Neutron: networks, subnets, security groups, routers, ports, floating IPs."""
import concurrent.futures
import json

from openstack import exceptions
from openstack.network.v2 import floating_ip as sdk_floating_ip
from openstack.network.v2 import network as sdk_network
from openstack.network.v2 import port as sdk_port
from openstack.network.v2 import router as sdk_router
from openstack.network.v2 import security_group as sdk_security_group
from openstack.network.v2 import subnet as sdk_subnet

from actions import errors
from actions.resources import ALIAS
from actions.resources import ASSIGNED
from actions.resources import by_source_tag
from actions.resources import Field
from actions.resources import Kind
from actions.resources import NOT_COMPARED
from actions.resources import origin
from actions.resources import restore_tags
from actions.resources import REVISION
from actions.resources import STATE
from actions.resources import why

_REVISION = why(REVISION, 'revision_number', 'updated_at')
_ASSIGNED = why(ASSIGNED, 'id', 'created_at', 'tenant_id')
_TAGS = Field('tags', arg=False, how='with the restore\'s tags added')
_QOS = 'QoS policies are not protected (the target\'s apply)'
BULK = 100  # ports per request (Neutron makes a bulk in one transaction)


class _Tagged(Kind):
    """Neutron resources: restored copies carry restore_tags(), found with one list call.

    All are tagged right after creation, but ports where Neutron takes their tags at
    creation (Port.create).
    A copy left untagged by a run that died in between is adopted by the next run: an
    untagged resource of the project that matches the document (same name).
    Going back (failback), a resource the document was itself restored from (resources.origin)
    is used again when it still exists: the original site keeps its networks.
    """
    list_call = None  # the network proxy's list method, e.g. 'networks'
    tagged = True
    create_call = None
    quota = None  # the Neutron quota a copy takes, e.g. 'subnets'

    def needs(self, rc, done):
        return {self.quota: sum(1 for d in rc.docs(self.name) if d['id'] not in done)}

    def same(self, rc, doc, res):
        return res.name == rc.name(doc['name'])

    def restored(self, rc):
        listing = getattr(rc.conn.network, self.list_call)
        found = by_source_tag(listing(**rc.tag_query()))
        if self.name == 'network':  # external networks are mapped, not made
            found.update({d['id']: rc.external_network(d) for d in rc.docs('network')
                          if rc.is_external(d)})
        docs = [d for d in rc.docs(self.name) if d['id'] not in found]
        if docs:
            mine = list(listing(project_id=rc.project_id))
            ids = {r.id for r in mine}
            for doc in docs:
                if origin(doc) in ids and not rc.drill:  # a drill uses only its own
                    found[doc['id']] = origin(doc)
            docs = [d for d in docs if d['id'] not in found]
            untagged = [r for r in mine if not r.tags]
            for doc in docs:
                match = [r for r in untagged if self.same(rc, doc, r)]
                if len(match) == 1:
                    rc.conn.network.set_tags(match[0], restore_tags(rc, doc))
                    found[doc['id']] = match[0].id
        return found

    def create(self, rc, doc, **attrs):
        made = getattr(rc.conn.network, self.create_call)(**attrs)
        rc.conn.network.set_tags(made, restore_tags(rc, doc))
        return made.id

    def remove(self, bubble):
        found = self.left_by(bubble)
        delete = getattr(bubble.admin.network, self.create_call.replace('create_', 'delete_'))
        for res in found:
            self.before_delete(bubble, res)
            delete(res)
        return len(found)

    def left_by(self, bubble):
        """What the drill made of this kind: tagged with its restore tag."""
        return list(getattr(bubble.admin.network, self.list_call)(tags=bubble.tag))

    def before_delete(self, bubble, res):
        """What must go before `res` can (override)."""


class Network(_Tagged):
    name = 'network'
    service = 'network'
    level = 'network'
    list_call = 'networks'
    create_call = 'create_network'
    sdk = sdk_network.Network
    restores = (
        Field('name'), Field('description'), Field('is_admin_state_up'),
        Field('mtu', how='mapped by options.restore.mtu; an MTU the target\'s fabric cannot '
              'carry fails the network level, naming the network'),
        Field('is_port_security_enabled'), Field('dns_domain', how='where Neutron has the '
                                                 'dns-integration extension'),
        _TAGS)
    keeps = dict(
        project_id='an external or shared network of another project is mapped, not made',
        is_router_external='external networks are mapped (options.restore.networks)',
        is_shared='a copy is shared with no other project (sharing is the target admin\'s)',
        availability_zone_hints='the target\'s zones differ; the copy goes where Neutron '
                                'puts it',
        **why('the target\'s fabric decides (provider networks are mapped, not made)',
              'provider_network_type', 'provider_physical_network',
              'provider_segmentation_id', 'segments', 'is_vlan_transparent',
              'is_vlan_qinq', 'pvlan'),
        qos_policy_id=_QOS, **_REVISION)
    drops = dict(_ASSIGNED, status=STATE, subnet_ids='the subnet kind restores them',
                 availability_zones=ASSIGNED, is_default='an admin\'s choice at the target',
                 **why('comes from subnet pools, which are not protected',
                       'ipv4_address_scope_id', 'ipv6_address_scope_id'))

    def list(self, conn, ctx):
        # The project's own networks, plus external and shared ones the workload may use.
        seen = set()
        for query in ({'project_id': ctx.project.id}, {'is_router_external': True},
                      {'is_shared': True}):
            for net in conn.network.networks(**query):
                if net.id not in seen:
                    seen.add(net.id)
                    yield net

    def restore(self, rc, doc, target_id):
        if rc.is_external(doc):
            return rc.external_network(doc)  # mapped in the plan, never created
        if target_id:
            return target_id
        attrs = self.args(rc, doc, skip=('dns_domain',) if not rc.network_has(
            'dns-integration') else ())
        attrs.pop('mtu', None)
        if target_mtu(rc, doc):
            attrs['mtu'] = target_mtu(rc, doc)
        try:
            return self.create(rc, doc, **attrs)
        except exceptions.BadRequestException as exc:
            if 'mtu' not in str(exc).lower():
                raise
            raise errors.DraasError(
                'MTU %s refused by %s (%s): map it in options.restore.mtu, e.g. {"%s": <MTU '
                'of %s>}' % (attrs.get('mtu'), rc.site, exc.details, doc['mtu'],
                             rc.site)) from None

    def check(self, rc, found):
        """External networks are mapped (or of the same name) and there; MTUs can be set."""
        server_ports = {p for s in rc.docs('server') for p in s.get('port_ids') or ()}
        for net in rc.docs('network'):
            if not rc.is_external(net):
                continue
            want = rc.mapped_network(net)
            if want is None:  # a drill without a network to the outside
                if any(p['network_id'] == net['id'] for p in rc.docs('port')
                       if p['id'] in server_ports):
                    found.problems.append(
                        'servers have ports on the external network %r: a drill needs '
                        'options.drill.external_network for them' % net['name'])
                else:
                    found.preview.append('no gateway to network %s and no floating IPs '
                                         '(isolated drill)' % net['name'])
            elif rc.external_network(net) is None and rc.drill:
                found.problems.append('options.drill.external_network: %s has no network %r'
                                      % (rc.site, want))
            elif rc.external_network(net) is None:
                found.problems.append(
                    'network %r is external on %s and %s has no network %r: map it in '
                    'options.restore.networks, e.g. {%r: <network of %s>}' % (
                        net['name'], rc.plan['source'], rc.site, want, net['name'], rc.site))
            else:
                found.preview.append('map network %s -> %s' % (net['name'], want))
        mtus = sorted({n['mtu'] for n in rc.docs('network')
                       if not rc.is_external(n) and n.get('mtu') and target_mtu(rc, n)})
        if mtus and not rc.network_has('net-mtu-writable'):
            found.problems.append(
                'Neutron of %s cannot set a network\'s MTU (no "net-mtu-writable" extension) '
                'and the workload\'s networks have MTU %s: map them in options.restore.mtu '
                '(0: the target\'s default), e.g. {"%d": 0}' % (
                    rc.site, ', '.join(map(str, mtus)), mtus[0]))

    def needs(self, rc, done):
        return {'networks': sum(1 for d in rc.docs('network')
                                if d['id'] not in done and not rc.is_external(d))}

    def intended(self, rc, field, doc):
        if field.name == 'mtu':
            return target_mtu(rc, doc) or NOT_COMPARED
        return super().intended(rc, field, doc)


def target_mtu(rc, doc):
    """The MTU network `doc` gets on the target: the source's, or the plan's mapping of it
    (0 or none: the target's default)."""
    mtu = doc.get('mtu') or 0
    return rc.options['mtu'].get(str(mtu), mtu)


# IPv6 subnets whose addresses ports make themselves (from their MAC): Neutron refuses one
# given in a create request.
AUTO_ADDRESS = ('slaac', 'dhcpv6-stateless')


def keeps_address(rc, fixed_ip):
    """Whether a port's copy gets this fixed IP's address (else one from its subnet)."""
    if not rc.options['keep_fixed_ips']:
        return False
    subnets = {d['id']: d for d in rc.docs('subnet')}
    return subnets.get(fixed_ip['subnet_id'], {}).get('ipv6_address_mode') not in AUTO_ADDRESS


class Subnet(_Tagged):
    name = 'subnet'
    service = 'network'
    level = 'network_links'
    quota = 'subnets'
    list_call = 'subnets'
    create_call = 'create_subnet'
    sdk = sdk_subnet.Subnet
    restores = (
        Field('name'), Field('description'), Field('network_id', ref='network'),
        Field('cidr'), Field('ip_version'), Field('gateway_ip'), Field('allocation_pools'),
        Field('dns_nameservers'), Field('host_routes'), Field('is_dhcp_enabled'),
        Field('ipv6_address_mode'), Field('ipv6_ra_mode'), Field('service_types'),
        Field('dns_publish_fixed_ip', how='where Neutron has the subnet-dns-publish-fixed-ip '
              'extension'),
        _TAGS)
    keeps = dict(
        project_id='the restored project\'s',
        segment_id='segments belong to the target\'s fabric',
        **why('subnet pools are not protected: the copy gets the same CIDR',
              'subnet_pool_id', 'use_default_subnet_pool', 'prefix_length'),
        **_REVISION)
    drops = _ASSIGNED

    def list(self, conn, ctx):
        return conn.network.subnets(project_id=ctx.project.id)

    def restore(self, rc, doc, target_id):
        if target_id or rc.is_external(rc.doc('network', doc['network_id'])):
            return target_id
        skip = ('service_types',) if not doc.get('service_types') else ()
        if not rc.network_has('subnet-dns-publish-fixed-ip'):
            skip += ('dns_publish_fixed_ip',)
        # A subnet without a gateway says so (None): Neutron would give it one.
        return self.create(rc, doc, **dict(self.args(rc, doc, skip=skip),
                                           gateway_ip=doc.get('gateway_ip')))


class SecurityGroup(_Tagged):
    name = 'security_group'
    service = 'network'
    level = 'network'
    quota = 'security_groups'
    list_call = 'security_groups'
    create_call = 'create_security_group'
    sdk = sdk_security_group.SecurityGroup
    restores = (
        Field('name', how='"default" is the project\'s own default group'),
        Field('description'), Field('stateful'), _TAGS,
        Field('rules', arg=False, how='(computed) made at the network_links level, remote '
              'groups mapped; the default rules Neutron makes are kept'),
        Field('remote_group_ids', arg=False, ref='security_group',
              how='(computed) the groups its rules refer to'))
    keeps = dict(project_id='the restored project\'s',
                 is_shared='shared through RBAC by an admin, not protected', **_REVISION)
    drops = dict(_ASSIGNED, security_group_rules='kept normalised as "rules"')

    def list(self, conn, ctx):
        return conn.network.security_groups(project_id=ctx.project.id)

    def derived(self, resource, workload):
        keep = ('direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max',
                'remote_ip_prefix', 'remote_group_id', 'remote_address_group_id',
                'description')
        # Sorted: Neutron lists rules in no set order (checkpoints compare, see report.drift).
        rules = sorted(({k: r.get(k) for k in keep} for r in resource.security_group_rules or ()),
                       key=lambda r: [str(r[k]) for k in keep])
        remotes = sorted({r['remote_group_id'] for r in rules
                          if r['remote_group_id'] and r['remote_group_id'] != resource.id})
        return {'rules': rules, 'remote_group_ids': remotes}

    def restore(self, rc, doc, target_id):
        if target_id:
            return target_id
        if doc['name'] == 'default' and not self.own_default(rc):
            # Every project has one already (Neutron makes it): adopt it, rules follow.
            [group] = rc.conn.network.security_groups(project_id=rc.project_id,
                                                      name='default')
            rc.conn.network.set_tags(group, sorted(set(group.tags or ()) | set(restore_tags(
                rc, doc))))
            return group.id
        return self.create(rc, doc, **self.args(rc, doc))

    def left_by(self, bubble):
        groups = {g.id: g for g in super().left_by(bubble)}
        for pid in bubble.project_ids:  # Neutron made a "default" group in the project
            groups.update({g.id: g for g in bubble.admin.network.security_groups(
                project_id=pid)})
        return list(groups.values())

    @staticmethod
    def own_default(rc):
        """Whether a "default" group is made anew, suffixed: a member's drill shares the
        project with production, whose default group it must leave alone."""
        return rc.member and rc.drill

    def intended(self, rc, field, doc):
        if field.name == 'name' and doc['name'] == 'default' and not self.own_default(rc):
            return 'default'  # the project's own default group
        if field.name == 'rules':
            groups = rc.idmap.get('security_group', {})
            return _rules(dict(rule, remote_group_id=groups.get(rule['remote_group_id'],
                                                                rule['remote_group_id']))
                          for rule in doc.get('rules') or ())
        return super().intended(rc, field, doc)

    def observed(self, rc, field, copy):
        if field.name == 'rules':
            return _rules(copy.get('rules') or ())
        return super().observed(rc, field, copy)

    @staticmethod
    def _rule_key(rule):
        return tuple(rule.get(k) for k in ('security_group_id', 'direction', 'ethertype',
                                           'protocol', 'port_range_min', 'port_range_max',
                                           'remote_ip_prefix', 'remote_group_id'))

    def restore_rules(self, rc, docs):
        """Create the rules missing from the restored groups (after every group exists,
        since rules refer to other groups). Returns (created, existing)."""
        have = {self._rule_key(dict(r.to_dict(), ethertype=r.ether_type))
                for r in rc.conn.network.security_group_rules(project_id=rc.project_id)}
        todo, existing = {}, 0
        for doc in docs:
            for rule in doc['rules']:
                want = dict(rule, security_group_id=rc.map('security_group', doc['id']))
                if rule.get('remote_group_id'):
                    want['remote_group_id'] = rc.map('security_group',
                                                     rule['remote_group_id'])
                if self._rule_key(want) in have:
                    existing += 1
                    continue
                attrs = {k: v for k, v in want.items() if v is not None}
                attrs['ether_type'] = attrs.pop('ethertype')  # openstacksdk's name for it
                todo.setdefault(attrs['security_group_id'], []).append(attrs)
        with concurrent.futures.ThreadPoolExecutor(rc.options['parallel']) as pool:
            counts = list(pool.map(lambda rules: self._create_rules(rc, rules),
                                   todo.values()))
        return sum(c for c, _ in counts), existing + sum(e for _, e in counts)

    @staticmethod
    def _create_rules(rc, rules):
        """One group's rules in one request (a Neutron bulk holds one group's only); one
        by one when Neutron has one of them already in another spelling (e.g. the
        defaults). Returns (created, existing)."""
        try:
            return len(list(rc.conn.network.create_security_group_rules(rules))), 0
        except exceptions.ConflictException:
            pass
        created = existing = 0
        for attrs in rules:
            try:
                rc.conn.network.create_security_group_rule(**attrs)
                created += 1
            except exceptions.ConflictException:
                existing += 1
        return created, existing


def _rules(rules):
    """Security group rules in one spelling: sorted, no empty description."""
    return sorted(json.dumps(dict(rule, description=rule.get('description') or None),
                             sort_keys=True) for rule in rules)


class Router(_Tagged):
    name = 'router'
    service = 'network'
    level = 'ports'
    list_call = 'routers'
    create_call = 'create_router'
    sdk = sdk_router.Router
    restores = (
        Field('name'), Field('description'), Field('is_admin_state_up'),
        Field('gateway_network_id', arg=False, ref='network',
              how='(computed) the gateway, on the mapped external network; none in a drill '
                  'without options.drill.external_network'),
        Field('interface_subnet_ids', arg=False, ref='subnet',
              how='(computed) an interface on each subnet, at the subnet\'s gateway address'),
        Field('routes', arg=False, how='set once the interfaces are there'), _TAGS)
    keeps = dict(
        external_gateway_info='its network is restored (gateway_network_id); the gateway '
                              'address and SNAT are the target\'s',
        interfaces='(computed) the router ports: made from interface_subnet_ids',
        project_id='the restored project\'s', flavor_id='router flavors are the target\'s',
        availability_zone_hints='the target\'s zones differ',
        **why('the target\'s L3 agents decide (admin-only attributes)', 'is_distributed',
              'is_ha', 'enable_ndp_proxy', 'evpn_vni'),
        **_REVISION)
    drops = dict(_ASSIGNED, status=STATE, availability_zones=ASSIGNED)

    def needs(self, rc, done):
        todo = [r for r in rc.docs('router') if r['id'] not in done]
        return {'routers': len(todo), 'ports': sum(len(r['interfaces']) for r in todo)}

    def list(self, conn, ctx):
        return conn.network.routers(project_id=ctx.project.id)

    def intended(self, rc, field, doc):
        if field.name == 'gateway_network_id' and rc.drill and not rc.drill_network:
            return NOT_COMPARED  # an isolated drill's routers have no gateway
        return super().intended(rc, field, doc)

    def before_delete(self, bubble, router):
        net = bubble.admin.network
        if router.routes:  # Neutron keeps an interface a route goes through (HTTP 409)
            net.update_router(router, routes=[])
        for port in net.ports(device_id=router.id, device_owner='network:router_interface'):
            net.remove_interface_from_router(router, port=port.id)

    def derived(self, resource, workload):
        interfaces = [{'port_id': p['id'], 'subnet_id': ip['subnet_id'],
                       'ip_address': ip['ip_address']}
                      for p in workload.router_ports(resource.id)
                      for ip in p['fixed_ips']]
        gateway = resource.external_gateway_info or {}
        return {'interfaces': interfaces,
                'interface_subnet_ids': sorted({i['subnet_id'] for i in interfaces}),
                'gateway_network_id': gateway.get('network_id')}

    def restore(self, rc, doc, target_id):
        net = rc.conn.network
        if not target_id:
            gateway = None
            if doc.get('gateway_network_id') and (rc.drill_network or not rc.drill):
                gateway = {'network_id': rc.map('network', doc['gateway_network_id'])}
            target_id = self.create(rc, doc, **dict(self.args(rc, doc),
                                                    external_gateway_info=gateway))
        # Interfaces and routes also when the router was made by a run that died.
        attached = {ip['subnet_id'] for p in net.ports(device_id=target_id)
                    for ip in p.fixed_ips or ()}
        for subnet_id in doc.get('interface_subnet_ids') or ():
            if rc.map('subnet', subnet_id) not in attached:
                net.add_interface_to_router(target_id, subnet_id=rc.map('subnet', subnet_id))
        if doc.get('routes'):
            net.update_router(target_id, routes=doc['routes'])
        return target_id


class Port(_Tagged):
    name = 'port'
    service = 'network'
    level = 'ports'
    quota = 'ports'
    list_call = 'ports'
    create_call = 'create_port'

    def same(self, rc, doc, res):
        if res.device_owner or res.network_id != rc.idmap.get('network', {}).get(
                doc['network_id']):
            return False
        if rc.options['keep_fixed_ips']:
            return ({ip['ip_address'] for ip in res.fixed_ips or ()} ==
                    {ip['ip_address'] for ip in doc.get('fixed_ips') or ()})
        return bool(doc.get('name')) and res.name == rc.name(doc['name'])
    sdk = sdk_port.Port
    restores = (
        Field('name'), Field('description'), Field('network_id', ref='network'),
        Field('fixed_ips', how='subnets mapped; the addresses kept with '
              'options.restore.keep_fixed_ips (default)'),
        Field('subnet_ids', arg=False, ref='subnet', how='(computed) through fixed_ips'),
        Field('mac_address', how='with options.restore.keep_mac_addresses'),
        Field('security_group_ids', ref='security_group',
              how='none when port security is off'),
        Field('allowed_address_pairs'), Field('is_port_security_enabled'),
        Field('is_admin_state_up'), Field('extra_dhcp_opts'),
        Field('binding_vnic_type', how='when not "normal" (SR-IOV and the like need the '
              'target\'s hardware)'),
        Field('dns_name', how='where Neutron has the dns-integration extension'), _TAGS)
    keeps = dict(
        device_id='the server kind attaches it (its server boots with it)',
        device_owner='set by Nova when the server boots with it',
        project_id='the restored project\'s', qos_policy_id=_QOS, qos_network_policy_id=_QOS,
        trunk_details='trunks are not protected', dns_domain='the network\'s is restored',
        **why('set by an admin for the target\'s hardware', 'propagate_uplink_status',
              'numa_affinity_policy', 'hardware_offload_type', 'trusted', 'device_profile',
              'data_plane_status'),
        **_REVISION)
    drops = dict(
        _ASSIGNED, status=STATE,
        **why('the target\'s binding of the port to a host', 'binding_host_id',
              'binding_profile', 'binding_vif_details', 'binding_vif_type',
              'resource_request'),
        **why(ALIAS, 'dns_assignment', 'ip_allocation'),
        **why('private VLAN attributes of one vendor\'s driver', 'pvlan_community',
              'pvlan_type'))

    def list(self, conn, ctx):
        return conn.network.ports(project_id=ctx.project.id)

    def derived(self, resource, workload):
        return {'subnet_ids': sorted({ip['subnet_id'] for ip in resource.fixed_ips or ()})}

    def attrs(self, rc, doc):
        fixed = [dict({'subnet_id': rc.map('subnet', ip['subnet_id'])},
                      **({'ip_address': ip['ip_address']} if keeps_address(rc, ip) else {}))
                 for ip in doc.get('fixed_ips') or ()]
        skip = ('security_group_ids', 'extra_dhcp_opts', 'binding_vnic_type', 'dns_name')
        if not rc.options['keep_mac_addresses']:
            skip += ('mac_address',)
        attrs = self.args(rc, doc, skip=skip)
        attrs['fixed_ips'] = fixed
        if doc.get('is_port_security_enabled') is not False:
            attrs['security_group_ids'] = [rc.map('security_group', g)
                                           for g in doc.get('security_group_ids') or ()]
        if doc.get('extra_dhcp_opts'):
            attrs['extra_dhcp_opts'] = [{k: o[k] for k in ('opt_name', 'opt_value',
                                                           'ip_version') if k in o}
                                        for o in doc['extra_dhcp_opts']]
        if doc.get('binding_vnic_type') not in (None, 'normal'):
            attrs['binding_vnic_type'] = doc['binding_vnic_type']
        if doc.get('dns_name') and rc.network_has('dns-integration'):
            attrs['dns_name'] = doc['dns_name']
        return attrs

    def intended(self, rc, field, doc):
        if field.name == 'fixed_ips':  # by subnet, and address where the restore keeps it
            return sorted((rc.idmap.get('subnet', {}).get(ip['subnet_id']),
                           ip['ip_address'] if keeps_address(rc, ip) else None)
                          for ip in doc.get('fixed_ips') or ())
        if field.name == 'mac_address' and not rc.options['keep_mac_addresses']:
            return NOT_COMPARED
        return super().intended(rc, field, doc)

    def observed(self, rc, field, copy):
        if field.name == 'fixed_ips':
            sources = {v: k for k, v in rc.idmap.get('subnet', {}).items()}
            return sorted((ip['subnet_id'], ip['ip_address'] if keeps_address(
                rc, dict(ip, subnet_id=sources.get(ip['subnet_id']))) else None)
                for ip in copy.get('fixed_ips') or ())
        return super().observed(rc, field, copy)

    def create(self, rc, doc, **attrs):
        if not rc.port_tags_at_creation:
            return super().create(rc, doc, **attrs)
        return rc.conn.network.create_port(tags=restore_tags(rc, doc), **attrs).id

    def create_all(self, rc, docs):
        """Where Neutron tags ports at creation (ML2 extension driver
        tag_ports_during_bulk_creation): BULK ports per request, each made with its tags
        (nothing to adopt after a crash). A refused bulk leaves its ports to restore(),
        one by one, so that the error names the port."""
        if len(docs) < 2 or not rc.port_tags_at_creation:
            return {}
        made = {}
        for i in range(0, len(docs), BULK):
            bodies = [dict(self.attrs(rc, d), tags=restore_tags(rc, d))
                      for d in docs[i:i + BULK]]
            try:
                made.update(by_source_tag(rc.conn.network.create_ports(bodies)))
            except exceptions.HttpException as exc:
                if not exc.status_code or exc.status_code >= 500:
                    raise  # maybe made: a re-run finds them by their tags
        return made

    def restore(self, rc, doc, target_id):
        if target_id:
            return target_id
        return self.create(rc, doc, **self.attrs(rc, doc))


class FloatingIP(_Tagged):
    name = 'floating_ip'
    service = 'network'
    level = 'ports'  # on the port, before any server: a warm standby stages it
    quota = 'floating_ips'
    list_call = 'ips'
    create_call = 'create_ip'
    sdk = sdk_floating_ip.FloatingIP
    restores = (
        Field('floating_network_id', ref='network', how='the mapped external network'),
        Field('port_id', ref='port', how='none for an address on no port (one the project '
              'holds, protected when the scope is the whole project)'),
        Field('fixed_ip_address', how='the port\'s address it forwards to: the same, or the '
              'address at the same place in the copy\'s fixed IPs when they are not kept'),
        Field('description'),
        Field('floating_ip_address', how='asked for with options.restore.keep_floating_ips '
              '(the target\'s pool decides otherwise)'), _TAGS)
    keeps = dict(
        project_id='the restored project\'s', qos_policy_id=_QOS,
        dns_name='DNS records of floating IPs are the target\'s DNS service\'s',
        dns_domain='DNS records of floating IPs are the target\'s DNS service\'s',
        **_REVISION)
    drops = dict(_ASSIGNED, status=STATE, router_id=ASSIGNED, name=ALIAS,
                 port_details=ALIAS, subnet_id='a create-time request')

    def list(self, conn, ctx):
        return conn.network.ips(project_id=ctx.project.id)

    def in_restore(self, rc):
        # A drill takes no address of a production pool unless the plan gives it one.
        return not rc.drill or bool(rc.drill_network)

    def check(self, rc, found):
        if rc.member and rc.options['keep_floating_ips'] and not rc.drill and rc.docs(
                'floating_ip'):
            found.problems.append('options.restore.keep_floating_ips: Neutron lets an admin '
                                  'only ask for a floating IP address, and %s\'s credentials '
                                  'are a member\'s' % rc.site)

    def intended(self, rc, field, doc):
        if field.name == 'floating_ip_address' and (
                not rc.options['keep_floating_ips'] or rc.drill):
            return NOT_COMPARED  # the target's pool decides
        if field.name == 'fixed_ip_address' and doc.get('fixed_ip_address'):
            return self._fixed_address(rc, doc)
        return super().intended(rc, field, doc)

    def same(self, rc, doc, res):
        return bool(doc.get('port_id')) and res.port_id == rc.idmap.get('port', {}).get(
            doc['port_id'])

    def _fixed_address(self, rc, doc):
        """The copy's port address this address forwards to: the same one, or (addresses
        not kept) the copy's address at the same place among the port's fixed IPs."""
        address = doc['fixed_ip_address']
        fixed = [ip for ip in rc.doc('port', doc['port_id']).get('fixed_ips') or ()
                 if ip['ip_address'] == address]
        if not fixed or keeps_address(rc, fixed[0]):
            return address
        subnet = fixed[0]['subnet_id']
        place = [ip['ip_address'] for ip in rc.doc('port', doc['port_id'])['fixed_ips']
                 if ip['subnet_id'] == subnet].index(address)
        copy = rc.conn.network.get_port(rc.map('port', doc['port_id']))
        return [ip['ip_address'] for ip in copy.fixed_ips
                if ip['subnet_id'] == rc.map('subnet', subnet)][place]

    def restore(self, rc, doc, target_id):
        on_port = doc.get('port_id') and doc.get('fixed_ip_address')
        if target_id:
            if doc.get('port_id') and origin(doc) == target_id:
                # The original site's address, used again: on the port it belongs to now.
                address = on_port and self._fixed_address(rc, doc)
                ip = rc.conn.network.get_ip(target_id)
                port = rc.map('port', doc['port_id'])
                if (ip.port_id, ip.fixed_ip_address) != (port, address or ip.fixed_ip_address):
                    rc.conn.network.update_ip(ip, port_id=port, **(
                        {'fixed_ip_address': address} if address else {}))
            return target_id
        keep = rc.options['keep_floating_ips'] and not rc.drill
        attrs = self.args(rc, doc, skip=('fixed_ip_address',) if keep else (
            'fixed_ip_address', 'floating_ip_address'))
        if on_port:
            attrs['fixed_ip_address'] = self._fixed_address(rc, doc)
        return self.create(rc, doc, **attrs)


KINDS = (Network(), Subnet(), SecurityGroup(), Router(), Port(), FloatingIP())
