# Sourced by bench/worker/run: the issue-15 comparison of one ruth-worker
# against Kafka Connect 3.9 standalone with the Debezium JDBC sink, plus the
# COPY ceiling, on the stack run set up. Uses run's $bin, $build, fresh,
# now, pids and the stack's DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS.
#
# Rows: one worker's backlog run stores CN simulated results in events; those
# rows (every column but created_at, which the default fills, and zones, see
# connect-records) become JSON-with-schema records on a topic of their own,
# 12 partitions like the worker's input. The sink writes them into
# connect_events, a plain table LIKE events INCLUDING ALL: the same columns,
# defaults, checks, primary key (id, "timestamp") and every index events has
# (unique idempotency key, camera/time, type/time, violation, time), neither
# partitioned nor with a foreign key.
#
# Sink settings: insert.mode=insert, batch.size=5000, UNNEST inserts
# (dialect.postgres.unnest.insert.enabled), tasks.max=1, JsonConverter with
# schemas, consumer max.poll.records=5000 (Debezium's advice for batch.size:
# Connect hands the task at most one poll per put), the JVM options Kafka's
# connect-standalone.sh and kafka-run-class.sh set (-Xms256M -Xmx2G, G1).
#
# Live: the sink is up and assigned its partitions, then the records are fed
# at the rate the simulator fed the worker in the same round's live run.
# Backlog: every record is on the topic before the sink (or worker) starts.
# Rate and CPU: from the first committed row to the last (the same window
# for both), CPU as user + system seconds from /proc/PID/stat, RSS as VmHWM.

connect_kafka_libs=${RUTH_CACHE_DIR:-$HOME/.cache/ruth}/kafka-${RUTH_KAFKA_VERSION:-3.9.1}/libs

connect_setup() {
    local dirs
    dirs=$(bench/worker/connect-fetch) || exit 1
    connect_libs=$(sed -n 1p <<<"$dirs")
    connect_plugins=$(sed -n 2p <<<"$dirs")
    connect_debezium=$(basename "$connect_plugins")
    connect_debezium=${connect_debezium#debezium-jdbc-}
    cc -std=c11 -O2 -Wall -Wextra -Werror -o "$build/connect-produce" bench/worker/connect-produce.c \
        -lrdkafka || exit 1
}

proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz}' "/proc/$1/stat"; }
proc_rss() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }
rows_in() { psql "$DATABASE_URL" -qAtXc "SELECT count(*) FROM $1"; }

# drain TABLE N PID: waits for the first row in TABLE, then for N; prints
# "events/s cpu_s" over that window. Fails when PID exits or no row comes
# for 180 s (a stuck run names itself instead of hanging the benchmark).
drain() {
    local table=$1 n=$2 pid=$3 c c0 t0 cpu0 last=-1 moved
    moved=$(now)
    while :; do
        c=$(rows_in "$table")
        [ "$c" -ge "$n" ] && break
        if [ "$c" != "$last" ]; then
            last=$c moved=$(now)
            [ -z "${t0:-}" ] && [ "$c" -gt 0 ] && { t0=$(now) c0=$c cpu0=$(proc_cpu "$pid"); }
        fi
        kill -0 "$pid" 2>/dev/null || { echo "bench: pid $pid exited with $c of $n rows in $table" >&2; return 1; }
        if python3 -c "import sys; sys.exit(0 if $(now) - $moved > 180 else 1)"; then
            echo "bench: no new row in $table for 180 s ($c of $n)" >&2
            return 1
        fi
        if [ -z "${t0:-}" ]; then sleep 0.05; else sleep 0.1; fi
    done
    local t1 cpu1
    t1=$(now) cpu1=$(proc_cpu "$pid")
    [ -n "${t0:-}" ] || { t0=$t1 c0=0 cpu0=$cpu1; }
    python3 -c "print(round(($n - $c0) / max($t1 - $t0, 1e-3)), round($cpu1 - $cpu0, 2))"
}

# The measuring functions below set result (they call fresh, whose database
# and topics must stay set for what follows: no $(...) around them).

# worker_live BIN MIGRATE: result="events/s cpu_s rss_mb feed/s".
worker_live() {
    local wbin=$1 wp sp r
    fresh "$2"
    "$wbin" >>"$build/bench-worker.log" 2>&1 & wp=$!; pids+=($wp)
    sleep 8
    (s=$(now); "$(simulator_for "$wbin")" --count "$CN" --fps 0 --cameras "$CAMERAS" --seed 5 --format avro \
        --quiet >/dev/null; python3 -c "print(round($CN / ($(now) - $s)))" >"$build/feed.rate") & sp=$!
    r=$(drain events "$CN" "$wp")
    wait "$sp"
    result="$r $(proc_rss "$wp") $(cat "$build/feed.rate")"
    kill -TERM "$wp"; wait "$wp" 2>/dev/null || true
}

# worker_backlog BIN MIGRATE: result="events/s cpu_s rss_mb".
worker_backlog() {
    local wbin=$1 wp r
    fresh "$2"
    "$(simulator_for "$wbin")" --count "$CN" --fps 0 --cameras "$CAMERAS" --seed 5 --format avro \
        --quiet >/dev/null
    "$wbin" >>"$build/bench-worker.log" 2>&1 & wp=$!; pids+=($wp)
    r=$(drain events "$CN" "$wp")
    result="$r $(proc_rss "$wp")"
    kill -TERM "$wp"; wait "$wp" 2>/dev/null || true
}

# fingerprint TABLE: one hash over every stored column but created_at, to
# check that the sink stored exactly the rows the worker did.
fingerprint() {
    psql "$DATABASE_URL" -qAtXc "SELECT count(*) || ' ' || md5(string_agg(md5(row(id, camera_id, stream_id, event_type, type_detail, confidence, \"timestamp\", model_id, model_version, bounding_boxes, frame_id, inference_time_ms, runtime_id, error_code, error_message, attributes, violation_id, idempotency_key, metadata, extra, zones)::text), '' ORDER BY id)) FROM $1"
}

# The current database's events as JSON-with-schema records in FILE (jsonb as
# its text, so numbers keep every digit).
export_records() {
    # A plain SELECT, not COPY: COPY's text format would double every backslash.
    psql "$DATABASE_URL" -qAtX -o "$build/connect-rows.json" -c "SELECT row_to_json(x) FROM (SELECT id, camera_id, stream_id, event_type, type_detail, confidence, \"timestamp\", model_id, model_version, bounding_boxes::text AS bounding_boxes, frame_id, inference_time_ms, runtime_id, error_code, error_message, attributes::text AS attributes, violation_id, idempotency_key, metadata::text AS metadata, extra::text AS extra, zones FROM events ORDER BY \"timestamp\", idempotency_key) x"
    bench/worker/connect-records <"$build/connect-rows.json" >"$1"
    connect_rows=$(fingerprint events)
}

# copy_ceiling: plain COPY of the current database's events back into events
# (same partitioned, indexed table); result=rows/s.
copy_ceiling() {
    local t0 t1
    psql "$DATABASE_URL" -qXc "\\copy (SELECT * FROM events) TO '$build/events.copy'"
    psql "$DATABASE_URL" -qXc "TRUNCATE events"
    t0=$(now)
    psql "$DATABASE_URL" -qXc "\\copy events FROM '$build/events.copy'"
    t1=$(now)
    result=$(python3 -c "print(round($CN / ($t1 - $t0)))")
}

# connect_run live|backlog RECORDS RATE: result="events/s cpu_s rss_mb feed/s".
connect_run() {
    local mode=$1 records=$2 rate=$3 dir topic port cp fp r feed=-
    fresh
    dir=$build/connect-$run
    topic=bench.$run.connect
    rm -rf "$dir"; mkdir -p "$dir"
    psql "$DATABASE_URL" -qXc "CREATE TABLE connect_events (LIKE events INCLUDING ALL)"
    java -cp "$connect_kafka_libs/*" org.apache.kafka.tools.TopicCommand --bootstrap-server \
        "$KAFKA_BOOTSTRAP_SERVERS" --create --topic "$topic" --partitions 12 --replication-factor 1 \
        >"$dir/topic.log" 2>&1 || { cat "$dir/topic.log" >&2; return 1; }
    port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    read -r jdbc user pass < <(python3 - "$DATABASE_URL" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(f"jdbc:postgresql://{p.hostname}:{p.port}{p.path}", u.unquote(p.username or ""), u.unquote(p.password or "-"))
PY
)
    cat >"$dir/worker.properties" <<EOF
bootstrap.servers=$KAFKA_BOOTSTRAP_SERVERS
key.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=true
offset.storage.file.filename=$dir/offsets
offset.flush.interval.ms=10000
plugin.path=$connect_plugins
plugin.discovery=only_scan
listeners=http://127.0.0.1:$port
consumer.max.poll.records=5000
EOF
    cat >"$dir/sink.properties" <<EOF
name=ruth-bench-sink
connector.class=io.debezium.connector.jdbc.JdbcSinkConnector
tasks.max=1
topics=$topic
connection.url=$jdbc
connection.username=$user
connection.password=$pass
insert.mode=insert
batch.size=5000
dialect.postgres.unnest.insert.enabled=true
primary.key.mode=none
schema.evolution=none
collection.name.format=connect_events
use.time.zone=UTC
EOF
    cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/connect.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.reflections=ERROR
EOF
    if [ "$mode" = backlog ]; then
        "$build/connect-produce" "$KAFKA_BOOTSTRAP_SERVERS" "$topic" "$records" 0 >/dev/null
    fi
    java -Xms256M -Xmx2G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$connect_libs/*" \
        org.apache.kafka.connect.cli.ConnectStandalone "$dir/worker.properties" "$dir/sink.properties" \
        >"$dir/connect.out" 2>&1 & cp=$!; pids+=($cp)
    if [ "$mode" = live ]; then
        # Up: the task started (Hibernate booted) and owns its partitions.
        local waited=0
        until grep -q "Adding newly assigned partitions" "$dir/connect.log" 2>/dev/null; do
            kill -0 "$cp" 2>/dev/null || { echo "bench: Kafka Connect exited, see $dir" >&2; return 1; }
            waited=$((waited + 1))
            [ "$waited" -le 1800 ] || { echo "bench: Kafka Connect not assigned in 180 s, see $dir" >&2; return 1; }
            sleep 0.1
        done
        sleep 3
        "$build/connect-produce" "$KAFKA_BOOTSTRAP_SERVERS" "$topic" "$records" "$rate" >"$dir/feed" & fp=$!
    fi
    if ! r=$(drain connect_events "$CN" "$cp"); then
        grep -E "ERROR|Caused by" "$dir/connect.log" | grep -v CloudEvents | head -5 >&2
        return 1
    fi
    local got
    got=$(fingerprint connect_events)
    if [ "$got" != "$connect_rows" ]; then
        echo "bench: the sink stored other rows than the worker ($got against $connect_rows), see $dir" >&2
        return 1
    fi
    if [ "$mode" = live ]; then
        wait "$fp"
        feed=$(python3 -c "import sys; n, s = open('$dir/feed').read().split(); print(round(int(n) / float(s)))")
    fi
    result="$r $(proc_rss "$cp") $feed"
    kill -TERM "$cp"; wait "$cp" 2>/dev/null || true
}
