#!/usr/bin/env bash
# services.sh makes sure the real services the integration tests use are
# running on loopback, installing or starting each one only when it is
# missing or stopped, and writes their addresses to .cache/test.env:
#
#   PostgreSQL 127.0.0.1:5432   Mosquitto 127.0.0.1:1883
#   RabbitMQ   127.0.0.1:5672   versitygw (S3 over a folder), a free port
#
# versitygw is built from the Go module proxy at a pinned version into
# .cache/bin. Its keys are random, made on first start, and kept in .cache/s3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
root=$PWD

VERSITYGW_VERSION=v1.8.0

# PostgreSQL
if ! port_open 5432; then
	apt_install postgresql
	cluster=$(ls /etc/postgresql | sort -V | tail -n1)
	log "starting PostgreSQL $cluster"
	as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
	wait_port 5432 30 || die "PostgreSQL did not start on 127.0.0.1:5432"
fi
# The tests connect as postgres over TCP; make sure that works without a password.
if ! psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atc 'select 1' >/dev/null 2>&1; then
	die "cannot connect to PostgreSQL as postgres on 127.0.0.1:5432 without a password; allow trust on loopback in pg_hba.conf"
fi
psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atc "select 1 from pg_database where datname='test'" | grep -q 1 ||
	psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qc 'create database test'

# Mosquitto
if ! port_open 1883; then
	apt_install mosquitto
	log "starting Mosquitto"
	as_root mosquitto -d -c /etc/mosquitto/mosquitto.conf
	wait_port 1883 15 || die "Mosquitto did not start on 127.0.0.1:1883"
fi

# RabbitMQ
if ! port_open 5672; then
	apt_install rabbitmq-server
	log "starting RabbitMQ (takes a few seconds)"
	as_root rabbitmq-server -detached || true
	wait_port 5672 90 || die "RabbitMQ did not start on 127.0.0.1:5672"
fi

# versitygw: a real S3 server over a folder.
mkdir -p .cache/bin .cache/s3/data
if [[ ! -x .cache/bin/versitygw || $(cat .cache/bin/versitygw.version 2>/dev/null) != "$VERSITYGW_VERSION" ]]; then
	log "building versitygw $VERSITYGW_VERSION (a few minutes, once)"
	GOBIN=$root/.cache/bin CGO_ENABLED=0 go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
	echo "$VERSITYGW_VERSION" >.cache/bin/versitygw.version
fi
if [[ ! -f .cache/s3/keys ]]; then
	printf 'S3_ACCESS=%s\nS3_SECRET=%s\n' "$(od -An -tx1 -N10 /dev/urandom | tr -d ' \n')" "$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')" >.cache/s3/keys
fi
source .cache/s3/keys
s3_port=$(cat .cache/s3/port 2>/dev/null || true)
if [[ -z $s3_port ]] || ! port_open "$s3_port" || ! kill -0 "$(cat .cache/s3/pid 2>/dev/null || echo 0)" 2>/dev/null; then
	s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	log "starting versitygw on 127.0.0.1:$s3_port"
	nohup .cache/bin/versitygw --access "$S3_ACCESS" --secret "$S3_SECRET" --port "127.0.0.1:$s3_port" posix "$root/.cache/s3/data" >.cache/s3/log 2>&1 &
	echo $! >.cache/s3/pid
	echo "$s3_port" >.cache/s3/port
	wait_port "$s3_port" 20 || die "versitygw did not start (see .cache/s3/log)"
fi

cat >.cache/test.env <<ENV
CANOPY_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable
CANOPY_TEST_MQTT=tcp://127.0.0.1:1883
CANOPY_TEST_AMQP=amqp://guest:guest@127.0.0.1:5672/
CANOPY_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
CANOPY_TEST_S3_ACCESS_KEY=$S3_ACCESS
CANOPY_TEST_S3_SECRET_KEY=$S3_SECRET
ENV
log "services ready; addresses in .cache/test.env"
