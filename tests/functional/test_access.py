"""Isolation through the real Mistral: a plan is bound to its source project's ID and granted
by an admin to projects by ID; users of a granted project act on its plan and on nothing else,
a member of a project of the same name at the recovery site on nothing, a reader reads and
does not act. Two plans whose images hold the same bytes each have their own copies: one's
retention and the other tenant deleting its image hurt neither."""
import secrets
import tempfile
import time

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from mistralclient.api import client as mistral_client

import openstack

from actions import checkpoint
from actions import install
from actions import plan as plan_mod
from tests.functional import base
from tests.functional import test_bad_input
from tests.functional import workload


class TestAccess(test_bad_input.Catalogue):
    """Projects A and B on site-a, each protected by a plan saved (bound, as draas-install
    saves it) at site-b with a committed checkpoint there; A's plan is granted to project A at
    Mistral's Keystone (site-b), B's to no project. At site-b: ann (member of A), rita (reader
    of A) and mallory, member of a project named like B's."""
    prefix = 'iso'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.projects = {}  # (site, x): project
        for site, conn in (('site-a', cls.site_a), ('site-b', cls.site_b)):
            for x in ('a', 'b'):
                project = conn.identity.create_project(name='%s-%s' % (cls.name, x),
                                                       domain_id='default')
                cls.addClassCleanup(conn.identity.delete_project, project)
                cls.projects[site, x] = project
        cls.plans = {}
        for x, granted in (('a', ['%s-a' % cls.name]), ('b', None)):
            name = '%s-%s' % (cls.name, x)
            plan = {'name': name, 'source': 'site-a', 'target': 'site-b',
                    'scope': {'project': name}, 'policy': 'silver'}
            if granted:
                plan['access'] = {'projects': granted}
            cls.plans[x] = install.bind(plan_mod.validate(plan), cls.site_b)
            plan_mod.save(cls.plans[x])
            test_bad_input.write_checkpoint(cls.site_b, cls.plans[x], name,
                                            cls.projects['site-a', x].id)
        cls.ann = cls.client_of('ann', 'member', 'a')
        cls.rita = cls.client_of('rita', 'reader', 'a')
        cls.mallory = cls.client_of('mallory', 'member', 'b')
        cls.before = cls.snapshot()

    @classmethod
    def client_of(cls, who, role, x):
        """A Mistral client of a new user holding `role` in project `x` at site-b."""
        password = secrets.token_urlsafe(16)
        user = cls.site_b.identity.create_user(name='%s-%s' % (cls.name, who),
                                               password=password, domain_id='default')
        cls.addClassCleanup(cls.site_b.identity.delete_user, user)
        project = cls.projects['site-b', x]
        cls.site_b.identity.assign_project_role_to_user(
            project, user, cls.site_b.identity.find_role(role))
        session = ks_session.Session(auth=v3.Password(
            auth_url=cls.site_b.config.config['auth']['auth_url'], username=user.name,
            password=password, user_domain_id='default', project_name=project.name,
            project_domain_id='default'))
        url = cls.site_b.session.get_endpoint(service_type='workflowv2', interface='public')
        return mistral_client.client(mistral_url=url, session=session)

    def refusal(self, who, x, act=True):
        project = self.projects['site-b', x]
        return ('not authorized: user %s-%s (project %s, %s; roles member, reader) may not '
                '%s plan %s' % (self.name, who, project.name, project.id,
                                'act on' if act else 'read', self.plans['b']['name']))

    def every_action_of(self, plan, act, read):
        """(label, workflow, inputs, expected) of every workflow acting on `plan`."""
        return [
            ('checkpoint', 'draas.checkpoint.create', {'plan': plan}, act),
            ('prune', 'draas.checkpoint.prune', {'plan': plan}, act),
            ('failover', 'draas.failover.failover', {'plan': plan}, act),
            ('planned failover', 'draas.failover.failover', {'plan': plan, 'mode': 'planned'},
             act),
            ('failover dry run', 'draas.failover.failover', {'plan': plan, 'dry_run': True},
             act),
            ('drill', 'draas.drill.drill', {'plan': plan}, act),
            ('drill cleanup', 'draas.drill.cleanup', {'plan': plan}, act),
            ('reprotect', 'draas.failback.reprotect', {'plan': plan}, act),
            ('failback', 'draas.failback.failback', {'plan': plan}, act),
            ('list', 'draas.checkpoint.list', {'plan': plan}, read),
            ('show', 'draas.checkpoint.show', {'plan': plan}, read),
            ('verify', 'draas.checkpoint.verify', {'plan': plan}, read),
            ('report', 'draas.report.report', {'plans': [plan]}, read),
        ]

    def test_1_a_member_of_a_project_named_like_the_plan_s_acts_on_nothing(self):
        """Mallory's project at the recovery site has the name of B's project on the source:
        every action of B's plan is refused, by reference as by document."""
        b = self.plans['b']
        act, read = self.refusal('mallory', 'b'), self.refusal('mallory', 'b', act=False)
        reference = '%s@site-b' % b['name']
        self.run_cases(
            [(label + ' (document)', w, i, e) for label, w, i, e in
             self.every_action_of(b, act, read)] +
            [(label + ' (reference)', w, i, e) for label, w, i, e in
             self.every_action_of(reference, act, read)], client=self.mallory)

    def test_2_a_member_acts_on_its_granted_plan_only(self):
        a, b = self.plans['a'], self.plans['b']
        act = self.refusal('ann', 'a')
        read = self.refusal('ann', 'a', act=False)
        self.run_cases([
            ('checkpoint of B', 'draas.checkpoint.create', {'plan': b}, act),
            ('failover of B', 'draas.failover.failover', {'plan': b}, act),
            ('list of B', 'draas.checkpoint.list', {'plan': b}, read),
            ('report of A and B', 'draas.report.report', {'plans': [a, b]}, read),
            ("B under A's plan name", 'draas.checkpoint.create',
             {'plan': dict(a, scope=b['scope'])},
             'differs from the plan saved as %s@site-b (scope)' % a['name']),
            ('list of A', 'draas.checkpoint.list', {'plan': a}, None),
            ('failover of A (dry run)', 'draas.failover.failover',
             {'plan': '%s@site-b' % a['name'], 'dry_run': True}, None),
            ('report of A', 'draas.report.report', {'plans': [a]}, None),
        ], client=self.ann)

    def test_3_a_reader_reads_and_does_not_act(self):
        a = self.plans['a']
        member = 'draas needs the member role in your project (or the admin role)'
        self.run_cases([
            ('list', 'draas.checkpoint.list', {'plan': a}, None),
            ('show', 'draas.checkpoint.show', {'plan': a}, None),
            ('verify', 'draas.checkpoint.verify', {'plan': a}, None),
            ('failover (dry run)', 'draas.failover.failover', {'plan': a, 'dry_run': True},
             member),
            ('drill', 'draas.drill.drill', {'plan': a}, member),
            ('checkpoint', 'draas.checkpoint.create', {'plan': a}, member),
        ], client=self.rita)

    def test_4_a_plan_is_bound_to_one_project_id(self):
        """Admins too: a plan holds the project it was bound to, by ID."""
        a, b = self.plans['a'], self.plans['b']
        other = dict(a, scope=b['scope'])
        held = 'plan %s is bound to project %s, its checkpoints (e.g. ' % (
            a['name'], b['scope']['project_id'])
        remade = dict(a, name=self.name + '-c', scope=dict(a['scope'], project_id='f' * 32))
        self.run_cases([
            ('failover (dry run)', 'draas.failover.failover', {'plan': other, 'dry_run': True},
             held),
            ('show', 'draas.checkpoint.show', {'plan': other}, held),
            ('drill', 'draas.drill.drill', {'plan': other}, held),
            ('checkpoint', 'draas.checkpoint.create', {'plan': other}, held),
            ('a project made anew under the plan\'s name', 'draas.checkpoint.create',
             {'plan': remade}, "plan %s: project '%s' on site-a is now %s, but the plan was "
             "made for project %s: " % (remade['name'], a['scope']['project'],
                                        self.projects['site-a', 'a'].id, 'f' * 32)),
        ], checked_by=['begin'])  # it refuses before the lock: test_9 shows nothing made

    def test_9_nothing_made_on_either_site(self):
        """Runs last: no project, checkpoint, lock, restore record or saved plan appeared,
        nothing in the projects at site-b."""
        self.assertEqual(self.before, self.snapshot())
        self.assertEqual(['%s-a' % self.name, '%s-b' % self.name],
                         self.before['site-b projects'])
        for x in ('a', 'b'):
            pid = self.projects['site-b', x].id
            self.assertEqual([], list(self.site_b.compute.servers(all_projects=True,
                                                                  project_id=pid)))
            self.assertEqual([], list(self.site_b.network.networks(project_id=pid)))


class TestImagesOfTwoPlans(base.FunctionalTestCase):
    """Projects A and B on site-a each boot a server from an image of their own holding the
    same bytes, under plans that keep one checkpoint. A's tenant replaces its image (a new
    server of another image, the old image deleted) and A checkpoints again: its retention
    removes A's copy of the old image. B's tenant deletes its image. Both still fail over."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = 'twin-%x' % int(time.time())
        cls.site_b = openstack.connect(cloud='site-b')
        cls.plans, cls.images, cls.conns = {}, {}, {}
        policy = {'name': 'twin', 'rpo_minutes': 60, 'rto_minutes': 60,
                  'schedule': '0 * * * *', 'replication': 'backup', 'standby': 'cold',
                  'retention': {'count': 1, 'max_age_hours': 0}}
        for x in ('a', 'b'):
            name = '%s-%s' % (cls.name, x)
            for site in ('site-a', 'site-b'):
                cls.addClassCleanup(workload.delete, site, name)
            cls.addClassCleanup(workload.delete_checkpoints, checkpoint.Checkpoints(
                checkpoint.SwiftStore(cls.site_b, 'draas-checkpoints'), name))
            cls.conns[x] = c = cls.project(name)
            net = c.network.create_network(name=name + '-net')
            c.network.create_subnet(name=name + '-subnet', network_id=net.id, ip_version=4,
                                    cidr='10.31.1.0/24')
            cls.images[x] = cls.image(c, name, cls.name + '-same')
            cls.boot(c, name + '-vm', cls.images[x], net)
            cls.plans[x] = {'name': name, 'source': 'site-a', 'target': 'site-b',
                            'scope': {'project': name}, 'policy': policy}

    @staticmethod
    def project(name):
        admin = openstack.connect(cloud='site-a')
        project = admin.identity.create_project(name=name, domain_id='default')
        me = admin.identity.find_user(admin.current_user_id)
        for role in ('admin', 'member'):
            admin.identity.assign_project_role_to_user(project, me,
                                                       admin.identity.find_role(role))
        return workload.project_conn('site-a', name)

    @staticmethod
    def image(c, name, content):
        with tempfile.NamedTemporaryFile(suffix='.raw') as f:
            f.write(workload.content_for(content, 1 << 20))
            f.flush()
            return c.image.create_image(name=name + '-image', filename=f.name,
                                        disk_format='raw', container_format='bare',
                                        wait=True)

    @staticmethod
    def boot(c, name, image, net):
        server = c.compute.create_server(
            name=name, image_id=image.id, networks=[{'uuid': net.id}],
            flavor_id=c.compute.find_flavor('m1.tiny').id)
        return c.compute.wait_for_server(server, wait=300)

    def run_ok(self, workflow, inputs):
        execution = self.run_workflow(workflow, inputs, timeout=900)
        self.assertEqual('SUCCESS', execution.state, '%s: %s' % (workflow,
                                                                  execution.state_info))
        return self.output(execution)

    def copy_of(self, x):
        """The ID of the copy at site-b of x's image, by the plan's latest checkpoint."""
        shown = self.run_ok('draas.checkpoint.show', {'plan': self.plans[x]})['checkpoint']
        return shown['images'][self.images[x].id]['target_id']

    def test_each_plan_fails_over_whatever_the_other_does(self):
        for x in ('a', 'b'):
            self.run_ok('draas.checkpoint.create', {'plan': self.plans[x]})
        copies = {x: self.copy_of(x) for x in ('a', 'b')}
        self.assertEqual(self.images['a'].checksum, self.images['b'].checksum)
        self.assertNotEqual(copies['a'], copies['b'])  # the same bytes, a copy per plan

        # A's tenant boots from another image and deletes the old one: A's next checkpoint
        # prunes the previous one, and with it A's copy of the old image.
        a = self.conns['a']
        old = next(a.compute.servers())
        a.compute.delete_server(old)
        a.compute.wait_for_delete(old, wait=120)
        a.image.delete_image(self.images['a'])
        self.boot(a, self.plans['a']['name'] + '-vm2',
                  self.image(a, self.plans['a']['name'] + '-new', self.name + '-other'),
                  a.network.find_network(self.plans['a']['name'] + '-net'))
        out = self.run_ok('draas.checkpoint.create', {'plan': self.plans['a']})
        self.assertEqual(1, len(out['summary']['commit']['pruned']))
        self.assertIsNone(self.site_b.image.find_image(copies['a'], ignore_missing=True))
        # B's tenant deletes its image; B's copy is B's.
        self.conns['b'].image.delete_image(self.images['b'])
        self.assertEqual('active', self.site_b.image.get_image(copies['b']).status)

        for x in ('a', 'b'):
            summary = self.run_ok('draas.failover.failover', {'plan': self.plans[x]})
            project = self.site_b.identity.find_project(self.plans[x]['name'])
            servers = list(self.site_b.compute.servers(all_projects=True,
                                                       project_id=project.id))
            self.assertEqual(['ACTIVE'], [s.status for s in servers], summary)
