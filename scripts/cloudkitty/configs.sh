# shellcheck shell=bash
# Sourced by ../cloudkitty-up.sh: writes the InfluxDB, CloudKitty (and Keystone) configs under $STATE.
write_configs() {
  mkdir -p "$STATE"/{pids,log,influx/meta,influx/data,influx/wal,policy.d,lock}
  cat >"$STATE/influxdb.conf" <<EOF
reporting-enabled = false
bind-address = "$HOST:$CK_INFLUX_RPC_PORT"
[meta]
  dir = "$STATE/influx/meta"
[data]
  dir = "$STATE/influx/data"
  wal-dir = "$STATE/influx/wal"
  query-log-enabled = false
  # CloudKitty tags every point with its resource (id): past 100,000 of them (the default) InfluxDB refuses
  # the write and CloudKitty answers 500, which the 100,000-project bench met. Unlimited, as a large cloud sets it.
  max-values-per-tag = 0
[monitor]
  store-enabled = false
[http]
  bind-address = "$HOST:$CK_INFLUX_PORT"
  log-enabled = false
[ifql]
  enabled = false
EOF
  cat >"$STATE/api_paste.ini" <<'EOF'
[pipeline:cloudkitty+noauth]
pipeline = cors healthcheck http_proxy_to_wsgi request_id ck_api

[pipeline:cloudkitty+keystone]
pipeline = cors healthcheck http_proxy_to_wsgi request_id authtoken ck_api

[app:ck_api]
paste.app_factory = cloudkitty.api.app:app_factory

[filter:authtoken]
acl_public_routes = /, /v1, /v2, /healthcheck
paste.filter_factory = cloudkitty.api.middleware:AuthTokenMiddleware.factory

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:cors]
paste.filter_factory =  oslo_middleware.cors:filter_factory
oslo_config_project = cloudkitty

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = /nonexistent/cloudkitty_healthcheck_disable

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory
oslo_config_project = cloudkitty
EOF
  cat >"$STATE/cloudkitty.conf" <<EOF
[DEFAULT]
auth_strategy = $CK_AUTH
api_paste_config = $STATE/api_paste.ini
log_dir = $STATE/log
transport_url = fake://
[database]
connection = sqlite:///$STATE/cloudkitty.sqlite
[storage]
version = 2
backend = influxdb
[storage_influxdb]
host = $HOST
port = $CK_INFLUX_PORT
database = $CK_DB_NAME
[oslo_policy]
policy_dirs = $STATE/policy.d
[oslo_concurrency]
lock_path = $STATE/lock
EOF
  if [ "$CK_AUTH" = keystone ]; then
    mkdir -p "$STATE"/ks/{fernet-keys,credential-keys}
    cat >"$STATE/keystone.conf" <<EOF
[DEFAULT]
log_dir = $STATE/log
log_file = keystone.log
[database]
connection = sqlite:///$STATE/ks/keystone.sqlite
[fernet_tokens]
key_repository = $STATE/ks/fernet-keys
[fernet_receipts]
key_repository = $STATE/ks/fernet-keys
[credential]
key_repository = $STATE/ks/credential-keys
[token]
provider = fernet
expiration = 86400
[identity]
password_hash_rounds = 4
[cache]
enabled = false
EOF
    CK_SERVICE_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
    cat >>"$STATE/cloudkitty.conf" <<EOF
[keystone_authtoken]
www_authenticate_uri = http://$HOST:$CK_KEYSTONE_PORT
auth_url = http://$HOST:$CK_KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = cloudkitty
password = $CK_SERVICE_PASSWORD
region_name = RegionOne
EOF
  fi
}

