# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.berth.host.plugins.module_utils import berth


def test_render_toml_puts_top_level_keys_first_and_tables_as_sections():
    text = berth.render_toml({
        'exec': {'command': ['/usr/bin/python3', '-m', 'http.server', '8080']},
        'description': 'Static "web" server',
        'autostart': True,
        'resources': {'memory_max': '256M', 'tasks_max': 64, 'cpu_quota': None},
    }, header='# head\n')
    assert text == (
        '# head\n'
        'description = "Static \\"web\\" server"\n'
        'autostart = true\n'
        '\n'
        '[exec]\n'
        'command = ["/usr/bin/python3", "-m", "http.server", "8080"]\n'
        '\n'
        '[resources]\n'
        'memory_max = "256M"\n'
        'tasks_max = 64\n'
    )


def test_render_toml_nested_tables_quoted_keys_and_inline_values():
    text = berth.render_toml({
        'a': {'b': {'c': 1.5}},
        'env': {'MY VAR': 'x\ny', 'list': [{'k': False}]},
    })
    assert text == (
        '[a.b]\n'
        'c = 1.5\n'
        '\n'
        '[env]\n'
        '"MY VAR" = "x\\ny"\n'
        'list = [{ k = false }]\n'
    )


def test_render_toml_empty_table_keeps_its_header():
    assert berth.render_toml({'network': {}}) == '[network]\n'
    assert berth.render_toml({}) == ''


def test_render_toml_refuses_what_toml_cannot_hold():
    with pytest.raises(ValueError, match='exec.command'):
        berth.render_toml({'exec': {'command': [None]}})
    with pytest.raises(ValueError):
        berth.render_toml(['not', 'a', 'table'])
    with pytest.raises(ValueError):
        berth.toml_key('')


def test_render_toml_is_read_back_as_written():
    tomllib = pytest.importorskip('tomllib')
    definition = {'description': u'caf\u00e9 \t tab', 'autostart': False,
                  'exec': {'command': ['/bin/sh', '-c', 'echo "$1"'], 'env': {'A': '1'}},
                  'resources': {'cpu_weight': 100, 'allowed_cpus': [0, 1]}}
    assert tomllib.loads(berth.render_toml(definition)) == definition


@pytest.mark.parametrize('name,ok', [
    ('web', True), ('web-1.a_b', True), ('_x', True), ('.web', False), ('-web', False),
    ('web.', False), ('a/b', False), ('', False), (None, False), ('a b', False),
])
def test_valid_name(name, ok):
    assert berth.valid_name(name) is ok


@pytest.mark.parametrize('dropin,ok', [
    ('40-ansible.toml', True), ('x.toml', True), ('.x.toml', False), ('x.conf', False),
    ('a/b.toml', False), ('../x.toml', False),
])
def test_valid_dropin(dropin, ok):
    assert berth.valid_dropin(dropin) is ok


def test_enable_dropin_text_is_berths_own():
    assert berth.enable_dropin_text(False) == (
        '# Written by `berth disable`; `berth enable` and `berth disable` rewrite it.\n'
        'autostart = false\n')
    assert berth.enable_dropin_text(True).endswith('autostart = true\n')


def test_search_dirs():
    assert berth.search_dirs(None) == ['/etc/berth/containers', '/run/berth/containers', '/usr/lib/berth/containers']
    assert berth.search_dirs('/a::/b') == ['/a', '/b']


def test_search_path_replacing_puts_the_copy_in_config_dirs_place():
    assert berth.search_path_replacing('/etc/a:/run/b', '/run/b/', '/tmp/x') == '/etc/a:/tmp/x'
    assert berth.search_path_replacing(None, '/etc/berth/containers', '/tmp/x') == \
        '/tmp/x:/run/berth/containers:/usr/lib/berth/containers'
    assert berth.search_path_replacing('/etc/a', '/srv/b', '/tmp/x') == '/tmp/x:/etc/a'


APPLY = {
    'changed': True, 'dry_run': True, 'failed': False, 'errors': [], 'results': [], 'warnings': [],
    'plan': [
        {'name': 'web', 'action': 'update', 'reason': 'in place, no restart',
         'changes': [{'key': 'resources.memory_max', 'old': '"64M"', 'new': '"80M"'}],
         'errors': [], 'properties': {}, 'warnings': []},
        {'name': 'db', 'action': 'unchanged', 'reason': 'as defined', 'changes': [],
         'errors': [], 'properties': {}, 'warnings': []},
    ],
}


def test_plan_entries_and_changes():
    assert [p['name'] for p in berth.plan_entries(APPLY)] == ['web', 'db']
    assert berth.plan_entries(APPLY, 'db') == [APPLY['plan'][1]]
    assert berth.plan_changes(berth.plan_entries(APPLY, 'web'))
    assert not berth.plan_changes(berth.plan_entries(APPLY, 'db'))
    assert not berth.plan_changes([])
    assert not berth.plan_changes([{'name': 'bad', 'action': 'refuse'}])
    assert berth.plan_entries(None) == []


def test_plan_text_is_like_berth_apply():
    assert berth.plan_text(APPLY['plan']) == (
        '  ~ web  update  in place, no restart\n'
        '      resources.memory_max: "64M" -> "80M"\n'
        '  = db  unchanged  as defined\n'
    )
    assert berth.plan_text([]) == ''


def test_format_errors_names_file_line_column_and_key():
    errors = [{'message': 'invalid value for `exec.command`: found a string', 'key': 'exec.command',
               'file': '/etc/berth/containers/web.toml', 'line': 3, 'column': 11,
               'expected': 'a non-empty list of strings', 'help': None},
              {'message': 'unknown key `memry_max`', 'key': 'resources.memry_max', 'file': None,
               'line': None, 'column': None, 'expected': None, 'help': 'did you mean `memory_max`?'}]
    assert berth.format_errors(errors) == (
        '/etc/berth/containers/web.toml:3:11: invalid value for `exec.command`: found a string; '
        'expected a non-empty list of strings\n'
        'unknown key `memry_max` (key `resources.memry_max`); did you mean `memory_max`?'
    )


def test_file_diff_shows_absent_files_as_empty():
    d = berth.file_diff('/etc/x.toml', None, 'a = 1\n')
    assert d == {'before_header': '/etc/x.toml (absent)', 'after_header': '/etc/x.toml',
                 'before': '', 'after': 'a = 1\n'}


def test_write_atomic_replaces_with_mode_0644_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / 'web.toml')
    berth.write_atomic(path, 'a = 1\n')
    os.chmod(path, 0o600)
    berth.write_atomic(path, 'a = 2\n')
    assert berth.read_text(path) == 'a = 2\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(str(tmp_path)) == ['web.toml']
    assert berth.read_text(str(tmp_path / 'none.toml')) is None


def test_write_temp_is_never_taken_for_a_definition(tmp_path):
    tmp = berth.write_temp(str(tmp_path), 'web.toml', 'a = 1\n')
    assert os.path.dirname(tmp) == str(tmp_path)
    assert not tmp.endswith('.toml') and os.path.basename(tmp).startswith('.web.toml.')


def test_candidate_tree_copies_one_containers_files_and_takes_config_dirs_place(tmp_path):
    etc = tmp_path / 'etc'
    (etc / 'web.toml.d').mkdir(parents=True)
    (etc / 'web.toml').write_text(u'a = 1\n')
    (etc / 'web.toml.d' / '10-x.toml').write_text(u'b = 2\n')
    (etc / 'db.toml').write_text(u'c = 3\n')
    os.symlink('/dev/null', str(etc / 'web.toml.d' / '20-masked.toml'))
    tree = berth.CandidateTree('%s:/usr/lib/berth/containers' % etc, str(etc), 'web')
    try:
        assert tree.search_path == tree.dir + ':/usr/lib/berth/containers'
        assert sorted(os.listdir(tree.dir)) == ['web.toml', 'web.toml.d']
        assert os.readlink(os.path.join(tree.dir, 'web.toml.d', '20-masked.toml')) == '/dev/null'
        put = tree.put('web.toml.d/40-y.toml', 'd = 4\n')
        assert berth.read_text(put) == 'd = 4\n'
        tree.remove('web.toml')
        tree.remove('web.toml.d')
        tree.remove('nothing.toml')
        assert os.listdir(tree.dir) == []
    finally:
        tree.cleanup()
    assert not os.path.exists(tree.dir)
    assert sorted(os.listdir(str(etc))) == ['db.toml', 'web.toml', 'web.toml.d']
    assert berth.read_text(str(etc / 'web.toml')) == 'a = 1\n'
