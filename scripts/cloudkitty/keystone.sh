# shellcheck shell=bash
# Sourced by ../cloudkitty-up.sh: initialises and starts Keystone, registers the rating service.
KS=""
ks_call() {  # ks_call METHOD PATH [JSON]  -> body on stdout, dies on non-2xx
  local m=$1 path=$2 data=${3:-} code body
  body=$(mktemp "$STATE/ks.XXXXXX")
  if [ -n "$data" ]; then
    code=$(curl -s -o "$body" -w '%{http_code}' -X "$m" -H "X-Auth-Token: $KS_TOKEN" \
           -H 'Content-Type: application/json' -d "$data" "$KS$path")
  else
    code=$(curl -s -o "$body" -w '%{http_code}' -X "$m" -H "X-Auth-Token: $KS_TOKEN" "$KS$path")
  fi
  case $code in 2*) cat "$body"; rm -f "$body";; *) log "keystone $m $path -> $code: $(cat "$body")"; rm -f "$body"; return 1;; esac
}

start_keystone() {
  local t0 pid me mg
  KS="http://$HOST:$CK_KEYSTONE_PORT/v3"
  t0=$(now); me=$(id -un); mg=$(id -gn)
  keystone-manage --config-file "$STATE/keystone.conf" db_sync >>"$STATE/log/keystone-manage.out" 2>&1
  # SQLite default (rollback journal) makes POST /v3/services fail with
  # "database is locked"; WAL mode fixes it.
  "$PY" -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$STATE/ks/keystone.sqlite"
  keystone-manage --config-file "$STATE/keystone.conf" fernet_setup --keystone-user "$me" --keystone-group "$mg" >>"$STATE/log/keystone-manage.out" 2>&1
  keystone-manage --config-file "$STATE/keystone.conf" credential_setup --keystone-user "$me" --keystone-group "$mg" >>"$STATE/log/keystone-manage.out" 2>&1
  keystone-manage --config-file "$STATE/keystone.conf" bootstrap \
    --bootstrap-username admin --bootstrap-password "$CK_ADMIN_PASSWORD" \
    --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
    --bootstrap-public-url "$KS" --bootstrap-internal-url "$KS" --bootstrap-admin-url "$KS" \
    >>"$STATE/log/keystone-manage.out" 2>&1
  log "keystone db_sync+fernet+bootstrap took $(elapsed "$t0")s"
  t0=$(now)
  pid=$(OS_KEYSTONE_CONFIG_FILES="$STATE/keystone.conf" TZ=UTC \
        start_bg keystone "$STATE/log/keystone-stdout.log" \
        keystone-wsgi-public --host "$HOST" --port "$CK_KEYSTONE_PORT")
  wait_http "$KS" 200 keystone "$pid"

  KS_TOKEN=$(admin_token) || die "could not get an admin token"
  local svc_proj ck_user admin_role svc iface
  svc_proj=$(ks_call POST /projects '{"project":{"name":"service","domain_id":"default"}}' | json_get project.id)
  ck_user=$(ks_call POST /users "{\"user\":{\"name\":\"cloudkitty\",\"domain_id\":\"default\",\"password\":\"$CK_SERVICE_PASSWORD\"}}" | json_get user.id)
  admin_role=$(ks_call GET '/roles?name=admin' | json_get roles.0.id)
  ks_call PUT "/projects/$svc_proj/users/$ck_user/roles/$admin_role" >/dev/null
  svc=$(ks_call POST /services '{"service":{"name":"cloudkitty","type":"rating","description":"OpenStack Rating Service"}}' | json_get service.id)
  for iface in public internal admin; do
    ks_call POST /endpoints "{\"endpoint\":{\"service_id\":\"$svc\",\"interface\":\"$iface\",\"region_id\":\"RegionOne\",\"url\":\"http://$HOST:$CK_PORT\"}}" >/dev/null
  done
  log "keystone: service project, cloudkitty user, 'rating' service + endpoints registered"
}

admin_token() {
  local hdr code
  hdr=$(mktemp "$STATE/tok.XXXXXX")
  code=$(curl -s -D "$hdr" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"$CK_ADMIN_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"}}}}}" \
    "http://$HOST:$CK_KEYSTONE_PORT/v3/auth/tokens")
  [ "$code" = 201 ] || { rm -f "$hdr"; return 1; }
  awk 'tolower($1)=="x-subject-token:"{print $2}' "$hdr" | tr -d '\r'
  rm -f "$hdr"
}

