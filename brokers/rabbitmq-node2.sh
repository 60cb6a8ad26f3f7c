#!/usr/bin/env bash
# A second, independent RabbitMQ node (not clustered with the first) for the
# fault tests that stop a broker: host failover of a profile with several
# hosts, and restarts under rpc call / delay publish, without touching the
# shared node on 5672.
#
#   node        rabbit2@localhost
#   AMQP        127.0.0.1:5682 (guest/guest, vhost /; no TLS listener)
#   management  http://127.0.0.1:15682/
#   Erlang dist 127.0.0.1:25682 (the first node uses 25672; epmd is shared)
#   state       .brokers/rabbitmq-node2/, logs .brokers/logs/rabbitmq-node2*.log
#
# Same commands as brokers/rabbitmq.sh: start|stop|restart|status|ctl ARGS.
set -euo pipefail

export RABBIT_INSTANCE=rabbitmq-node2
export RABBIT_AMQP_PORT=5682
export RABBIT_AMQPS_PORT=
export RABBIT_HTTP_PORT=15682
export RABBITMQ_NODENAME=rabbit2@localhost
export RABBITMQ_DIST_PORT=25682
# rabbitmqctl's own distribution ports: clear of the first node's (35672-35682).
export RABBITMQ_CTL_DIST_PORT_MIN=35692
export RABBITMQ_CTL_DIST_PORT_MAX=35702
exec "$(dirname "${BASH_SOURCE[0]}")/rabbitmq.sh" "$@"
