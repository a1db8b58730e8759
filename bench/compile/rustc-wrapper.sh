#!/bin/sh
# RUSTC_WRAPPER for the compile-cost scratch workspace (set for every cargo call there, so
# cargo's fingerprints never change between measuring runs).
#
# When BITRIX_TIME_PASSES names a crate, that crate alone is compiled with -Ztime-passes and
# RUSTC_BOOTSTRAP=1: RUSTC_BOOTSTRAP is used only to read rustc's pass timings. Setting it on
# the cargo command instead would rebuild proc-macro2 and everything above it (its build
# script reruns when RUSTC_BOOTSTRAP changes) and could switch on nightly-only code paths.
if [ -n "${BITRIX_TIME_PASSES:-}" ]; then
    case " $* " in
        *" --crate-name $BITRIX_TIME_PASSES "*)
            RUSTC_BOOTSTRAP=1 exec "$@" -Ztime-passes
            ;;
    esac
fi
exec "$@"
