# shellcheck shell=bash
# Sourced by ../cloudkitty-up.sh when CK_HEAT=1: a real Heat (heat-engine + heat-api, Debian's packages) on
# loopback behind the same Keystone, registered as its `orchestration` service. Its RPC goes through the
# machine's RabbitMQ, in a vhost of its own: heat-engine's queue is always named `engine`, so two Heats on one
# vhost (parallel runs) would answer each other's calls from different databases.
CK_RABBIT_URL=${CK_RABBIT_URL:-rabbit://guest:guest@127.0.0.1:5672}
rabbitmqctl() { PATH="$PATH:/usr/sbin:/sbin" command rabbitmqctl "$@"; }

heat_vhost() { echo "bridge-heat-$(basename "$STATE")"; }

write_heat_config() {
  local vhost heat_password
  vhost=$(heat_vhost)
  heat_password=$1
  mkdir -p "$STATE"/heat/{lock,templates,environment.d}
  # rpc_response_timeout: heat-api waits this long for its one engine worker. The default 60 s was seen to run
  # out on a loaded machine (four stacks created at once, load 20 on 2 cores): a 500 MessagingTimeout to POST /stacks.
  cat >"$STATE/heat.conf" <<EOF
[DEFAULT]
log_dir = $STATE/log
rpc_response_timeout = 300
transport_url = $CK_RABBIT_URL/$vhost
num_engine_workers = 1
host = bridge-heat-$CK_HEAT_PORT
region_name_for_services = RegionOne
template_dir = $STATE/heat/templates
environment_dir = $STATE/heat/environment.d
[database]
connection = sqlite:///$STATE/heat/heat.sqlite
[heat_api]
bind_host = $HOST
bind_port = $CK_HEAT_PORT
workers = 1
[paste_deploy]
api_paste_config = /etc/heat/api-paste.ini
[oslo_messaging_notifications]
driver = noop
[oslo_concurrency]
lock_path = $STATE/heat/lock
[clients_keystone]
auth_uri = http://$HOST:$CK_KEYSTONE_PORT
[keystone_authtoken]
www_authenticate_uri = http://$HOST:$CK_KEYSTONE_PORT
auth_url = http://$HOST:$CK_KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = heat
password = $heat_password
region_name = RegionOne
[trustee]
auth_type = password
auth_url = http://$HOST:$CK_KEYSTONE_PORT
username = heat
password = $heat_password
user_domain_name = Default
EOF
}

# Needs Keystone up and KS_TOKEN set (start_keystone).
start_heat() {
  local t0 heat_password heat_user admin_role svc_proj svc iface vhost pid
  t0=$(now)
  vhost=$(heat_vhost)
  rabbitmqctl add_vhost "$vhost" >"$STATE/log/rabbitmq-vhost.out" 2>&1 || die "could not add RabbitMQ vhost $vhost (is RabbitMQ running at $CK_RABBIT_URL?)"
  echo "$vhost" >"$STATE/pids/rabbitmq.vhost"
  rabbitmqctl set_permissions -p "$vhost" guest '.*' '.*' '.*' >>"$STATE/log/rabbitmq-vhost.out" 2>&1
  heat_password=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
  write_heat_config "$heat_password"
  heat-manage --config-file "$STATE/heat.conf" db_sync >"$STATE/log/heat-manage.out" 2>&1
  "$PY" -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$STATE/heat/heat.sqlite"
  svc_proj=$(ks_call GET '/projects?name=service' | json_get projects.0.id)
  heat_user=$(ks_call POST /users "{\"user\":{\"name\":\"heat\",\"domain_id\":\"default\",\"password\":\"$heat_password\"}}" | json_get user.id)
  admin_role=$(ks_call GET '/roles?name=admin' | json_get roles.0.id)
  ks_call PUT "/projects/$svc_proj/users/$heat_user/roles/$admin_role" >/dev/null
  svc=$(ks_call POST /services '{"service":{"name":"heat","type":"orchestration","description":"Orchestration"}}' | json_get service.id)
  for iface in public internal admin; do
    ks_call POST /endpoints "{\"endpoint\":{\"service_id\":\"$svc\",\"interface\":\"$iface\",\"region_id\":\"RegionOne\",\"url\":\"http://$HOST:$CK_HEAT_PORT/v1/%(project_id)s\"}}" >/dev/null
  done
  log "heat: vhost, db_sync, user and 'orchestration' endpoints took $(elapsed "$t0")s"
  t0=$(now)
  start_bg heat-engine "$STATE/log/heat-engine-stdout.log" heat-engine --config-file "$STATE/heat.conf" >/dev/null
  pid=$(start_bg heat-api "$STATE/log/heat-api-stdout.log" heat-api --config-file "$STATE/heat.conf")
  wait_http "http://$HOST:$CK_HEAT_PORT/" 300 heat-api "$pid"
}

stop_heat_vhost() {  # stop_heat_vhost STATE_DIR
  local vhost
  [ -f "$1/pids/rabbitmq.vhost" ] || return 0
  vhost=$(cat "$1/pids/rabbitmq.vhost")
  rabbitmqctl delete_vhost "$vhost" >/dev/null 2>&1 || log "could not delete RabbitMQ vhost $vhost"
}
