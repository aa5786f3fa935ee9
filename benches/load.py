#!/usr/bin/env python3
"""Load for the benches: customers, a stocked product, orders and campaign joins.

usage:
  load.py setup BASE_URL ADMIN_TOKEN SKU ON_HAND CUSTOMERS TOKENS_FILE
      creates the product SKU with ON_HAND units and registers CUSTOMERS customers,
      writing their access tokens to TOKENS_FILE (one per line)
      (CUSTOMERS 0 registers nobody and keeps TOKENS_FILE)
  load.py count BASE_URL ADMIN_TOKEN STATUS
      prints how many orders of the tenant have STATUS
  load.py stock BASE_URL ADMIN_TOKEN SKU
      prints "on_hand reserved available" of SKU
  load.py orders BASE_URL ADMIN_TOKEN TOKENS_FILE SKU ORDERS CONNECTIONS
      places ORDERS one-unit orders of SKU over CONNECTIONS concurrent connections, then
      waits until the saga settled every one (none left pending or reserved: an answer
      may come before its saga ended, as when a delivery waits for a retry) and prints
      "answered_s settled_s p50_ms p99_ms http_<status>=count..." (seconds from the first
      order; p50/p99 of the POST answers); exits non-zero when orders are still unsettled
      after 10 minutes
  load.py join BASE_URL TOKENS_FILE CAMPAIGN_ID CONNECTIONS
      every customer of TOKENS_FILE joins the campaign, CONNECTIONS at a time; prints
      "seconds p50_ms p99_ms http_<status>=count..." once every answer is in
  load.py large-product BASE_URL ADMIN_TOKEN BYTES
      creates one product whose answer is about BYTES long (8 variants and 4 images in its
      attributes, as a peer's product of that size has) and prints its id
  load.py profile BASE_URL CUSTOMER_TOKEN SKU PRODUCT_ID N
      on a host run with --stats: after 3 warm-up orders, places N orders one after another,
      then reads the product N times, and prints the host's counts per order and per read
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def connect(base):
    url = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=120)


def call(connection, method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)


def order_body(sku):
    return {
        "items": [{"sku": sku, "quantity": 1}],
        "shipping_address": {"name": "Bench Buyer", "line1": "1 Load Lane", "city": "Lyon",
                             "postal_code": "69001", "country": "FR"},
        "payment": {"token": "tok_visa"},
    }


def setup(base, admin_token, sku, on_hand, customers, tokens_file):
    connection = connect(base)
    status, body = call(connection, "POST", "/api/v1/products", {
        "sku": sku, "name": f"Bench {sku}", "description": "checkout bench", "price": 1999,
        "currency": "EUR"}, admin_token)
    assert status == 201, (status, body)
    status, body = call(connection, "PUT", f"/api/v1/inventory/{sku}", {"on_hand": on_hand}, admin_token)
    assert status in (200, 201), (status, body)

    def register(n):
        own = connect(base)
        email = f"bench-{sku.lower()}-{n}@bench.test"
        password = "bench password 42"
        status, body = call(own, "POST", "/api/v1/auth/register",
                            {"email": email, "password": password, "name": f"Buyer {n}"})
        assert status == 201, (status, body)
        status, body = call(own, "POST", "/api/v1/auth/login", {"email": email, "password": password})
        assert status == 200, (status, body)
        return body["access_token"]

    if customers == 0:
        return
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(register, range(customers)))
    with open(tokens_file, "w") as out:
        out.write("\n".join(tokens) + "\n")


def count(base, admin_token, status):
    connection, total, cursor = connect(base), 0, ""
    while True:
        path = f"/api/v1/orders?status={status}&limit=100&cursor={cursor}"
        for attempt in range(10):
            code, page = call(connection, "GET", path, token=admin_token)
            if code < 500:
                break
            time.sleep(0.5)  # an overloaded app's 5xx: ask again
        assert code == 200, (code, page)
        total += len(page["items"])
        if not page["next_cursor"]:
            return total
        cursor = page["next_cursor"]


def stock(base, admin_token, sku):
    code, body = call(connect(base), "GET", f"/api/v1/inventory/{sku}", token=admin_token)
    assert code == 200, (code, body)
    return f'{body["on_hand"]} {body["reserved"]} {body["available"]}'


def post_all(base, requests, connections):
    """POSTs every (path, body, token) over CONNECTIONS concurrent connections; returns
    (seconds, p50_ms, p99_ms, "http_<status>=count...") once every answer is in."""
    latencies, statuses, lock = [], {}, threading.Lock()
    pending = iter(requests)

    def worker(_):
        connection = connect(base)
        while True:
            with lock:
                request = next(pending, None)
            if request is None:
                return
            path, body, token = request
            started = time.perf_counter()
            status, _ = call(connection, "POST", path, body, token)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[f"http_{status}"] = statuses.get(f"http_{status}", 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(worker, range(connections)))
    seconds = time.perf_counter() - started
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    counts = " ".join(f"{k}={v}" for k, v in sorted(statuses.items()))
    return seconds, p50, p99, counts


def read_tokens(tokens_file):
    return [line.strip() for line in open(tokens_file) if line.strip()]


def orders(base, admin_token, tokens_file, sku, n, connections):
    tokens = read_tokens(tokens_file)
    started = time.perf_counter()
    answered, p50, p99, counts = post_all(
        base, [("/api/v1/orders", order_body(sku), tokens[k % len(tokens)]) for k in range(n)],
        connections)
    deadline = started + 600
    while (unsettled := count(base, admin_token, "pending") + count(base, admin_token, "reserved")) > 0:
        if time.perf_counter() > deadline:
            sys.exit(f"{unsettled} orders still pending or reserved after 10 minutes")
        time.sleep(0.1)
    settled = time.perf_counter() - started
    print(f"{answered:.2f} {settled:.2f} {p50:.1f} {p99:.1f} {counts}")


def join(base, tokens_file, campaign_id, connections):
    body = {key: order_body("")[key] for key in ("shipping_address", "payment")}
    path = f"/api/v1/campaigns/{campaign_id}/join"
    seconds, p50, p99, counts = post_all(
        base, [(path, body, token) for token in read_tokens(tokens_file)], connections)
    print(f"{seconds:.2f} {p50:.1f} {p99:.1f} {counts}")


def large_product(base, admin_token, size):
    variants = [{"sku": f"LARGE-1-{n}", "title": f"Large kettle, variant {n}",
                 "options": {"size": ["S", "M", "L", "XL"][n % 4], "colour": ["red", "blue"][n % 2]},
                 "prices": [{"currency": c, "amount": 4999 + n} for c in ("EUR", "USD", "GBP")],
                 "inventory_quantity": 100, "barcode": f"40{n:011d}"} for n in range(8)]
    images = [{"url": f"https://cdn.example.com/products/large-kettle-{n}.jpg",
               "alt": f"Large kettle, view {n}"} for n in range(4)]
    product = {"sku": "LARGE-1", "name": "Large kettle", "price": 4999, "currency": "EUR",
               "attributes": {"variants": variants, "images": images}, "description": ""}
    # A description of up to 2,000 characters and the attributes' `details` fill the rest:
    # the answer's size is measured, then padded to BYTES.
    connection = connect(base)
    status, body = call(connection, "POST", "/api/v1/products", product, admin_token)
    assert status == 201, (status, body)
    missing = size - len(json.dumps(body, separators=(",", ":"))) - len(',"details":""')
    text = "A kettle for every kitchen, boiling fast and pouring clean. " * (missing // 60 + 1)
    description, details = text[:min(missing, 2000)], text[:max(missing - 2000, 0)]
    status, body = call(connection, "PATCH", f"/api/v1/products/{body['id']}", {
        "description": description,
        "attributes": dict(product["attributes"], details=details)}, admin_token)
    assert status == 200, (status, body)
    print(body["id"])


def stats(connection):
    status, body = call(connection, "GET", "/.well-known/fusion-host/stats")
    assert status == 200, "run fusion-host with --stats"
    return body


def print_per_request(title, before, after, n):
    print(f"## {title}\n")
    print("| count | per request |\n|---|---|")
    for key, value in after.items():
        if key == "instances_by_component":
            for component, instances in value.items():
                per = (instances - before[key].get(component, 0)) / n
                if per:
                    print(f"| instances of {component} | {per:g} |")
        elif (value - before[key]) / n:
            print(f"| {key.replace('_', ' ')} | {(value - before[key]) / n:g} |")
    print()


def profile(base, customer_token, sku, product_id, n):
    connection = connect(base)
    place = lambda: call(connection, "POST", "/api/v1/orders", order_body(sku), customer_token)
    for _ in range(3):
        assert place()[0] == 201
    time.sleep(1)  # deliveries of the warm-up still in flight settle
    before = stats(connection)
    for _ in range(n):
        status, body = place()
        assert status == 201, (status, body)
    after_orders = stats(connection)
    for _ in range(n):
        assert call(connection, "GET", f"/api/v1/products/{product_id}")[0] == 200
    after_reads = stats(connection)
    print_per_request("POST /api/v1/orders (to paid)", before, after_orders, n)
    print_per_request("GET /api/v1/products/{id}", after_orders, after_reads, n)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(args[0], args[1], args[2], int(args[3]), int(args[4]), args[5])
    elif command == "count":
        print(count(args[0], args[1], args[2]))
    elif command == "stock":
        print(stock(args[0], args[1], args[2]))
    elif command == "orders":
        orders(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    elif command == "join":
        join(args[0], args[1], args[2], int(args[3]))
    elif command == "large-product":
        large_product(args[0], args[1], int(args[2]))
    elif command == "profile":
        profile(args[0], args[1], args[2], args[3], int(args[4]))
    else:
        sys.exit(__doc__)
