#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: berth_info
short_description: Facts about berth's containers and images
version_added: 0.1.0
description:
  - Returns C(berth list --json), C(berth status --json) of each container (or of the named
    ones), and C(berth image list --json). Changes nothing.
author:
  - berth developers (!UNKNOWN)
requirements:
  - berth on the managed host
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it changes nothing anyway.
  diff_mode:
    support: none
    description: Not supported.
options:
  names:
    description:
      - Only these containers' status; all listed containers' when unset.
    type: list
    elements: str
  images:
    description:
      - Also list the images.
    type: bool
    default: true
  containers_path:
    description:
      - berth's search path, C(:)-separated, highest priority first; berth's default when unset.
    type: str
  berth:
    description:
      - The berth binary; found on PATH (and in C(/usr/local/bin), C(/usr/bin)) when unset.
    type: path
seealso:
  - module: berth.host.berth_container
'''

EXAMPLES = r'''
- name: Facts
  berth.host.berth_info:
  register: berth

- name: Running containers
  ansible.builtin.debug:
    msg: "{{ berth.containers | selectattr('state', 'equalto', 'running') | map(attribute='name') }}"

- name: The leader of web
  ansible.builtin.debug:
    msg: "{{ berth.status.web.leader }}"
'''

RETURN = r'''
containers:
  description: C(berth list --json), one entry per container, as berth(1) documents it.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web
      state: running
      autostart: true
      unit: berth-web.scope
      leader: 4242
status:
  description: C(berth status --json) by container name, as berth(1) documents it.
  returned: always
  type: dict
  sample:
    web:
      name: web
      state: running
      memory_limit: 268435456
      leader: 4242
images:
  description: C(berth image list --json).
  returned: when images is true
  type: list
  elements: dict
  sample:
    - name: deb
      source: /var/tmp/debian-bookworm.tar
      bytes: 123456789
      imported_usec: 1733472000000000
      used_by: [web]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.host.plugins.module_utils.berth import BerthError, BerthRunner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type='list', elements='str'),
            images=dict(type='bool', default=True),
            containers_path=dict(type='str'),
            berth=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    runner = BerthRunner(module, p['berth'], p['containers_path'])
    try:
        containers = runner.json(['list', '--json'])[1]
        names = p['names'] if p['names'] is not None else [c.get('name') for c in containers]
        status = {}
        for name in names:
            status[name] = runner.status(name)
        result = {'changed': False, 'containers': containers, 'status': status}
        if p['images']:
            result['images'] = runner.json(['image', 'list', '--json'])[1]
        module.exit_json(**result)
    except BerthError as e:
        module.fail_json(msg=e.msg, **e.result)


if __name__ == '__main__':
    main()
