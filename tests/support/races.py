"""Ten identical commands at once, spread over two web processes of one service: the race Decidim tests its
orders with. `at_once` starts them together (a barrier) and returns their answers in order."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests

COPIES = 10


def at_once(send: Callable[[int], requests.Response], copies: int = COPIES) -> list[requests.Response]:
    """`send(i)` for i in 0..copies-1, all released at the same moment."""
    gate = threading.Barrier(copies)

    def one(i: int) -> requests.Response:
        gate.wait()
        return send(i)

    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(one, range(copies)))


def statuses(answers: list[requests.Response]) -> Counter:
    return Counter(a.status_code for a in answers)
