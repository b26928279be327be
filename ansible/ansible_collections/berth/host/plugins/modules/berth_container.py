#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: berth developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: berth_container
short_description: Manage a berth container's definition, or one drop-in of it, and apply it
version_added: 0.1.0
description:
  - Writes a berth container's definition, C(NAME.toml), or one drop-in of it,
    C(NAME.toml.d/DROPIN), into I(config_dir), then applies just that container with
    C(berth apply NAME), which starts it, updates it in place (resource limits, description,
    autostart) or restarts it (anything else), as berth decides.
  - A file is first written to a temporary file beside its place and checked with
    C(berth check --as PLACE), merged with the files already in place; only a valid file is
    renamed into place (atomically, mode 0644). An invalid definition fails the task and never
    reaches I(config_dir).
  - Check mode changes nothing on the host; it predicts with C(berth apply --dry-run --json
    --containers-path), over a search path whose I(config_dir) is replaced by a temporary copy
    of the container's files with the candidate file in place (or without the removed one).
  - Diff mode shows the file's diff and berth's plan.
author:
  - berth developers (!UNKNOWN)
requirements:
  - berth on the managed host
  - root on the managed host
attributes:
  check_mode:
    support: full
    description: Predicted with C(berth apply --dry-run); nothing is written or started.
  diff_mode:
    support: full
    description: The definition file's diff, and the plan as C(berth apply) prints it.
options:
  name:
    description:
      - The container's name, as berth accepts it (letters, digits, C(_), C(.), C(-)).
    type: str
    required: true
  definition:
    description:
      - The definition as YAML options, written as TOML (tables become C([section]) headers).
        See berth.toml(5) for the keys.
      - Null values are left out.
      - Mutually exclusive with I(toml).
    type: dict
  toml:
    description:
      - The definition as TOML text, written as it is.
      - Mutually exclusive with I(definition).
    type: str
  dropin:
    description:
      - Write the definition as this drop-in, C(NAME.toml.d/DROPIN), instead of the main
        file C(NAME.toml). It is merged after the main file (see berth.toml(5)).
      - With I(state=absent), only this drop-in is removed.
    type: str
  state:
    description:
      - V(present) puts the file in place and applies the container; V(started) also starts
        it when it is not running (with autostart off as well); V(stopped) puts the file in
        place without applying and stops the container; V(restarted) applies and restarts it
        unless the apply just started or restarted it; V(absent)
        removes its definition file and drop-in directory from I(config_dir), then applies it,
        which stops it when it runs (with I(dropin), only that drop-in is removed and the
        container applied).
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  enabled:
    description:
      - Autostart, through C(berth enable) or C(berth disable), which write berth's own
        drop-in C(NAME.toml.d/50-berth-enable.toml). Unset leaves autostart as defined.
    type: bool
  apply:
    description:
      - Run C(berth apply NAME) after the file changed or not, so that the container matches
        its definition. V(false) only writes the file (C(berth.path) may still apply it).
    type: bool
    default: true
  config_dir:
    description:
      - The directory the files are written to.
    type: path
    default: /etc/berth/containers
  containers_path:
    description:
      - berth's search path, C(:)-separated, highest priority first; berth's default when
        unset. I(config_dir) should be in it.
    type: str
  berth:
    description:
      - The berth binary; found on PATH (and in C(/usr/local/bin), C(/usr/bin)) when unset.
    type: path
notes:
  - Containers berth did not start are never touched by C(berth apply).
  - A drop-in with a later name, or one in a higher directory of the search path, can still
    override what this module writes; C(berth show NAME) shows where each value comes from.
seealso:
  - module: berth.host.berth_info
  - module: berth.host.berth_image
'''

EXAMPLES = r'''
- name: A web server, started at boot and now
  berth.host.berth_container:
    name: web
    definition:
      description: Static web server
      autostart: true
      exec:
        command: [/usr/bin/python3, -m, http.server, "8080"]
      resources:
        memory_max: 256M
        tasks_max: 64

- name: Its memory limit in a drop-in (updated in place, no restart)
  berth.host.berth_container:
    name: web
    dropin: 40-ansible-resources.toml
    definition:
      resources:
        memory_max: 512M

- name: A definition given as TOML
  berth.host.berth_container:
    name: cache
    toml: |
      autostart = true
      [exec]
      command = ["/usr/bin/redis-server"]

- name: What would change (check mode predicts, diff shows the file and the plan)
  berth.host.berth_container:
    name: web
    definition:
      autostart: true
      exec:
        command: [/usr/bin/python3, -m, http.server, "8081"]
  check_mode: true
  diff: true
  register: web

- name: Restart it
  berth.host.berth_container:
    name: web
    state: restarted

- name: Gone
  berth.host.berth_container:
    name: cache
    state: absent
'''

RETURN = r'''
name:
  description: The container.
  returned: always
  type: str
  sample: web
path:
  description: The file the module manages.
  returned: always
  type: str
  sample: /etc/berth/containers/web.toml
file_changed:
  description: The file was (in check mode, would be) written or removed.
  returned: always
  type: bool
  sample: true
plan:
  description:
    - The container's entries of C(berth apply --json)'s plan (in check mode, of C(--dry-run)),
      as berth(1) documents them; empty when nothing was applied.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web
      action: update
      reason: in place, no restart
      changes:
        - key: resources.memory_max
          old: '"256M"'
          new: '"512M"'
      properties: {}
      errors: []
      warnings: []
results:
  description: What C(berth apply) and the start, stop or restart did, as C(berth apply --json)'s results.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web
      action: update
      ok: true
      message: updated berth-web.scope in place
      error: null
      warnings: []
actions:
  description: The berth commands that changed something, or would have in check mode.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/berth/containers/web.toml", "apply web"]
status:
  description:
    - C(berth status --json NAME) after the task (in check mode, as it is now), as berth(1)
      documents it; C(state), C(leader), C(memory_limit), C(unit) and more. Null when berth
      knows no such container (no definition, not running), as after I(state=absent).
  returned: always
  type: dict
  sample:
    name: web
    state: running
    unit: berth-web.scope
    leader: 4242
    memory_limit: 268435456
errors:
  description: berth check's errors, when the definition is invalid.
  returned: failure
  type: list
  elements: dict
  sample:
    - message: "invalid value for `exec.command`: found a string"
      key: exec.command
      file: /etc/berth/containers/.web.toml.1x2y.tmp
      line: 3
      column: 11
      expected: "a non-empty list of strings: the program and its arguments"
      help: null
'''

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.berth.host.plugins.module_utils.berth import (
    ENABLE_DROPIN,
    HEADER,
    BerthError,
    BerthRunner,
    CandidateTree,
    enable_dropin_text,
    file_diff,
    plan_changes,
    plan_entries,
    plan_text,
    read_text,
    render_toml,
    search_dirs,
    valid_dropin,
    valid_name,
    write_temp,
)


def desired_text(params):
    if params['definition'] is not None:
        header = HEADER.format(module='berth.host.berth_container')
        return render_toml(params['definition'], header=header)
    if params['toml'] is not None:
        text = params['toml']
        return text if text.endswith('\n') else text + '\n'
    return None


def has_main_file(name, containers_path):
    return any(os.path.exists(os.path.join(d, '%s.toml' % name))
               for d in search_dirs(containers_path))


def running(status):
    return bool(status) and status.get('state') == 'running'


class Container:
    def __init__(self, module):
        self.module = module
        p = module.params
        self.p = p
        self.name = p['name']
        self.runner = BerthRunner(module, p['berth'], p['containers_path'])
        if p['dropin']:
            self.rel = os.path.join('%s.toml.d' % self.name, p['dropin'])
        else:
            self.rel = '%s.toml' % self.name
        self.place = self.rel if p['dropin'] else self.name
        self.path = os.path.join(p['config_dir'], self.rel)
        self.dropin_dir = os.path.join(p['config_dir'], '%s.toml.d' % self.name)
        self.result = {'changed': False, 'name': self.name, 'path': self.path, 'file_changed': False,
                       'plan': [], 'results': [], 'actions': []}
        self.diffs = []

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.result['status'] = self.runner.status(self.name)
        self.module.fail_json(msg=msg, **self.result)

    def did(self, action):
        self.result['actions'].append(action)
        self.result['changed'] = True

    def record_apply(self, data):
        entries = plan_entries(data, self.name)
        self.result['plan'].extend(entries)
        self.result['results'].extend(r for r in data.get('results') or [] if r.get('name') == self.name)
        if plan_changes(entries):
            self.did('apply %s' % self.name)
        return entries

    def apply(self, dry_run=False, containers_path=None):
        rc, data, err = self.runner.apply([self.name], dry_run=dry_run, containers_path=containers_path)
        entries = self.record_apply(data)
        if rc != 0 or data.get('failed'):
            problems = [plan_text(entries).strip()]
            problems += [r.get('error') for r in data.get('results') or [] if r.get('error')]
            problems += [e.get('message') for e in data.get('errors') or []]
            verb = 'apply --dry-run' if dry_run else 'apply'
            why = '; '.join(p for p in problems if p) or err.strip()
            self.fail('berth %s %s failed: %s' % (verb, self.name, why), stderr=err)
        return entries

    # ------------------------------------------------------------ present and friends

    def converge(self):
        p = self.p
        text = desired_text(p)
        before = read_text(self.path)
        status = self.runner.status(self.name)
        if text is not None and text != before:
            self.result['file_changed'] = True
            self.diffs.append(file_diff(self.path, before, text))
        if self.module.check_mode:
            self.predict(text, status)
        else:
            self.carry_out(text, status)

    def predict(self, text, status):
        p = self.p
        if p['dropin'] and not has_main_file(self.name, p['containers_path']):
            # In check mode a main file written by an earlier task is not there: the drop-in
            # cannot be checked against it, nor the container planned.
            self.module.warn('check mode: %s has no main file yet, so its drop-in %s is neither checked '
                             'nor planned' % (self.name, p['dropin']))
            if self.result['file_changed']:
                self.did('write %s' % self.path)
            return
        tree = CandidateTree(p['containers_path'], p['config_dir'], self.name)
        try:
            if self.result['file_changed']:
                candidate = tree.put(self.rel, text)
                self.validate(candidate)
                self.result['actions'].append('write %s' % self.path)
                self.result['changed'] = True
            if p['enabled'] is not None:
                shown = self.runner.show(self.name, containers_path=tree.search_path)
                if shown is None or shown.get('definition', {}).get('autostart') != p['enabled']:
                    tree.put(os.path.join('%s.toml.d' % self.name, ENABLE_DROPIN), enable_dropin_text(p['enabled']))
                    self.did('%s %s' % ('enable' if p['enabled'] else 'disable', self.name))
            entries = []
            if p['apply'] and p['state'] != 'stopped':
                entries = self.apply(dry_run=True, containers_path=tree.search_path)
            self.predict_state(status, entries)
        finally:
            tree.cleanup()

    def predict_state(self, status, entries):
        state = self.p['state']
        actions = [e.get('action') for e in entries]
        if state == 'started' and not running(status) and 'start' not in actions:
            self.did('start %s' % self.name)
        elif state == 'stopped' and running(status):
            self.did('stop %s' % self.name)
        elif state == 'restarted' and not ({'start', 'restart'} & set(actions)):
            self.did('restart %s' % self.name)

    def validate(self, candidate):
        report = self.runner.check_as(self.place, candidate)
        if report is not None:
            self.fail('%s is invalid, left as it was: %s' % (self.path, report['text']),
                      errors=report['errors'])

    def carry_out(self, text, status):
        p = self.p
        if self.result['file_changed']:
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            candidate = write_temp(directory, os.path.basename(self.path), text)
            try:
                self.validate(candidate)
                # Checked as it is: the same bytes are renamed into place.
                os.replace(candidate, self.path)
            finally:
                if os.path.exists(candidate):
                    os.unlink(candidate)
            self.did('write %s' % self.path)
        if p['enabled'] is not None:
            shown = self.runner.show(self.name)
            if shown is None or shown.get('definition', {}).get('autostart') != p['enabled']:
                verb = 'enable' if p['enabled'] else 'disable'
                self.runner.run([verb, self.name], check_rc=True)
                self.did('%s %s' % (verb, self.name))
        entries = []
        if p['apply'] and p['state'] != 'stopped':
            entries = self.apply()
        actions = [e.get('action') for e in entries]
        now = self.runner.status(self.name)
        state = p['state']
        if state == 'started' and not running(now):
            self.runner.run(['start', self.name], check_rc=True)
            self.did('start %s' % self.name)
        elif state == 'stopped' and running(now):
            self.runner.run(['stop', self.name], check_rc=True)
            self.did('stop %s' % self.name)
        elif state == 'restarted' and not ({'start', 'restart'} & set(actions)):
            self.runner.run(['restart', self.name], check_rc=True)
            self.did('restart %s' % self.name)

    # ------------------------------------------------------------ absent

    def remove(self):
        p = self.p
        before = read_text(self.path)
        status = self.runner.status(self.name)
        whole = not p['dropin']
        dropins_left = whole and os.path.isdir(self.dropin_dir)
        if before is not None or os.path.islink(self.path):
            self.result['file_changed'] = True
            self.diffs.append(file_diff(self.path, before, None))
        if dropins_left:
            self.result['file_changed'] = True
            for f in sorted(os.listdir(self.dropin_dir)):
                full = os.path.join(self.dropin_dir, f)
                if os.path.isfile(full):
                    self.diffs.append(file_diff(full, read_text(full), None))
        # berth apply stops a running container whose definition is gone, and updates one
        # whose drop-in is; a container that is not running and
        # has no definition left is nothing to apply (berth would refuse the name).
        apply = p['apply'] and (running(status) if whole else self.result['file_changed'])
        if self.module.check_mode:
            if self.result['file_changed']:
                self.result['actions'].append('remove %s' % self.path)
                self.result['changed'] = True
            if apply:
                tree = CandidateTree(p['containers_path'], p['config_dir'], self.name)
                try:
                    tree.remove(self.rel)
                    if whole:
                        tree.remove('%s.toml.d' % self.name)
                    self.apply(dry_run=True, containers_path=tree.search_path)
                finally:
                    tree.cleanup()
            return
        if before is not None or os.path.islink(self.path):
            os.unlink(self.path)
            self.did('remove %s' % self.path)
        if dropins_left:
            shutil.rmtree(self.dropin_dir)
            self.did('remove %s' % self.dropin_dir)
        if apply:
            rc, data, err = self.runner.apply([self.name])
            self.record_apply(data)
            # An apply of berth.path's may have stopped it meanwhile, and then berth refuses
            # the name, which has neither a definition nor a running container any more.
            if (rc != 0 or data.get('failed')) and (not whole or running(self.runner.status(self.name))):
                self.fail('berth apply %s failed: %s' % (self.name, plan_text(self.result['plan']).strip()
                                                         or err.strip()), stderr=err)

    def finish(self):
        if self.module._diff:
            prepared = plan_text(self.result['plan'])
            diff = list(self.diffs)
            if prepared:
                diff.append({'prepared': 'berth apply%s %s:\n%s' % (
                    ' --dry-run' if self.module.check_mode else '', self.name, prepared)})
            if diff:
                self.result['diff'] = diff
        self.result['status'] = self.runner.status(self.name)
        self.module.exit_json(**self.result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            definition=dict(type='dict'),
            toml=dict(type='str'),
            dropin=dict(type='str'),
            state=dict(type='str', default='present',
                       choices=['present', 'absent', 'started', 'stopped', 'restarted']),
            enabled=dict(type='bool'),
            apply=dict(type='bool', default=True),
            config_dir=dict(type='path', default='/etc/berth/containers'),
            containers_path=dict(type='str'),
            berth=dict(type='path'),
        ),
        mutually_exclusive=[('definition', 'toml')],
        supports_check_mode=True,
    )
    p = module.params
    if not valid_name(p['name']):
        module.fail_json(msg='%r is not a container name berth accepts' % p['name'])
    if p['dropin'] is not None and not valid_dropin(p['dropin']):
        module.fail_json(msg='dropin %r must be a file name ending in .toml' % p['dropin'])
    if p['state'] == 'absent' and (p['definition'] is not None or p['toml'] is not None):
        module.fail_json(msg='state=absent takes no definition or toml')
    try:
        c = Container(module)
        if p['state'] == 'absent':
            c.remove()
        else:
            c.converge()
        c.finish()
    except BerthError as e:
        module.fail_json(msg=e.msg, **e.result)
    except ValueError as e:
        module.fail_json(msg='definition: %s' % to_native(e))


if __name__ == '__main__':
    main()
