"""The offered load: residents' reports, mostly unique, about one in ten a near-duplicate of an earlier one,
sent open-loop (Poisson arrivals on the clock, whatever the responses do) by a pool of client threads."""
from __future__ import annotations

import bisect
import http.client
import json
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

COMMUNITIES = ("幸福里", "阳光花园", "和平新村", "春晓苑", "梧桐里", "紫荆小区", "滨江一号", "东湖社区", "南苑", "锦绣家园",
               "青年路社区", "新华里", "金色家园", "柳岸小区", "朝阳新村", "翠湖苑")
CHANNELS = ("hotline", "online", "visit", "survey")
# (weight, title, description): every category of intake's table and every triage tier (urgent ~25 %,
# complex ~10 %); {b} building, {u} unit, {n} a reference that keeps unrelated reports apart
PROBLEMS = (
    (8, "{b}号楼{u}单元楼道灯坏了(编号{n})", "晚上楼道一片漆黑,老人上下楼不安全,联系电话{phone}"),
    (6, "{b}号楼旁消防通道被堵(编号{n})", "消防通道停满了电动车和杂物,物业没人管"),
    (3, "{b}号楼{u}单元闻到燃气味(编号{n})", "楼道里有燃气味,担心漏气"),
    (3, "{b}号楼邻里纠纷激化(编号{n})", "楼上楼下因为漏水吵了几次,昨天差点动手"),
    (5, "{b}号楼门口垃圾堆放(编号{n})", "垃圾好几天没清运了,有异味,招蚊虫"),
    (4, "小区绿化带卫生差(编号{n})", "{b}号楼后面的绿化带里全是垃圾"),
    (6, "{b}号楼{u}单元电梯经常停运(编号{n})", "这个月困人两次,物业说在维修"),
    (5, "{b}号楼前路灯不亮(编号{n})", "路灯坏了一个星期,晚上出行不便"),
    (3, "{b}号楼{u}单元门禁损坏(编号{n})", "门禁坏了,陌生人随便进出"),
    (3, "{b}号楼下水道堵塞(编号{n})", "污水冒到路面上,有臭味"),
    (4, "小区停车难(编号{n})", "{b}号楼附近车位不足,晚上没地方停车"),
    (3, "{b}号楼门口乱停车(编号{n})", "电动车乱停,占道严重"),
    (4, "{b}号楼{u}单元楼上噪音扰民(编号{n})", "半夜很吵,和邻居沟通无果"),
    (2, "物业费收支不公开(编号{n})", "{b}号楼的业主想了解物业费用在哪里"),
    (2, "业委会换届有争议(编号{n})", "换届选举程序不透明"),
    (4, "想报名老年助餐(编号{n})", "{b}号楼家里老人行动不便,希望有助餐服务"),
    (2, "希望增加儿童活动场地(编号{n})", "小区里孩子多,没有活动的地方"),
    (3, "建议加装电梯(编号{n})", "{b}号楼是老楼,老人上下楼困难"),
)
WEIGHTS = [w for w, _, _ in PROBLEMS]
# a neighbour reporting the same problem in other words: duplicate detection should merge it
RESTATED = (("坏了", "又坏了"), ("被堵", "又被堵了"), ("经常", "老是"), ("不亮", "一直不亮"), ("难", "太难了"))


class Reports:
    """Report bodies; `duplicates` of them repeat an earlier report's problem and place (same numbers)."""

    def __init__(self, seed: int = 12, duplicates: float = 0.1):
        self.rng = random.Random(seed)
        self.duplicates = duplicates
        self.sent: list[tuple[float, dict[str, Any]]] = []  # (when, body) of the unique reports so far
        self.lock = threading.Lock()
        self.n = 0

    def next(self) -> tuple[dict[str, Any], bool]:
        """(body, is_duplicate)."""
        with self.lock:
            self.n += 1
            # repeat a report old enough to be in intake's index (duplicate detection reads it)
            old_enough = bisect.bisect_left(self.sent, time.monotonic() - 5, key=lambda s: s[0])
            if old_enough and self.rng.random() < self.duplicates:
                return self._restate(self.sent[self.rng.randrange(old_enough)][1]), True
            body = self._unique(self.n)
            self.sent.append((time.monotonic(), body))
            return body, False

    def _unique(self, n: int) -> dict[str, Any]:
        rng = self.rng
        _, title, description = rng.choices(PROBLEMS, WEIGHTS)[0]
        building, unit = str(rng.randint(1, 40)), str(rng.randint(1, 6))
        phone = f"13{rng.randint(0, 9)}{rng.randrange(10**8):08d}"
        fill = {"b": building, "u": unit, "n": n, "phone": phone}
        return {
            "channel": rng.choice(CHANNELS),
            "title": title.format(**fill),
            "description": description.format(**fill),
            "location": {"community": rng.choice(COMMUNITIES), "building": building, "unit": unit,
                         "room": f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"},
            "reporter": {"name": "居民" + str(rng.randrange(100_000)), "phone": phone},
        }

    def _restate(self, earlier: dict[str, Any]) -> dict[str, Any]:
        title = earlier["title"]
        for old, new in RESTATED:
            if old in title:
                title = title.replace(old, new, 1)
                break
        phone = f"15{self.rng.randrange(10**9):09d}"
        return {**earlier, "title": title, "channel": self.rng.choice(CHANNELS),
                "description": "我也反映过这个问题," + earlier["description"],
                "reporter": {"name": "居民" + str(self.rng.randrange(100_000)), "phone": phone}}


@dataclass(eq=False)
class Post:
    step: str
    scheduled: float  # monotonic
    duplicate: bool = False
    sent: float = 0.0
    sent_wall: float = 0.0
    done: float = 0.0
    status: int = 0
    issue_id: str | None = None
    merged: bool = False
    error: str | None = None


class Client:
    """A pool of threads, one keep-alive connection each, posting reports when they are due.

    `max_lateness` None sends every report however late (the burst: none may be dropped); otherwise a
    report not sent within that many seconds of its arrival counts as unsent (the clients were all busy).
    """

    def __init__(self, url: str, reports: Reports, threads: int, on_accepted=None):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.reports = reports
        self.on_accepted = on_accepted or (lambda post: None)
        self.jobs: queue.SimpleQueue[Post | None] = queue.SimpleQueue()
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        self.outstanding = 0
        self.idle = threading.Condition(self.lock)
        self.max_lateness: float | None = 5.0
        self.deadline = float("inf")  # no report is sent after this (monotonic)
        self.threads = [threading.Thread(target=self._work, daemon=True, name=f"client-{i}") for i in range(threads)]
        for t in self.threads:
            t.start()

    def _work(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        while (post := self.jobs.get()) is not None:
            now = time.monotonic()
            late = self.max_lateness is not None and now - post.scheduled > self.max_lateness
            if late or now > self.deadline:
                post.error = "unsent"
            else:
                conn = self._post(conn, post)
            with self.lock:
                self.posts.append(post)
                self.outstanding -= 1
                if self.outstanding == 0:
                    self.idle.notify_all()

    def _post(self, conn: http.client.HTTPConnection, post: Post) -> http.client.HTTPConnection:
        body, post.duplicate = self.reports.next()
        payload = json.dumps(body, ensure_ascii=False).encode()
        post.sent, post.sent_wall = time.monotonic(), time.time()
        try:
            conn.request("POST", "/issues", payload, {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            post.done, post.status = time.monotonic(), response.status
            if response.status == 201:
                doc = json.loads(data)
                post.issue_id, post.merged = doc["issue_id"], bool(doc.get("merged_into"))
                self.on_accepted(post)
            else:
                post.error = f"HTTP {response.status}: {data[:120].decode(errors='replace')}"
        except (OSError, http.client.HTTPException) as exc:
            post.done, post.error = time.monotonic(), f"{type(exc).__name__}: {exc}"[:160]
            conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return conn

    def offer(self, step: str, rate: float, seconds: float, stop: threading.Event) -> tuple[float, float]:
        """Poisson arrivals at `rate` for `seconds`; returns the (start, end) of the offered interval."""
        rng = random.Random(f"{step}-{rate}")
        start = time.monotonic() + 0.01
        at = start
        while not stop.is_set():
            at += rng.expovariate(rate)
            if at >= start + seconds:
                break
            delay = at - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            with self.lock:
                self.outstanding += 1
            self.jobs.put(Post(step, at))
        return start, start + seconds

    def wait_idle(self, timeout: float) -> bool:
        with self.lock:
            return self.idle.wait_for(lambda: self.outstanding == 0, timeout)

    def of_step(self, step: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.step == step]

    def accepted_ids(self) -> list[str]:
        with self.lock:
            return [p.issue_id for p in self.posts if p.issue_id]

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
