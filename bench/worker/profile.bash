# Sourced by bench/worker/run (BENCH_PROFILE=1): where one ruth-worker's
# backlog run spends its time (issue 15's "Done when": the profile behind
# the COPY-ceiling share). Uses run's $bin, $build, fresh, pids and
# connect.bash's drain. One backlog run of PN results, during which:
#
#   (a) pg_stat_statements: the statements by total execution time, with
#       calls, mean and their share of the run's wall time (the stack's
#       PostgreSQL runs with shared_preload_libraries = 'pg_stat_statements'
#       when BENCH_PROFILE=1; the extension is created per database by the
#       superuser over the stack's socket);
#   (b) the worker's backend in pg_stat_activity sampled every ~10 ms by a
#       loop inside PostgreSQL (pg_stat_clear_snapshot() and a COMMIT per
#       sample, so each one is fresh): shares of CPU, waits, and
#       Client:ClientRead (PostgreSQL waiting for the worker, inside or
#       between transactions);
#   (c) the worker's own per-batch wall time by stage, from its counters
#       ruth_worker_batch_stage_seconds_total{stage} on /metrics, next to
#       its CPU time per batch;
#   (d) with BENCH_PROFILE_PERF=1, perf record of ruth-worker (on-CPU, user
#       space), the top symbols.

profile_superuser() {
    psql -h "$(dirname "$RUTH_PG_DATA")/run" -p "$RUTH_PG_PORT" -U postgres -d "${DATABASE_URL##*/}" -qAtX "$@"
}

# profile_run BIN LABEL [MIGRATE]: prints the profile tables (Markdown) and
# adds "LABEL rate ceiling load1" to profile_summary.
profile_summary=()
profile_run() {
    local wbin=$1 label=$2 wp port sampler perf_pid='' r rate cpu rss
    local PN=${BENCH_PROFILE_N:-100000} CN_SAVED=$CN ceiling
    fresh "${3:-}"
    profile_superuser -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "CREATE UNLOGGED TABLE profile_samples (at timestamptz, state text, wait text)" \
        -c "CREATE TABLE profile_stop ()"
    "$(simulator_for "$wbin")" --count "$PN" --fps 0 --cameras "$CAMERAS" --seed 5 --format avro --quiet >/dev/null
    profile_superuser -c "SELECT pg_stat_statements_reset()" >/dev/null
    # The sampler: one backend, a sample of the worker's connection every
    # 10 ms until profile_stop has a row (or 10 minutes).
    profile_superuser -c "DO \$\$
      BEGIN
        FOR i IN 1..60000 LOOP
          EXIT WHEN EXISTS (SELECT FROM profile_stop);
          PERFORM pg_stat_clear_snapshot();
          INSERT INTO profile_samples
            SELECT clock_timestamp(), state, coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
            WHERE application_name = 'ruth-worker' AND datname = current_database();
          COMMIT;
          PERFORM pg_sleep(0.01);
        END LOOP;
      END \$\$" >/dev/null & sampler=$!
    port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    RUTH_METRICS_PORT=$port "$wbin" >>"$build/bench-worker.log" 2>&1 & wp=$!; pids+=($wp)
    if [ "${BENCH_PROFILE_PERF:-0}" = 1 ]; then
        perf record -q -F 997 -g -e cpu-clock:u -p "$wp" -o "$build/perf.data" >/dev/null 2>&1 & perf_pid=$!
    fi
    r=$(drain events "$PN" "$wp")
    read -r rate cpu <<<"$r"
    curl -sf "http://127.0.0.1:$port/metrics" >"$build/profile.metrics"
    rss=$(proc_rss "$wp")
    profile_superuser -c "INSERT INTO profile_stop DEFAULT VALUES"
    wait "$sampler" || true
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
    kill -TERM "$wp"; wait "$wp" 2>/dev/null || true
    # The statements, before the ceiling's COPY adds its own.
    profile_superuser -F' | ' -c "
      SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 90), calls, rows, round(total_exec_time),
             round((total_exec_time / calls)::numeric, 2), round((100 * total_exec_time / 1000 / ($PN::float8 / $rate))::numeric, 1) || ' %'
      FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND query NOT LIKE 'DO %' AND query NOT LIKE '%profile_s%' AND query NOT LIKE 'SELECT count(*) FROM events%'
        AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE 'CREATE %'
      ORDER BY total_exec_time DESC LIMIT 15" | sed 's/^/| /; s/$/ |/' >"$build/profile.statements"
    CN=$PN
    copy_ceiling
    CN=$CN_SAVED
    ceiling=$result

    echo
    profile_summary+=("$label $rate $ceiling $rss $(cut -d' ' -f1 /proc/loadavg)")
    echo "### Profile of one ruth-worker ($label), backlog of $PN results ($durability): $rate events/s, $cpu CPU s in the drain window; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "Plain COPY of the same rows into events right after: $ceiling rows/s; the worker reached $(python3 -c "print(round(100 * $rate / $ceiling))") % of it."
    echo
    echo "(a) pg_stat_statements, the worker's database, by total execution time (share: of the $(python3 -c "print(round($PN / $rate, 1))")-s drain window):"
    echo
    echo "| statement | calls | rows | total ms | mean ms | share of wall |"
    echo "|---|---:|---:|---:|---:|---:|"
    cat "$build/profile.statements"
    echo
    echo "(b) the worker's backend, sampled from pg_stat_activity every ~10 ms from its first batch to its last ($(profile_superuser -c "SELECT count(*) FROM profile_samples WHERE at BETWEEN (SELECT min(at) FROM profile_samples WHERE state <> 'idle') AND (SELECT max(at) FROM profile_samples WHERE state <> 'idle')") samples):"
    echo
    echo "| state | wait event (CPU: none) | share |"
    echo "|---|---|---:|"
    profile_superuser -F' | ' -c "
      SELECT coalesce(state, '-'), wait, round(100.0 * count(*) / sum(count(*)) OVER (), 1) || ' %'
      FROM profile_samples
      WHERE at BETWEEN (SELECT min(at) FROM profile_samples WHERE state <> 'idle')
                   AND (SELECT max(at) FROM profile_samples WHERE state <> 'idle')
      GROUP BY 1, 2 ORDER BY count(*) DESC" | sed 's/^/| /; s/$/ |/'
    echo
    echo "Client:ClientRead while idle in transaction: PostgreSQL waits for the worker inside a batch; while idle: between batches."
    echo
    echo "(c) the worker's wall time per batch by stage (ruth_worker_batch_stage_seconds_total), its CPU per batch:"
    echo
    python3 - "$cpu" "$build/profile.metrics" <<'PY'
import re, sys
cpu = float(sys.argv[1])
text = open(sys.argv[2]).read()
stages = {m.group(1): float(m.group(2)) for m in re.finditer(r'ruth_worker_batch_stage_seconds_total\{stage="(\w+)"\} (\S+)', text)}
m = re.search(r'^ruth_worker_batch_seconds_count(?:\{\})? (\S+)', text, re.M)
batches = float(m.group(1)) if m else 0
size = re.search(r'^ruth_worker_batch_size_sum(?:\{\})? (\S+)', text, re.M)
total = sum(stages.values())
print("| stage | ms per batch | share |")
print("|---|---:|---:|")
for k, v in stages.items():
    print(f"| {k} | {1000 * v / max(batches, 1):.1f} | {100 * v / max(total, 1e-9):.1f} % |")
    if k == "collect":  # its parts, from the consumer loop's own counters
        for part, label in (("collect_first", "waiting for a first message (also the idle wait after the last batch)"), ("collect_rest", "filling the batch"), ("batch_release", "offset commit, messages released")):
            m = re.search(rf'^ruth_worker_{part}_seconds_total(?:{{}})? (\S+)', text, re.M)
            if m:
                print(f"| &nbsp;&nbsp;collect: {label} | {1000 * float(m.group(1)) / max(batches, 1):.1f} | |")
print(f"| **all** ({batches:.0f} batches, {float(size.group(1)) / max(batches, 1) if size else 0:.0f} results each) | {1000 * total / max(batches, 1):.1f} | 100 % |")
print()
print(f"Worker CPU: {1000 * cpu / max(batches, 1):.1f} ms per batch ({cpu:.2f} s in the drain window, all threads).")
PY
    if [ -n "$perf_pid" ]; then
        echo
        echo "(d) perf record of ruth-worker (on-CPU, user space), top symbols:"
        echo
        echo '```'
        perf report -i "$build/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 1.5 2>/dev/null |
            grep -E '^ +[0-9]' | head -25
        echo '```'
    fi
}

# profile_all: BENCH_PROFILE_ROUNDS rounds (default 1) of this build and, with
# BENCH_BASELINE_BIN, the baseline (order alternating per round), then the
# A/B summary.
profile_all() {
    local rounds=${BENCH_PROFILE_ROUNDS:-1} round k
    local order=(current)
    [ -n "$baseline" ] && order+=(baseline)
    for round in $(seq "$rounds"); do
        local o=("${order[@]}")
        [ $((round % 2)) = 0 ] && [ ${#o[@]} = 2 ] && o=(baseline current)
        for k in "${o[@]}"; do
            if [ "$k" = baseline ]; then profile_run "$baseline" baseline "$baseline_migrate"
            else profile_run "$bin/ruth-worker" "this build"; fi
        done
    done
    echo
    echo "### Backlog runs of the profile: rate against the plain COPY right after each ($durability)"
    echo
    echo "| worker | events/s | COPY ceiling rows/s | share of the ceiling (goal ≥ 85 %) | peak RSS | load average (1 min) |"
    echo "|---|---:|---:|---:|---:|---:|"
    local line
    for line in "${profile_summary[@]}"; do
        python3 - $line <<'PY'
import sys
a = sys.argv[1:]
label, rate, ceil, rss, load = " ".join(a[:-4]), int(a[-4]), int(a[-3]), a[-2], a[-1]
print(f"| {label} | {rate:,} | {ceil:,} | {100 * rate / ceil:.0f} % | {rss} MB | {load} |")
PY
    done
}
