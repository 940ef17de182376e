# tests/vm/pycache/usercustomize.py - a compile cache for the Ansible modules
# that the fleet test (tests/kernel/lib/lib-fleet.sh) runs in the VM: with
# PYTHONPATH=tests/vm/pycache, Python loads this at start-up.
#
# An Ansible module arrives as a zip of Python sources (AnsiballZ), which
# Python compiles on every run: about 2.5 s of the emulated CPU per module run
# (ansible.module_utils.basic and what it imports), half of the run. Here the
# code compiled from a zip is kept in GATEWAYCTL_PYCACHE (default
# /tmp/gwt-pycache, the VM's own tmpfs), keyed by the file's path in the zip
# and its source: the same source gives the same code, so the modules run the
# same way, only sooner.
import hashlib
import marshal
import os
import sys
import zipimport

_DIR = os.environ.get("GATEWAYCTL_PYCACHE", "/tmp/gwt-pycache")
_compile = zipimport._compile_source


def _cached_compile(pathname, source):
    inner = pathname.split(".zip" + os.sep, 1)[-1]
    key = hashlib.sha256(inner.encode() + b"\0" + source).hexdigest()
    path = os.path.join(_DIR, "%s-%s.code" % (sys.implementation.cache_tag, key))
    try:
        with open(path, "rb") as f:
            return marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = _compile(pathname, source)
    try:
        os.makedirs(_DIR, mode=0o700, exist_ok=True)
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "wb") as f:
            marshal.dump(code, f)
        os.replace(tmp, path)
    except OSError:
        pass
    return code


zipimport._compile_source = _cached_compile
