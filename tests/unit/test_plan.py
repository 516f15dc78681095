from unittest import mock

import fixtures
from oslotest import base

from actions import plan
from tests.unit.test_sites import CloudsYamlFixture


def doc(**changes):
    d = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
         'scope': {'project': 'demo'}, 'policy': 'gold'}
    d.update(changes)
    return d


class TestPlanValidation(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())

    def errors(self, document):
        return self.assertRaises(plan.PlanError, plan.validate, document).errors

    def test_minimal_plan_is_normalised(self):
        p = plan.validate(doc())
        self.assertEqual('gold', p['policy']['name'])
        self.assertEqual(15, p['policy']['rpo_minutes'])
        self.assertEqual('swift', p['options']['store'])

    def test_a_validated_plan_validates_to_itself(self):
        # Workflows and cron triggers receive validated plans and validate them again.
        for policy in ('gold', {'name': 'bronze', 'rpo_minutes': 60}):
            p = plan.validate(doc(policy=policy, scope={'project': 'p', 'tags': ['dr']}))
            self.assertEqual(p, plan.validate(p))

    def test_yaml_text_is_accepted(self):
        text = ('name: shop\nsource: site-a\ntarget: site-b\nscope: {project: demo}\n'
                'policy: silver\n')
        self.assertEqual('silver', plan.validate(text)['policy']['name'])

    def test_policy_override_keeps_the_rest(self):
        p = plan.validate(doc(policy={'name': 'gold', 'rpo_minutes': 5,
                                      'retention': {'count': 3}}))
        self.assertEqual(5, p['policy']['rpo_minutes'])
        self.assertEqual(30, p['policy']['rto_minutes'])
        self.assertEqual({'count': 3, 'max_age_hours': 24}, p['policy']['retention'])

    def test_custom_policy_needs_every_field(self):
        [err] = self.errors(doc(policy={'name': 'platinum', 'rpo_minutes': 1}))
        self.assertIn("custom policy 'platinum' must give replication, retention", err)

    def test_each_error_names_field_and_expected_form(self):
        errs = self.errors({'name': 'Bad Name', 'source': 'site-a', 'target': 'site-b',
                            'scope': {'project': 3, 'servers': []}, 'policy': 'tin',
                            'extra': 1})
        text = '\n'.join(errs)
        self.assertIn("plan: unknown field(s) extra", text)
        self.assertIn('plan.name: expected lower-case letters', text)
        self.assertIn('plan.scope.project: expected the project (name or ID) on the source, '
                      'got 3', text)
        self.assertIn('plan.scope.servers: expected a non-empty list', text)
        self.assertIn("plan.policy: expected gold or silver or bronze, got 'tin'", text)
        self.assertEqual(5, len(errs), errs)

    def test_missing_fields_and_wrong_types(self):
        errs = self.errors({'name': 'x'})
        self.assertIn("plan: 'source' is a required property", errs)
        self.assertIn(['plan: expected an object, got list'], [self.errors([1])])
        self.assertIn('not valid YAML', self.errors('name: [')[0])

    def test_bad_options(self):
        errs = self.errors(doc(options={'store': 'ftp://x', 'lock_timeout_minutes': 0}))
        self.assertEqual(2, len(errs), errs)
        self.assertIn('plan.options.store: expected "swift"', errs[0] + errs[1])
        self.assertEqual(['plan.options.transfer.bytes_per_second: expected bytes a second '
                          '(1024 or more) every copy of a checkpoint reads from the source '
                          'together (images, root disks, volumes of the image method; '
                          'default: no limit), got 10'],
                         self.errors(doc(options={'transfer': {'bytes_per_second': 10}})))
        errs = self.errors(doc(options={'verify': {'probes': [
            {'server': 'web', 'port': 0, 'protocol': 'udp'}, {'port': 80}]}}))
        self.assertEqual(['plan.options.verify.probes[0].port: expected a TCP port (1-65535), '
                          'got 0',
                          'plan.options.verify.probes[0].protocol: expected tcp or http, '
                          "got 'udp'",
                          "plan.options.verify.probes[1]: 'server' is a required property"],
                         sorted(errs))

    def test_hooks(self):
        errs = self.errors(doc(options={'hooks': {'pre': {'input': {}},
                                                  'freeze_seconds': 3600}}))
        self.assertEqual(["plan.options.hooks.freeze_seconds: expected seconds (1-600) the "
                          "snapshots may take while the application is frozen, got 3600",
                          "plan.options.hooks.pre: 'workflow' is a required property"],
                         sorted(errs))

    def test_restore_mappings_of_mtus(self):
        errs = self.errors(doc(options={'restore': {'mtu': {'jumbo': 1500, '9000': 'x'},
                                                    'create_volume_types': 'yes'}}))
        self.assertEqual(["plan.options.restore.create_volume_types: expected true to create "
                          "the volume types the target lacks (like the source's, extra specs "
                          "included) instead of refusing the restore, got 'yes'",
                          "plan.options.restore.mtu.9000: expected an MTU (0-65535; 0: the "
                          "target's default), got 'x'",
                          "plan.options.restore.mtu: expected a source MTU (digits), got "
                          "'jumbo'"], sorted(errs))

    def test_sites(self):
        self.assertIn('expected a site other than the source',
                      self.errors(doc(target='site-a'))[0])
        self.assertIn("unknown site 'site-z'", self.errors(doc(target='site-z'))[0])

    def test_huge_values_are_refused(self):
        errs = self.errors(doc(description='x' * 5000,
                               scope={'project': 'p', 'servers': ['s%d' % i
                                                                  for i in range(2000)]}))
        self.assertEqual(2, len(errs), errs)


class TestPlanReference(base.BaseTestCase):
    """Plans saved at their recovery site and named "<name>@<site>"."""

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())
        self.saved = {}
        registry = mock.Mock()
        registry.put.side_effect = self.saved.__setitem__
        registry.get.side_effect = self.saved.get
        self.registry = self.useFixture(fixtures.MockPatchObject(
            plan, '_registry', return_value=registry)).mock

    def test_a_saved_plan_is_found_by_its_reference(self):
        saved = plan.validate(doc(policy='bronze'))
        self.assertEqual('shop@site-b', plan.save(saved))
        self.registry.assert_called_with('site-b')
        self.assertEqual(saved, plan.validate(' shop@site-b\n'))

    def test_unknown_reference_says_how_to_save_one(self):
        [err] = self.assertRaises(plan.PlanError, plan.validate, 'nope@site-b').errors
        self.assertIn("no plan 'nope' saved at site-b", err)
        self.assertIn('draas-install --plans', err)

    def test_other_strings_are_still_yaml(self):
        # Not a reference (spaces, no site): parsed as YAML, refused as not an object.
        for text in ('shop', 'shop @ site-b', 'Shop@site-b'):
            self.assertIn('expected an object',
                          self.assertRaises(plan.PlanError, plan.validate, text).errors[0])
        self.registry.assert_not_called()
