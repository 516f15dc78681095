"""Neutron: networks, subnets, security groups, routers, ports, floating IPs."""
from actions.resources import Kind

_REVISION = ('revision_number', 'updated_at')


class Network(Kind):
    name = 'network'
    service = 'network'
    fields = ('name', 'description', 'is_admin_state_up', 'mtu', 'is_shared',
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


class Subnet(Kind):
    name = 'subnet'
    service = 'network'
    fields = ('name', 'description', 'network_id', 'cidr', 'ip_version', 'gateway_ip',
              'allocation_pools', 'dns_nameservers', 'host_routes', 'is_dhcp_enabled',
              'ipv6_address_mode', 'ipv6_ra_mode', 'tags') + _REVISION
    refs = {'network_id': 'network'}

    def list(self, conn, ctx):
        return conn.network.subnets(project_id=ctx.project.id)


class SecurityGroup(Kind):
    name = 'security_group'
    service = 'network'
    fields = ('name', 'description', 'stateful', 'tags') + _REVISION
    refs = {'remote_group_ids': 'security_group'}

    def list(self, conn, ctx):
        return conn.network.security_groups(project_id=ctx.project.id)

    def derived(self, resource, workload):
        keep = ('direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max',
                'remote_ip_prefix', 'remote_group_id', 'remote_address_group_id',
                'description')
        rules = [{k: r.get(k) for k in keep} for r in resource.security_group_rules or ()]
        remotes = sorted({r['remote_group_id'] for r in rules
                          if r['remote_group_id'] and r['remote_group_id'] != resource.id})
        return {'rules': rules, 'remote_group_ids': remotes}


class Router(Kind):
    name = 'router'
    service = 'network'
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


class Port(Kind):
    name = 'port'
    service = 'network'
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


class FloatingIP(Kind):
    name = 'floating_ip'
    service = 'network'
    fields = ('floating_ip_address', 'floating_network_id', 'port_id', 'fixed_ip_address',
              'description', 'tags') + _REVISION
    refs = {'floating_network_id': 'network', 'port_id': 'port'}

    def list(self, conn, ctx):
        return conn.network.ips(project_id=ctx.project.id)


KINDS = (Network(), Subnet(), SecurityGroup(), Router(), Port(), FloatingIP())
