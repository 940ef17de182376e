#!/usr/bin/python3
"""Check every site file of a network together, on the control node.

Reads from stdin a JSON document {"sites": [{"name": NAME, "ini": TEXT,
"psks": {PEER: KEY}}]} whose site files name their PSK files as
@SCRATCH@/NAME/PEER.psk, writes everything into a scratch directory (PSK
files mode 0600), runs GATEWAYCTL check on all the site files at once, prints
its output, removes the directory and exits with check's status. One process
for the whole network: an Ansible task per file would cost a module run each.

Usage: crosscheck.py GATEWAYCTL < payload.json
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    gatewayctl = sys.argv[1]
    payload = json.load(sys.stdin)
    scratch = tempfile.mkdtemp(prefix="gatewayctl-check.")
    try:
        files = []
        for site in payload["sites"]:
            d = os.path.join(scratch, site["name"])
            os.mkdir(d, 0o700)
            for peer, key in site.get("psks", {}).items():
                fd = os.open(os.path.join(d, peer + ".psk"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(key.strip() + "\n")
            path = os.path.join(scratch, site["name"] + ".ini")
            with open(path, "w") as f:
                f.write(site["ini"].replace("@SCRATCH@", scratch))
            os.chmod(path, 0o644)
            files.append(path)
        r = subprocess.run([gatewayctl, "check"] + files, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, check=False)
        # the scratch directory's name means nothing to the reader
        sys.stdout.write(r.stdout.replace(scratch + "/", ""))
        return r.returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
