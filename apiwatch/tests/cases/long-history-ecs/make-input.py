#!/usr/bin/env python3
"""Writes input.jsonl.gz: nineteen days of application (ECS) events for the rules that need
weeks of history, which the generated runs are too short for. Deterministic: run it again and
the bytes are the same. See README.md for what each actor does."""
import gzip
import json
from datetime import datetime, timedelta, timezone

START = datetime(2026, 2, 1, tzinfo=timezone.utc)
DAYS = 19
events = []


def at(day, hour, minute=0, second=0):
    return START + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def ev(ts, **fields):
    e = {"@timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"}
    e.update({k.replace("__", "."): v for k, v in fields.items()})
    events.append(e)


DE = {"source.geo.country_iso_code": "DE", "source.geo.location": {"lat": 50.1109, "lon": 8.6821}}
FR = {"source.geo.country_iso_code": "FR", "source.geo.location": {"lat": 48.8566, "lon": 2.3522}}
JP = {"source.geo.country_iso_code": "JP", "source.geo.location": {"lat": 35.6895, "lon": 139.6917}}
BR = {"source.geo.country_iso_code": "BR", "source.geo.location": {"lat": -23.5505, "lon": -46.6333}}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def http(ts, ip, geo, method, path, route, status, size, ua, **extra):
    fields = {
        "source.ip": ip,
        "http.request.method": method,
        "url.path": path,
        "http.route": route,
        "http.response.status_code": status,
        "http.response.body.bytes": size,
        "user_agent.original": ua,
    }
    fields.update(geo)
    fields.update({k.replace("__", "."): v for k, v in extra.items()})
    ev(ts, **fields)


ADMIN = {"user.name": "ops-admin", "user.roles": ["user", "admin"]}
TRAVELLER = {"user.name": "ana-admin", "user.roles": ["user", "admin"]}

for day in range(DAYS):
    weekday = (START + timedelta(days=day)).weekday() < 5
    # ops-admin works from Frankfurt, 09:00-17:00 on working days: settings and user admin.
    if weekday and day < 16:
        for k in range(6):
            method, path, route = [
                ("PATCH", "/api/v1/settings/mail", "/api/v1/settings/mail"),
                ("GET", "/api/v1/admin/users", "/api/v1/admin/users"),
                ("POST", "/api/v1/admin/invites", "/api/v1/admin/invites"),
            ][k % 3]
            http(at(day, 9 + k, 17), "192.0.2.10", DE, method, path, route, 200, 900, BROWSER, **ADMIN)
    # ana-admin works from Paris; on day 15 she flies to Tokyo and only reads there.
    if weekday and day < 15:
        for k in range(5):
            http(at(day, 9 + k, 41), "192.0.2.20", FR, "PUT", "/api/v1/settings/tax",
                 "/api/v1/settings/tax", 200, 700, BROWSER, **TRAVELLER)
    if day in (16, 17):
        for k in range(4):
            http(at(day, 10 + k, 5), "198.51.100.20", JP, "GET", "/api/v1/orders",
                 "/api/v1/orders", 200, 2400, BROWSER, **TRAVELLER)
    # partner-acme: its nightly export (a sensitive route) and order reads, every night.
    for k in range(10):
        http(at(day, 2, 3 * k), "198.51.100.30", {}, "GET", "/api/v1/export/orders",
             "/api/v1/export/orders", 200, 240000, "acme-sync/4.2", consumer__name="partner-acme")
    for k in range(2):
        http(at(day, 2, 40 + k), "198.51.100.30", {}, "GET", "/api/v1/orders",
             "/api/v1/orders", 200, 9000, "acme-sync/4.2", consumer__name="partner-acme")
    # partner-globex: ten pages of 1 MB at 01:00 for two weeks; from day 14 a page of 100 kB
    # every two minutes around the clock (72 MB a day, 3 MB an hour).
    if day < 14:
        for k in range(10):
            http(at(day, 1, 2 * k), "198.51.100.40", {}, "GET", "/api/v1/export/orders",
                 "/api/v1/export/orders", 200, 1000000, "Go-http-client/2.0",
                 consumer__name="partner-globex")
    else:
        for k in range(720):
            http(at(day, 0, 2 * k, 7), "198.51.100.40", {}, "GET", "/api/v1/customers",
                 "/api/v1/customers", 200, 100000, "Go-http-client/2.0",
                 consumer__name="partner-globex")
    # partner-initech: one 4 MB page an hour, every hour; on day 17 at 14:00 sixty of 5 MB.
    for h in range(24):
        http(at(day, h, 30), "198.51.100.50", {}, "GET", "/api/v1/catalogue",
             "/api/v1/catalogue", 200, 4000000, "initech-etl/1.0", consumer__name="partner-initech")
    if day == 17:
        for k in range(60):
            http(at(day, 14, k, 45), "198.51.100.50", {}, "GET", "/api/v1/catalogue",
                 "/api/v1/catalogue", 200, 5000000, "initech-etl/1.0",
                 consumer__name="partner-initech")

# Day 17, 05:00: ops-admin's account, from Sao Paulo, creates an API key (the admin's last
# action at home was twelve hours earlier: not impossibly fast, but a new country).
http(at(17, 5, 2), "203.0.113.66", BR, "POST", "/api/v1/admin/api-keys", "/api/v1/admin/api-keys",
     201, 410, BROWSER, **ADMIN)
# Day 17, 02:45: partner-acme's key reads a customer's personal data, a sensitive route it
# never used; the same night it also tries a new ordinary route (quiet).
http(at(17, 2, 45), "198.51.100.30", {}, "GET", "/api/v1/customers/81234/pii",
     "/api/v1/customers/{id}/pii", 200, 1800, "acme-sync/4.2", consumer__name="partner-acme")
http(at(17, 2, 46), "198.51.100.30", {}, "GET", "/api/v2/orders", "/api/v2/orders", 200, 9000,
     "acme-sync/4.2", consumer__name="partner-acme")

events.sort(key=lambda e: e["@timestamp"])
data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
with open("input.jsonl.gz", "wb") as f:
    f.write(gzip.compress(data, compresslevel=9, mtime=0))
print(len(events), "events,", len(data), "bytes before compression")
