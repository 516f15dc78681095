"""Hook workflows: Mistral workflows a plan names to run around a checkpoint's snapshots.

The pre-hook runs before the snapshots (flush and freeze an application, e.g. with std.ssh),
the post-hook after them (thaw it): it runs whenever the pre-hook started, even when the
pre-hook or the snapshots failed. The snapshots must be taken within the freeze window
(options.hooks.freeze_seconds), the time the application waits frozen. check() runs before
anything else of a checkpoint: a workflow missing or taking other inputs is a clear error,
not a half-run checkpoint.
"""
import json

from actions import errors

DEFAULT_FREEZE_SECONDS = 60
MAX_FREEZE_SECONDS = 600  # an application frozen longer is down, not paused
FILLED = ('checkpoint_id', 'plan')  # inputs a hook may declare; draas gives the run's
SECRET_WORDS = ('password', 'secret', 'token')
# Mistral looks for a subworkflow in the calling workbook first: a hook of one of these names
# would run draas.checkpoint's own (tests/unit/test_workbooks.py keeps the list true).
CHECKPOINT_WORKFLOWS = ('create', 'list', 'prune', 'show', 'verify')


class HookError(errors.DraasError):
    pass


def _declared(workflow):
    """{input name: whether it is required} of a Mistral workflow (its `interface`)."""
    interface = getattr(workflow, 'interface', None) or {}
    if isinstance(interface, str):  # as python-mistralclient gives it: JSON text
        interface = json.loads(interface)
    out = {}
    for item in interface.get('input') or ():
        if isinstance(item, dict):
            out.update((k, False) for k in item)
        else:
            out[item] = True
    return out


def check(workflows, plan, checkpoint_id=None):
    """The plan's hooks ready to run ({pre, post: {workflow, input} or None,
    freeze_seconds}), or None without hooks. `workflows`: a function from a workflow name
    to the workflow as Mistral has it (None when there is none). Raises HookError naming
    the hook and workflow when a workflow is missing or does not take the inputs given."""
    given = plan['options'].get('hooks')
    if not given or not (given.get('pre') or given.get('post')):
        return None
    out = {'freeze_seconds': given.get('freeze_seconds', DEFAULT_FREEZE_SECONDS)}
    problems = []
    for when in ('pre', 'post'):
        hook = given.get(when)
        out[when] = None
        if not hook:
            continue
        name, inputs = hook['workflow'], dict(hook.get('input') or {})
        secret = sorted(k for k in inputs if any(w in k.lower() for w in SECRET_WORDS))
        if secret:
            problems.append('%s-hook %r: input %s may hold a secret, and the plan is kept in '
                            'checkpoints: give it a file (e.g. std.ssh private_key_filename) '
                            'or read it from a Mistral environment' % (
                                when, name, ', '.join(secret)))
            continue
        if name in CHECKPOINT_WORKFLOWS:
            problems.append('%s-hook: a workflow named %r would run draas.checkpoint.%s '
                            '(Mistral looks in the calling workbook first): rename it' % (
                                when, name, name))
            continue
        workflow = workflows(name)
        if workflow is None:
            problems.append('%s-hook: there is no Mistral workflow %r (openstack workflow '
                            'list)' % (when, name))
            continue
        declared = _declared(workflow)
        for filled in FILLED:
            if filled in declared and filled not in inputs:
                inputs[filled] = checkpoint_id if filled == 'checkpoint_id' else plan['name']
        unknown = sorted(set(inputs) - set(declared))
        missing = sorted(k for k, required in declared.items()
                         if required and k not in inputs)
        if unknown or missing:
            problems.append('%s-hook workflow %r takes inputs %s; %s' % (
                when, name, ', '.join(sorted(declared)) or 'none', '; '.join(
                    (['not %s' % ', '.join(unknown)] if unknown else []) +
                    (['missing %s' % ', '.join(missing)] if missing else []))))
            continue
        out[when] = {'workflow': name, 'input': inputs}
    if problems:
        raise HookError('plan %r: %s' % (plan['name'], '; '.join(problems)))
    return out
