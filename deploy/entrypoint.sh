#!/bin/sh
# ipbridge container entrypoint.
#   serve [SERVICE]        run one service (default: $SERVICE)      -- the default command
#   migrate [SERVICE|all]  apply Alembic migrations (default: all)  -- one-shot job
#   topics                 create the catalogue topics and DLQs     -- one-shot job
#   cli ARGS...            any other `python -m shared.cli` command (outbox, asyncapi, ...)
#   anything else          exec'd as is (e.g. `sh`)
set -eu

cmd="${1:-serve}"
if [ "$#" -gt 0 ]; then shift; fi

case "$cmd" in
  serve)
    exec python -m shared.cli serve "${1:-${SERVICE:?set SERVICE to registry|financing|matching|rewards}}"
    ;;
  migrate)
    if [ "$#" -eq 0 ]; then set -- all; fi
    exec python -m shared.cli migrate "$@"
    ;;
  topics)
    exec python -m shared.cli topics "$@"
    ;;
  cli)
    exec python -m shared.cli "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
