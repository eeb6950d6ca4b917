"""A mail server that keeps what it is sent, for `make cluster`: the task worker sends real SMTP
to it, and every message it accepts is written to a file, so that a person (or the cluster
tests) can read what went out without an outside mail server. Python's standard library only.

    python deploy/smtp_sink.py --port 8325 --dir var/cluster/mail

Each accepted message is saved as DIR/<n>-<time>.eml, written to a temporary name first and
renamed, so a reader never sees half a message. While the file DIR/slow holds a number, the
sink waits that many seconds before accepting each message (the tests use it to catch the task
worker in the middle of a send). It speaks just the SMTP a Django SMTP backend without TLS or
login uses: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

import argparse
import asyncio
import itertools
import os
import time
from pathlib import Path

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class Sink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.counter = itertools.count(1)

    def delay(self) -> float:
        try:
            return float((self.directory / "slow").read_text().strip() or 0)
        except (OSError, ValueError):
            return 0.0

    def save(self, data: bytes) -> Path:
        name = f"{next(self.counter):06d}-{time.time():.6f}.eml"
        temporary = self.directory / f".{name}.part"
        temporary.write_bytes(data)
        os.replace(temporary, self.directory / name)
        return self.directory / name

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 heard-smtp-sink ready")
        recipients: list[str] = []
        try:
            while line := await reader.readline():
                command = line.decode("utf-8", "replace").strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    await reply(f"250-heard-smtp-sink\r\n250 SIZE {MAX_MESSAGE_BYTES}")
                elif verb == "HELO":
                    await reply("250 heard-smtp-sink")
                elif verb == "MAIL":
                    recipients = []
                    await reply("250 OK")
                elif verb == "RCPT":
                    recipients.append(command[8:])
                    await reply("250 OK")
                elif verb == "DATA":
                    if not recipients:
                        await reply("503 RCPT first")
                        continue
                    await reply("354 End data with <CR><LF>.<CR><LF>")
                    lines = []
                    while (part := await reader.readline()) not in (b".\r\n", b".\n", b""):
                        lines.append(part[1:] if part.startswith(b"..") else part)
                    if (delay := self.delay()) > 0:
                        await asyncio.sleep(delay)
                    path = self.save(b"".join(lines))
                    await reply(f"250 OK queued as {path.name}")
                elif verb in ("RSET", "NOOP"):
                    recipients = [] if verb == "RSET" else recipients
                    await reply("250 OK")
                elif verb == "QUIT":
                    await reply("221 Bye")
                    break
                else:
                    await reply("502 Command not implemented")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def serve(host: str, port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(Sink(directory).session, host, port)
    print(f"SMTP sink on {host}:{port}, messages saved in {directory}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8325)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.dir))


if __name__ == "__main__":
    main()
