"""Neutron: networks, subnets, security groups, routers, ports, floating IPs."""
import concurrent.futures

from openstack import exceptions

from actions.resources import by_source_tag
from actions.resources import Kind
from actions.resources import origin
from actions.resources import restore_tags

_REVISION = ('revision_number', 'updated_at')
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
                if origin(doc) in ids:
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


class Network(_Tagged):
    name = 'network'
    service = 'network'
    level = 'network'
    list_call = 'networks'
    create_call = 'create_network'
    fields = ('name', 'description', 'project_id', 'is_admin_state_up', 'mtu', 'is_shared',
              'is_router_external', 'provider_network_type', 'provider_physical_network',
              'is_port_security_enabled', 'tags', 'availability_zone_hints',
              'dns_domain') + _REVISION

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
        return self.create(
            rc, doc, name=rc.name(doc['name']), description=doc.get('description') or '',
            is_admin_state_up=doc.get('is_admin_state_up', True),
            is_port_security_enabled=doc.get('is_port_security_enabled', True))


class Subnet(_Tagged):
    name = 'subnet'
    service = 'network'
    level = 'network_links'
    list_call = 'subnets'
    create_call = 'create_subnet'
    fields = ('name', 'description', 'network_id', 'cidr', 'ip_version', 'gateway_ip',
              'allocation_pools', 'dns_nameservers', 'host_routes', 'is_dhcp_enabled',
              'ipv6_address_mode', 'ipv6_ra_mode', 'tags') + _REVISION
    refs = {'network_id': 'network'}

    def list(self, conn, ctx):
        return conn.network.subnets(project_id=ctx.project.id)

    def restore(self, rc, doc, target_id):
        if target_id or rc.is_external(rc.doc('network', doc['network_id'])):
            return target_id
        return self.create(
            rc, doc, network_id=rc.map('network', doc['network_id']),
            name=rc.name(doc['name']),
            description=doc.get('description') or '', cidr=doc['cidr'],
            ip_version=doc['ip_version'], gateway_ip=doc.get('gateway_ip'),
            allocation_pools=doc.get('allocation_pools'),
            dns_nameservers=doc.get('dns_nameservers') or [],
            host_routes=doc.get('host_routes') or [],
            is_dhcp_enabled=doc.get('is_dhcp_enabled', True),
            ipv6_address_mode=doc.get('ipv6_address_mode'),
            ipv6_ra_mode=doc.get('ipv6_ra_mode'))


class SecurityGroup(_Tagged):
    name = 'security_group'
    service = 'network'
    level = 'network'
    list_call = 'security_groups'
    create_call = 'create_security_group'
    fields = ('name', 'description', 'stateful', 'tags') + _REVISION
    refs = {'remote_group_ids': 'security_group'}

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
        if doc['name'] == 'default':
            # Every project has one already (Neutron makes it): adopt it, rules follow.
            [group] = rc.conn.network.security_groups(project_id=rc.project_id,
                                                      name='default')
            rc.conn.network.set_tags(group, sorted(set(group.tags or ()) | set(restore_tags(
                rc, doc))))
            return group.id
        return self.create(rc, doc, name=rc.name(doc['name']),
                           description=doc.get('description') or '')

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


class Router(_Tagged):
    name = 'router'
    service = 'network'
    level = 'ports'
    list_call = 'routers'
    create_call = 'create_router'
    fields = ('name', 'description', 'external_gateway_info', 'routes', 'is_admin_state_up',
              'is_distributed', 'is_ha', 'availability_zone_hints', 'tags') + _REVISION
    refs = {'gateway_network_id': 'network', 'interface_subnet_ids': 'subnet'}

    def list(self, conn, ctx):
        return conn.network.routers(project_id=ctx.project.id)

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
            target_id = self.create(
                rc, doc, name=rc.name(doc['name']), description=doc.get('description') or '',
                is_admin_state_up=doc.get('is_admin_state_up', True),
                external_gateway_info=gateway)
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
    fields = ('name', 'description', 'network_id', 'fixed_ips', 'mac_address',
              'security_group_ids', 'allowed_address_pairs', 'device_id', 'device_owner',
              'binding_vnic_type', 'is_port_security_enabled', 'is_admin_state_up',
              'extra_dhcp_opts', 'tags') + _REVISION
    refs = {'network_id': 'network', 'subnet_ids': 'subnet',
            'security_group_ids': 'security_group'}

    def list(self, conn, ctx):
        return conn.network.ports(project_id=ctx.project.id)

    def derived(self, resource, workload):
        return {'subnet_ids': sorted({ip['subnet_id'] for ip in resource.fixed_ips or ()})}

    def attrs(self, rc, doc):
        keep_ips = rc.options['keep_fixed_ips']
        fixed = [dict({'subnet_id': rc.map('subnet', ip['subnet_id'])},
                      **({'ip_address': ip['ip_address']} if keep_ips else {}))
                 for ip in doc.get('fixed_ips') or ()]
        attrs = dict(network_id=rc.map('network', doc['network_id']),
                     name=rc.name(doc.get('name')),
                     description=doc.get('description') or '', fixed_ips=fixed,
                     is_admin_state_up=doc.get('is_admin_state_up', True),
                     allowed_address_pairs=doc.get('allowed_address_pairs') or [])
        if doc.get('is_port_security_enabled') is False:
            attrs['is_port_security_enabled'] = False
        else:
            attrs['security_group_ids'] = [rc.map('security_group', g)
                                           for g in doc.get('security_group_ids') or ()]
        if rc.options['keep_mac_addresses']:
            attrs['mac_address'] = doc['mac_address']
        return attrs

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
    list_call = 'ips'
    create_call = 'create_ip'
    fields = ('floating_ip_address', 'floating_network_id', 'port_id', 'fixed_ip_address',
              'description', 'tags') + _REVISION
    refs = {'floating_network_id': 'network', 'port_id': 'port'}

    def list(self, conn, ctx):
        return conn.network.ips(project_id=ctx.project.id)

    def in_restore(self, rc):
        # A drill takes no address of a production pool unless the plan gives it one.
        return not rc.drill or bool(rc.drill_network)

    def same(self, rc, doc, res):
        return bool(doc.get('port_id')) and res.port_id == rc.idmap.get('port', {}).get(
            doc['port_id'])

    def restore(self, rc, doc, target_id):
        if target_id:
            if doc.get('port_id') and origin(doc) == target_id:
                # The original site's address, used again: on the port it belongs to now.
                ip = rc.conn.network.get_ip(target_id)
                if ip.port_id != rc.map('port', doc['port_id']):
                    rc.conn.network.update_ip(ip, port_id=rc.map('port', doc['port_id']))
            return target_id
        attrs = dict(floating_network_id=rc.map('network', doc['floating_network_id']),
                     description=doc.get('description') or '')
        if doc.get('port_id'):
            attrs['port_id'] = rc.map('port', doc['port_id'])
        if rc.options['keep_floating_ips'] and not rc.drill:
            attrs['floating_ip_address'] = doc['floating_ip_address']
        return self.create(rc, doc, **attrs)


KINDS = (Network(), Subnet(), SecurityGroup(), Router(), Port(), FloatingIP())
