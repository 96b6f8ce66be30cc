#!/usr/bin/env bash
# The batch sizes a test sweeps (lit's %sweep): all of its arguments, or,
# in the sanitizer builds' suite (HEED_TEST_SANITIZED=1), the first and the
# last. There each run's compile takes seconds under ASan and the runtime
# code it reaches is the same at every size; the Release suite and the
# differential tester run every size.
if [ -n "${HEED_TEST_SANITIZED:-}" ] && [ $# -gt 2 ]; then
  echo "$1" "${@: -1}"
else
  echo "$@"
fi
