"""Isolation through the real Mistral: users of project A act on A's plan and on nothing of
project B's; a reader reads and does not act; a plan name holds one project."""
import secrets

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from mistralclient.api import client as mistral_client

from tests.functional import test_bad_input


class TestAccess(test_bad_input.Catalogue):
    """At Mistral's Keystone (site-b): projects A and B, users ann (member of A) and rita
    (reader of A); a plan per project, each with a committed checkpoint at site-b."""
    prefix = 'iso'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plans = {}
        for x in ('a', 'b'):
            name = '%s-%s' % (cls.name, x)
            cls.plans[x] = {'name': name, 'source': 'site-a', 'target': 'site-b',
                            'scope': {'project': name}, 'policy': 'silver'}
            test_bad_input.write_checkpoint(cls.site_b, cls.plans[x], name)
        # Only A exists at Mistral's Keystone (site-b): a wrong restore of B would make B.
        cls.project_a = cls.site_b.identity.create_project(name=cls.plans['a']['name'],
                                                           domain_id='default')
        cls.addClassCleanup(cls.site_b.identity.delete_project, cls.project_a)
        cls.ann = cls.client_of('ann', 'member')
        cls.rita = cls.client_of('rita', 'reader')
        cls.before = cls.snapshot()

    @classmethod
    def client_of(cls, who, role):
        """A Mistral client of a new user of project A holding `role` there."""
        password = secrets.token_urlsafe(16)
        user = cls.site_b.identity.create_user(name='%s-%s' % (cls.name, who),
                                               password=password, domain_id='default')
        cls.addClassCleanup(cls.site_b.identity.delete_user, user)
        cls.site_b.identity.assign_project_role_to_user(
            cls.project_a, user, cls.site_b.identity.find_role(role))
        session = ks_session.Session(auth=v3.Password(
            auth_url=cls.site_b.config.config['auth']['auth_url'], username=user.name,
            password=password, user_domain_id='default', project_name=cls.project_a.name,
            project_domain_id='default'))
        url = cls.site_b.session.get_endpoint(service_type='workflowv2', interface='public')
        return mistral_client.client(mistral_url=url, session=session)

    def test_1_a_member_acts_on_its_project_only(self):
        a, b = self.plans['a'], self.plans['b']
        act = ('not authorized: user %s-ann (project %s, roles member, reader) may not act '
               'on plan %s, which protects project %s' % (
                   self.name, a['name'], b['name'], b['name']))
        read = 'may not read plan %s' % b['name']
        self.run_cases([
            ('checkpoint of B', 'draas.checkpoint.create', {'plan': b}, act),
            ('prune of B', 'draas.checkpoint.prune', {'plan': b}, act),
            ('failover of B', 'draas.failover.failover', {'plan': b}, act),
            ('planned failover of B', 'draas.failover.failover',
             {'plan': b, 'mode': 'planned'}, act),
            ('drill of B', 'draas.drill.drill', {'plan': b}, act),
            ('drill cleanup of B', 'draas.drill.cleanup', {'plan': b}, act),
            ('failback of B', 'draas.failback.failback', {'plan': b}, act),
            ('list of B', 'draas.checkpoint.list', {'plan': b}, read),
            ('show of B', 'draas.checkpoint.show', {'plan': b}, read),
            ('report of B', 'draas.report.report', {'plans': [a, b]}, read),
            ("B under A's plan name", 'draas.checkpoint.create',
             {'plan': dict(a, scope=b['scope'])}, act.replace(b['name'], a['name'], 1)),
            ('list of A', 'draas.checkpoint.list', {'plan': a}, None),
            ('failover of A (dry run)', 'draas.failover.failover',
             {'plan': a, 'dry_run': True}, None),
            ('report of A', 'draas.report.report', {'plans': [a]}, None),
        ], client=self.ann)

    def test_2_a_reader_reads_and_does_not_act(self):
        a = self.plans['a']
        member = 'draas needs the member role in that project (or the admin role)'
        self.run_cases([
            ('list', 'draas.checkpoint.list', {'plan': a}, None),
            ('show', 'draas.checkpoint.show', {'plan': a}, None),
            ('verify', 'draas.checkpoint.verify', {'plan': a}, None),
            ('failover (dry run)', 'draas.failover.failover', {'plan': a, 'dry_run': True},
             member),
            ('drill', 'draas.drill.drill', {'plan': a}, member),
            ('checkpoint', 'draas.checkpoint.create', {'plan': a}, member),
        ], client=self.rita)

    def test_3_a_plan_name_holds_one_project(self):
        a, b = self.plans['a'], self.plans['b']
        other = dict(a, scope=b['scope'])
        expected = 'plan %s: its checkpoints (e.g. ' % a['name']
        self.run_cases([
            ('failover (dry run)', 'draas.failover.failover', {'plan': other, 'dry_run': True},
             expected),
            ('show', 'draas.checkpoint.show', {'plan': other}, expected),
            ('drill', 'draas.drill.drill', {'plan': other}, expected),
        ])

    def test_9_nothing_made_on_either_site(self):
        """Runs last: no project, checkpoint, lock, restore record or saved plan appeared,
        nothing in project A."""
        self.assertEqual(self.before, self.snapshot())
        self.assertEqual([self.project_a.name], self.before['site-b projects'])
        pid = self.project_a.id
        self.assertEqual([], list(self.site_b.compute.servers(all_projects=True,
                                                              project_id=pid)))
        self.assertEqual([], list(self.site_b.network.networks(project_id=pid)))
