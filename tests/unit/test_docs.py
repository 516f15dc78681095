"""The reference pages (doc/source/_exts/draas_reference.py) cover the whole schema, every
action with each of its inputs, and every workflow."""
import importlib
import importlib.util
import inspect
import os

from oslotest import base

from actions import plan
from tests.unit.test_workbooks import draas_entry_points
from tests.unit.test_workbooks import load_specs
from tests.unit.test_workbooks import ROOT


def reference_module():
    path = os.path.join(ROOT, 'doc', 'source', '_exts', 'draas_reference.py')
    spec = importlib.util.spec_from_file_location('draas_reference', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestReference(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.ref = reference_module()

    def test_every_plan_field_is_described(self):
        text = self.ref.plan_reference()
        fields = list(self.ref._fields(plan.SCHEMA, '', {}))
        self.assertGreater(len(fields), 30)
        for path, sub, _ in fields:
            self.assertIn('``%s``' % path, text)
            self.assertTrue(sub.get('description'), path)
        for name in ('options.verify.probes[].server', 'policy.rpo_minutes',
                     'options.restore.keep_fixed_ips'):
            self.assertIn('``%s``' % name, text)

    def test_every_action_input_and_output_is_documented(self):
        text = self.ref.action_reference()
        for name, target in draas_entry_points().items():
            self.assertIn('\n%s\n' % name, text)
            module, cls = target.split(':')
            action = getattr(importlib.import_module(module), cls)
            for param in list(inspect.signature(action.__init__).parameters)[1:]:
                self.assertIn('``%s``\n   ' % param, text, '%s: %s' % (name, param))
            # and its output ("Returns ..." in its docstring, shown by the reference)
            self.assertIn('returns ', inspect.getdoc(action).lower(),
                          '%s: no output described' % name)

    def test_every_workflow_is_there(self):
        text = self.ref.workflow_reference()
        for _, workflows in load_specs():
            for name, _ in workflows:
                self.assertIn('\n%s\n' % name, text)

    def test_the_kinds_table_says_what_becomes_of_every_declared_attribute(self):
        from actions import resources
        text = self.ref.kinds_reference()
        kinds = resources.all_kinds()
        self.assertEqual(18, len(kinds))
        for kind in kinds.values():
            start = text.index('\n%s (level %s)\n' % (kind.name, kind.level))
            end = text.find('(level ', start + len(kind.name) + 10)
            table = text[start:end if end > 0 else None]
            rows = ([(f.name, 'restored') for f in kind.restores] +
                    [(n, 'kept') for n in kind.keeps] + [(n, 'dropped') for n in kind.drops])
            for name, verdict in rows:
                self.assertIn('   * - ``%s``\n     - %s\n' % (name, verdict), table,
                              (kind.name, name))
            self.assertEqual(len(rows), table.count('   * - ``'), kind.name)
        self.assertIn('``mtu``\n     - restored\n     - mapped by options.restore.mtu', text)
        self.assertIn('``private_key``\n     - dropped\n     - a secret', text)
