#!/usr/bin/env python3
"""compose/ checked where it cannot be run (no docker compose on this machine).

1. compose/docker-compose.yml loads in the Compose Specification's own loader
   (tools/compose-check on compose-go: JSON schema, interpolation, merge keys)
   with the variables of compose/.env.example, with no profile, with `trial`
   and with `observability`.
2. What a schema cannot see, on the resolved file:
   - every command a Ruth service runs is a binary compose/Dockerfile builds
     and installs, and the Dockerfile builds every deployable binary;
   - every environment variable set on a Ruth service is a setting the config
     table (`ruth-migrate config-doc`, i.e. common/config.c) has for that
     process (X_FILE for a secret X; KAFKA_* pass to librdkafka); secrets come
     as *_FILE from /run/secrets, never as values;
   - every port (RUTH_API_PORT, RUTH_METRICS_PORT, published ports, Prometheus
     targets) is the config default, and every health check asks GET /ready on it;
   - restart policies, depends_on conditions, named volumes, profiles.
   The edge profile (compose/docker-compose.edge.yml over the base file,
   with compose/edge.env after .env.example) passes the same checks, plus:
   one worker replica, a memory limit on every service whose long-running
   ones add up to at most 1 GiB, event retention on, and worker batches, API
   threads and pool below the config defaults.
3. The Dockerfile: multi-stage on bookworm, non-root runtime user, and its
   runtime library packages are exactly the Debian packages owning the
   libraries the built binaries link (objdump NEEDED, resolved by ldd, owner
   by dpkg -S; libraries of the base image and the sanitizer runtime aside).

Needs RUTH_COMPOSE_CHECK (scripts/test builds it) and RUTH_BIN_DIR."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE = os.path.join(ROOT, "compose")
# Binary -> process name of the config table's "used by" column.
PROCS = {"ruth-migrate": "migrate", "ruth-worker": "worker", "ruth-evidence": "evidence",
         "ruth-api": "api", "ruth-ingest": "ingest", "ruth-simulate": "simulate"}
ALL_PROCS = set(PROCS.values())
NOT_DEPLOYED = {"ruth-devbroker"}  # the demo's in-memory mock broker
SANITIZER_LIBS = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")
RUNTIME_EXTRAS = {"ca-certificates"}  # data, not a linked library: TLS to VAS and brokers
TRIAL = {"ruth-vas-double", "ruth-simulate", "ruth-simulate-http"}
OBSERVABILITY = {"prometheus", "grafana"}

errors = []


def err(msg):
    errors.append(msg)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def load(profiles, edge=False):
    tool = os.environ.get("RUTH_COMPOSE_CHECK")
    if not tool:
        sys.exit("RUTH_COMPOSE_CHECK is not set: run ./scripts/test, which builds tools/compose-check")
    cmd = [tool, "-f", os.path.join(COMPOSE, "docker-compose.yml")]
    if edge:
        cmd += ["-f", os.path.join(COMPOSE, "docker-compose.edge.yml")]
    cmd += ["--env-file", os.path.join(COMPOSE, ".env.example")]
    if edge:
        cmd += ["--env-file", os.path.join(COMPOSE, "edge.env")]
    for p in profiles:
        cmd += ["--profile", p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        err("compose file%s invalid with profiles %s: %s" % (" (edge)" if edge else "", profiles or "none", r.stderr.strip()))
        return None
    return json.loads(r.stdout)


def config_table(bin_dir):
    """{VAR: (default, set of processes, secret)} from `ruth-migrate config-doc`."""
    rows = {}
    for line in run([os.path.join(bin_dir, "ruth-migrate"), "config-doc"]).splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 6 or not cells[0].startswith("`"):
            continue
        used = ALL_PROCS if cells[3] == "all" else {p.strip() for p in cells[3].split(",")}
        rows[cells[0].strip("`")] = (cells[1].strip("`"), used, "secret" in cells[5])
    if len(rows) < 30:
        sys.exit("could not read the config table from ruth-migrate config-doc")
    return rows


def dockerfile():
    text = open(os.path.join(COMPOSE, "Dockerfile")).read()
    joined = re.sub(r"\\\n", " ", text)
    stages = re.split(r"^FROM\s+", joined, flags=re.M)[1:]
    if len(stages) < 2:
        err("Dockerfile: not multi-stage")
    for s in stages:
        if not s.startswith("debian:bookworm"):
            err("Dockerfile: stage not on Debian bookworm: FROM %s" % s.split()[0])
    targets = set()
    for m in re.finditer(r"--target\s+((?:[\w-]+\s*)+)", stages[0]):
        targets |= set(m.group(1).split())
    runtime = stages[-1]
    pkgs = set()
    for m in re.finditer(r"apt-get install\s+((?:-\S+\s+)*)((?:[a-z0-9][\w.+-]*\s*)+)", runtime):
        pkgs |= set(m.group(2).split())
    users = re.findall(r"^USER\s+(\S+)", runtime, flags=re.M)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        err("Dockerfile: the runtime stage must end as a non-root USER (has %s)" % users)
    if not re.search(r"COPY --from=\S+ /build/bin/ruth-\* /usr/local/bin/", runtime):
        err("Dockerfile: runtime stage does not COPY /build/bin/ruth-* to /usr/local/bin")
    if re.search(r"\b(build-essential|gcc|cmake|ninja-build)\b|[a-z0-9]-dev\b", runtime):
        err("Dockerfile: runtime stage installs build tools or -dev packages")
    return targets, pkgs


def linked_packages(bin_dir, binaries):
    """Debian packages owning the libraries the binaries link directly."""
    needed = {}
    for b in binaries:
        path = os.path.join(bin_dir, b)
        libs = re.findall(r"NEEDED\s+(\S+)", run(["objdump", "-p", path]))
        where = dict(re.findall(r"^\s*(\S+) => (\S+)", run(["ldd", path]), flags=re.M))
        for lib in libs:
            if SANITIZER_LIBS.match(lib):
                continue  # sanitizer builds only; the image is a Release build
            if lib not in where:
                err("%s: ldd cannot resolve %s" % (b, lib))
                continue
            needed.setdefault(where[lib], set()).add(b)
    owners = {}
    for path, users in needed.items():
        real = os.path.realpath(path)
        owner = None
        for candidate in (path, real, re.sub(r"^/usr", "", real), "/usr" + real):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].split(",")[0].strip()
                break
        if not owner:
            err("no Debian package owns %s (linked by %s)" % (path, ", ".join(sorted(users))))
            continue
        owners.setdefault(owner, set()).update(users)
    base = base_packages()
    return {p: u for p, u in owners.items() if p not in base}


def base_packages():
    """Packages every Debian image has, debian:bookworm-slim included: the
    Essential ones and what they (pre-)depend on directly (libc6 for dpkg)."""
    out = run(["dpkg-query", "-W", "-f=${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\n"])
    base = set()
    for line in out.splitlines():
        pkg, essential, prio, deps = (line.split("\t") + ["", "", ""])[:4]
        if essential == "yes" or prio == "required":
            base.add(pkg)
            base |= {re.split(r"[\s:(]", d.strip())[0] for d in re.split(r"[,|]", deps) if d.strip()}
    return base


def effective(env, rows, var):
    v = env.get(var)
    return v if v not in (None, "") else rows[var][0]


def check_service(name, svc, rows, targets, secrets_declared):
    cmd = svc.get("command") or []
    binary = cmd[0] if cmd else None
    if binary not in targets:
        err("%s: runs %r, which compose/Dockerfile does not build and install" % (name, binary))
        return
    proc = PROCS.get(binary)
    env = svc.get("environment") or {}
    mounted = {s.get("target") or "/run/secrets/" + s["source"] for s in svc.get("secrets") or []}
    for var, value in env.items():
        base = var[:-5] if var.endswith("_FILE") else None
        if proc is None:
            err("%s: %s runs without settings, yet %s is set" % (name, binary, var))
        elif base and base in rows and rows[base][2]:
            if proc not in rows[base][1]:
                err("%s: %s is not a setting of %s" % (name, base, binary))
            if value not in mounted:
                err("%s: %s=%s is not one of its mounted secrets %s" % (name, var, value, sorted(mounted)))
        elif var in rows:
            if proc not in rows[var][1]:
                err("%s: %s is not a setting of %s (used by %s)" % (name, var, binary, ", ".join(sorted(rows[var][1]))))
            if rows[var][2]:
                err("%s: secret %s given as a value; use %s_FILE and a compose secret" % (name, var, var))
        elif var.startswith("KAFKA_") and "KAFKA_BOOTSTRAP_SERVERS" in rows and proc in rows["KAFKA_BOOTSTRAP_SERVERS"][1]:
            pass  # any KAFKA_* passes a librdkafka property through
        else:
            err("%s: %s is not in the config table (common/config.c)" % (name, var))
    for s in svc.get("secrets") or []:
        if s["source"] not in secrets_declared:
            err("%s: secret %s is not declared" % (name, s["source"]))
    # Ports and health checks against the config defaults.
    port_var = {"api": "RUTH_API_PORT", "worker": "RUTH_METRICS_PORT", "evidence": "RUTH_METRICS_PORT",
                "ingest": "RUTH_INGEST_PORT"}.get(proc)
    long_running = proc in ("api", "worker", "evidence", "ingest")
    if port_var:
        port = effective(env, rows, port_var)
        if port != rows[port_var][0]:
            err("%s: %s=%s differs from its config default %s" % (name, port_var, port, rows[port_var][0]))
        test = " ".join((svc.get("healthcheck") or {}).get("test") or [])
        if "/dev/tcp/127.0.0.1/%s " % port not in test or "GET /ready " not in test:
            err("%s: health check must GET /ready on port %s: %r" % (name, port, test))
        for p in svc.get("ports") or []:
            if str(p.get("target")) != port:
                err("%s: publishes container port %s, but it listens on %s" % (name, p.get("target"), port))
    if long_running and svc.get("restart") not in ("unless-stopped", "always"):
        err("%s: a long-running process needs restart: unless-stopped (has %r)" % (name, svc.get("restart")))
    if proc == "migrate" and svc.get("restart") != "on-failure":
        err("%s: a one-shot needs restart: on-failure (has %r)" % (name, svc.get("restart")))


def check_project(project, rows, targets, profiles, edge=False):
    services = project["services"]
    secrets_declared = set(project.get("secrets") or {})
    volumes_declared = set(project.get("volumes") or {})
    for name, svc in services.items():
        ours = "build" in svc
        if ours:
            check_service(name, svc, rows, targets, secrets_declared)
        elif not svc.get("healthcheck"):
            err("%s: no health check" % name)
        if not svc.get("restart"):
            err("%s: no restart policy" % name)
        for dep, d in (svc.get("depends_on") or {}).items():
            want = "service_completed_successfully" if (services.get(dep) or {}).get("restart") == "on-failure" and "build" in services.get(dep, {}) else "service_healthy"
            if d.get("condition") != want:
                err("%s: depends_on %s must wait for %s (has %s)" % (name, dep, want, d.get("condition")))
        for v in svc.get("volumes") or []:
            if v["type"] == "volume" and v["source"] not in volumes_declared:
                err("%s: volume %s is not a declared named volume" % (name, v["source"]))
            if v["type"] == "bind" and not os.path.exists(os.path.join(COMPOSE, v["source"])):
                err("%s: bind-mounted %s does not exist" % (name, v["source"]))
    for secret, s in (project.get("secrets") or {}).items():
        if not s.get("file"):
            err("secret %s: must be a file (RUTH_SECRETS_DIR)" % secret)
    expect = {"trial": TRIAL, "observability": OBSERVABILITY}
    for p in profiles:
        for s in expect[p]:
            if s not in services:
                err("profile %s lacks %s" % (p, s))
    if not profiles:
        for s in TRIAL | OBSERVABILITY:
            if s in services:
                err("%s runs without its profile" % s)
        for s in ("ruth-migrate", "ruth-worker", "ruth-evidence", "ruth-api", "ruth-ingest", "postgres", "kafka"):
            if s not in services:
                err("the default set lacks %s" % s)
        if not edge and (services.get("ruth-worker", {}).get("deploy") or {}).get("replicas", 1) < 2:
            err("ruth-worker: run at least 2 replicas by default")


EDGE_MEMORY = 1 << 30  # the edge-jetson budget for the whole backend


def check_edge(project, rows):
    """The edge profile: small, single node, 1 GiB, retention on."""
    services = project["services"]
    one_shot = {n for n, s in services.items() if s.get("restart") == "on-failure"}
    total = 0
    for name, svc in services.items():
        mem = ((svc.get("deploy") or {}).get("resources") or {}).get("limits", {}).get("memory")
        if not mem:
            err("edge: %s has no memory limit (deploy.resources.limits.memory)" % name)
        elif name not in one_shot:
            total += int(mem) * ((svc.get("deploy") or {}).get("replicas") or 1)
    if total > EDGE_MEMORY:
        err("edge: the long-running services' memory limits add up to %d MiB, over 1024" % (total >> 20))
    worker = services.get("ruth-worker", {})
    if (worker.get("deploy") or {}).get("replicas") != 1:
        err("edge: ruth-worker must run one replica")
    wenv = worker.get("environment") or {}
    if int(effective(wenv, rows, "RUTH_EVENTS_RETENTION_DAYS")) < 1:
        err("edge: RUTH_EVENTS_RETENTION_DAYS must be on (at least 1)")
    aenv = services.get("ruth-api", {}).get("environment") or {}
    smaller = [(wenv, "RUTH_WORKER_BATCH_MAX"), (aenv, "RUTH_API_DB_POOL"), (aenv, "RUTH_API_STREAM_BUFFER")]
    for env, var in smaller:
        if int(effective(env, rows, var)) >= int(rows[var][0]):
            err("edge: %s=%s is not below its default %s" % (var, effective(env, rows, var), rows[var][0]))
    threads = int(effective(aenv, rows, "RUTH_API_THREADS"))
    if not 1 <= threads <= 4:
        err("edge: RUTH_API_THREADS=%d; set 1-4 (0 means four per core)" % threads)
    if "KAFKA_HEAP_OPTS" not in (services.get("kafka", {}).get("environment") or {}):
        err("edge: kafka needs KAFKA_HEAP_OPTS within its memory limit")
    return total


def check_prometheus(rows):
    text = open(os.path.join(COMPOSE, "observability", "prometheus.yml")).read()
    want = {"ruth-worker": rows["RUTH_METRICS_PORT"][0], "ruth-evidence": rows["RUTH_METRICS_PORT"][0],
            "ruth-api": rows["RUTH_API_PORT"][0], "ruth-ingest": rows["RUTH_INGEST_PORT"][0]}
    for job, port in want.items():
        if not re.search(r"job_name: %s\n\s+dns_sd_configs: \[\{names: \[%s\], type: A, port: %s\}\]" % (job, job, port), text):
            err("observability/prometheus.yml: job %s must scrape %s:%s" % (job, job, port))


def check_trial_vas(project):
    env = dict(line.split("=", 1) for line in open(os.path.join(COMPOSE, ".env.example")).read().splitlines()
               if "=" in line and not line.startswith("#"))
    cmd = project["services"]["ruth-vas-double"]["command"]
    port = cmd[cmd.index("--port") + 1]
    if env.get("VAS_BASE_URL") != "http://ruth-vas-double:%s" % port:
        err(".env.example: VAS_BASE_URL=%s, but the trial VAS double listens on %s" % (env.get("VAS_BASE_URL"), port))


def main():
    bin_dir = os.environ.get("RUTH_BIN_DIR")
    if not bin_dir:
        sys.exit("RUTH_BIN_DIR is not set")
    rows = config_table(bin_dir)
    targets, runtime_pkgs = dockerfile()
    built = {f for f in os.listdir(bin_dir) if f.startswith("ruth-") and os.access(os.path.join(bin_dir, f), os.X_OK)}
    for b in sorted(built - targets - NOT_DEPLOYED):
        err("Dockerfile: does not build %s" % b)
    for t in sorted(targets - built):
        err("Dockerfile: builds %s, which the build does not make" % t)
    projects = {}
    for profiles in ([], ["trial"], ["observability"], ["trial", "observability"]):
        p = load(profiles)
        if p:
            projects[tuple(profiles)] = p
            check_project(p, rows, targets, profiles)
    if ("trial",) in projects:
        check_trial_vas(projects[("trial",)])
    edge_total = None
    for profiles in ([], ["trial"]):
        p = load(profiles, edge=True)
        if p:
            check_project(p, rows, targets, profiles, edge=True)
            if not profiles:
                edge_total = check_edge(p, rows)
    check_prometheus(rows)
    linked = linked_packages(bin_dir, sorted(targets & built))
    for pkg in sorted(set(linked) - runtime_pkgs):
        err("Dockerfile runtime stage lacks %s (linked by %s)" % (pkg, ", ".join(sorted(linked[pkg]))))
    for pkg in sorted(runtime_pkgs - set(linked) - RUNTIME_EXTRAS):
        err("Dockerfile runtime stage installs %s, which no binary links" % pkg)
    for e in dict.fromkeys(errors):  # once each, though several profiles see it
        print("FAIL:", e)
    if edge_total is not None:
        print("edge profile: %d MiB of memory limits for the long-running services" % (edge_total >> 20))
    print("%d services checked across profiles, %d binaries, runtime packages %s: %s" % (
        len(projects.get(("trial", "observability"), {}).get("services", {})), len(targets),
        " ".join(sorted(linked)), "%d problems" % len(dict.fromkeys(errors)) if errors else "all consistent"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
