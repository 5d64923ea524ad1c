"""The comparison peer of bench/api/run: the three reads of ruth-api
(GET /api/v1/violations, /api/v1/events, /api/v1/violations/{id}) written
the way the original Ruth AI backend would be: FastAPI, pydantic v2 response
models, a raw asyncpg pool of 8, PyJWT (HS256, exp checked, role claim
required) on every request, list totals counted like ruth-api's (exact up to
10,000, PostgreSQL's estimate above) and cached for 1 s per query.

Same tables, same rows, the same JSON fields and values as ruth-api (the
benchmark checks that on a sample before measuring); pydantic writes compact
JSON where ruth-api writes PostgreSQL's json_build_object spacing, so the
bodies are equal as JSON, not byte for byte.

Run by bench/api/run: uvicorn app:app --workers 2 --loop uvloop --http httptools
with DATABASE_URL and JWT_SECRET_KEY set."""
import base64
import json
import os
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from uuid import UUID

import asyncpg
import jwt
from fastapi import FastAPI, Header, HTTPException, Query
from pydantic import BaseModel

SECRET = os.environ["JWT_SECRET_KEY"]
DSN = os.environ["DATABASE_URL"]
EVIDENCE_SECONDS = int(os.environ.get("EVIDENCE_SECONDS", "15"))
COUNT_EXACT_MAX = 10000

pool: Optional[asyncpg.Pool] = None
counts: dict = {}


@asynccontextmanager
async def lifespan(_app):
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=8, max_size=8)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


def ruth_time(ts: Optional[datetime]) -> Optional[str]:
    if ts is None:
        return None
    ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def cursor(tag: str, ts: datetime, rid) -> str:
    """ruth-api's keyset cursor: base64url("<tag>|<microseconds>|<id>")."""
    us = (ts - EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{tag}|{us}|{rid}".encode()).decode().rstrip("=")


def as_json(v):
    return None if v is None else json.loads(v)


class Evidence(BaseModel):
    snapshot_id: Optional[str]
    snapshot_url: str
    snapshot_status: str
    bookmark_id: Optional[str]
    bookmark_url: str
    bookmark_status: str
    bookmark_duration_seconds: Optional[int]
    evidence_status: str


class Violation(BaseModel):
    id: UUID
    type: str
    camera_id: str
    camera_name: str
    stream_id: Optional[str]
    model_id: str
    model_version: Optional[str]
    rule_id: Optional[UUID]
    status: str
    severity: str
    confidence: float
    max_confidence: float
    opening_confidence: float
    timestamp: str
    event_count: int
    bounding_boxes: Any
    zones: list[str]
    first_event_at: str
    last_event_at: str
    ended_at: Optional[str]
    ongoing: bool
    reviewed_by: Optional[str]
    reviewed_at: Optional[str]
    resolution_notes: Optional[str]
    version: int
    created_at: str
    updated_at: str
    snapshot_status: Optional[str]
    snapshot_url: Optional[str]
    bookmark_status: Optional[str]
    bookmark_url: Optional[str]
    evidence: Evidence


class Event(BaseModel):
    id: UUID
    camera_id: str
    camera_name: str
    stream_id: Optional[str]
    event_type: str
    type_detail: Optional[str]
    confidence: float
    timestamp: str
    model_id: str
    model_version: Optional[str]
    bounding_boxes: Any
    frame_id: Optional[str]
    inference_time_ms: Optional[float]
    runtime_id: Optional[str]
    error_code: Optional[str]
    error_message: Optional[str]
    attributes: Any
    metadata: Any
    extra: Any
    violation_id: Optional[UUID]
    zones: list[str]
    created_at: str


class ViolationEvent(BaseModel):
    id: UUID
    camera_id: str
    stream_id: Optional[str]
    event_type: str
    type_detail: Optional[str]
    confidence: float
    timestamp: str
    model_id: str
    model_version: Optional[str]
    bounding_boxes: Any
    frame_id: Optional[str]
    violation_id: Optional[UUID]
    created_at: str


class EvidenceItem(BaseModel):
    id: UUID
    kind: str
    status: str
    url: Optional[str]
    vas_id: Optional[str]
    center_timestamp: str
    before_seconds: Optional[int]
    after_seconds: Optional[int]
    duration_seconds: Optional[float]
    attempts: int
    last_error: Optional[str]
    requested_at: str
    completed_at: Optional[str]
    updated_at: str


class ViolationDetail(Violation):
    events: list[ViolationEvent]
    event_ids: list[UUID]
    evidence_items: list[EvidenceItem]


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool
    total_exact: bool
    next_cursor: Optional[str]


class ViolationList(BaseModel):
    violations: list[Violation]
    pagination: Pagination


class EventList(BaseModel):
    events: list[Event]
    pagination: Pagination


def auth(authorization: Optional[str]):
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing bearer token")
    try:
        claims = jwt.decode(authorization[7:], SECRET, algorithms=["HS256"],
                            options={"require": ["exp"]})
    except jwt.PyJWTError as e:
        raise HTTPException(401, str(e))
    if claims.get("role") not in ("viewer", "operator", "admin", "runtime"):
        raise HTTPException(403, "role")


async def count(con, from_where: str, args) -> tuple[int, bool]:
    key = (from_where, tuple(args))
    now = time.monotonic()
    hit = counts.get(key)
    if hit and now - hit[2] < 1.0:
        return hit[0], hit[1]
    total = await con.fetchval(
        f"SELECT count(*) FROM (SELECT 1 {from_where} LIMIT {COUNT_EXACT_MAX + 1}) c", *args)
    exact = True
    if total > COUNT_EXACT_MAX:
        plan = json.loads(await con.fetchval(f"EXPLAIN (FORMAT JSON) SELECT 1 {from_where}", *args))
        total = max(total, int(plan[0]["Plan"]["Plan Rows"]))
        exact = False
    counts[key] = (total, exact, now)
    return total, exact


VIOLATION_COLUMNS = """
    v.id, v.type, v.camera_id, coalesce(c.name, v.camera_id) AS camera_name, v.stream_id,
    v.model_id, v.model_version, v.rule_id, v.status, v.severity, v.confidence,
    v.max_confidence, coalesce(v.opening_confidence, v.confidence) AS opening_confidence,
    v.event_count, v.bounding_boxes, v.zones, v.first_event_at, v.last_event_at, v.ended_at,
    v.reviewed_by, v.reviewed_at, v.resolution_notes, v.version, v.created_at, v.updated_at,
    s.status AS s_status, s.url AS s_url, s.vas_id AS s_vas_id,
    b.status AS b_status, b.url AS b_url, b.vas_id AS b_vas_id,
    coalesce(round(b.duration_seconds)::int, b.before_seconds + b.after_seconds) AS b_seconds"""
VIOLATION_FROM = """
  FROM violations v
  LEFT JOIN cameras c ON c.id = v.camera_id
  LEFT JOIN evidence s ON s.violation_id = v.id AND s.kind = 'snapshot'
  LEFT JOIN evidence b ON b.violation_id = v.id AND b.kind = 'bookmark'"""


def violation_fields(r) -> dict:
    ss, bs = r["s_status"], r["b_status"]
    if ss == "ready" and bs == "ready":
        overall = "ready"
    elif ss is None or bs is None or "failed" in (ss, bs):
        overall = "failed"
    elif "processing" in (ss, bs):
        overall = "processing"
    else:
        overall = "pending"
    vid = str(r["id"])
    return dict(
        id=r["id"], type=r["type"], camera_id=r["camera_id"], camera_name=r["camera_name"],
        stream_id=r["stream_id"], model_id=r["model_id"], model_version=r["model_version"],
        rule_id=r["rule_id"], status=r["status"], severity=r["severity"],
        confidence=r["confidence"], max_confidence=r["max_confidence"],
        opening_confidence=r["opening_confidence"], timestamp=ruth_time(r["first_event_at"]),
        event_count=r["event_count"], bounding_boxes=as_json(r["bounding_boxes"]),
        zones=r["zones"],
        first_event_at=ruth_time(r["first_event_at"]),
        last_event_at=ruth_time(r["last_event_at"]), ended_at=ruth_time(r["ended_at"]),
        ongoing=r["ended_at"] is None, reviewed_by=r["reviewed_by"],
        reviewed_at=ruth_time(r["reviewed_at"]), resolution_notes=r["resolution_notes"],
        version=r["version"], created_at=ruth_time(r["created_at"]),
        updated_at=ruth_time(r["updated_at"]), snapshot_status=ss, snapshot_url=r["s_url"],
        bookmark_status=bs, bookmark_url=r["b_url"],
        evidence=Evidence(
            snapshot_id=r["s_vas_id"], snapshot_url=f"/api/v1/violations/{vid}/snapshot",
            snapshot_status=ss or "failed", bookmark_id=r["b_vas_id"],
            bookmark_url=f"/api/v1/violations/{vid}/video", bookmark_status=bs or "failed",
            bookmark_duration_seconds=(r["b_seconds"] if r["b_seconds"] is not None
                                       else EVIDENCE_SECONDS),
            evidence_status=overall))


@app.get("/api/v1/violations", response_model=ViolationList)
async def violations(limit: int = Query(50, ge=1, le=100), offset: int = Query(0, ge=0),
                     authorization: Optional[str] = Header(None)):
    auth(authorization)
    async with pool.acquire() as con:
        total, exact = await count(con, "FROM violations v", [])
        rows = await con.fetch(f"SELECT {VIOLATION_COLUMNS} {VIOLATION_FROM}"
                               " ORDER BY v.created_at DESC, v.id DESC LIMIT $1 OFFSET $2",
                               limit + 1, offset)
    more = len(rows) > limit
    return ViolationList(
        violations=[Violation(**violation_fields(r)) for r in rows[:limit]],
        pagination=Pagination(total=total, limit=limit, offset=offset, has_more=more,
                              total_exact=exact,
                              next_cursor=cursor("v:created_at:desc", rows[limit - 1]["created_at"],
                                                 rows[limit - 1]["id"]) if more else None))


@app.get("/api/v1/violations/{vid}", response_model=ViolationDetail)
async def violation(vid: UUID, authorization: Optional[str] = Header(None)):
    auth(authorization)
    async with pool.acquire() as con:
        r = await con.fetchrow(
            f"SELECT {VIOLATION_COLUMNS}, ARRAY(SELECT e.id FROM events e WHERE e.violation_id ="
            " v.id ORDER BY e.\"timestamp\", e.id LIMIT 1000) AS event_ids"
            f" {VIOLATION_FROM} WHERE v.id = $1", vid)
        if r is None:
            raise HTTPException(404, "VIOLATION_NOT_FOUND")
        evs = await con.fetch(
            "SELECT id, camera_id, stream_id, event_type, type_detail, confidence, \"timestamp\","
            " model_id, model_version, bounding_boxes, frame_id, violation_id, created_at"
            " FROM events WHERE violation_id = $1 ORDER BY \"timestamp\" DESC, id DESC LIMIT 50",
            vid)
        items = await con.fetch(
            "SELECT id, kind, status, url, vas_id, center_timestamp, before_seconds,"
            " after_seconds, duration_seconds, attempts, last_error, requested_at, completed_at,"
            " updated_at FROM evidence WHERE violation_id = $1 ORDER BY kind", vid)
    return ViolationDetail(
        **violation_fields(r),
        events=[ViolationEvent(
            id=e["id"], camera_id=e["camera_id"], stream_id=e["stream_id"],
            event_type=e["event_type"], type_detail=e["type_detail"], confidence=e["confidence"],
            timestamp=ruth_time(e["timestamp"]), model_id=e["model_id"],
            model_version=e["model_version"], bounding_boxes=as_json(e["bounding_boxes"]),
            frame_id=e["frame_id"], violation_id=e["violation_id"],
            created_at=ruth_time(e["created_at"])) for e in evs],
        event_ids=list(r["event_ids"]),
        evidence_items=[EvidenceItem(
            id=x["id"], kind=x["kind"], status=x["status"], url=x["url"], vas_id=x["vas_id"],
            center_timestamp=ruth_time(x["center_timestamp"]),
            before_seconds=x["before_seconds"], after_seconds=x["after_seconds"],
            duration_seconds=x["duration_seconds"], attempts=x["attempts"],
            last_error=x["last_error"], requested_at=ruth_time(x["requested_at"]),
            completed_at=ruth_time(x["completed_at"]), updated_at=ruth_time(x["updated_at"]))
            for x in items])


@app.get("/api/v1/events", response_model=EventList)
async def events(camera_id: Optional[str] = None, from_: Optional[datetime] = Query(None, alias="from"),
                 to: Optional[datetime] = None, limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0), authorization: Optional[str] = Header(None)):
    auth(authorization)
    conds, args = [], []
    for cond, val in (("e.camera_id = ${}", camera_id), ("e.\"timestamp\" >= ${}", from_),
                      ("e.\"timestamp\" < ${}", to)):
        if val is not None:
            args.append(val)
            conds.append(cond.format(len(args)))
    where = (" WHERE " + " AND ".join(conds)) if conds else ""
    async with pool.acquire() as con:
        total, exact = await count(con, "FROM events e" + where, args)
        n = len(args)
        rows = await con.fetch(
            "SELECT e.id, e.camera_id, coalesce((SELECT c.name FROM cameras c WHERE c.id ="
            " e.camera_id), e.camera_id) AS camera_name, e.stream_id, e.event_type,"
            " e.type_detail, e.confidence, e.\"timestamp\", e.model_id, e.model_version,"
            " e.bounding_boxes, e.frame_id, e.inference_time_ms, e.runtime_id, e.error_code,"
            " e.error_message, e.attributes, e.metadata, e.extra, e.violation_id, e.zones,"
            " e.created_at"
            f" FROM events e{where} ORDER BY e.\"timestamp\" DESC, e.id DESC"
            f" LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit + 1, offset)
    more = len(rows) > limit
    return EventList(
        events=[Event(
            id=e["id"], camera_id=e["camera_id"], camera_name=e["camera_name"],
            stream_id=e["stream_id"], event_type=e["event_type"], type_detail=e["type_detail"],
            confidence=e["confidence"], timestamp=ruth_time(e["timestamp"]),
            model_id=e["model_id"], model_version=e["model_version"],
            bounding_boxes=as_json(e["bounding_boxes"]), frame_id=e["frame_id"],
            inference_time_ms=e["inference_time_ms"], runtime_id=e["runtime_id"],
            error_code=e["error_code"], error_message=e["error_message"],
            attributes=as_json(e["attributes"]), metadata=as_json(e["metadata"]),
            extra=as_json(e["extra"]), violation_id=e["violation_id"], zones=e["zones"],
            created_at=ruth_time(e["created_at"])) for e in rows[:limit]],
        pagination=Pagination(total=total, limit=limit, offset=offset, has_more=more,
                              total_exact=exact,
                              next_cursor=cursor("e:desc", rows[limit - 1]["timestamp"],
                                                 rows[limit - 1]["id"]) if more else None))
