"""The commands README.rst shows an operator: those of its console/bash blocks, and the
commands it quotes inline (``tools/lab status``). Tests check each one is exercised."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Inline literals that are commands (not names, paths or tags).
INLINE = re.compile(r'(tools/\S+|openstack --os-cloud \S+ \w|draas-(install|report) |tox -e |'
                    r'pip install )')


def commands(path=os.path.join(ROOT, 'README.rst')):
    """Every command of the README, one line each (continuations joined, comments dropped)."""
    with open(path) as f:
        text = f.read()
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        block = re.match(r'\.\. code-block:: (console|bash)\s*$', lines[i])
        i += 1
        if not block:
            continue
        body = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith('   ')):
            body.append(lines[i].strip())
            i += 1
        for line in '\n'.join(body).replace('\\\n', ' ').splitlines():
            line = '' if line.startswith('#') else line.split(' # ')[0]
            if line.strip():
                found.append(' '.join(line.split()))
    for literal in re.findall(r'``([^`]+)``', text):
        if INLINE.match(literal):
            found.append(' '.join(literal.split()))
    return found


def command(*needles):
    """The one README command containing every needle."""
    matches = sorted({c for c in commands() if all(n in c for n in needles)})
    if len(matches) != 1:
        raise AssertionError('README commands with %r: %r' % (needles, matches))
    return matches[0]
