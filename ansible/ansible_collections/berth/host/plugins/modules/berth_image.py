#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: berth_image
short_description: Import and remove berth images, idempotent by the tarball's digest
version_added: 0.1.0
description:
  - Imports a tarball of a root tree as a berth image (C(berth image import)), or removes an
    image (C(berth image remove)).
  - The SHA-256 of the imported tarball is recorded in I(digest_dir). An image whose recorded
    digest is the tarball's is left alone; one imported from different content is removed and
    imported again, which berth refuses while a container's writable layer sits on it.
  - An image that exists without a record (imported by hand) is adopted when it was imported
    from the same path, and imported again otherwise (or always, with I(force)).
author:
  - berth developers (!UNKNOWN)
requirements:
  - berth on the managed host
  - root on the managed host
attributes:
  check_mode:
    support: full
    description: Reports what would be imported or removed; nothing is.
  diff_mode:
    support: none
    description: Not supported.
options:
  name:
    description:
      - The image's name, as image containers name it (C(image = "NAME") in berth.toml(5)).
    type: str
    required: true
  src:
    description:
      - The tarball on the managed host (plain or compressed, as tar reads it). Required
        with I(state=present).
    type: path
  state:
    description:
      - V(present) imports the image unless it holds the same tarball already; V(absent)
        removes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Import again even when the recorded digest matches.
    type: bool
    default: false
  digest_dir:
    description:
      - Where the digests of imported tarballs are recorded, one C(NAME.sha256) each.
    type: path
    default: /var/lib/berth-ansible/images
  berth:
    description:
      - The berth binary; found on PATH (and in C(/usr/local/bin), C(/usr/bin)) when unset.
    type: path
seealso:
  - module: berth.host.berth_container
  - module: berth.host.berth_info
'''

EXAMPLES = r'''
- name: A Debian root tree
  ansible.builtin.copy:
    src: debian-bookworm.tar.zst
    dest: /var/tmp/debian-bookworm.tar.zst
    mode: "0644"

- name: As the image deb
  berth.host.berth_image:
    name: deb
    src: /var/tmp/debian-bookworm.tar.zst

- name: Gone
  berth.host.berth_image:
    name: old
    state: absent
'''

RETURN = r'''
image:
  description: The image as C(berth image list --json) shows it; null when there is none.
  returned: always
  type: dict
  sample:
    name: deb
    source: /var/tmp/debian-bookworm.tar.zst
    imported_usec: 1733472000000000
    bytes: 123456789
    used_by: []
digest:
  description: The tarball's SHA-256.
  returned: when src is given
  type: str
  sample: 0a1b2c...
actions:
  description: What was done, or would be in check mode.
  returned: always
  type: list
  elements: str
  sample: ["remove deb", "import /var/tmp/debian-bookworm.tar.zst as deb"]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.host.plugins.module_utils.berth import (
    BerthError,
    BerthRunner,
    read_text,
    valid_name,
    write_atomic,
)


def image_decision(current, recorded, digest, src, force):
    """What to do for state=present: 'keep', 'adopt' (record the digest only), 'import' or
    'replace' (remove, then import)."""
    if current is None:
        return 'import'
    if force:
        return 'replace'
    if recorded is not None:
        return 'keep' if recorded == digest else 'replace'
    return 'adopt' if current.get('source') == src else 'replace'


def parse_record(text):
    """A digest record: the hex digest first, then the tarball's path."""
    if not text:
        return None
    fields = text.split()
    return fields[0] if fields else None


def find_image(images, name):
    for image in images or []:
        if image.get('name') == name:
            return image
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            src=dict(type='path'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            force=dict(type='bool', default=False),
            digest_dir=dict(type='path', default='/var/lib/berth-ansible/images'),
            berth=dict(type='path'),
        ),
        required_if=[('state', 'present', ('src',))],
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    if not valid_name(name):
        module.fail_json(msg='%r is not an image name berth accepts' % name)
    runner = BerthRunner(module, p['berth'])
    record = os.path.join(p['digest_dir'], '%s.sha256' % name)
    result = {'changed': False, 'actions': []}

    def images():
        return runner.json(['image', 'list', '--json'])[1]

    try:
        current = find_image(images(), name)
        if p['state'] == 'absent':
            if current is not None:
                if current.get('used_by'):
                    module.fail_json(msg='image %s is used by %s: stop and `berth reset` them first'
                                     % (name, ', '.join(current['used_by'])), image=current, **result)
                result['actions'].append('remove %s' % name)
                result['changed'] = True
                if not module.check_mode:
                    runner.run(['image', 'remove', name], check_rc=True)
            if os.path.exists(record) and not module.check_mode:
                os.unlink(record)
            result['image'] = None if result['changed'] and not module.check_mode else current
            module.exit_json(**result)

        src = p['src']
        if not os.path.isfile(src):
            module.fail_json(msg='%s is not a file' % src)
        digest = module.sha256(src)
        result['digest'] = digest
        decision = image_decision(current, parse_record(read_text(record)), digest, src, p['force'])
        if decision == 'replace':
            if current.get('used_by'):
                module.fail_json(msg='image %s holds other content than %s, but %s sit on it: stop and '
                                 '`berth reset` them first' % (name, src, ', '.join(current['used_by'])),
                                 image=current, **result)
            result['actions'].append('remove %s' % name)
        if decision in ('import', 'replace'):
            result['actions'].append('import %s as %s' % (src, name))
            result['changed'] = True
        if not module.check_mode:
            if decision == 'replace':
                runner.run(['image', 'remove', name], check_rc=True)
            if decision in ('import', 'replace'):
                runner.run(['image', 'import', src, name], check_rc=True)
            if decision != 'keep':
                if not os.path.isdir(p['digest_dir']):
                    os.makedirs(p['digest_dir'], 0o755)
                write_atomic(record, '%s  %s\n' % (digest, src))
            current = find_image(images(), name)
        result['image'] = current
        module.exit_json(**result)
    except BerthError as e:
        module.fail_json(msg=e.msg, **dict(result, **e.result))


if __name__ == '__main__':
    main()
