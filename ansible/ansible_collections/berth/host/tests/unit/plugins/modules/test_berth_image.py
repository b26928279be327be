# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.berth.host.plugins.modules.berth_image import (
    find_image,
    image_decision,
    parse_record,
)

DEB = {'name': 'deb', 'source': '/var/tmp/deb.tar', 'imported_usec': 1, 'bytes': 2, 'used_by': []}


@pytest.mark.parametrize('current,recorded,force,decision', [
    (None, None, False, 'import'),
    (None, 'aaa', False, 'import'),
    (DEB, 'aaa', False, 'keep'),
    (DEB, 'bbb', False, 'replace'),
    (DEB, 'aaa', True, 'replace'),
    (DEB, None, False, 'adopt'),
])
def test_image_decision_by_digest(current, recorded, force, decision):
    assert image_decision(current, recorded, 'aaa', '/var/tmp/deb.tar', force) == decision


def test_an_unrecorded_image_from_elsewhere_is_imported_again():
    assert image_decision(DEB, None, 'aaa', '/srv/other.tar', False) == 'replace'


def test_parse_record_and_find_image():
    assert parse_record('aaa  /var/tmp/deb.tar\n') == 'aaa'
    assert parse_record('') is None
    assert parse_record(None) is None
    assert find_image([DEB], 'deb') is DEB
    assert find_image([DEB], 'other') is None
    assert find_image(None, 'deb') is None
