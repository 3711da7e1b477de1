"""The dashboard's summary of a period, and the log of webhook deliveries."""

from __future__ import annotations

from typing import Any

from cs_mcp.sandbox.calls import MAX_LIMIT, CallFilters, Tally
from cs_mcp.sandbox.calls import analytics as call_analytics
from cs_mcp.sandbox.formats import DAY, day_string
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store

# Days before `now` each period covers ("today": the 24 hours before it).
DASHBOARD_PERIODS = {"today": 1, "7d": 7, "30d": 30, "90d": 90, "all": None}
TOP = 5

routes = RouteTable()


@routes.get("/dashboard/stats")
def dashboard_stats(store: Store, req: Req) -> dict[str, Any]:
    period = req.query.choice("period", DASHBOARD_PERIODS, default="30d")
    days = DASHBOARD_PERIODS[period]
    filters = CallFilters(start=None if days is None else store.anchor - days * DAY)
    table = store.state["calls"]
    rows = filters.select(table)
    tally = Tally(rows)
    sources = call_analytics(table, rows, ["source"], ["count"])["rows"][:TOP]
    numbers = call_analytics(table, rows, ["number_id", "tracking_number"], ["count"])["rows"][:TOP]
    names = {n["id"]: n["name"] for n in store.state["numbers"]}
    return {
        "period": period,
        "start_date": None if filters.start is None else day_string(filters.start // DAY),
        "end_date": day_string(store.anchor // DAY),
        "total_calls": tally.count,
        "answered": tally.answered,
        "missed": tally.missed,
        "qualified": tally.qualified,
        "avg_duration_seconds": tally.avg_duration,
        "top_sources": [{"source": r["source"], "calls": r["count"]} for r in sources],
        "top_numbers": [
            {
                "number_id": r["number_id"],
                "phone_number": r["tracking_number"],
                "name": names.get(r["number_id"]),
                "calls": r["count"],
            }
            for r in numbers
        ],
    }


@routes.get("/webhooks/deliveries")
def list_deliveries(store: Store, req: Req) -> dict[str, Any]:
    limit = req.query.integer("limit", default=50, minimum=1, maximum=MAX_LIMIT)
    offset = req.query.integer("offset", default=0, minimum=0)
    deliveries = store.state["webhook_deliveries"]
    return {"deliveries": deliveries[offset : offset + limit], "total": len(deliveries)}
