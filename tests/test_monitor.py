"""semcom monitor: the figures table from JSON lines and from live metrics sinks over ZMQ."""
import io
import json
import threading
import time

import pytest

from semcom import monitor


def record(role, image_id, psnr, same=None, snr=10.0):
    return {"role": role, "image_id": image_id, "file": "x.png", "snr_db": snr, "psnr": psnr, "ms_ssim": 0.5,
            "same_person": same, "time": 0.0}


def test_table_from_json_lines_keeps_roles_apart(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [record("bob-private", 0, 20.0, True), record("eve-naive", 0, 10.0, False),
             record("bob-private", 1, 22.0, True), record("eve-naive", 1, 12.0, True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    rows = {r["role"]: r for r in monitor.read_jsonl([path]).rows()}
    assert rows["bob-private"]["frames"] == 2 and rows["bob-private"]["psnr"] == pytest.approx(21.0)
    assert rows["eve-naive"]["same_person"] == pytest.approx(0.5)  # Eve's FPESR
    table = monitor.read_jsonl([path]).table()
    assert "| eve-naive | 2 | 1 | 10.0 | 11.00 | 0.500 | 50.0% |" in table


def test_bad_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(record("bob", 0, 20.0)) + "\nnot json\n")
    with pytest.raises(ValueError, match=r"m.jsonl:2"):
        monitor.read_jsonl([path])


def test_follow_shows_what_a_publisher_sends():
    import zmq
    socket = zmq.Context.instance().socket(zmq.PUB)
    port = socket.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def publish():
        i = 0
        while not stop.is_set():
            socket.send_string(json.dumps(record("bob-host", i, 25.0)))
            i += 1
            time.sleep(0.02)

    thread = threading.Thread(target=publish)
    thread.start()
    out = io.StringIO()
    try:
        figures = monitor.follow([f"tcp://127.0.0.1:{port}"], seconds=1.5, every=0.5, out=out)
    finally:
        stop.set()
        thread.join()
        socket.close(linger=0)
    assert figures.rows()[0]["frames"] > 10
    assert "| bob-host |" in out.getvalue()
