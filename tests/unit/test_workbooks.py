"""Every workbook and workflow parses with Mistral's own DSL parser and calls only actions
that exist: a draas entry point of setup.cfg or one of Mistral's std.* actions."""
import configparser
import glob
import importlib
import importlib.metadata
import inspect
import os
import re

from mistral.lang import parser
from oslotest import base
import yaml

from actions import hooks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def draas_entry_points():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, 'setup.cfg'))
    lines = cfg['entry_points']['mistral.actions'].strip().splitlines()
    return dict(line.replace(' ', '').split('=', 1) for line in lines)


def std_actions():
    return {ep.name for ep in importlib.metadata.entry_points(group='mistral.actions')
            if ep.name.startswith('std.')}


def load_specs():
    """(path, workflow specs) for each YAML file of workbooks/ and workflows/."""
    specs = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'workbooks', '*.yaml')) +
                       glob.glob(os.path.join(ROOT, 'workflows', '*.yaml'))):
        with open(path) as f:
            text = f.read()
        if 'workbooks' + os.sep in path:
            wb = parser.get_workbook_spec_from_yaml(text)
            specs.append((path, [(wb.get_name() + '.' + w.get_name(), w)
                                 for w in wb.get_workflows()]))
        else:
            specs.append((path, [(w.get_name(), w) for w in
                                 parser.get_workflow_list_spec_from_yaml(text)]))
    return specs


class TestWorkbooks(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.specs = load_specs()
        self.workflows = {name: wf for _, wfs in self.specs for name, wf in wfs}

    def test_there_is_something_to_check(self):
        self.assertIn('draas.sites.check', self.workflows)

    def test_actions_and_subworkflows_exist(self):
        known = set(draas_entry_points()) | std_actions()
        self.assertIn('std.echo', known)
        for path, wfs in self.specs:
            for name, wf in wfs:
                prefix = name.rsplit('.', 1)[0] + '.'
                for task in wf.get_tasks():
                    action = task.get_action_name()
                    if action:
                        self.assertIn(action, known, '%s: task %s of %s calls unknown action'
                                      % (path, task.get_name(), name))
                    sub = task.get_workflow_name()
                    if sub and sub.startswith('<%'):  # a plan's hook: actions/hooks.py
                        self.assertEqual('draas.checkpoint.create', name)
                        self.assertEqual(set(hooks.CHECKPOINT_WORKFLOWS), {
                            n.split('.')[-1] for n, _ in wfs})
                    elif sub:
                        self.assertTrue(sub in self.workflows or prefix + sub in self.workflows,
                                        '%s: task %s calls unknown workflow %s'
                                        % (path, task.get_name(), sub))

    def test_every_workflow_input_is_described(self):
        for name, wf in self.workflows.items():
            description = wf.get_description() or ''
            self.assertIn('Input:', description, '%s has no Input: section' % name)
            for inp in wf.get_input():
                self.assertRegex(description, r'\n\s+%s: \S' % re.escape(inp),
                                 'input %s of %s has no description' % (inp, name))

    def test_names_are_namespaced(self):
        for name in self.workflows:
            self.assertTrue(name.startswith('draas.'), name)

    def test_files_are_plain_yaml(self):
        for path, _ in self.specs:
            with open(path) as f:
                self.assertIn('version', yaml.safe_load(f))


class TestActionEntryPoints(base.BaseTestCase):

    def test_entry_points_load_and_document_their_inputs(self):
        for name, target in draas_entry_points().items():
            self.assertTrue(name.startswith('draas.'), name)
            module, cls = target.split(':')
            action = getattr(importlib.import_module(module), cls)
            doc = inspect.getdoc(action) or ''
            for param in list(inspect.signature(action.__init__).parameters)[1:]:
                self.assertIn(':param %s:' % param, doc,
                              '%s: input %s has no description' % (name, param))
