# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

"""What the berth modules share: running berth, reading its JSON, writing definition files.

The pure parts (TOML rendering, plan text, error text, search paths) take and return plain
data so that tests/unit tests them without a host; BerthRunner is the only part that runs
anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import re
import shutil
import tempfile

DEFAULT_CONTAINERS_PATH = '/etc/berth/containers:/run/berth/containers:/usr/lib/berth/containers'
DEFAULT_CONFIG_DIR = '/etc/berth/containers'
# berth enable/disable's own drop-in, and the text they write (src/apply/enable.rs).
ENABLE_DROPIN = '50-berth-enable.toml'
HEADER = '# Managed by Ansible ({module}): local changes are overwritten.\n'

_BARE_KEY = re.compile(r'^[A-Za-z0-9_-]+$')
# Container names as berth accepts them (src/name.rs), checked here so that a bad name never
# becomes a path.
_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$')
_DROPIN = re.compile(r'^[A-Za-z0-9_.@-]+\.toml$')


class BerthError(Exception):
    """A berth command failed; `result` holds what the module returns with the failure."""

    def __init__(self, msg, **result):
        super(BerthError, self).__init__(msg)
        self.msg = msg
        self.result = result


# ---------------------------------------------------------------- pure parts


def valid_name(name):
    return bool(_NAME.match(name or '')) and not name.endswith('.')


def valid_dropin(dropin):
    return bool(_DROPIN.match(dropin or '')) and not dropin.startswith('.')


def enable_dropin_text(on):
    verb = 'enable' if on else 'disable'
    return ("# Written by `berth %s`; `berth enable` and `berth disable` rewrite it.\n"
            "autostart = %s\n" % (verb, 'true' if on else 'false'))


def toml_key(key):
    if not isinstance(key, str) or key == '':
        raise ValueError('a TOML key must be a non-empty string, not %r' % (key,))
    if _BARE_KEY.match(key):
        return key
    return toml_string(key)


def toml_string(value):
    # JSON's escapes are TOML's basic-string escapes; \u00XX covers the other control
    # characters, and non-ASCII text stays as it is.
    return json.dumps(value, ensure_ascii=False)


def toml_value(value, where='value'):
    """One value, inline: strings, booleans, integers, floats, arrays and inline tables."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'nan'
        if math.isinf(value):
            return 'inf' if value > 0 else '-inf'
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(toml_value(v, where) for v in value) + ']'
    if isinstance(value, dict):
        return '{ ' + ', '.join('%s = %s' % (toml_key(k), toml_value(v, '%s.%s' % (where, k)))
                                for k, v in value.items()) + ' }'
    if value is None:
        raise ValueError('%s is null, which TOML cannot hold: leave the key out' % where)
    raise ValueError('%s: %r cannot be written as TOML' % (where, value))


def render_toml(definition, header=''):
    """A definition (nested dicts, as YAML gives them) as a TOML document: the top-level keys
    first, then each table as [section], nested tables as [section.sub]. Keys keep their
    order. Keys whose value is null are left out."""
    if not isinstance(definition, dict):
        raise ValueError('a definition is a mapping of keys to values')
    lines = []

    def table(path, body):
        scalars = [(k, v) for k, v in body.items() if v is not None and not isinstance(v, dict)]
        tables = [(k, v) for k, v in body.items() if isinstance(v, dict)]
        if path and (scalars or not tables):
            if lines:
                lines.append('')
            lines.append('[%s]' % '.'.join(toml_key(p) for p in path))
        for k, v in scalars:
            lines.append('%s = %s' % (toml_key(k), toml_value(v, '.'.join(path + [k]))))
        for k, v in tables:
            table(path + [k], v)

    table([], definition)
    return header + '\n'.join(lines) + ('\n' if lines else '')


def search_path_replacing(containers_path, config_dir, replacement):
    """The search path (berth's default when unset) with `replacement` in config_dir's place,
    or ahead of it all when config_dir is not in it."""
    dirs = search_dirs(containers_path)
    wanted = os.path.normpath(config_dir)
    if any(os.path.normpath(d) == wanted for d in dirs):
        return ':'.join(replacement if os.path.normpath(d) == wanted else d for d in dirs)
    return ':'.join([replacement] + dirs)


def search_dirs(containers_path):
    """The directories of a search path (berth's default when unset), highest first."""
    return [d for d in (containers_path or DEFAULT_CONTAINERS_PATH).split(':') if d]


def format_errors(errors):
    """berth's JSON errors (check, apply) as berth check prints them, one per line."""
    out = []
    for e in errors or []:
        where = e.get('file') or ''
        if e.get('line'):
            where += ':%s' % e['line']
            if e.get('column'):
                where += ':%s' % e['column']
        line = e.get('message', '')
        if where:
            line = '%s: %s' % (where, line)
        if e.get('key') and e['key'] not in line:
            line += ' (key `%s`)' % e['key']
        if e.get('expected'):
            line += '; expected %s' % e['expected']
        if e.get('help'):
            line += '; %s' % e['help']
        out.append(line)
    return '\n'.join(out)


def plan_entries(apply_json, name=None):
    """The plan entries of `berth apply --json`, or only the named container's."""
    plan = (apply_json or {}).get('plan') or []
    return [p for p in plan if name is None or p.get('name') == name]


_SIGNS = {'start': '+', 'stop': '-', 'restart': '-/+', 'update': '~', 'unchanged': '=', 'refuse': '!'}


def plan_text(entries):
    """Plan entries as `berth apply` prints them."""
    out = []
    for p in entries:
        sign = _SIGNS.get(p.get('action'), '?')
        out.append('%3s %s  %s  %s' % (sign, p.get('name'), p.get('action'), p.get('reason', '')))
        for c in p.get('changes') or []:
            old = c.get('old')
            new = c.get('new')
            old = 'unset' if old is None else old
            new = 'unset' if new is None else new
            out.append('      %s: %s -> %s' % (c.get('key'), old, new))
        if p.get('errors'):
            out.append(format_errors(p['errors']))
    return '\n'.join(out) + ('\n' if out else '')


def plan_changes(entries):
    """Whether the plan changes anything on the host: a refused definition does not."""
    return any(p.get('action') in ('start', 'stop', 'restart', 'update') for p in entries)


def file_diff(path, before, after):
    """Ansible's diff of one file; None (absent) is shown as empty."""
    return {
        'before_header': path if before is not None else '%s (absent)' % path,
        'after_header': path if after is not None else '%s (absent)' % path,
        'before': before or '',
        'after': after or '',
    }


def read_text(path):
    """A file's text, or None when it does not exist."""
    try:
        with open(path, 'r') as f:
            return f.read()
    except (IOError, OSError) as e:
        if getattr(e, 'errno', None) == 2:
            return None
        raise


def write_atomic(path, text, mode=0o644):
    """Writes `text` to `path` through a temporary file in the same directory, renamed over
    it: a reader (berth, berth.path) sees the old file or the new one, never half of one. The
    temporary name does not end in .toml, so berth never reads it as a definition."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_temp(directory, name, text):
    """A temporary file named like a definition file's candidate, in `directory`."""
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.tmp', dir=directory)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    return tmp


# ---------------------------------------------------------------- running berth


class BerthRunner:
    """Runs berth through the module (module.run_command: no shell, output captured)."""

    def __init__(self, module, binary=None, containers_path=None):
        self.module = module
        self.binary = binary or module.get_bin_path('berth', required=True,
                                                    opt_dirs=['/usr/local/bin', '/usr/bin'])
        self.containers_path = containers_path
        self.commands = []

    def run(self, args, containers_path=None, check_rc=False):
        argv = [self.binary]
        path = containers_path or self.containers_path
        if path:
            argv += ['--containers-path', path]
        argv += list(args)
        self.commands.append(argv)
        rc, out, err = self.module.run_command(argv, environ_update={'LC_ALL': 'C.UTF-8'})
        if check_rc and rc != 0:
            raise BerthError('%s failed (exit %s): %s' % (' '.join(argv), rc, (err or out).strip()),
                             rc=rc, stdout=out, stderr=err, cmd=argv)
        return rc, out, err

    def json(self, args, containers_path=None, ok_rcs=(0,)):
        rc, out, err = self.run(args, containers_path=containers_path)
        try:
            data = json.loads(out) if out.strip() else None
        except ValueError:
            data = None
        if rc not in ok_rcs or data is None:
            raise BerthError('%s failed (exit %s): %s' % (' '.join(self._argv(args, containers_path)), rc,
                                                          (err or out).strip()),
                             rc=rc, stdout=out, stderr=err, berth=data)
        return rc, data, err

    def _argv(self, args, containers_path=None):
        path = containers_path or self.containers_path
        return [self.binary] + (['--containers-path', path] if path else []) + list(args)

    def check_as(self, place, candidate, containers_path=None):
        """`berth check --as PLACE FILE`: None when valid, else berth check's report (text as
        it prints it, and the errors as its --json gives them)."""
        rc, out, err = self.run(['check', '--as', place, candidate], containers_path=containers_path)
        if rc == 0:
            return None
        report = {'text': (err.strip() + '\n' + out.strip()).strip(), 'errors': []}
        rc, out, err = self.run(['check', '--json', '--as', place, candidate],
                                containers_path=containers_path)
        try:
            for c in json.loads(out).get('containers') or []:
                report['errors'].extend(c.get('errors') or [])
        except ValueError:
            pass
        return report

    def status(self, name):
        rc, out, err = self.run(['status', '--json', name])
        try:
            return json.loads(out)
        except ValueError:
            return None

    def show(self, name, containers_path=None):
        rc, out, err = self.run(['show', '--json', name], containers_path=containers_path)
        if rc != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def apply(self, names, dry_run=False, containers_path=None):
        args = ['apply', '--json'] + (['--dry-run'] if dry_run else []) + list(names)
        rc, data, err = self.json(args, containers_path=containers_path, ok_rcs=(0, 1))
        return rc, data, err


class CandidateTree:
    """A copy of one container's files from config_dir (NAME.toml, NAME.toml.d/) in a
    temporary directory that takes config_dir's place in the search path: files written into
    it or removed from it there are what `berth apply --dry-run --containers-path` plans with,
    and nothing is written to the real directories."""

    def __init__(self, containers_path, config_dir, name):
        self.dir = tempfile.mkdtemp(prefix='berth-ansible-')
        for rel in ('%s.toml' % name, '%s.toml.d' % name):
            src = os.path.join(config_dir, rel)
            dst = os.path.join(self.dir, rel)
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, dst, symlinks=True)
            elif os.path.lexists(src):
                shutil.copy2(src, dst, follow_symlinks=False)
        self.search_path = search_path_replacing(containers_path, config_dir, self.dir)

    def put(self, relative, text):
        path = os.path.join(self.dir, relative)
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def remove(self, relative):
        path = os.path.join(self.dir, relative)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
