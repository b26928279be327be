# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.berth.host.plugins.modules.berth_container import (
    desired_text,
    has_main_file,
    running,
)


def params(**kw):
    p = {'definition': None, 'toml': None}
    p.update(kw)
    return p


def test_desired_text_from_options_carries_the_header():
    text = desired_text(params(definition={'autostart': True, 'exec': {'command': ['/bin/true']}}))
    assert text == ('# Managed by Ansible (berth.host.berth_container): local changes are overwritten.\n'
                    'autostart = true\n\n[exec]\ncommand = ["/bin/true"]\n')


def test_desired_text_from_toml_is_as_given_with_a_final_newline():
    assert desired_text(params(toml='a = 1')) == 'a = 1\n'
    assert desired_text(params(toml='a = 1\n')) == 'a = 1\n'
    assert desired_text(params()) is None


def test_has_main_file_looks_through_the_search_path(tmp_path):
    low = tmp_path / 'low'
    high = tmp_path / 'high'
    low.mkdir()
    high.mkdir()
    (low / 'web.toml').write_text(u'')
    path = '%s:%s' % (high, low)
    assert has_main_file('web', path)
    assert not has_main_file('db', path)
    assert not os.path.exists(str(high / 'web.toml'))


def test_running():
    assert running({'state': 'running'})
    assert not running({'state': 'stopped'})
    assert not running(None)
