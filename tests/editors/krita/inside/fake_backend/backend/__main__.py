"""``python -m backend serve --endpoint E`` as a future backend would answer it: READY, then version-2 replies."""

import json
import sys

import zmq

endpoint = sys.argv[sys.argv.index("--endpoint") + 1]
sock = zmq.Context().socket(zmq.ROUTER)
sock.bind(endpoint)
print(f"READY {endpoint}", flush=True)
while True:
    client, header, *_ = sock.recv_multipart()
    msg_id = json.loads(header)["id"]
    reply = {"v": 2, "id": msg_id, "type": "info", "protocol": 2, "frames": []}
    sock.send_multipart([client, json.dumps(reply).encode()])
