"""Every workflow input, fed what Horizon's Execute form sends: the default pre-filled as
Mistral prints it ('%s="%s"' % (name, value): quotes included, Python's None/True/False) and
what an operator types, all as text."""
import glob
import os

from oslotest import base
import yaml

from actions import errors
from actions import inputs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def workflows():
    """{workflow name: its definition} of every workbook and workflow file."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, 'workbooks', '*.yaml')):
        with open(path) as f:
            book = yaml.safe_load(f)
        for name, wf in book['workflows'].items():
            found['%s.%s' % (book['name'], name)] = wf
    for path in glob.glob(os.path.join(ROOT, 'workflows', '*.yaml')):
        with open(path) as f:
            found.update({k: v for k, v in yaml.safe_load(f).items() if k != 'version'})
    return found


def prefilled(default):
    """The Execute form's text for a default (mistral's Workflow resource, _set_input)."""
    return '"%s"' % (default,)


# What an operator types into a required box, and what it means.
TYPED = {
    'plan': ('shop@site-b', 'shop@site-b'),
    'plans': ('["shop@site-b", "crm@site-b"]', ['shop@site-b', 'crm@site-b']),
    'sites': ('["site-a","site-b"]', ['site-a', 'site-b']),
}


class TestTheFormsText(base.BaseTestCase):

    def test_every_workflow_reads_every_input_first(self):
        for name, wf in workflows().items():
            names = [p if isinstance(p, str) else next(iter(p)) for p in wf['input']]
            first = next(iter(wf['tasks'].values()))
            self.assertEqual('draas.inputs.validate', first['action'], name)
            self.assertEqual({n: '<%% $.%s %%>' % n for n in names},
                             first['input']['inputs'], name)
            self.assertEqual({n: '<%% task().result.%s %%>' % n for n in names},
                             {k: v for k, v in first['publish'].items() if k in names}, name)

    def test_prefilled_defaults_mean_the_defaults(self):
        for name, wf in workflows().items():
            for param in wf['input']:
                if isinstance(param, dict):
                    (key, default), = param.items()
                    self.assertEqual(default, inputs.read({key: prefilled(default)})[key],
                                     '%s: %s' % (name, key))
                    self.assertEqual(default, inputs.read({key: default})[key])  # JSON
                else:
                    text, meant = TYPED[param]
                    self.assertEqual(meant, inputs.read({param: text})[param], name)

    def test_what_an_operator_types(self):
        for text in ('true', 'True', 'TRUE', '"true"', ' true '):
            self.assertIs(True, inputs.read({'dry_run': text})['dry_run'])
        self.assertIs(False, inputs.read({'keep': '"False"'})['keep'])
        self.assertEqual('planned', inputs.read({'mode': 'planned'})['mode'])
        self.assertEqual(
            '20261121T234535Z-10a33b',
            inputs.read({'checkpoint_id': '"20261121T234535Z-10a33b"'})['checkpoint_id'])
        for empty in ('', 'None', '"None"', 'null', None):
            self.assertIsNone(inputs.read({'checkpoint_id': empty})['checkpoint_id'])
        self.assertEqual(0, inputs.read({'min_age_minutes': '0'})['min_age_minutes'])
        self.assertEqual(1795973220.5, inputs.read({'started_at': '1795973220.5'})[
            'started_at'])
        self.assertEqual(['site-a'], inputs.read({'sites': 'site-a'})['sites'])
        self.assertEqual(['site-a', 'site-b'], inputs.read({'sites': '- site-a\n- site-b'})[
            'sites'])  # YAML
        plan = 'name: shop\nsource: site-a\n'
        self.assertEqual(plan.strip(), inputs.read({'plan': plan})['plan'])  # plan.validate
        self.assertEqual({'name': 'shop'}, inputs.read({'plan': {'name': 'shop'}})['plan'])

    def test_anything_else_is_refused_naming_the_input(self):
        for key, text, message in [
                ('dry_run', 'yes please', "dry_run: expected true or false, got 'yes please'"),
                ('require_healthy', '"1"', "require_healthy: expected true or false, got '1'"),
                ('mode', '"unplaned"', "mode: expected one of unplanned, planned, drill, "
                                       "got 'unplaned'"),
                ('sites', '["site-a", "site-b"', 'sites: not valid JSON or YAML (expected a '
                                                 'list, e.g. ["site-a", "site-b"]): '),
                ('min_age_minutes', '1.5', 'min_age_minutes: expected a number of minutes (0 '
                                           "or more), got '1.5'"),
                ('min_age_minutes', '-1', 'min_age_minutes: expected a number of minutes'),
                ('started_at', 'yesterday', 'started_at: expected seconds since 1970'),
                ('plan', '"None"', 'plan: required: the plan (an object, its YAML/JSON '
                                   'text, or the reference "<name>@<site>" of a saved plan)')]:
            exc = self.assertRaises(errors.DraasError, inputs.read, {key: text})
            self.assertIn(message, str(exc), key)


class TestDescriptions(base.BaseTestCase):
    """What an execution is, as its description says (Horizon's execution page)."""
    PLAN = {'name': 'web', 'source': 'site-a', 'target': 'site-b'}

    def test_each_input_that_says_what_an_execution_is(self):
        for workflow, typed, expected in [
            ('draas.failover.failover',
             {'plan': self.PLAN, 'mode': 'unplanned', 'checkpoint_id': None,
              'dry_run': True},
             'draas.failover.failover: plan web (site-a -> site-b), mode unplanned, dry run'),
            ('draas.drill.cleanup',
             {'plan': self.PLAN, 'drill_id': 'drill-ab12', 'min_age_minutes': 0},
             'draas.drill.cleanup: plan web (site-a -> site-b), drill drill-ab12'),
            ('draas.checkpoint.show', {'plan': self.PLAN, 'checkpoint_id': '20261130T0102'},
             'draas.checkpoint.show: plan web (site-a -> site-b), checkpoint 20261130T0102'),
            ('draas.report.report', {'plans': [self.PLAN, 'db@site-b'],
                                     'fail_on_violation': False},
             'draas.report.report: plans web, db@site-b'),
            ('draas.sites.check', {'sites': ['site-a', 'site-b'], 'require_healthy': True},
             'draas.sites.check: sites site-a, site-b'),
            # not yet judged: the workflow's check refuses them next
            ('draas.sites.check', {'sites': 5}, 'draas.sites.check: sites 5'),
            ('draas.report.report', {'plans': [{'x': 1}]}, 'draas.report.report: plans None'),
        ]:
            self.assertEqual(expected, inputs.describe(workflow, typed))
