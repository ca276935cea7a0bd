#!/usr/bin/python3
"""Publish two events to a Simpang hub through its partner door, as a partner's own program would.

It connects over tcp with CurveZMQ (the hub's public key, the partner's key pair made with
`simpang keys new NAME`), says hello, publishes one batch of two CloudEvents and prints the hub's
answer. The wire protocol is docs/connecting-from-outside.md; the classes come from the hub's
.proto files:

    protoc --python_out=OUT -I sdk/proto sdk/proto/simpang/v1/event.proto \\
        sdk/proto/simpang/v1/wire.proto
    python3 examples/python/publish.py --protos OUT --endpoint tcp://hub.example:7400 \\
        --server-key hub.pub --secret-key acme.key --source /partners/acme/hr

Needs Debian's python3-zmq and python3-protobuf. Exits 0 when both events were accepted, 1 when
the hub refused or rejected something (the reason is printed), 2 on a usage or timeout problem.
"""

import argparse
import sys
import time
import uuid

WIRE_PROTOCOL_VERSION = 2  # the hub refuses another version, naming both


def read_key(path):
    with open(path, "r", encoding="ascii") as f:
        return f.read().strip().encode("ascii")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protos", required=True, help="directory with the generated *_pb2.py")
    parser.add_argument("--endpoint", required=True, help="the partner door, tcp://HOST:PORT")
    parser.add_argument("--server-key", required=True, help="file with the hub's public key (Z85)")
    parser.add_argument("--secret-key", required=True, help="file with the partner's secret key")
    parser.add_argument("--source", required=True, help="the events' source, within the prefix")
    parser.add_argument("--type", default="talent.person.updated", help="the events' type")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait per answer")
    args = parser.parse_args()

    sys.path.insert(0, args.protos)
    import zmq  # noqa: E402  (after the path is known, like the generated classes)
    from simpang.v1 import event_pb2, wire_pb2  # noqa: E402

    secret = read_key(args.secret_key)
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.curve_serverkey = read_key(args.server_key)
    socket.curve_secretkey = secret
    socket.curve_publickey = zmq.curve_public(secret)  # the public key is derived from the secret
    socket.connect(args.endpoint)

    def send(frame):
        socket.send(frame.SerializeToString())

    def receive():
        """The next frame from the hub other than a heartbeat."""
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if socket.poll(int((deadline - time.monotonic()) * 1000) + 1) == 0:
                break
            frame = wire_pb2.Frame()
            frame.ParseFromString(socket.recv())
            if not frame.HasField("heartbeat"):
                return frame
        print(f"no answer from {args.endpoint} within {args.timeout}s (a wrong server key or "
              "an unknown client key fails the handshake silently on this side)", file=sys.stderr)
        sys.exit(2)

    hello = wire_pb2.Frame()
    hello.hello.protocol_version = WIRE_PROTOCOL_VERSION
    hello.hello.produces = True
    hello.hello.plugin = "publish.py"
    send(hello)
    answer = receive()
    if not answer.HasField("welcome"):
        print(f"refused: {answer.refused.reason}")
        return 1
    welcome = answer.welcome
    print(f"welcome: protocol {welcome.protocol_version}, max_batch {welcome.max_batch}, "
          f"max_unacked {welcome.max_unacked}, max_event_bytes {welcome.max_event_bytes}")

    publish = wire_pb2.Frame()
    publish.publish.batch = 1
    ids = []
    for n in range(2):
        event = event_pb2.Event()
        event.id = str(uuid.uuid4())
        event.source = args.source
        event.spec_version = "1.0"
        event.type = args.type
        event.subject = f"person-{n + 1}"
        event.data_content_type = "application/json"
        event.text_data = '{"example": %d}' % (n + 1)
        ids.append(event.id)
        publish.publish.events.append(event.SerializeToString())
    send(publish)
    answer = receive()
    if answer.HasField("publish_ack"):
        print(f"ack: batch {answer.publish_ack.batch}, accepted {answer.publish_ack.accepted}: "
              + " ".join(ids))
        ok = answer.publish_ack.accepted == len(ids)
    elif answer.HasField("publish_reject"):
        reject = answer.publish_reject
        if reject.retry_later:
            print(f"retry later: {reject.retry_later}")
        for rejection in reject.rejected:
            print(f"rejected event {rejection.index}: {rejection.reason}")
        print(f"reject: batch {reject.batch}, accepted {reject.accepted}")
        ok = False
    else:
        print(f"refused: {answer.refused.reason}")
        ok = False

    bye = wire_pb2.Frame()
    bye.bye.reason = "publish.py done"
    send(bye)
    socket.close()
    context.term()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
