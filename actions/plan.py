"""Protection plans and DR policies.

A plan names the source and target sites (clouds.yaml entries), the scope of the workload on
the source, a policy (gold, silver, bronze, or custom) and options. It is validated with a JSON
schema before anything runs; every error names the field and the form expected.
"""
import copy
import json
import re

import jsonschema
import yaml

from actions import cron
from actions import errors
from actions import hooks
from actions import sites

# The built-in policies. rpo/rto in minutes; schedule is a cron pattern (UTC) for the
# checkpoint trigger; replication is the volume data mover; retention keeps at least `count`
# checkpoints and drops those older than `max_age_hours` beyond that count.
POLICIES = {
    'gold': {'rpo_minutes': 15, 'rto_minutes': 30, 'schedule': '*/15 * * * *',
             'replication': 'backup', 'retention': {'count': 8, 'max_age_hours': 24},
             'standby': 'warm', 'drill_days': 30},
    'silver': {'rpo_minutes': 240, 'rto_minutes': 240, 'schedule': '0 */4 * * *',
               'replication': 'backup', 'retention': {'count': 6, 'max_age_hours': 72},
               'standby': 'cold', 'drill_days': 90},
    'bronze': {'rpo_minutes': 1440, 'rto_minutes': 1440, 'schedule': '0 2 * * *',
               'replication': 'backup', 'retention': {'count': 7, 'max_age_hours': 336},
               'standby': 'low-capacity', 'drill_days': 180},
}
OPTIONAL_POLICY_FIELDS = {'drill_days': 90}  # a custom policy may leave these out
REPLICATION_METHODS = ('backup', 'replication', 'image')
NAME = r'^[a-z0-9][a-z0-9_.-]{0,62}$'
CRON = r'^\S+( \S+){4}$'

_POLICY_FIELDS = {
    'rpo_minutes': {'type': 'integer', 'minimum': 1,
                    'description': 'target RPO in minutes (a positive integer)'},
    'rto_minutes': {'type': 'integer', 'minimum': 1,
                    'description': 'target RTO in minutes (a positive integer)'},
    'schedule': {'type': 'string', 'pattern': CRON,
                 'description': 'a cron pattern of five fields, e.g. "*/15 * * * *"'},
    'replication': {'enum': list(REPLICATION_METHODS),
                    'description': 'one of %s' % ', '.join(REPLICATION_METHODS)},
    'retention': {
        'type': 'object', 'additionalProperties': False,
        'description': 'an object {count, max_age_hours}',
        'properties': {
            'count': {'type': 'integer', 'minimum': 1, 'maximum': 1000,
                      'description': 'checkpoints always kept (1-1000)'},
            'max_age_hours': {'type': 'integer', 'minimum': 0,
                              'description': 'age in hours past which checkpoints beyond '
                                             'count are pruned (0: as soon as beyond)'}}},
    'standby': {'enum': ['cold', 'warm', 'low-capacity'],
                'description': 'one of cold, warm, low-capacity'},
    'drill_days': {'type': 'integer', 'minimum': 1,
                   'description': 'days after which the last drill (or failover) no longer '
                                  'proves the RTO: the report calls it stale'},
}

_NAME_MAP = {'type': 'string', 'minLength': 1, 'maxLength': 255,
             'description': 'a name or ID on the target'}

HOOK = {'type': 'object', 'additionalProperties': False, 'required': ['workflow'],
        'description': 'an object {workflow, input}',
        'properties': {
            'workflow': {'type': 'string', 'minLength': 1, 'maxLength': 255,
                         'description': 'the name of a Mistral workflow of the plan\'s '
                                        'project'},
            'input': {'type': 'object', 'maxProperties': 100,
                      'description': 'its inputs (no secrets: the plan is kept in '
                                     'checkpoints; give std.ssh a private_key_filename); '
                                     'inputs named checkpoint_id and plan get the run\'s'}}}
SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'required': ['name', 'source', 'target', 'scope', 'policy'],
    'description': 'a plan object {name, source, target, scope, policy, options}',
    'properties': {
        'name': {'type': 'string', 'pattern': NAME,
                 'description': 'lower-case letters, digits, ".", "_" or "-" (1-63, '
                                'starting with a letter or digit)'},
        'description': {'type': 'string', 'maxLength': 1000,
                        'description': 'free text up to 1000 characters'},
        'source': {'type': 'string', 'minLength': 1,
                   'description': 'the clouds.yaml entry of the protected site'},
        'target': {'type': 'string', 'minLength': 1,
                   'description': 'the clouds.yaml entry of the recovery site'},
        'scope': {
            'type': 'object', 'additionalProperties': False, 'required': ['project'],
            'description': 'an object {project, project_id, servers, tags}',
            'properties': {
                'project': {'type': 'string', 'minLength': 1, 'maxLength': 64,
                            'description': 'the project (name or ID) on the source'},
                'project_id': {'type': 'string', 'minLength': 1, 'maxLength': 64,
                               'description': 'the ID of that project on the source, which '
                                              'the plan is bound to (draas-install '
                                              'records it when it saves the plan)'},
                'servers': {'type': 'array', 'minItems': 1, 'maxItems': 1000,
                            'uniqueItems': True,
                            'items': {'type': 'string', 'minLength': 1, 'maxLength': 255},
                            'description': 'a non-empty list of server names or IDs'},
                'tags': {'type': 'array', 'minItems': 1, 'maxItems': 50, 'uniqueItems': True,
                         'items': {'type': 'string', 'minLength': 1, 'maxLength': 60},
                         'description': 'a non-empty list of server tags (all must match)'},
            }},
        'access': {
            'type': 'object', 'additionalProperties': False,
            'description': 'an object {projects}',
            'properties': {
                'projects': {'type': 'array', 'maxItems': 100, 'uniqueItems': True,
                             'items': {'type': 'string', 'minLength': 1, 'maxLength': 64},
                             'description': 'projects (names or IDs) at Mistral\'s Keystone '
                                            'whose members may run the plan once an admin '
                                            'saved it (draas-install --plans keeps their '
                                            'IDs)'}}},
        'policy': {
            'description': 'a policy name (gold, silver, bronze) or an object {name, ...} '
                           'overriding its fields',
            'oneOf': [
                {'enum': list(POLICIES), 'description': ' or '.join(POLICIES)},
                {'type': 'object', 'additionalProperties': False, 'required': ['name'],
                 'properties': dict(
                     name={'type': 'string', 'pattern': NAME,
                           'description': 'a built-in policy to start from, or the name '
                                          'of a custom policy giving every field'},
                     **_POLICY_FIELDS)},
            ]},
        'options': {
            'type': 'object', 'additionalProperties': False,
            'description': 'an object of options',
            'properties': {
                'store': {'type': 'string', 'pattern': r'^(swift(://[A-Za-z0-9_.-]+)?|'
                                                       r'file:///.+)$',
                          'description': '"swift" (container draas-checkpoints of the '
                                         'target), "swift://CONTAINER" or "file:///PATH"'},
                'keep_user_data': {'type': 'boolean',
                                   'description': 'true to keep servers\' user data in '
                                                  'checkpoints (may hold secrets)'},
                'root_disk': {'enum': ['snapshot', 'base_image'],
                              'description': 'what a restore boots a server booted from '
                                             'an image from: "snapshot" (default: its root '
                                             'disk as the checkpoint found it) or '
                                             '"base_image" (stateless servers: writes to '
                                             'the root disk are not kept)'},
                'root_disks': {'type': 'object', 'maxProperties': 1000,
                               'additionalProperties': {'enum': ['snapshot', 'base_image']},
                               'description': 'an object {server name: "snapshot" or '
                                              '"base_image"} overriding root_disk (and a '
                                              'server\'s tag draas-root-disk=<mode>) per '
                                              'server'},
                'hooks': {
                    'type': 'object', 'additionalProperties': False,
                    'description': 'an object {pre, post, freeze_seconds}: Mistral workflows '
                                   'a checkpoint runs before its snapshots (e.g. flush a '
                                   'database) and after them (thaw it; it runs whenever the '
                                   'pre-hook started), the snapshots bounded by '
                                   'freeze_seconds (default %d, at most %d)' % (
                                       hooks.DEFAULT_FREEZE_SECONDS, hooks.MAX_FREEZE_SECONDS),
                    'properties': {
                        'pre': HOOK, 'post': HOOK,
                        'freeze_seconds': {'type': 'integer', 'minimum': 1,
                                           'maximum': hooks.MAX_FREEZE_SECONDS,
                                           'description': 'seconds (1-%d) the snapshots may '
                                                          'take while the application is '
                                                          'frozen' % hooks.MAX_FREEZE_SECONDS}}},
                'transfer': {
                    'type': 'object', 'additionalProperties': False,
                    'description': 'an object {bytes_per_second, streams}: how checkpoints '
                                   'copy data to the recovery site',
                    'properties': {
                        'streams': {
                            'type': 'integer', 'minimum': 1, 'maximum': 16,
                            'description': 'copies at once (1-16, default 4): images, root '
                                           'disks, volumes of the image method'},
                        'bytes_per_second': {
                            'type': 'integer', 'minimum': 1024,
                            'description': 'bytes a second (1024 or more) every copy of a '
                                           'checkpoint reads from the source together '
                                           '(images, root disks, volumes of the image '
                                           'method; default: no limit)'}}},
                'replication': {
                    'type': 'object', 'additionalProperties': False,
                    'description': 'an object {adapter, failover_when_lagging}: the storage '
                                   'replication of policy.replication "replication"',
                    'properties': {
                        'adapter': {'type': 'string', 'pattern': NAME,
                                    'description': 'the storage replication adapter (an '
                                                   'entry point of draas.replication, '
                                                   'default "cinder")'},
                        'failover_when_lagging': {
                            'type': 'boolean',
                            'description': 'true to let a failover proceed when a replica '
                                           'trails its volume by more than the RPO (the '
                                           'preflight says how many seconds of writes are '
                                           'lost); default false: refused'}}},
                'lock_timeout_minutes': {'type': 'integer', 'minimum': 1,
                                         'description': 'minutes after which a checkpoint '
                                                        'lock left by a dead run expires'},
                'drill': {
                    'type': 'object', 'additionalProperties': False,
                    'description': 'an object of drill options',
                    'properties': {
                        'external_network': {
                            'type': 'string', 'minLength': 1, 'maxLength': 255,
                            'description': 'a network of the target (name or ID) giving '
                                           'drill routers a gateway and drill servers their '
                                           'floating IPs (default: none, the drill is '
                                           'isolated)'}}},
                'verify': {
                    'type': 'object', 'additionalProperties': False,
                    'description': 'an object {probes, timeout_seconds}',
                    'properties': {
                        'probes': {
                            'type': 'array', 'maxItems': 100,
                            'description': 'a list of probes {server, port, protocol, '
                                           'path} run after a failover or drill',
                            'items': {
                                'type': 'object', 'additionalProperties': False,
                                'required': ['server', 'port'],
                                'description': 'a probe {server (name), port, protocol '
                                               '(tcp or http), path (http)}',
                                'properties': {
                                    'server': {'type': 'string', 'minLength': 1,
                                               'description': 'a server name'},
                                    'port': {'type': 'integer', 'minimum': 1,
                                             'maximum': 65535,
                                             'description': 'a TCP port (1-65535)'},
                                    'protocol': {'enum': ['tcp', 'http'],
                                                 'description': 'tcp or http'},
                                    'path': {'type': 'string', 'pattern': '^/',
                                             'description': 'a URL path starting with "/"'},
                                }}},
                        'timeout_seconds': {
                            'type': 'integer', 'minimum': 1, 'maximum': 3600,
                            'description': 'seconds the checks may take to pass (1-3600)'},
                    }},
                'restore': {
                    'type': 'object', 'additionalProperties': False,
                    'description': 'an object of restore options',
                    'properties': dict(
                        {key: {'type': 'object', 'additionalProperties': _NAME_MAP,
                               'description': 'an object {source %s: target %s}' % (
                                   what, what)}
                         for key, what in (('networks', 'network name or ID'),
                                           ('flavors', 'flavor name'),
                                           ('volume_types', 'volume type name'),
                                           ('availability_zones', 'zone'))},
                        mtu={'type': 'object', 'additionalProperties': {
                                 'type': 'integer', 'minimum': 0, 'maximum': 65535,
                                 'description': 'an MTU (0-65535; 0: the target\'s '
                                                'default)'},
                             'propertyNames': {'pattern': '^[0-9]+$',
                                               'description': 'a source MTU (digits)'},
                             'description': 'an object {source MTU: target MTU} for '
                                            'networks whose MTU the target cannot carry '
                                            '(0: the target\'s default), e.g. {"9000": '
                                            '1500}'},
                        project={'type': 'string', 'minLength': 1, 'maxLength': 64,
                                 'description': 'the name of the target project the '
                                                'workload is restored into (default: the '
                                                'source project\'s name; with a member\'s '
                                                'credentials at the target: its entry\'s '
                                                'project, which only it may name)'},
                        create_volume_types={'type': 'boolean', 'description': 'true to '
                                             'create the volume types the target lacks '
                                             '(like the source\'s, extra specs included) '
                                             'instead of refusing the restore'},
                        keep_fixed_ips={'type': 'boolean', 'description': 'true to give '
                                        'ports their source IP addresses (default true)'},
                        keep_mac_addresses={'type': 'boolean', 'description': 'true to '
                                            'give ports their source MAC addresses'},
                        keep_floating_ips={'type': 'boolean', 'description': 'true to ask '
                                           'for the source floating IP addresses'},
                        boot_order={'type': 'array', 'maxItems': 100,
                                    'items': {'type': 'array', 'minItems': 1,
                                              'items': {'type': 'string'}},
                                    'description': 'a list of groups (lists) of server '
                                                   'names booted one group after the other'},
                        parallel={'type': 'integer', 'minimum': 1, 'maximum': 64,
                                  'description': 'resources created at once (1-64)'},
                        replica_host={'type': 'string', 'minLength': 1,
                                      'description': 'the Cinder backend of the target '
                                                     'holding the array\'s replicas '
                                                     '(host@backend#pool), for volumes '
                                                     'of the replication method'},
                        replica_ref={'type': 'object', 'additionalProperties': {
                                         'type': 'string'},
                                     'description': 'how the backend names a replica, e.g. '
                                                    '{"source-name": "volume-{id}"} ({id}, '
                                                    '{name}: the source volume\'s)'},
                        timeout_minutes={'type': 'integer', 'minimum': 1,
                                         'description': 'minutes to wait for a server or '
                                                        'volume to become ready'},
                    )},
            }},
    },
}
# A plan saved at its recovery site (draas-install --plans) is named "<plan>@<site>": it lives
# in the Swift container REGISTRY of that site, so workflows and triggers can refer to it.
REFERENCE = re.compile(r'^(?P<name>[a-z0-9][a-z0-9_.-]{0,62})@(?P<site>[^\s@]+)$')
REGISTRY = 'draas-plans'
DEFAULT_OPTIONS = {'store': 'swift', 'keep_user_data': False, 'lock_timeout_minutes': 360,
                   'root_disk': 'snapshot', 'root_disks': {}}
DEFAULT_RESTORE = {'networks': {}, 'flavors': {}, 'volume_types': {}, 'availability_zones': {},
                   'mtu': {}, 'create_volume_types': False,
                   'keep_fixed_ips': True, 'keep_mac_addresses': False,
                   'keep_floating_ips': False, 'boot_order': [], 'parallel': 8,
                   'timeout_minutes': 30, 'replica_ref': {'source-name': 'volume-{id}'}}
DEFAULT_VERIFY = {'probes': [], 'timeout_seconds': 120}
DEFAULT_REPLICATION = {'adapter': 'cinder', 'failover_when_lagging': False}


class PlanError(errors.DraasError):
    """The plan is not valid; `errors` lists one message per problem."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__('invalid plan: ' + '; '.join(errors))


def _describe(error):
    path = 'plan' + ''.join('[%d]' % p if isinstance(p, int) else '.%s' % p
                            for p in error.absolute_path)
    expected = error.schema.get('description')
    if error.validator == 'additionalProperties':
        known = sorted(error.schema.get('properties', {}))
        return '%s: unknown field(s) %s (known: %s)' % (
            path, ', '.join(sorted(set(error.instance) - set(known))), ', '.join(known))
    if error.validator == 'required':
        return '%s: %s' % (path, error.message)
    got = repr(error.instance)
    if len(got) > 80:
        got = got[:77] + '...'
    return '%s: expected %s, got %s' % (path, expected or error.message, got)


def _registry(site):
    from actions import checkpoint  # the store backends; plan.py stays importable alone
    return checkpoint.SwiftStore(sites.connect(site), REGISTRY)


def save(plan):
    """Save a validated plan at its target site; returns its reference "<name>@<site>"."""
    _registry(plan['target']).put(plan['name'] + '.json',
                                  json.dumps(plan, sort_keys=True, indent=1).encode())
    return '%s@%s' % (plan['name'], plan['target'])


def fetch(reference):
    """The plan saved under `reference` ("<name>@<site>")."""
    match = REFERENCE.match(reference)
    with sites.calls_to(match['site'], 'plan registry'):
        data = _registry(match['site']).get(match['name'] + '.json')
    if data is None:
        raise PlanError(['plan: no plan %r saved at %s (save it with draas-install --plans, '
                         'or pass the plan itself)' % (match['name'], match['site'])])
    return json.loads(data)


def load(document):
    """A plan from a dict, from YAML/JSON text, or from a reference "<name>@<site>"."""
    if isinstance(document, str) and REFERENCE.match(document.strip()):
        return fetch(document.strip())
    if isinstance(document, str):
        try:
            document = yaml.safe_load(document)
        except yaml.YAMLError as exc:
            raise PlanError(['plan: not valid YAML/JSON: %s' % exc]) from None
    if not isinstance(document, dict):
        raise PlanError(['plan: expected an object, got %s' % type(document).__name__])
    return document


def validate(document, check_sites=True):
    """Validate a plan; return it normalised (policy resolved, options defaulted).

    Raises PlanError listing every problem. With check_sites the source and target must be
    entries of clouds.yaml (nothing is contacted).
    """
    document = load(document)
    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
        if error.validator == 'oneOf' and error.context:
            # Report the branch the user meant: a string policy or an object one.
            branch = 1 if isinstance(error.instance, dict) else 0
            sub = [e for e in error.context if e.schema_path and e.schema_path[0] == branch]
            errors += [_describe(e) for e in sub] or [_describe(error)]
        else:
            errors.append(_describe(error))
    if errors:
        raise PlanError(errors)
    plan = copy.deepcopy(document)
    plan['policy'] = resolve_policy(plan['policy'])
    try:
        cron.parse(plan['policy']['schedule'])
    except cron.CronError as exc:
        raise PlanError(['plan.policy.schedule: %s' % exc]) from None
    plan['options'] = dict(DEFAULT_OPTIONS, **plan.get('options', {}))
    plan['options']['restore'] = dict(DEFAULT_RESTORE, **plan['options'].get('restore', {}))
    plan['options']['drill'] = dict(plan['options'].get('drill', {}))
    plan['options']['verify'] = dict(DEFAULT_VERIFY, **plan['options'].get('verify', {}))
    plan['options']['replication'] = dict(DEFAULT_REPLICATION,
                                          **plan['options'].get('replication', {}))
    if plan['source'] == plan['target']:
        raise PlanError(['plan.target: expected a site other than the source, got %r'
                         % plan['target']])
    if check_sites:
        try:
            sites.validate_site_names([plan['source'], plan['target']])
        except sites.SiteError as exc:
            raise PlanError(['plan.source/target: %s' % exc]) from None
    return plan


def resolve_policy(policy):
    """A complete policy dict from a name or an object overriding a built-in one."""
    if isinstance(policy, str):
        return dict(copy.deepcopy(POLICIES[policy]), name=policy)
    base = POLICIES.get(policy['name'])
    if base is None:
        missing = sorted(set(_POLICY_FIELDS) - set(policy) - set(OPTIONAL_POLICY_FIELDS))
        if missing:
            raise PlanError(['plan.policy: custom policy %r must give %s (or start from '
                             'gold, silver or bronze)' % (policy['name'], ', '.join(missing))])
        return dict(OPTIONAL_POLICY_FIELDS, **copy.deepcopy(policy))
    resolved = dict(copy.deepcopy(base), **copy.deepcopy(policy))
    resolved['retention'] = dict(base['retention'], **policy.get('retention', {}))
    return resolved
