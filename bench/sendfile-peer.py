"""The far end of row 1's "raw socket, sendfile" contender.

`python3 bench/sendfile-peer.py <file>`: listens on a free loopback port,
prints `PORT <n>`, and sends <file> to every connection with sendfile(2)
(Python's socket.sendfile), then closes it. That is how vsftpd sends a
file, from the same tmpfs file, with no FTP: the raw limit for these bytes
sent this way. Exits when its stdin ends (the parent is done or gone).
"""
import os
import socket
import sys
import threading


def serve(listener: socket.socket, path: str) -> None:
    while True:
        conn, _ = listener.accept()
        with conn, open(path, "rb") as source:
            conn.sendfile(source)


def main() -> None:
    path = sys.argv[1]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    threading.Thread(target=serve, args=(listener, path), daemon=True).start()
    sys.stdin.read()
    os._exit(0)


main()
