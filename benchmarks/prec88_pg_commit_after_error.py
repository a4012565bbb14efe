"""prec88: what psycopg2's commit() does after a swallowed error in a SET / SELECT,
with and without earlier uncommitted work in the same transaction."""
import psycopg2
import psycopg2.extensions as ext

dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
conn = psycopg2.connect(dsn)
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS prec88_t"); cur.execute("CREATE TABLE prec88_t (v int)")
conn.commit()

def status():
    return {ext.TRANSACTION_STATUS_IDLE: "idle", ext.TRANSACTION_STATUS_INTRANS: "intrans",
            ext.TRANSACTION_STATUS_INERROR: "inerror"}.get(conn.get_transaction_status())

for label, earlier in (("nothing before", False), ("INSERT before", True)):
    conn.commit()
    if earlier:
        cur.execute("INSERT INTO prec88_t VALUES (1)")
    curs = conn.cursor()
    try:
        curs.execute("SET no_such_setting_really TO 5000")  # fails
    except Exception as e:
        print(label, "error:", type(e).__name__, "status after error:", status())
    finally:
        curs.close()
        try:
            conn.commit()
            print(label, "commit raised nothing; status:", status())
        except Exception as e:
            print(label, "commit raised", type(e).__name__)
    cur.execute("SELECT count(*) FROM prec88_t"); print(label, "rows kept:", cur.fetchone()[0],
                                                     "next statement ran; status:", status())
    conn.commit()
# a SELECT of a missing function
curs = conn.cursor()
try:
    curs.execute("SELECT no_such_fn()")
except Exception as e:
    print("select fn error:", type(e).__name__, status())
finally:
    conn.commit(); print("after commit:", status())
cur.execute("DROP TABLE prec88_t"); conn.commit(); conn.close()
