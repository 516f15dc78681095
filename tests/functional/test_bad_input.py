"""Bad input through the real Mistral: every case fails at once with an error naming the
problem (field, value, what is expected), and nothing is made on either site."""
import hashlib
import json
import time

from mistralclient.api import base as mistral_base
from openstack import exceptions as sdk_exc
import openstack

from actions import checkpoint
from actions import plan as plan_mod
from tests.functional import base
from tests.functional import workload

# Executions started side by side: the catalogue takes seconds, not a minute.
BATCH = 8
# Tasks that store or create something: none may run for bad input.
WORK_TASKS = {'begin', 'export', 'replicate', 'commit', 'stage', 'apply', 'finish',
              'final_checkpoint', 'checkpoint', 'failover'}
MISSING_ID = '20200101T000000Z-000000'


def write_checkpoint(conn, plan, project_name, project_id=None):
    """A committed checkpoint of one server (flavor m1.tiny, external network public) of
    project `project_name` (ID `project_id`, default made up), written straight to the store
    at site-b (`conn`): a real one needs a workload on site-a and copies its data, while the
    preflight only reads these documents. Returns its ID."""
    checkpoints = checkpoint.Checkpoints(
        checkpoint.SwiftStore(conn, 'draas-checkpoints'), plan['name'])
    cid = checkpoint.new_checkpoint_id()
    pid = project_id or hashlib.md5(project_name.encode()).hexdigest()
    docs = {
        'project': [{'id': pid, 'name': project_name, 'domain_id': 'default',
                     'is_enabled': True, 'description': '', 'tags': []}],
        'flavor': [{'id': 'flavor-1', 'name': 'm1.tiny', 'vcpus': 1, 'ram': 512,
                    'disk': 1, 'ephemeral': 0, 'swap': 0, 'is_public': True,
                    'extra_specs': {}}],
        'volume_type': [{'id': 'type-1', 'name': '__DEFAULT__', 'extra_specs': {}}],
        'network': [{'id': 'network-1', 'name': 'public', 'is_router_external': True,
                     'is_shared': False, 'project_id': 'e' * 32}],
        'server': [{'id': 'server-1', 'name': 'web', 'flavor_id': 'flavor-1',
                    'image_id': None, 'port_ids': [], 'volume_ids': [],
                    'metadata': {}, 'availability_zone': 'nova'}],
    }
    parts = {
        'plan': checkpoints.put_part(cid, 'plan', plan_mod.validate(plan)),
        'resources': checkpoints.put_part(cid, 'resources', {
            'project_id': pid, 'window': {}, 'resources': docs}),
        'data': checkpoints.put_part(cid, 'data', {
            'images': {}, 'volumes': {}, 'consistency': 'crash-consistent'}),
    }
    checkpoints.commit(cid, parts, {
        'project': {'id': pid, 'name': project_name},
        'source': plan['source'], 'target': plan['target'], 'policy': plan['policy'],
        'created_at': checkpoint.iso(checkpoint.checkpoint_time(cid)), 'window': {},
        'consistency': 'crash-consistent',
        'counts': {k: len(v) for k, v in docs.items()}, 'summary': {}})
    return cid


def without(doc, key):
    return {k: v for k, v in doc.items() if k != key}


class Catalogue(base.FunctionalTestCase):
    """Cases of refused input run side by side through Mistral; what exists under the test's
    names (cls.name: the class's `prefix` and the time) on both sites, to show that nothing was
    made."""
    prefix = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = '%s-%x' % (cls.prefix, int(time.time()))
        cls.site_a = openstack.connect(cloud='site-a')
        cls.site_b = openstack.connect(cloud='site-b')
        cls.addClassCleanup(cls.remove_keys)

    @classmethod
    def keys(cls, conn, container):
        """Keys of `container` under this test's names (none if there is no container)."""
        try:
            return sorted(o.name for o in conn.object_store.objects(container,
                                                                    prefix=cls.name))
        except sdk_exc.NotFoundException:
            return []

    @classmethod
    def snapshot(cls):
        """Projects and Swift keys (checkpoints, plan registry) under this test's names,
        on both sites."""
        found = {}
        for site, conn in (('site-a', cls.site_a), ('site-b', cls.site_b)):
            found[site + ' projects'] = sorted(
                p.name for p in conn.identity.projects() if p.name.startswith(cls.name))
            for container in ('draas-checkpoints', plan_mod.REGISTRY):
                found['%s %s' % (site, container)] = cls.keys(conn, container)
        return found

    @classmethod
    def remove_keys(cls):
        for conn in (cls.site_a, cls.site_b):
            for container in ('draas-checkpoints', plan_mod.REGISTRY):
                for key in cls.keys(conn, container):
                    conn.object_store.delete_object(key, container=container)

    def message(self, execution):
        out = self.output(execution)
        if out.get('error'):
            return str(out['error'])
        return '; '.join(out.get('problems') or ())  # draas.sites.check's shape

    def run_cases(self, cases, client=None, checked_by=()):
        """Run (label, workflow, inputs, expected) cases through Mistral as `client` (default:
        the admin's), BATCH at a time; each must fail with `expected` in its error, running no
        task that stores or creates anything (but the tasks `checked_by`, which check before
        they do: the snapshot shows they made nothing); expected None: must succeed."""
        client = client or self.mistral
        labels = [c[0] for c in cases]
        self.assertEqual(len(labels), len(set(labels)), 'labels must be unique')
        results = {}
        for i in range(0, len(cases), BATCH):
            started = []
            for label, workflow, inputs, _ in cases[i:i + BATCH]:
                try:
                    started.append((label, client.executions.create(
                        workflow, workflow_input=inputs)))
                except mistral_base.APIException as exc:
                    # Mistral itself refuses the input (missing, unknown or too large).
                    results[label] = ('REFUSED', exc.error_message or str(exc), [], None)
            for label, execution in started:
                execution = self.wait_execution(execution, timeout=120, client=client)
                tasks = [t.name for t in self.tasks(execution.id, client)]
                results[label] = (execution.state,
                                  self.message(execution) or (execution.output or '')[:300],
                                  tasks, execution.state_info)
        # Every case is checked (subTest stops at the first failure under testtools).
        failures = []
        for label, workflow, inputs, expected in cases:
            state, message, tasks, state_info = results[label]
            if expected is None:
                if state != 'SUCCESS':
                    failures.append('%s: %s ended %s: %s' % (label, workflow, state, message))
                continue
            if state not in ('ERROR', 'REFUSED'):
                failures.append('%s: %s ended %s: %s' % (label, workflow, state, message))
            elif expected not in message:
                failures.append('%s: %r not in the error %r' % (label, expected, message))
            elif 'Traceback' in message or 'internal error' in message:
                failures.append('%s: unclear error %r' % (label, message))
            elif state == 'ERROR' and expected not in (state_info or '').split('\n')[0]:
                # Horizon shows the first line of State Info: the cause, not "Failure ...".
                failures.append('%s: the cause is not the first line of State Info %r' % (
                    label, state_info))
            if (WORK_TASKS - set(checked_by)) & set(tasks):
                failures.append('%s: work started before the error (tasks %s)' % (
                    label, ', '.join(tasks)))
        if failures:
            self.fail('%d of %d cases:\n%s' % (len(failures), len(cases),
                                               '\n'.join(failures)))


class TestBadInput(Catalogue):
    """An empty project on site-a (scopes matching nothing) and, for the plan `restorable`,
    a committed checkpoint at site-b: the restore preflight's mappings need one."""
    prefix = 'bad'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        project = cls.site_a.identity.create_project(name=cls.name, domain_id='default')
        cls.addClassCleanup(cls.site_a.identity.delete_project, project)
        # Only if a case wrongly restored something (the last test then fails).
        cls.addClassCleanup(workload.delete, 'site-b', cls.name)
        cls.plan = {'name': cls.name, 'source': 'site-a', 'target': 'site-b',
                    'scope': {'project': cls.name}, 'policy': 'silver'}
        cls.restorable = dict(cls.plan, name=cls.name + '-cp')
        cls.checkpoint_id = write_checkpoint(cls.site_b, cls.restorable, cls.name)
        plan_mod.save(plan_mod.validate(cls.restorable))  # its reference, as Horizon gives it
        cls.before = cls.snapshot()

    def test_1_plans_and_policies(self):
        p = self.plan

        def policy(**fields):
            return dict(p, policy=dict({'name': 'gold'}, **fields))
        names = 'lower-case letters, digits, ".", "_" or "-" (1-63, starting with a letter ' \
                'or digit)'
        self.run_cases([
            ('plan without a name', 'draas.checkpoint.create', {'plan': without(p, 'name')},
             "invalid plan: plan: 'name' is a required property"),
            ('plan with an unknown field', 'draas.checkpoint.verify',
             {'plan': dict(p, owner='ops')},
             'plan: unknown field(s) owner (known: access, description, name, options, '
             'policy, scope, source, target)'),
            ('option with an unknown field', 'draas.failover.failover',
             {'plan': dict(p, options={'restore': {'network': {}}})},
             'plan.options.restore: unknown field(s) network (known: availability_zones, '
             'boot_order, create_volume_types, flavors,'),
            ('name of a wrong type', 'draas.checkpoint.show', {'plan': dict(p, name=42)},
             'plan.name: expected %s, got 42' % names),
            ('scope of a wrong type', 'draas.checkpoint.create',
             {'plan': dict(p, scope=[self.name])},
             "plan.scope: expected an object {project, project_id, servers, tags}, got "
             "['%s']" % self.name),
            ('name with bad characters', 'draas.checkpoint.prune',
             {'plan': dict(p, name='Bad Plan/../x')},
             "plan.name: expected %s, got 'Bad Plan/../x'" % names),
            ('100 000-character description', 'draas.checkpoint.create',
             {'plan': dict(p, description='x' * 100000)},
             "plan.description: expected free text up to 1000 characters, got 'xxxx"),
            ('100 000-character name', 'draas.checkpoint.verify',
             {'plan': dict(p, name='a' * 100000)},
             "plan.name: expected %s, got 'aaaa" % names),
            ('2 MB plan', 'draas.checkpoint.verify',
             {'plan': dict(p, description='x' * 2000000)},
             'Field size limit exceeded [class=TaskExecution, field=input'),
            ('plan as a list', 'draas.drill.drill', {'plan': [p]},
             'invalid plan: plan: expected an object, got list'),
            ('plan as a number', 'draas.failback.reprotect', {'plan': 42},
             'invalid plan: plan: expected an object, got int'),
            ('plan as broken YAML text', 'draas.checkpoint.create',
             {'plan': 'name: [unclosed'},
             'invalid plan: plan: not valid YAML/JSON: while parsing a flow sequence'),
            ('plan as JSON text with an unknown field', 'draas.checkpoint.verify',
             {'plan': json.dumps(dict(p, owner='ops'))}, 'plan: unknown field(s) owner'),
            ('reference to a plan never saved', 'draas.checkpoint.create',
             {'plan': self.name + '@site-b'},
             "invalid plan: plan: no plan '%s' saved at site-b" % self.name),
            ('policy unknown', 'draas.checkpoint.create', {'plan': dict(p, policy='platinum')},
             "plan.policy: expected gold or silver or bronze, got 'platinum'"),
            ('policy of a wrong type', 'draas.checkpoint.verify', {'plan': dict(p, policy=3)},
             'plan.policy: expected gold or silver or bronze, got 3'),
            ('custom policy missing fields', 'draas.checkpoint.create',
             {'plan': policy(name='mine', rpo_minutes=5)},
             "plan.policy: custom policy 'mine' must give replication, retention, "
             "rto_minutes, schedule, standby"),
            ('policy with an unknown field', 'draas.checkpoint.prune',
             {'plan': policy(rpo=5)},
             'plan.policy: unknown field(s) rpo (known: drill_days, name, replication, '
             'retention, rpo_minutes, rto_minutes, schedule, standby)'),
            ('negative rpo', 'draas.checkpoint.create', {'plan': policy(rpo_minutes=-5)},
             'plan.policy.rpo_minutes: expected target RPO in minutes (a positive integer), '
             'got -5'),
            ('zero rto', 'draas.failover.failover', {'plan': policy(rto_minutes=0)},
             'plan.policy.rto_minutes: expected target RTO in minutes (a positive integer), '
             'got 0'),
            ('rpo as text', 'draas.checkpoint.create', {'plan': policy(rpo_minutes='15')},
             "plan.policy.rpo_minutes: expected target RPO in minutes (a positive integer), "
             "got '15'"),
            ('schedule not cron', 'draas.checkpoint.create',
             {'plan': policy(schedule='every hour')},
             'plan.policy.schedule: expected a cron pattern of five fields, e.g. '
             '"*/15 * * * *", got \'every hour\''),
            ('schedule out of range', 'draas.checkpoint.create',
             {'plan': policy(schedule='*/15 8-24 * * mon-fri')},
             "plan.policy.schedule: hour '8-24': expected 0-23"),
            ('retention count 0', 'draas.checkpoint.prune',
             {'plan': policy(retention={'count': 0})},
             'plan.policy.retention.count: expected checkpoints always kept (1-1000), got 0'),
            ('retention count 100000', 'draas.checkpoint.create',
             {'plan': policy(retention={'count': 100000})},
             'plan.policy.retention.count: expected checkpoints always kept (1-1000), '
             'got 100000'),
            ('retention with an unknown field', 'draas.checkpoint.create',
             {'plan': policy(retention={'days': 3})},
             'plan.policy.retention: unknown field(s) days (known: count, max_age_hours)'),
            ('replication method unknown', 'draas.checkpoint.create',
             {'plan': policy(replication='rsync')},
             "plan.policy.replication: expected one of backup, replication, image, "
             "got 'rsync'"),
            ('standby unknown', 'draas.checkpoint.create', {'plan': policy(standby='hot')},
             "plan.policy.standby: expected one of cold, warm, low-capacity, got 'hot'"),
            ('replication adapter not installed', 'draas.checkpoint.create',
             {'plan': dict(policy(replication='replication'),
                           options={'replication': {'adapter': 'netapp'}})},
             # (the list may hold the adapter test_replication installs meanwhile)
             "plan.options.replication.adapter: no adapter 'netapp' is installed "
             "(installed: cinder, "),
        ], checked_by=('begin',))

    def test_2_sites_and_scopes(self):
        p = self.plan
        unknown = "unknown site 'site-z': no such entry in clouds.yaml (entries: "

        def planned(**scope):
            # Stopping the source's servers finds them first: a scope matching nothing
            # fails there, with nothing stopped.
            return {'plan': dict(p, scope=dict({'project': self.name}, **scope)),
                    'mode': 'planned'}
        self.run_cases([
            ('unknown site in a plan', 'draas.checkpoint.create',
             {'plan': dict(p, target='site-z')}, 'plan.source/target: ' + unknown),
            ('empty site name in a plan', 'draas.checkpoint.create',
             {'plan': dict(p, source='')},
             "plan.source: expected the clouds.yaml entry of the protected site, got ''"),
            ('source is the target', 'draas.failback.reprotect',
             {'plan': dict(p, target='site-a')},
             "plan.target: expected a site other than the source, got 'site-a'"),
            ('reference at an unknown site', 'draas.checkpoint.verify',
             {'plan': self.name + '@site-z'}, unknown),
            ('sites check of no site', 'draas.sites.check', {'sites': []},
             'sites must be a non-empty list of clouds.yaml entry names, got []'),
            ('sites check of an unknown site', 'draas.sites.check', {'sites': ['site-z']},
             unknown),
            ('sites check of an empty name', 'draas.sites.check', {'sites': ['site-a', '']},
             "site names must be non-empty strings, got ['']"),
            ('sites check of a number', 'draas.sites.check', {'sites': 5},
             'sites must be a non-empty list of clouds.yaml entry names, got 5'),
            ('empty scope', 'draas.checkpoint.create', {'plan': dict(p, scope={})},
             "plan.scope: 'project' is a required property"),
            ('scope with an unknown field', 'draas.checkpoint.create',
             {'plan': dict(p, scope={'project': self.name, 'hosts': ['web']})},
             'plan.scope: unknown field(s) hosts (known: project, project_id, servers, tags)'),
            ('scope with no servers listed', 'draas.checkpoint.create',
             {'plan': dict(p, scope={'project': self.name, 'servers': []})},
             'plan.scope.servers: expected a non-empty list of server names or IDs, got []'),
            ('scope project missing on the source', 'draas.failover.failover',
             {'plan': dict(p, scope={'project': self.name + '-nowhere'}), 'mode': 'planned'},
             "scope.project: no project '%s-nowhere' on site-a" % self.name),
            ('scope project without servers', 'draas.failover.failover', planned(),
             'scope matches no server (project %s)' % self.name),
            ('scope servers matching nothing', 'draas.failover.failover',
             planned(servers=['web', 'db']), "scope.servers: no server 'db', 'web' in the "
                                             "project"),
            ('scope tags matching nothing', 'draas.failover.failover',
             planned(tags=['tier=web']),
             "scope matches no server (project %s, tags ['tier=web'])" % self.name),
        ])

    def test_3_mappings_and_checkpoint_ids(self):
        p, cid = self.restorable, self.checkpoint_id
        impossible = 'restore of checkpoint %s of plan %s on site-b is not possible: ' % (
            cid, p['name'])
        malformed = ('checkpoint_id: expected an ID like 20261121T234535Z-10a33b '
                     '(draas.checkpoint.list shows them), got ')

        def options(**opts):
            return dict(p, options=opts)
        self.run_cases([
            ('network mapped to a missing network', 'draas.failover.failover',
             {'plan': options(restore={'networks': {'public': 'nowhere'}})},
             impossible + "network 'public' is external on site-a and site-b has no network "
                          "'nowhere': map it in options.restore.networks"),
            ('flavor mapped to a missing flavor', 'draas.failover.failover',
             {'plan': options(restore={'flavors': {'m1.tiny': 'm1.nosuch'}}), 'dry_run': True},
             impossible + "flavor 'm1.nosuch' (mapped from 'm1.tiny') does not exist on "
                          "site-b"),
            ('volume type mapped to a missing type', 'draas.failover.failover',
             {'plan': options(restore={'volume_types': {'__DEFAULT__': 'nosuch'}}),
              'dry_run': True},
             impossible + "volume type 'nosuch' (mapped from '__DEFAULT__') does not exist "
                          "on site-b"),
            ('zone mapped to a missing zone', 'draas.failover.failover',
             {'plan': options(restore={'availability_zones': {'nova': 'nowhere'}}),
              'dry_run': True},
             impossible + "options.restore.availability_zones: site-b has no compute "
                          "availability zone 'nowhere' for the servers mapped to it"),
            ('MTU mapping of a word', 'draas.failover.failover',
             {'plan': options(restore={'mtu': {'jumbo': 1500}}), 'dry_run': True},
             "plan.options.restore.mtu: expected a source MTU (digits), got 'jumbo'"),
            ('mapping to a number', 'draas.failover.failover',
             {'plan': options(restore={'networks': {'public': 5}}), 'dry_run': True},
             'plan.options.restore.networks.public: expected a name or ID on the target, '
             'got 5'),
            ('boot order of a wrong type', 'draas.failover.failover',
             {'plan': options(restore={'boot_order': 'web'})},
             'plan.options.restore.boot_order: expected a list of groups (lists) of server '
             "names booted one group after the other, got 'web'"),
            ('probe of a server not in the checkpoint', 'draas.failover.failover',
             {'plan': options(verify={'probes': [{'server': 'nosuch', 'port': 80}]}),
              'dry_run': True},
             impossible + "options.verify.probes: no server 'nosuch' in checkpoint %s" % cid),
            ('drill network missing', 'draas.drill.drill',
             {'plan': options(drill={'external_network': 'nowhere'})},
             impossible + "options.drill.external_network: site-b has no network 'nowhere'"),
            ('checkpoint ID ../../etc', 'draas.checkpoint.verify',
             {'plan': p, 'checkpoint_id': '../../etc'}, malformed + "'../../etc'"),
            ('checkpoint ID a number', 'draas.failover.failover',
             {'plan': p, 'checkpoint_id': 42}, malformed + '42'),
            ('boot order naming a server the checkpoint lacks', 'draas.failover.failover',
             {'plan': options(restore={'boot_order': [['nosuch']]}), 'dry_run': True},
             impossible + "options.restore.boot_order: checkpoint %s has no server 'nosuch'"
             % cid),
            ('boot order listing a server twice', 'draas.failover.failover',
             {'plan': options(restore={'boot_order': [['web'], ['web']]}), 'dry_run': True},
             impossible + "options.restore.boot_order: server 'web' listed more than once"),
            ('checkpoint ID that does not exist', 'draas.failover.failover',
             {'plan': p, 'checkpoint_id': MISSING_ID},
             'no committed checkpoint %s of plan %s' % (MISSING_ID, p['name'])),
            ('checkpoint ID that does not exist, drill', 'draas.drill.drill',
             {'plan': p, 'checkpoint_id': MISSING_ID},
             'no committed checkpoint %s of plan %s' % (MISSING_ID, p['name'])),
        ])

    def test_4_workflow_inputs(self):
        p = self.restorable
        plans = 'plans: expected a non-empty list of plans (objects, YAML text or ' \
                '"<name>@<site>"), got '
        drill_id = 'drill_id: expected "drill-" and 4 to 16 lower-case letters or digits, '
        self.run_cases([
            ('failover mode unknown', 'draas.failover.failover',
             {'plan': p, 'mode': 'sideways'},
             "mode: expected one of unplanned, planned, drill, got 'sideways'"),
            ('drill ID malformed', 'draas.drill.cleanup', {'plan': p, 'drill_id': 'drill-../x'},
             drill_id + "got 'drill-../x'"),
            ('drill ID a number', 'draas.drill.cleanup', {'plan': p, 'drill_id': 7},
             drill_id + 'got 7'),
            # Fault injection is no input (tests give it in the execution's env).
            ('failover stop_after', 'draas.failover.failover',
             {'plan': p, 'stop_after': 'network'},
             "Invalid input [name=failover, class=DirectWorkflowSpec, "
             "unexpected=['stop_after']]"),
            ('drill stop_after', 'draas.drill.drill', {'plan': p, 'stop_after': 'network'},
             "Invalid input [name=drill, class=DirectWorkflowSpec, "
             "unexpected=['stop_after']]"),
            ('dry_run neither true nor false', 'draas.failover.failover',
             {'plan': p, 'dry_run': '"Treu"'}, "dry_run: expected true or false, got 'Treu'"),
            ('report fail_on_violation as text', 'draas.report.report',
             {'plans': [p], 'fail_on_violation': 'yes'},
             "fail_on_violation: expected true or false, got 'yes'"),
            ('sites check require_healthy as text', 'draas.sites.check',
             {'sites': ['site-a'], 'require_healthy': 'no'},
             "require_healthy: expected true or false, got 'no'"),
            ('drill cleanup age negative', 'draas.drill.cleanup',
             {'plan': p, 'min_age_minutes': -1},
             'min_age_minutes: expected a number of minutes (0 or more), got -1'),
            ('drill cleanup age as text', 'draas.drill.cleanup',
             {'plan': p, 'min_age_minutes': 'ten'},
             "min_age_minutes: expected a number of minutes (0 or more), got 'ten'"),
            ('report of a number', 'draas.report.report', {'plans': 7}, plans + '7'),
            ('report of a malformed text', 'draas.report.report',
             {'plans': '[%s@site-b' % p['name']},
             'plans: not valid JSON or YAML (expected a list, e.g. ["site-a", "site-b"]): '),
            ('report of no plan', 'draas.report.report', {'plans': []}, plans + '[]'),
            ('required input missing', 'draas.checkpoint.create', {},
             "Invalid input [name=create, class=DirectWorkflowSpec, missing=['plan']]"),
            ('unknown input', 'draas.checkpoint.verify', {'plan': p, 'checkpointid': 'x'},
             "Invalid input [name=verify, class=DirectWorkflowSpec, "
             "unexpected=['checkpointid']]"),
        ])

    def test_5_what_horizon_s_execute_form_sends(self):
        """Every input as text, the defaults as the form pre-fills them (Mistral prints a
        default as "value", quotes included), a plan by its saved name: each run as meant."""
        ref = self.restorable['name'] + '@site-b'
        self.run_cases([
            ('sites check', 'draas.sites.check',
             {'sites': '["site-a","site-b"]', 'require_healthy': '"True"'}, None),
            ('failover dry run', 'draas.failover.failover',
             {'plan': ref, 'mode': '"unplanned"', 'checkpoint_id': '"None"', 'dry_run': 'true'},
             None),
            ('checkpoint list', 'draas.checkpoint.list', {'plan': ref}, None),
            ('checkpoint show', 'draas.checkpoint.show',
             {'plan': ref, 'checkpoint_id': '"None"'}, None),
            ('checkpoint verify', 'draas.checkpoint.verify',
             {'plan': ref, 'checkpoint_id': self.checkpoint_id}, None),
            ('report', 'draas.report.report', {'plans': ref, 'fail_on_violation': '"False"'},
             None),
            ('drill cleanup', 'draas.drill.cleanup',
             {'plan': ref, 'drill_id': '"None"', 'min_age_minutes': '"None"'}, None),
            ('a plan typed as YAML', 'draas.checkpoint.list',
             {'plan': 'name: %s\nsource: site-a\ntarget: site-b\nscope: {project: %s}\n'
                      'policy: silver' % (self.restorable['name'], self.name)}, None),
            ('a malformed plan', 'draas.checkpoint.list', {'plan': '{name: [x'},
             'invalid plan: plan: not valid YAML/JSON: '),
        ])

    def test_9_nothing_made_on_either_site(self):
        """Runs last: no project, checkpoint, lock, restore record or saved plan under
        this test's names appeared on either site."""
        self.assertEqual(self.before, self.snapshot())
        self.assertEqual([], self.before['site-b projects'])
        self.assertEqual([self.name], self.before['site-a projects'])
