"""CPython's ftplib as a bench contender (bench/README.md, rows 4-6 and 8).

    python3 bench/ftplib-peer.py HOST PORT USER PASSWORD

Logs in once, prints READY, then runs one batch per line read from stdin
and answers each with one line, `<wall ms> <cpu ms> <bytes>`, the batch
timed here so the pipe between the bench and this process is not counted:

    retr PATH...   retrbinary("RETR path", callback) per path, one after another
    stor PATH...   storbinary("STOR path", 4 KiB source) per path
    noop N         voidcmd("NOOP") N times

The loop is ftplib's own, as a user writes it: TYPE I before each
transfer, PASV (ftplib's default on IPv4), the callback counting bytes.
Ends (QUIT) when stdin does.
"""
import ftplib
import io
import sys
import time

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ftp = ftplib.FTP()
ftp.connect(host, port, timeout=60)
ftp.login(user, password)
upload = bytes(range(256)) * 16  # 4 KiB
print("READY", flush=True)

for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    received = 0

    def count(block):
        global received
        received += len(block)

    wall, cpu = time.perf_counter(), time.process_time()
    if words[0] == "retr":
        for path in words[1:]:
            ftp.retrbinary("RETR " + path, count)
    elif words[0] == "stor":
        for path in words[1:]:
            ftp.storbinary("STOR " + path, io.BytesIO(upload))
            received += len(upload)
    elif words[0] == "noop":
        for _ in range(int(words[1])):
            ftp.voidcmd("NOOP")
    else:
        raise SystemExit("unknown batch: " + words[0])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{wall * 1000:.3f} {cpu * 1000:.3f} {received}", flush=True)

ftp.quit()
