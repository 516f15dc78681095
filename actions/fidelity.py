"""Fidelity: a restored workload compared with its checkpoint, attribute by attribute.

The restored project is described like a source (discovery) and every field a kind restores
(Kind.restores) is compared with the checkpoint's, once what the restore changes on purpose
is applied to the checkpoint's value: IDs mapped through the ID map, a drill's name suffix,
draas' own tags and volume metadata, what the plan maps (MTUs, addresses it does not keep).
What still differs is listed. Fields kept for information only may differ by declaration
(doc/source/reference/kinds.rst says why) and are not compared.
"""
import json

from openstack import exceptions

from actions import discovery
from actions import errors
from actions import resources
from actions import sites
from actions.resources import block_storage
from actions.resources import network as network_kind

SKIPPED = {'role_assignment': 'matched by user and role name (no ID of its own)'}
NOT_COMPARED = object()  # a field the restore does not keep as it was, by the plan's choice


class Either(tuple):
    """Values a restored field may have, each as intended."""

    def __new__(cls, *values):
        return super().__new__(cls, values)


def describe(conn, site, project_id, keep_user_data=False):
    """The workload of project `project_id` on `site` as checkpoint documents by kind."""
    plan = {'scope': {'project': project_id}, 'source': site,
            'options': {'keep_user_data': keep_user_data}}
    return discovery.discover(conn, plan).to_dict()


def _own_tags(value):
    return sorted(t for t in value or () if not t.startswith(
        (resources.SOURCE_TAG, resources.RESTORE_TAG)))


def _expected(r, kind, field, doc):
    """What the copy's field should hold, or NOT_COMPARED."""
    value = doc.get(field.name)
    name, options = field.name, r.options
    if field.ref and name == 'gateway_network_id' and r.drill and not r.drill_network:
        return NOT_COMPARED  # an isolated drill's routers have no gateway
    if field.ref:
        mapping = r.idmap.get(field.ref, {})
        if isinstance(value, list):
            return sorted(mapping.get(v, v) for v in value)
        return mapping.get(value, value)
    if name == 'name' and kind.name == 'security_group' and value == 'default':
        return value  # the project's own default group
    if name == 'name' and kind.name == 'image':
        return value  # the checkpoint's copy, shared: never renamed
    if name == 'name' and kind.name in ('flavor', 'volume_type', 'domain'):
        value = {'flavor': options['flavors'], 'volume_type': options['volume_types']}.get(
            kind.name, {}).get(value, value)
        # A drill uses the target's of that name, or makes its own.
        return Either(value, r.name(value)) if r.drill else value
    if name == 'name':
        return r.name(value) if value else value
    if name == 'tags':
        return _own_tags(value)
    if name == 'metadata' and kind.name == 'volume':
        return block_storage.own_metadata(doc)
    if name == 'mtu':
        return network_kind.target_mtu(r, doc) or None
    if name == 'fixed_ips':
        return sorted((r.idmap.get('subnet', {}).get(ip['subnet_id']),
                       ip['ip_address'] if network_kind.keeps_address(r, ip) else None)
                      for ip in value or ())
    if name == 'rules':
        groups = r.idmap.get('security_group', {})
        return _rules(dict(rule, remote_group_id=groups.get(rule['remote_group_id'],
                                                            rule['remote_group_id']))
                      for rule in value or ())
    skip = {'is_public': lambda: r.drill,  # a drill's own flavors and types are private
            'mac_address': lambda: not options['keep_mac_addresses'],
            'floating_ip_address': lambda: not options['keep_floating_ips'] or r.drill,
            'user_data': lambda: not r.plan['options'].get('keep_user_data'),
            'availability_zone': lambda: value not in options['availability_zones'],
            'quotas': lambda: True}  # raised to the source's, never lowered: may be higher
    return NOT_COMPARED if name in skip and skip[name]() else value


def _actual(kind, field, doc, r):
    value = doc.get(field.name)
    if field.ref and isinstance(value, list):
        return sorted(value)
    if field.name == 'tags':
        return _own_tags(value)
    if field.name == 'metadata' and kind.name == 'volume':
        return block_storage.own_metadata(doc)
    if field.name == 'fixed_ips':  # compared by subnet, and address where it is kept
        sources = {v: k for k, v in r.idmap.get('subnet', {}).items()}
        return sorted((ip['subnet_id'], ip['ip_address'] if network_kind.keeps_address(
            r, dict(ip, subnet_id=sources.get(ip['subnet_id']))) else None)
            for ip in value or ())
    if field.name == 'rules':
        return _rules(value or ())
    return value


def _rules(rules):
    """Security group rules in one spelling: sorted, no empty description."""
    return sorted(json.dumps(dict(rule, description=rule.get('description') or None),
                             sort_keys=True) for rule in rules)


def _empty(value):
    return value in (None, '', [], {})


def compare(r, described):
    """Compare restore `r` (actions.restore.Restore) with `described` (describe() of its
    project); returns {resources, fields, differences}: differences are lines naming the
    kind, resource, field and both values."""
    kinds = resources.all_kinds()
    by_id = {kind: {d['id']: d for d in docs} for kind, docs in described.items()}
    compared = fields = 0
    differences = []
    for name, kind in kinds.items():
        if name in SKIPPED or not kind.in_restore(r):
            continue
        for doc in r.docs(name):
            if name == 'network' and r.is_external(doc):
                continue  # mapped to a network of the target, not made
            target_id = r.idmap.get(name, {}).get(doc['id'])
            what = '%s %s' % (name, doc.get('name') or doc['id'])
            copy = by_id.get(name, {}).get(target_id)
            if copy is None:
                differences.append('%s: not found in the restored project (%s)' % (
                    what, target_id))
                continue
            compared += 1
            for field in kind.restores:
                want = _expected(r, kind, field, doc)
                if want is NOT_COMPARED or field.name not in doc:
                    continue
                fields += 1
                have = _actual(kind, field, copy, r)
                if isinstance(want, Either) and have in want:
                    continue
                if want != have and not (_empty(want) and _empty(have)):
                    differences.append('%s: %s is %s in the checkpoint, %s restored' % (
                        what, field.name, _short(want), _short(have)))
    return {'resources': compared, 'fields': fields, 'differences': differences}


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def report(r):
    """compare() for restore `r`, or {error} when the restored project cannot be described
    (the fidelity report never fails a restore)."""
    try:
        described = describe(r.admin, r.site, r.project_id,
                             r.plan['options'].get('keep_user_data', False))
    except errors.DraasError as exc:
        return {'error': str(exc)}
    except exceptions.SDKException as exc:
        return {'error': sites.explain(exc, r.site)}
    return compare(r, described)
