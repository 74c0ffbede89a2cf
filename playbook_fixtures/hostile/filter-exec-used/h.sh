#!/bin/sh
# a program an inventory must never be able to run: leaves a marker where the test can see it
touch "${KS2T_HOSTILE_MARKER:-/tmp/ks2t-hostile-ran}"
echo '{}'
