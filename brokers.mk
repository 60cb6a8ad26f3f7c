# Local message brokers for mqcli (Apache Kafka 4 + RabbitMQ), included by the
# main Makefile. Scripts and docs: brokers/ (see brokers/README.md).
# State (jars, data, TLS files, logs) lives in .brokers/ (git-ignored).
#
#   make brokers         install what is missing, start them all (Kafka, RabbitMQ,
#                        the schema registry, Keycloak, the registry with auth), wait until ready
#   make brokers-stop    stop both (data kept)
#   make brokers-status  show whether each broker accepts clients
#   make brokers-check   end-to-end smoke test of every listener
#   make brokers-clean   stop both and delete .brokers/ (data, certs, jars)
#   make rabbitmq-node2  a second, independent RabbitMQ node on 5682 (fault tests)
#   make rabbitmq-cluster  a three-node RabbitMQ cluster on 5791-5793 (fault tests)

# Don't let including this file change the includer's default goal.
BROKERS_SAVED_GOAL := $(.DEFAULT_GOAL)

# Directory of this file, so it works whatever the including Makefile is.
BROKERS_HOME := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BROKERS_DIR := $(BROKERS_HOME)/brokers
# Seconds each broker may take to accept clients before `make brokers` fails.
BROKER_TIMEOUT ?= 120
# JVM heap of the Kafka broker.
KAFKA_HEAP_OPTS ?= -Xms256m -Xmx512m

BROKERS_ENV = BROKER_TIMEOUT='$(BROKER_TIMEOUT)' KAFKA_HEAP_OPTS='$(KAFKA_HEAP_OPTS)'

.PHONY: brokers brokers-deps brokers-tls brokers-stop brokers-status \
        brokers-check brokers-clean kafka-start kafka-stop rabbitmq-start rabbitmq-stop registry-start registry-stop \
        registry-auth-start registry-auth-stop registry-auth-status \
        keycloak-start keycloak-stop keycloak-status \
        kafka-cluster kafka-cluster-stop kafka-cluster-status \
        rabbitmq-node2 rabbitmq-node2-stop rabbitmq-node2-status \
        rabbitmq-cluster rabbitmq-cluster-stop rabbitmq-cluster-status

brokers: brokers-deps
	@$(BROKERS_ENV) $(BROKERS_DIR)/up.sh

brokers-deps:
	@$(BROKERS_DIR)/deps.sh

brokers-tls: brokers-deps
	@$(BROKERS_DIR)/tls.sh

brokers-stop:
	@$(BROKERS_DIR)/kafka.sh stop
	@if [ -x /usr/lib/rabbitmq/bin/rabbitmqctl ]; then $(BROKERS_DIR)/rabbitmq.sh stop; fi
	@$(BROKERS_DIR)/registry.sh stop
	@$(BROKERS_DIR)/registry-auth.sh stop
	@$(BROKERS_DIR)/keycloak.sh stop

brokers-status:
	@rc=0; $(BROKERS_DIR)/kafka.sh status || rc=1; $(BROKERS_DIR)/rabbitmq.sh status || rc=1; \
	  $(BROKERS_DIR)/registry.sh status || rc=1; $(BROKERS_DIR)/keycloak.sh status || rc=1; \
	  $(BROKERS_DIR)/registry-auth.sh status || rc=1; exit $$rc

brokers-check: brokers
	@$(BROKERS_DIR)/check.sh

brokers-clean: brokers-stop rabbitmq-node2-stop rabbitmq-cluster-stop
	rm -rf $(BROKERS_HOME)/.brokers

kafka-start: brokers-deps
	@$(BROKERS_ENV) $(BROKERS_DIR)/kafka.sh start
kafka-stop:
	@$(BROKERS_DIR)/kafka.sh stop
rabbitmq-start: brokers-deps
	@$(BROKERS_ENV) $(BROKERS_DIR)/rabbitmq.sh start
rabbitmq-stop:
	@$(BROKERS_DIR)/rabbitmq.sh stop
# Apicurio Registry (Confluent-compatible API, in memory) on 127.0.0.1:8081.
registry-start: brokers-deps
	@BROKER_TIMEOUT='$(BROKER_TIMEOUT)' $(BROKERS_DIR)/registry.sh start
registry-stop:
	@$(BROKERS_DIR)/registry.sh stop
# A second Apicurio WITH authentication (Keycloak realm mqcli, roles sr-*) on 127.0.0.1:8083,
# for the registry credential tests; needs Keycloak running (applies the realm file to it).
registry-auth-start: brokers-deps
	@BROKER_TIMEOUT='$(BROKER_TIMEOUT)' $(BROKERS_DIR)/registry-auth.sh start
registry-auth-stop:
	@$(BROKERS_DIR)/registry-auth.sh stop
registry-auth-status:
	@$(BROKERS_DIR)/registry-auth.sh status
# Keycloak (OIDC identity provider for the OAuth tests, realm mqcli) on 127.0.0.1:8180.
# kafka.sh starts it too: Kafka's OAUTHBEARER listener needs its JWKS to start.
keycloak-start: brokers-deps
	@BROKER_TIMEOUT='$(BROKER_TIMEOUT)' $(BROKERS_DIR)/keycloak.sh start
keycloak-stop:
	@$(BROKERS_DIR)/keycloak.sh stop
keycloak-status:
	@$(BROKERS_DIR)/keycloak.sh status

# A 3-node KRaft cluster (127.0.0.1:19092-19094, controllers 19095-19097,
# state in .brokers/cluster/) for the cluster fault tests; the same jars.
# brokers/kafka-cluster.sh also has `kill NODE` and `stop NODE`.
kafka-cluster: brokers-deps
	@BROKER_TIMEOUT='$(BROKER_TIMEOUT)' $(BROKERS_DIR)/kafka-cluster.sh start
kafka-cluster-stop:
	@$(BROKERS_DIR)/kafka-cluster.sh stop
kafka-cluster-status:
	@$(BROKERS_DIR)/kafka-cluster.sh status

# A second RabbitMQ node, not clustered with the first (rabbit2@localhost,
# AMQP 127.0.0.1:5682, no TLS, state in .brokers/rabbitmq-node2/) for the
# failover fault tests; tests/reliability starts and stops it itself.
rabbitmq-node2: brokers-deps
	@$(BROKERS_ENV) $(BROKERS_DIR)/rabbitmq-node2.sh start
rabbitmq-node2-stop:
	@if [ -x /usr/lib/rabbitmq/bin/rabbitmqctl ]; then $(BROKERS_DIR)/rabbitmq-node2.sh stop; fi
rabbitmq-node2-status:
	@$(BROKERS_DIR)/rabbitmq-node2.sh status

# A three-node RabbitMQ cluster (cluster1..3@localhost, AMQP 127.0.0.1:5791-5793,
# no TLS, state in .brokers/rabbitmq-cluster-nodeN/), joined with
# `rabbitmqctl join_cluster`, for the cluster fault tests; tests/reliability
# starts it itself. brokers/rabbitmq-cluster.sh also has `kill NODE`, `stop NODE`.
rabbitmq-cluster: brokers-deps
	@BROKER_TIMEOUT='$(BROKER_TIMEOUT)' $(BROKERS_DIR)/rabbitmq-cluster.sh start
rabbitmq-cluster-stop:
	@if [ -x /usr/lib/rabbitmq/bin/rabbitmqctl ]; then $(BROKERS_DIR)/rabbitmq-cluster.sh stop; fi
rabbitmq-cluster-status:
	@$(BROKERS_DIR)/rabbitmq-cluster.sh status

.DEFAULT_GOAL := $(BROKERS_SAVED_GOAL)
