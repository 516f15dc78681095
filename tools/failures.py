"""Print each failed test of a stestr log with the last lines of its traceback.

Usage: python3 tools/failures.py LOG   (tools/run-tests calls it last: CI shows the end)
"""
import sys

KEEP = 8  # the end of a traceback says what failed; its top is in the full log


def failures(lines):
    """Yield (FAILED line, its traceback's lines): stestr prints the traceback after the line."""
    test, section, body = None, None, []
    for line in lines:
        if line.startswith('{') or line.startswith('====='):
            if test:
                yield test, body
            test, section, body = None, None, []
            if line.rstrip().endswith('... FAILED'):
                test = line.strip()
        elif line.startswith('Captured ') and line.rstrip().endswith(':'):
            section = line.strip()
        elif test and section == 'Captured traceback:' and line.strip() and line[0] != '~':
            body.append(line.strip())
    if test:
        yield test, body


def main(path):
    with open(path, errors='replace') as f:
        lines = f.read().splitlines()
    for test, body in failures(lines):
        print(test)
        for line in body[-KEEP:]:
            print('  ' + line[:300])


if __name__ == '__main__':
    main(sys.argv[1])
