# ruff: noqa: S311 (random picks of shop actions, not secrets)
"""The shop as Locust sees it (run by bench/load/run.py, headless; not meant to be run alone).

Environment: BENCH_USERS_FILE (JSON list of {"email", "password"}), BENCH_PRODUCTS_FILE (JSON
{"products": [ids], "categories": [slugs]}), BENCH_REFRESH_SECONDS (token refresh period),
BENCH_SPAWN_RATE (users started a second). Request names are endpoint groups, so Locust's
statistics come out per group.

Locust starts a second's users all at the same instant (``floor(spawn rate)`` users per dispatch,
one dispatch a second). Each user here waits its turn within that second before it logs in, so
users arrive at the spawn rate, one every 1/rate s, as the report states; ``run.py`` measures
logins arriving together separately.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
import uuid
from pathlib import Path

import gevent
from locust import FastHttpUser, between, task

USERS = json.loads(Path(os.environ["BENCH_USERS_FILE"]).read_text())
CATALOG = json.loads(Path(os.environ["BENCH_PRODUCTS_FILE"]).read_text())
REFRESH_SECONDS = float(os.environ.get("BENCH_REFRESH_SECONDS", "120"))
SPAWN_RATE = float(os.environ.get("BENCH_SPAWN_RATE", "10"))
WORDS = ("item", "bench", "blue", "lamp", "chair", "mug")

_next_user = itertools.count()
_lock = threading.Lock()


class Shopper(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        with _lock:
            number = next(_next_user)
        self.account = USERS[number % len(USERS)]
        per_dispatch = max(1, int(SPAWN_RATE))
        gevent.sleep((number % per_dispatch) / SPAWN_RATE)  # this user's turn in its second
        self.orders: list[str] = []
        self.in_cart = False
        self.access = self.refresh_token = ""
        self.refreshed_at = time.monotonic()
        self.login()

    def login(self) -> None:
        with self.client.post(
            "/api/auth/login", json=self.account, name="auth: login", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"login {response.status_code}")
                return
            tokens = response.json()
        self.access, self.refresh_token = tokens["access"], tokens["refresh"]
        self.refreshed_at = time.monotonic()

    def refresh(self) -> None:
        with self.client.post(
            "/api/auth/refresh",
            json={"refresh": self.refresh_token},
            name="auth: refresh",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                tokens = response.json()
                self.access, self.refresh_token = tokens["access"], tokens["refresh"]
            else:
                response.failure(f"refresh {response.status_code}")
        self.refreshed_at = time.monotonic()

    def authed(self, method: str, path: str, name: str, **kwargs):
        if not self.access:  # the login at start failed: try again, as a real client would
            self.login()
        if time.monotonic() - self.refreshed_at > REFRESH_SECONDS:
            self.refresh()
        headers = {"Authorization": f"Bearer {self.access}", **kwargs.pop("headers", {})}
        response = self.client.request(method, path, name=name, headers=headers, **kwargs)
        if response.status_code == 401:  # expired: refresh once and retry, as the web app does
            self.refresh()
            headers["Authorization"] = f"Bearer {self.access}"
            response = self.client.request(method, path, name=name, headers=headers, **kwargs)
        return response

    @task(10)
    def browse_and_search(self) -> None:
        params = {"page": random.randint(1, 3), "page_size": 20}
        choice = random.random()
        if choice < 0.4:
            params["q"] = random.choice(WORDS)
        elif choice < 0.8:
            params["category"] = random.choice(CATALOG["categories"])
        self.client.get("/api/catalog/products", params=params, name="browse+search")

    @task(5)
    def product_page(self) -> None:
        product_id = random.choice(CATALOG["products"])
        self.client.get(f"/api/catalog/products/{product_id}", name="product page")

    @task(3)
    def cart(self) -> None:
        product_id = random.choice(CATALOG["products"])
        response = self.authed(
            "PUT",
            f"/api/cart/items/{product_id}",
            "cart",
            json={"quantity": random.randint(1, 2)},
        )
        if response.status_code == 200:
            self.in_cart = True

    @task(1)
    def checkout(self) -> None:
        if not self.in_cart:
            self.cart()
        response = self.authed(
            "POST", "/api/orders", "checkout", headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        if response.status_code == 202:
            self.in_cart = False
            self.orders.append(response.json()["id"])
            del self.orders[:-20]

    @task(2)
    def order_status(self) -> None:
        if self.orders:
            self.authed("GET", f"/api/orders/{random.choice(self.orders)}", "order status")
        else:
            self.authed("GET", "/api/orders", "order status")
