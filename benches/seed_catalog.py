#!/usr/bin/env python3
"""Seeds N products through the catalog API (as the admin), writing their ids to a file.

usage: seed_catalog.py BASE_URL TOKEN COUNT IDS_FILE
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

WORDS = ["tea", "coffee", "kettle", "mug", "grinder", "filter", "teapot", "cup", "spoon",
         "sugar", "honey", "matcha", "espresso", "latte", "oolong", "sencha", "chai", "cocoa"]


def main():
    base, token, count, ids_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    url = urllib.parse.urlsplit(base)
    ids, lock, errors, busy = [], threading.Lock(), [], []
    threads = int(__import__("os").environ.get("SEED_THREADS", "16"))

    def worker(index):
        connection = http.client.HTTPConnection(url.hostname, url.port)
        for n in range(index, count, threads):
            word, other = WORDS[n % len(WORDS)], WORDS[(n * 7 + 3) % len(WORDS)]
            body = json.dumps({
                "sku": f"BENCH-{n:06d}",
                "name": f"{word.title()} {n}",
                "description": f"A {other} for every {word} lover, item {n}",
                "price": 100 + n % 5000,
                "currency": "EUR",
            })
            # A 503 says "retry shortly" (a SQLite store busy beyond its 5 s lock wait): a
            # few retries, as a client should.
            for attempt in range(5):
                connection.request("POST", "/api/v1/products", body, {
                    "authorization": f"Bearer {token}", "content-type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                if response.status != 503:
                    break
                with lock:
                    busy.append(n)
                time.sleep(0.2 * (attempt + 1))
            if response.status != 201:
                errors.append(f"{response.status} {payload[:200]!r}")
                return
            with lock:
                ids.append(json.loads(payload)["id"])

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        sys.exit(f"seeding failed: {errors[0]}")
    if busy:
        print(f"seeding: {len(busy)} answers of 503 (store busy), retried", file=sys.stderr)
    with open(ids_file, "w") as out:
        out.write("\n".join(ids) + "\n")


if __name__ == "__main__":
    main()
