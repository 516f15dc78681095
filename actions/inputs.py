"""Workflow inputs as the three front doors send them.

The CLI and cron triggers send JSON values. Horizon's Execute form sends every input as text,
pre-filled with the default as Mistral prints it (``"None"``, ``"False"``, ``"unplanned"``,
quotes included), and lists or objects as JSON or YAML text. The first task of every draas
workflow reads its inputs with read(): typed values, or an error naming the input and what
it expects, before anything is made.
"""
import json

import yaml

from actions import errors
from actions.restore import context

NONE = ('', 'none', 'null')


class InputError(errors.DraasError):
    pass


def _unquoted(value):
    """A text input without surrounding blanks and the double quotes the form puts around
    a default; other values as they are."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _absent(value):
    return value is None or (isinstance(value, str) and value.lower() in NONE)


def flag(name, value):
    value = _unquoted(value)
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    return errors.flag(name, value)


def optional(name, value):
    """Nothing, or a value the action judges (an ID: its own check names the form)."""
    value = _unquoted(value)
    return None if _absent(value) else value


def _optional_number(name, value, convert, expected):
    """Nothing, or `convert(value)` (text or number); InputError saying `expected`."""
    value = _unquoted(value)
    if _absent(value):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return convert(value)
    except (TypeError, ValueError):
        raise InputError('%s: expected %s, got %r' % (name, expected, value)) from None


def _minutes(value):
    if int(value) != float(value) or int(value) < 0:
        raise ValueError
    return int(value)


def optional_minutes(name, value):
    return _optional_number(name, value, _minutes, 'a number of minutes (0 or more)')


def optional_time(name, value):
    """A time as seconds since the epoch (a planned failover's stop of the source)."""
    return _optional_number(name, value, float, 'seconds since 1970 (or nothing)')


def mode(name, value):
    """A restore's mode (a drill's only from the drill workflow: the restore checks)."""
    value = _unquoted(value)
    if value not in context.MODES:
        raise InputError('%s: expected one of %s, got %r' % (name, ', '.join(context.MODES),
                                                              value))
    return value


def _structure(name, value, expected):
    """A list or object given as itself or as JSON/YAML text."""
    value = _unquoted(value)
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InputError('%s: not valid JSON or YAML (expected %s): %s' % (
                name, expected, str(exc).replace('\n', ' '))) from None
    return value


def names(name, value):
    """A list (of site names, of plans), or one item alone."""
    value = _structure(name, value, 'a list, e.g. ["site-a", "site-b"]')
    return [value] if isinstance(value, (str, dict)) else value


def plan(name, value):
    """A plan object, its YAML/JSON text or a reference "<name>@<site>": plan.validate
    reads each; the form's quotes go."""
    value = _unquoted(value)
    if _absent(value):
        raise InputError('%s: required: the plan (an object, its YAML/JSON text, or the '
                         'reference "<name>@<site>" of a saved plan)' % name)
    return value


# Every input of every draas workflow, by name: one meaning per name.
KINDS = {
    'plan': plan,
    'plans': names,
    'sites': names,
    'mode': mode,
    'checkpoint_id': optional,
    'restore_id': optional,
    'drill_id': optional,
    'started_at': optional_time,
    'dry_run': flag,
    'keep': flag,
    'require_healthy': flag,
    'data_paths': flag,
    'reprobe': flag,
    'fail_on_violation': flag,
    'min_age_minutes': optional_minutes,
}


def read(inputs):
    """`inputs` ({name: value as sent}) typed; InputError naming the first bad one."""
    return {name: KINDS[name](name, value) for name, value in inputs.items()}


def _listed(value):
    return value if isinstance(value, list) else [value]


def describe(workflow, typed):
    """What an execution is, in one line (its description in Horizon and the CLI), from its
    workflow's name and typed inputs: "draas.failover.failover: plan web (site-a -> site-b),
    mode unplanned, dry run"."""
    parts = []
    plan = typed.get('plan')
    if isinstance(plan, dict):
        parts.append('plan %s (%s -> %s)' % (plan['name'], plan['source'], plan['target']))
    # Lists as typed, not yet judged: the workflow's own check refuses a bad one next.
    if typed.get('plans'):
        parts.append('plans ' + ', '.join(
            str(p.get('name')) if isinstance(p, dict) else str(p)
            for p in _listed(typed['plans'])))
    if typed.get('sites'):
        parts.append('sites ' + ', '.join(map(str, _listed(typed['sites']))))
    if typed.get('mode'):
        parts.append('mode ' + typed['mode'])
    for name in ('checkpoint_id', 'restore_id', 'drill_id'):
        if typed.get(name):
            parts.append('%s %s' % (name.replace('_id', ''), typed[name]))
    if typed.get('dry_run'):
        parts.append('dry run')
    return '%s: %s' % (workflow, ', '.join(parts)) if parts else workflow
