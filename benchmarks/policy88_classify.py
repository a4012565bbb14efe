"""Write benchmarks/policy88_classes.txt: every D row of large85/86/87 with its class and its re-scored verdict."""
import re
import sys

CLASSES = {
    "i": "SQLAlchemy session/connection dropped unclosed on the NORMAL path (no exception), judged 'freed by refcounting at return'",
    "i-c": "SQLAlchemy session ending with commit(), never closed (normal path holds nothing; a failing commit is an exception gap), batch/one-shot code",
    "ii": "engine built per call and dropped undisposed (client, desktop or batch tool)",
    "ii-x": "engine disposed at the end but not in a finally (exception path only)",
    "iii": "PS207 idle in transaction around one wait in one-shot CLI code or on a rare path",
    "iii-s": "PS207 on a default-SQLite web UI (server database only by configuration)",
    "iv": "direct-connection gap on an object (__enter__/__exit__ skips close() when a call raises)",
    "iv-s": "SQLAlchemy connection on an object, __exit__ skips close() when commit() raises",
    "v": "exception-only gap of a function-local SQLAlchemy session/connection (policy87's class)",
    "vi": "direct connection, function-local exception gap or one-shot never closed",
    "vii": "PS203 engine without pool_pre_ping in batch/library/desktop code or with pool_recycle",
    "viii": "PS103 swallowed error: request-scoped session then torn down, transient scoped session, or library helper",
    "ix": "dead (deprecated) code",
}
# (set, path:line) -> (class, verdict after policy88, why)
ASSIGN = {}
def put(s, keys, cls, verdict, why):
    for k in keys:
        ASSIGN[(s, k)] = (cls, verdict, why)

R87 = "lead87 verdict policy (policy87's measurement): exception-only SQLAlchemy gap in request/worker code is T"
put("large85", ["api/actions.py:309", "api/actions.py:368", "api/actions.py:402", "api/actions.py:642",
                "api/actions.py:695", "api/actions.py:1065", "api/actions.py:1990"], "v", "T", R87 + " (per-request API action)")
put("large85", ["oedb/connection.py:34", "edisgo/io/db.py:173", "edisgo/io/db.py:182",
                "pvsite_datamodel/connection.py:23", "src/egon/data/db.py:45"], "vii", "D", "not this round's class")
put("large85", ["etrago/tools/db.py:208"], "ii", "D", "measured: one idle server connection per engine until gc (reason confirmed); batch tool")
put("large85", ["sampledb/frontend/users/preferences.py:211", "sampledb/frontend/users/preferences.py:229",
                "sampledb/frontend/users/preferences.py:275", "sampledb/frontend/users/preferences.py:305",
                "sampledb/frontend/users/preferences.py:440"], "viii", "D", "not this round's class")
put("large85", ["src/egon/data/datasets/osmtgmod/__init__.py:319"], "vi", "D", "not this round's class")
put("large86", ["Back/ecoreleve_server/core/log_view.py:21"], "v", "T", R87 + " (run by the exception view per failing request)")
put("large86", ["Back/ecoreleve_server/Models/Log.py:15", "Back/ecoreleve_server/Models/Log.py:17"], "ix", "D", "dead code")
put("large86", ["legacy/src/python/esgcet/esgcet/publish/wrappers.py:24", "spinedb_api/helpers.py:673",
                "spinedb_api/spine_io/exporters/sql_writer.py:33", "spinedb_api/spine_io/importers/sqlalchemy_reader.py:48",
                "scripts/map_checker/MapCheckerEngine.py:12", "osmnames/database/connection.py:6"], "vii", "D", "not this round's class")
put("large86", ["scrapydweb/views/operations/schedule.py:640"], "iii-s", "D", "not this round's class")
put("large86", ["spinedb_api/db_mapping.py:362", "spinedb_api/db_mapping.py:406", "spinedb_api/helpers.py:173",
                "spinedb_api/helpers.py:292"], "ii", "D", "measured: one idle server connection per engine until gc (reason confirmed); desktop tool")
put("large86", ["spinedb_api/helpers.py:223", "spinedb_api/helpers.py:224"], "ii-x", "D", "exception path only, one-shot utility")
put("large87", ["matcher/cli.py:139", "matcher/cli.py:1108", "reindex.py:73", "matcher/place.py:1204",
                "matcher/view.py:2350"], "iii", "D",
    "measured: the idle read transaction blocks DDL for the wait and ends with the process; one wait in one-shot code or a rare path: still D, still reported")
put("large87", ["cathub/cathubsql.py:30"], "ii", "D", "measured: one idle server connection per engine until gc (reason confirmed); client tool")
put("large87", ["cathub/cathubsql.py:36"], "iv-s", "D", "measured: held until gc (not 'until dropped'); client tool, exception path: D, reported with its cost")
put("large87", ["cathub/postgresql.py:180"], "iv", "D", "psycopg2 on an object, but the class is subclassed and made outside `with`: still reported (conservative)")
put("large87", ["mwmbl/database.py:29"], "iv", "gone", "psycopg2 on an object made only in `with`: measured 0 server connections after the caller's except; no longer reported by default (strict keeps it)")
put("large87", ["userbot/sql_helper/welcome_sql.py:69", "userbot/sql_helper/welcomesql.py:71", "stetl/postgis.py:33"],
    "viii", "D", "not this round's class")
put("large87", ["gnumed/gnumed/client/pycommon/gmConnectionPool.py:855", "gnumed/gnumed/client/pycommon/gmConnectionPool.py:910"],
    "vi", "D", "not this round's class")
put("large87", ["obspy/clients/filesystem/tsindex.py:1266"], "v", "D", "exception-only SQLAlchemy gap in a summary-building call (batch): D under lead87's policy")
put("large87", ["obspy/clients/filesystem/tsindex.py:1344", "obspy/clients/filesystem/tsindex.py:1526"], "i", "T",
    "measured: a session dropped after a query stays checked out (idle in transaction) after return until gc; a data-access call made per request of the client: a run of calls exhausts the pool (41 of 200 timed out on a default pool)")
put("large87", ["obspy/clients/filesystem/tsindex.py:1696"], "i", "D",
    "measured: held until gc, not freed at return; but a set-up call, once per client: D")
put("large87", ["frontera/contrib/backends/sqlalchemy/__init__.py:37"], "v", "D", "exception-only, table set-up at backend start: D under lead87's policy")
put("large87", ["frontera/utils/graphs/manager.py:20"], "i", "D", "measured: held until gc, not freed at return; a diagram utility run once: D")

out = ["# policy88 (issue 31, round 44): every D row of large85/86/87_judgements.txt, its class, and its verdict",
       "# re-scored FROM THE RECORDED REASONS under the measured policy (benchmarks/policy88_normal_path.py,",
       "# policy87_gc_reclaim.py). Not a held measurement: the code was not re-read except where said in the README.",
       "# verdict 'gone' = poolsafe no longer reports it at the branch (checked by a rerun).",
       "# classes: " + "; ".join(f"{k} = {v}" for k, v in CLASSES.items()),
       "# set|split|codebase|path:line|rule|class|verdict after|why"]
counts = {}
for s in ("large85", "large86", "large87"):
    for line in open(f"benchmarks/{s}_judgements.txt"):
        if line.startswith("#") or "|D|" not in line:
            continue
        split, cb, loc, rule, v, _ = line.split("|", 5)
        if (s, loc) not in ASSIGN and cb == "eGon-data" and rule == "PS102":
            ASSIGN[(s, loc)] = ("i-c", "D", "measured: after its commit the session holds nothing; only a failing "
                                "commit holds until gc, in an Airflow task (batch): D, reported as an exception gap")
        cls, verdict, why = ASSIGN[(s, loc)]
        counts[cls] = counts.get(cls, 0) + 1
        out.append("|".join((s, split, cb, loc, rule, cls, verdict, why)))
assert len(out) - 6 == 73, len(out)
out.append("# counts per class: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in CLASSES))
open("benchmarks/policy88_classes.txt", "w").write("\n".join(out) + "\n")
print(out[-1])
