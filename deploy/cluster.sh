#!/usr/bin/env bash
# Heard as production runs it, on this machine (make cluster, make cluster-stop):
#   deploy/cluster.sh start    PostgreSQL and Redis (started if down), a fresh database
#                              heard_cluster (dropped, created, migrated, seeded), two gunicorn
#                              instances on 127.0.0.1:8301 and :8302, nginx on 127.0.0.1:8300 in
#                              front of them (deploy/nginx/heard.conf), one task worker, a
#                              loop that runs check_sla and tasks_requeue_stale every minute,
#                              and an SMTP sink on :8325 keeping every email in var/cluster/mail/
#   deploy/cluster.sh stop     stops exactly the processes named by the pid files in
#                              var/cluster/ (TERM, then KILL after a wait); idempotent
#   deploy/cluster.sh status   what runs, with the URLs
#   deploy/cluster.sh check    requests through nginx that show it is wired as it should be
#   deploy/cluster.sh restart a|b|worker   starts one piece again (after a test killed it)
#   deploy/cluster.sh totp EMAIL   the authenticator code of a demo login now
# Everything it writes is under var/cluster/: heard.env (the environment of every process),
# logins.json (demo logins and their TOTP secrets), *.pid, *.log, static/, nginx/.
# A failure while starting stops whatever had been started. docs/deploy.md, "make cluster".
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/var/cluster
PY=$ROOT/.venv/bin/python
HOST=127.0.0.1
NGINX_PORT=8300
PORTS=(8301 8302)
NAMES=(a b)
SMTP_SINK_PORT=8325
DB=heard_cluster
PG=postgres://postgres@127.0.0.1:5432
REDIS_DB=13 # dedicated to the cluster (tests use 1, make bench 9)
KEY_PREFIX=heard-cluster
ENV_FILE=$DIR/heard.env
LOGINS=$DIR/logins.json
NGINX_DIR=$DIR/nginx
SITE=http://$HOST:$NGINX_PORT
STOP_WAIT=${CLUSTER_STOP_WAIT:-20} # seconds between TERM and KILL

started=$EPOCHREALTIME
say() { printf '[%5ss] %s\n' "$(awk -v now="$EPOCHREALTIME" -v t0="$started" 'BEGIN { printf "%.1f", now - t0 }')" "$*"; }
die() { echo "cluster: $*" >&2; exit 1; }

# --- processes: each is a process group of its own, named by a pid file --------------------------
# name, pid file, the signal that stops it gracefully (nginx: QUIT; TERM is its fast stop), and
# what its command line contains: a pid since reused by another program is never signalled.
services() {
    local i
    for i in 0 1; do
        echo "gunicorn-${NAMES[$i]} $DIR/gunicorn-${NAMES[$i]}.pid TERM $DIR/gunicorn-${NAMES[$i]}.pid"
    done
    echo "nginx $NGINX_DIR/nginx.pid QUIT $NGINX_DIR/"
    echo "worker $DIR/worker.pid TERM cluster.sh _worker"
    echo "smtp-sink $DIR/smtp-sink.pid TERM $ROOT/deploy/smtp_sink.py"
    echo "timers $DIR/timers.pid TERM cluster.sh _timers"
}

cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# The pid in FILE if that process runs and is ours.
running_pid() {
    local file=$1 marker=$2 pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(cmdline "$pid") == *"$marker"* ]] \
        && echo "$pid"
}

# Processes still in the group a pid file names: the group outlives its leader when the leader
# was killed (gunicorn's workers after `kill -9` of their master). A process group id is only
# ever the pid of the process that made the group, so its members are what we started.
group_members() {
    local file=$1
    [[ -s $file ]] || return 0
    pgrep -g "$(<"$file")" 2>/dev/null || true
}

stop_one() {
    local name=$1 file=$2 signal=$3 marker=$4 pid group waited=0
    pid=$(running_pid "$file" "$marker" || true)
    if [[ -z $pid && -s $file ]] && kill -0 "$(<"$file")" 2>/dev/null; then
        echo "  $name: pid $(<"$file") is not ours any more; leaving it alone"
        rm -f "$file"
        return 0
    fi
    group=$(group_members "$file")
    if [[ -z $group ]]; then
        [[ -e $file ]] && echo "  $name: not running (stale pid file removed)"
        rm -f "$file"
        return 0
    fi
    local pgid
    pgid=$(<"$file")
    # gunicorn and nginx finish the requests they are answering, the worker its task.
    kill "-$signal" -- "-$pgid" 2>/dev/null || true
    while [[ -n $(group_members "$file") ]] && ((waited < STOP_WAIT * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if [[ -n $(group_members "$file") ]]; then
        echo "  $name: still running after ${STOP_WAIT}s; killing"
        kill -KILL -- "-$pgid" 2>/dev/null || true
        sleep 0.2
    fi
    echo "  $name: stopped (pid ${pid:-$pgid}, process group $pgid)"
    rm -f "$file"
}

do_stop() {
    local name file signal marker
    # The front first, so nginx stops taking requests before the instances go.
    while read -r name file signal marker; do
        [[ $name == nginx ]] && stop_one "$name" "$file" "$signal" "$marker"
    done < <(services)
    while read -r name file signal marker; do
        [[ $name != nginx ]] && stop_one "$name" "$file" "$signal" "$marker"
    done < <(services)
    return 0
}

# Processes of this checkout's cluster that run without a pid file naming them: none, after a
# stop. Matched by the absolute paths every cluster process has on its command line.
leftovers() {
    pgrep -af "$ROOT/(var/cluster/|deploy/gunicorn\.conf\.py|deploy/cluster\.sh _|deploy/smtp_sink\.py|manage\.py db_worker)" \
        | grep -v -e "^$$ " -e "^$PPID " || true
}

any_running() {
    local name file signal marker
    while read -r name file signal marker; do
        [[ -n $(group_members "$file") ]] && return 0
    done < <(services)
    return 1
}

# --- what the cluster needs from the machine -------------------------------------------------------
nginx_bin() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }

install_nginx() {
    [[ -n $(nginx_bin) ]] && return 0
    [[ $(id -u) == 0 ]] || die "nginx is missing: sudo apt-get install -y nginx"
    say "installing nginx (Debian package)"
    # Keep the package from starting the system's own nginx on port 80 (as Docker images do).
    local guard=/usr/sbin/policy-rc.d made_guard=
    if [[ ! -e $guard ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard" && made_guard=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends nginx >/dev/null; }
    [[ -n $made_guard ]] && rm -f "$guard"
    [[ -n $(nginx_bin) ]] || die "nginx did not install"
}

ensure_postgres() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        say "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL is not answering on 127.0.0.1:5432"
}

ensure_redis() {
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        say "starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
        for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
    fi
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || die "Redis is not answering on 127.0.0.1:6379"
}

port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

write_env() {
    # The task worker sends real SMTP to the sink (deploy/smtp_sink.py), which keeps every
    # message in var/cluster/mail/; CLUSTER_EMAIL_URL sends elsewhere.
    local email_url=${CLUSTER_EMAIL_URL:-smtp://$HOST:$SMTP_SINK_PORT}
    (umask 077 && cat >"$ENV_FILE") <<EOF
# The environment of every process of make cluster; deploy/cluster.sh writes it on each start.
# Production settings (DEBUG off, MFA required, JSON logs, database task queue, Redis cache)
# except what plain HTTP on the loopback needs: no HTTPS redirect, cookies without Secure.
DEBUG=False
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
ALLOWED_HOSTS=127.0.0.1,localhost
CSRF_TRUSTED_ORIGINS=$SITE,http://localhost:$NGINX_PORT
SITE_URL=$SITE
DATABASE_URL=$PG/$DB
CACHE_URL=redis://127.0.0.1:6379/$REDIS_DB
CACHE_KEY_PREFIX=$KEY_PREFIX
TASKS_BACKEND=database
EMAIL_URL=$email_url
TRUSTED_PROXY_COUNT=1
BEHIND_TLS_PROXY=False
SECURE_SSL_REDIRECT=False
SESSION_COOKIE_SECURE=False
CSRF_COOKIE_SECURE=False
ACCOUNT_DEFAULT_HTTP_PROTOCOL=http
MFA_REQUIRED=True
LOG_FORMAT=json
LOG_LEVEL=INFO
STATIC_ROOT=$DIR/static
GUNICORN_WORKERS=${CLUSTER_WORKERS:-2}
GUNICORN_GRACEFUL_TIMEOUT=10
FORWARDED_ALLOW_IPS=127.0.0.1
EOF
}

load_env() {
    set -a
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    set +a
    export PYTHONUNBUFFERED=1
}

manage() { "$PY" "$ROOT/manage.py" "$@"; }

render_nginx() {
    local upstream="" i
    for i in 0 1; do
        upstream+="server $HOST:${PORTS[$i]} max_fails=1 fail_timeout=5s;\n    "
    done
    mkdir -p "$NGINX_DIR"/{conf,logs,tmp}
    # Outside comments (the template's header names the placeholders).
    local code='/^[[:space:]]*#/!'
    sed -e "${code}s|@LISTEN@|$HOST:$NGINX_PORT|" -e "${code}s|@SERVER_NAME@|_|" \
        -e "${code}s|@UPSTREAM_SERVERS@|${upstream%\\n    }|" -e "${code}s|@STATIC_ROOT@|$DIR/static|" \
        -e "${code}s|@ACCESS_LOG@|$NGINX_DIR/logs/access.log|" \
        -e "${code}s|@ERROR_LOG@|$NGINX_DIR/logs/error.log|" \
        "$ROOT/deploy/nginx/heard.conf" >"$NGINX_DIR/conf/heard.conf"
    if grep -v '^[[:space:]]*#' "$NGINX_DIR/conf/heard.conf" | grep -q '@[A-Z_]*@'; then
        die "a placeholder is left in $NGINX_DIR/conf/heard.conf"
    fi
    # The main configuration a Debian nginx.conf would give, with every path under var/cluster/
    # and no `user` line, so it runs as whoever starts it.
    cat >"$NGINX_DIR/conf/nginx.conf" <<EOF
# make cluster: nginx's main configuration (deploy/cluster.sh writes it on each start).
worker_processes 2;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log warn;
events {
    worker_connections 1024;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $NGINX_DIR/tmp/body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;
    access_log off;
    include $NGINX_DIR/conf/heard.conf;
}
EOF
}

# Each process writes its own pid file before it becomes the program (gunicorn then finds its
# own pid there and keeps it), so a failure a moment later still knows what to stop. Each is
# the leader of a process group of its own, which stop_one signals as a whole.
start_instance() {
    local name=$1 i
    for i in 0 1; do [[ ${NAMES[$i]} == "$name" ]] && break; done
    [[ ${NAMES[$i]} == "$name" ]] || die "no instance $name (a or b)"
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$DIR/gunicorn-$name.pid" \
        "$ROOT/.venv/bin/gunicorn" --config "$ROOT/deploy/gunicorn.conf.py" \
        --bind "$HOST:${PORTS[$i]}" --pid "$DIR/gunicorn-$name.pid" \
        >>"$DIR/gunicorn-$name.log" 2>&1 </dev/null &
}

start_worker() {
    setsid bash -c 'echo $$ >"$0"; exec bash "$1" _worker' "$DIR/worker.pid" "$ROOT/deploy/cluster.sh" \
        >>"$DIR/worker.log" 2>&1 </dev/null &
}

# The task worker, started again whenever it exits, as systemd does (heard-worker.service:
# Restart=always, RestartSec=5). db_worker exits when the database goes away (a PostgreSQL
# restart); a supervisor bringing it back is how it is meant to run. TERM (make cluster-stop)
# reaches the worker too, which finishes its task; the loop then ends.
run_worker() {
    load_env
    cd "$ROOT"
    local stopping= status
    trap 'stopping=1' TERM INT
    while [[ -z $stopping ]]; do
        manage db_worker --no-reload --no-startup-delay && status=0 || status=$?
        [[ -n $stopping ]] && break
        echo "cluster: db_worker exited (status $status); starting it again in 5 s"
        sleep 5 & wait $! || true
    done
}

start_sink() {
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$DIR/smtp-sink.pid" "$PY" "$ROOT/deploy/smtp_sink.py" \
        --host "$HOST" --port "$SMTP_SINK_PORT" --dir "$DIR/mail" >>"$DIR/smtp-sink.log" 2>&1 </dev/null &
    for _ in $(seq 1 50); do port_busy "$SMTP_SINK_PORT" && return 0; sleep 0.1; done
    die "the SMTP sink did not start; see $DIR/smtp-sink.log"
}

# Starts one piece again after it was stopped or killed (the cluster tests kill them):
# `restart a`, `restart b`, `restart worker`. Whatever is left of it is stopped first.
do_restart() {
    local what=${1:-} name file signal marker
    [[ -s $ENV_FILE ]] || die "no cluster here: make cluster first"
    load_env
    cd "$ROOT"
    while read -r name file signal marker; do
        if [[ $name == "gunicorn-$what" || $name == "$what" ]]; then
            stop_one "$name" "$file" "$signal" "$marker"
        fi
    done < <(services)
    case $what in
        a | b)
            start_instance "$what"
            local port=${PORTS[0]}
            [[ $what == b ]] && port=${PORTS[1]}
            wait_for_health "http://$HOST:$port/health/" "$DIR/gunicorn-$what.log"
            ;;
        worker) start_worker ;;
        *) die "usage: deploy/cluster.sh restart a|b|worker" ;;
    esac
    say "$what started again"
}

wait_for_health() {
    local url=$1 log=$2
    for _ in $(seq 1 300); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url") == 200 ]]; then return 0; fi
        sleep 0.2
    done
    die "$url did not answer 200 within 60 s; see $log"
}

# Whatever ends a start early (a failed command, die, Ctrl-C) stops what it had started.
on_start_exit() {
    local status=$1
    trap - EXIT
    ((status == 0)) && return 0
    echo "cluster: start failed (exit $status${failed_line:+, line $failed_line}); stopping what was started." >&2
    echo "cluster: logs are in $DIR/" >&2
    do_stop >&2
    exit "$status"
}

do_start() {
    [[ -x $PY ]] || die "$PY is missing: run make cluster (it creates the venv first)"
    if any_running; then
        say "a cluster is running: stopping it first"
        do_stop
    fi
    local port
    for port in "$NGINX_PORT" "${PORTS[@]}" "$SMTP_SINK_PORT"; do
        port_busy "$port" && die "port $port is in use: $(ss -Hltnp "sport = :$port" | head -n1)"
    done
    failed_line=
    trap 'failed_line=${failed_line:-$LINENO}' ERR
    trap 'on_start_exit $?' EXIT
    trap 'exit 130' INT TERM

    install_nginx
    ensure_postgres
    ensure_redis
    rm -rf "$DIR"
    mkdir -p "$DIR"
    write_env
    load_env
    cd "$ROOT"

    say "database $DB: drop, create, migrate"
    psql "$PG/postgres" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
        -c "CREATE DATABASE $DB" >/dev/null
    redis-cli -n "$REDIS_DB" --scan --pattern "$KEY_PREFIX:*" | xargs -r redis-cli -n "$REDIS_DB" del >/dev/null
    # collectstatic (CPU: compressing) beside migrate and seed (mostly the database).
    manage collectstatic --noinput --clear -v0 >"$DIR/collectstatic.log" 2>&1 &
    local collect=$!
    manage migrate --noinput -v0 >"$DIR/migrate.log" 2>&1
    say "seeding demo data"
    manage seed_demo --quiet-logins >"$DIR/seed.log" 2>&1
    "$PY" "$ROOT/deploy/cluster_mfa.py" enroll "$LOGINS" >>"$DIR/seed.log" 2>&1
    wait "$collect" || die "collectstatic failed; see $DIR/collectstatic.log"
    say "static files collected into $DIR/static"

    local i
    start_sink
    for i in 0 1; do start_instance "${NAMES[$i]}"; done
    say "gunicorn a on $HOST:${PORTS[0]}, b on $HOST:${PORTS[1]} (logs: gunicorn-a.log, gunicorn-b.log)"

    render_nginx
    "$(nginx_bin)" -t -q -p "$NGINX_DIR/" -e "$NGINX_DIR/logs/error.log" -c "$NGINX_DIR/conf/nginx.conf"
    "$(nginx_bin)" -p "$NGINX_DIR/" -e "$NGINX_DIR/logs/error.log" -c "$NGINX_DIR/conf/nginx.conf"
    say "nginx on $HOST:$NGINX_PORT (logs: nginx/logs/)"

    start_worker
    setsid bash -c 'echo $$ >"$0"; exec bash "$1" _timers' "$DIR/timers.pid" "$ROOT/deploy/cluster.sh" \
        >>"$DIR/timers.log" 2>&1 </dev/null &
    say "task worker and the every-minute jobs (logs: worker.log, timers.log)"

    for i in 0 1; do
        wait_for_health "http://$HOST:${PORTS[$i]}/health/" "$DIR/gunicorn-${NAMES[$i]}.log"
    done
    wait_for_health "$SITE/health/" "$NGINX_DIR/logs/error.log"
    local name_ file signal marker
    while read -r name_ file signal marker; do
        running_pid "$file" "$marker" >/dev/null || die "$name_ is not running"
    done < <(services)
    trap - ERR EXIT INT TERM
    say "ready: /health/ answers through nginx and on each instance"
    summary
}

summary() {
    cat <<EOF

Heard cluster (production settings, plain HTTP on the loopback)
  site (nginx):     $SITE/          admin: $SITE/admin/
  instance a:       http://$HOST:${PORTS[0]}/     instance b: http://$HOST:${PORTS[1]}/
  health:           $SITE/health/
  environment:      $ENV_FILE
  logs:             $DIR/*.log, $NGINX_DIR/logs/access.log (JSON lines, with request ids)
  email:            $(grep '^EMAIL_URL=' "$ENV_FILE" | cut -d= -f2-)  (the SMTP sink keeps each message in $DIR/mail/)
  stop:             make cluster-stop

Demo logins ($LOGINS). Staff and the owner are asked for an authenticator code after the
password: deploy/cluster.sh totp EMAIL prints it (a code works once; the next comes 30 s later).
EOF
    "$PY" - "$LOGINS" <<'EOF'
import json, sys
for login in json.load(open(sys.argv[1]))["logins"]:
    factor = "authenticator" if login["totp_secret"] else ""
    print(f"  {login['role']:<19} {login['email']:<24} {login['password']:<22} {factor}")
EOF
}

do_status() {
    local name file signal marker pid any=
    while read -r name file signal marker; do
        if pid=$(running_pid "$file" "$marker"); then
            printf '  %-11s running  pid %-7s %s\n' "$name" "$pid" "$(pgrep -g "$pid" | wc -l) process(es)"
            any=1
        elif [[ -n $(group_members "$file") ]]; then
            printf '  %-11s LEADER GONE, %s process(es) left in group %s (make cluster-stop ends them)\n' \
                "$name" "$(group_members "$file" | wc -l)" "$(<"$file")"
            any=1
        else
            printf '  %-11s stopped\n' "$name"
        fi
    done < <(services)
    if [[ -n $any ]]; then
        echo "  site: $SITE/  (instances http://$HOST:${PORTS[0]}/, http://$HOST:${PORTS[1]}/)"
    fi
}

# Every minute, on the minute, as the systemd timers do (OnCalendar=minutely).
run_timers() {
    load_env
    cd "$ROOT"
    while :; do
        sleep $((60 - $(date +%s) % 60))
        manage check_sla || echo "check_sla failed (exit $?)"
        manage tasks_requeue_stale || echo "tasks_requeue_stale failed (exit $?)"
    done
}

# Requests through nginx that show the wiring: health, pages, static files and their cache
# headers, compression only where it is safe, a POST without CSRF refused by Django (403, not
# a 502 or a retry), and one request id shared by the response and both logs.
do_check() {
    local failures=0 headers slug css rid
    ok() { printf '  ok    %s\n' "$*"; }
    bad() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
    expect() { # description, expected status, curl arguments...
        local what=$1 want=$2 got
        shift 2
        got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@")
        if [[ $got == "$want" ]]; then ok "$what: $got"; else bad "$what: $got, expected $want"; fi
    }
    expect "GET /health/ through nginx" 200 "$SITE/health/"
    expect "GET /health/ on instance a" 200 "http://$HOST:${PORTS[0]}/health/"
    expect "GET /health/ on instance b" 200 "http://$HOST:${PORTS[1]}/health/"
    expect "GET / " 200 "$SITE/"
    slug=$(curl -s --max-time 10 "$SITE/api/v1/providers/?ordering=-review_count" \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["slug"])')
    expect "GET /providers/$slug/" 200 "$SITE/providers/$slug/"
    expect "POST /providers/$slug/review/ without a CSRF token" 403 -X POST -d rating=5 "$SITE/providers/$slug/review/"
    css=$(curl -s --max-time 10 "$SITE/" | grep -o '/static/css/heard\.[0-9a-f]\{12\}\.css' | head -n1)
    headers=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$SITE$css")
    if grep -qi '^cache-control: public, max-age=31536000, immutable' <<<"$headers" \
        && grep -qi '^content-encoding: gzip' <<<"$headers"; then
        ok "$css: a year, immutable, gzip"
    else bad "$css: $(grep -i -e '^cache-control' -e '^content-encoding' <<<"$headers" | tr -d '\r' | tr '\n' ' ')"; fi
    headers=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$SITE/static/css/heard.css")
    grep -qi '^cache-control: public, max-age=300' <<<"$headers" && ok "/static/css/heard.css (unhashed): five minutes" \
        || bad "/static/css/heard.css: $(grep -i '^cache-control' <<<"$headers" | tr -d '\r')"
    headers=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$SITE/")
    grep -qi '^content-encoding: gzip' <<<"$headers" && ok "/ is compressed" || bad "/ is not compressed"
    headers=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$SITE/accounts/login/")
    grep -qi '^content-encoding' <<<"$headers" && bad "/accounts/login/ is compressed (BREACH)" \
        || ok "/accounts/login/ is not compressed"
    headers=$(curl -s -D - -o /dev/null -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Request-ID: chosen-by-client-1' "$SITE/health/")
    rid=$(grep -i '^x-request-id:' <<<"$headers" | awk '{print $2}' | tr -d '\r')
    if [[ $(grep -ci '^x-request-id:' <<<"$headers") == 1 && $rid =~ ^[0-9a-f]{32}$ ]]; then
        ok "one X-Request-ID, made by nginx (the client's is replaced): $rid"
    else bad "X-Request-ID: $(grep -i '^x-request-id' <<<"$headers" | tr -d '\r' | tr '\n' ' ')"; fi
    sleep 0.5
    if grep -q "\"request_id\":\"$rid\",\"remote_addr\":\"127.0.0.1\"" "$NGINX_DIR/logs/access.log"; then
        ok "nginx's access line has the request id and the real client address"
    else bad "no nginx access line for $rid"; fi
    if grep -h "\"request_id\":\"$rid\"" "$DIR"/gunicorn-*.log | grep -q 'gunicorn.access'; then
        ok "gunicorn's access line has the same request id"
    else bad "no gunicorn access line for $rid"; fi
    headers=$(curl -s -D - -o /dev/null "$SITE/server-status-that-does-not-exist")
    grep -qi '^server: nginx$' <<<"$(tr -d '\r' <<<"$headers")" && ok "Server: nginx, no version" \
        || bad "$(grep -i '^server' <<<"$headers")"
    ((failures == 0)) && echo "all checks passed" || { echo "$failures check(s) failed"; return 1; }
}

case ${1:-} in
    start) do_start ;;
    stop)
        echo "Stopping the cluster (pid files in $DIR)"
        do_stop
        left=$(leftovers)
        [[ -z $left ]] || die "still running after the stop:
$left"
        echo "  nothing of the cluster is left running"
        ;;
    status) do_status ;;
    check) do_check ;;
    restart) do_restart "${2:-}" ;;
    totp)
        [[ -n ${2:-} ]] || die "usage: deploy/cluster.sh totp EMAIL"
        load_env
        "$PY" "$ROOT/deploy/cluster_mfa.py" code "$LOGINS" "$2"
        ;;
    _timers) run_timers ;;
    _worker) run_worker ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
