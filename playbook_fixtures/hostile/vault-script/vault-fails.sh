#!/bin/sh
# a vault password script that fails (the secret store is locked)
echo "secret store locked" >&2
exit 3
